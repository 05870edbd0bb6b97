#!/usr/bin/env bash
# gunicorn's worker timeout hitting several workers at one arbiter check: 2 sync workers
# (--timeout 2); two requests to a handler that sleeps 5 s arrive 0.4 s apart and occupy both
# workers. The arbiter checks heartbeats once a second, so both workers are found overdue at the
# same check ("[CRITICAL] WORKER TIMEOUT (pid:N)" for each), SIGABRTed, and their connections
# closed without a response at one instant, each 2-3 s after its own request; new workers boot
# and the listener goes on accepting: the fast requests sent right after are answered 200. Then
# the same again with two slow requests 0.7 s apart, and with two POSTs of 24 KiB whose handler
# sleeps before it reads the body (/sleepfirst): the killed workers leave the bodies unread and the
# kernel resets those connections. Not a restart: the master never stopped.
# WK_NGINX=1 records worker-timeout-gunicorn-concurrent-nginx instead: the same behind nginx
# (default proxy settings), which answers 502 on the client leg.
# Writes samples/<scenario>.pcap and .meta.json (wk-meta.py checks it against the logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
cc_require python3 tcpdump ip gunicorn

NGINX=${WK_NGINX:-0}
SCENARIO=worker-timeout-gunicorn-concurrent
[ "$NGINX" = 1 ] && SCENARIO=worker-timeout-gunicorn-concurrent-nginx && cc_require nginx
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
TIMEOUT_S=2
WORKERS=2

cc_netns_up "ccwk-wt$NGINX"
ccb_workdir
X9_WORK="$CCB_WORK"
CCB_SERVER_IP=127.0.0.1
x9_gunicorn "ccwk-wt$NGINX" 8081 -w "$WORKERS" -k sync --timeout "$TIMEOUT_S"
BASE=http://127.0.0.1:8081
FILTER="tcp port 8081"
CLIENT_ARGS=()
if [ "$NGINX" = 1 ]; then
  # nginx on 127.0.0.2 reaches gunicorn from 127.0.0.1; the client connects from 127.0.0.3.
  x9_nginx_proxy 127.0.0.2:8080 127.0.0.1:8081
  BASE=http://127.0.0.2:8080
  CLIENT_ARGS=(--source 127.0.0.3)
  FILTER="tcp port 8081 or tcp port 8080"
fi
mapfile -t SOFTWARE < <(x9_software_gunicorn | grep -v 'delay line'; [ "$NGINX" = 1 ] && nginx -v 2>&1 | sed 's/.*: //')
sleep 1   # both workers booted
cc_capture_start "$OUT" "$FILTER"
cc_in timeout 40 python3 "$X9_PROGRAMS/wk-schedule-client.py" --base "$BASE" --log "$X9_WORK/client.log" "${CLIENT_ARGS[@]}" \
  0@GET:/items/a 0.3@GET:/sleep/5/s1 0.7@POST:/sleep/5/s2 4.0@GET:/items/b 4.3@GET:/items/c \
  6.0@GET:/sleep/5/s3 6.7@GET:/sleep/5/s4 10.0@GET:/items/d 10.3@POST:/items/e \
  12.0@'POST:/sleepfirst/5/s5?pad=24576' 12.3@'POST:/sleepfirst/5/s6?pad=24576' 16.0@GET:/items/f 16.3@GET:/items/g
cc_capture_stop
ARGS=(--capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --client-log "$X9_WORK/client.log"
  --app-log "$X9_WORK/app.log" --error-log "$X9_WORK/error.log" --access-log "$X9_WORK/access.log" --server-port 8081
  --set gunicornTimeout="$TIMEOUT_S" --set gunicornWorkers="$WORKERS")
[ "$NGINX" = 1 ] && ARGS+=(--proxy-port 8080 --proxy-error-log "$X9_WORK/nginx-error.log" --proxy-access-log "$X9_WORK/nginx-access.log")
[ -n "${WK_SKIP_META:-}" ] || python3 "$X9_PROGRAMS/wk-meta.py" worker-timeout "${ARGS[@]}" --software "${SOFTWARE[@]}"
cat "$X9_WORK/client.log"; grep -v DEBUG "$X9_WORK/error.log" | grep -v '^  ' || true
[ "$NGINX" = 1 ] && { cat "$X9_WORK/nginx-access.log"; grep -v 'client .* closed keepalive' "$X9_WORK/nginx-error.log" || true; }
true
