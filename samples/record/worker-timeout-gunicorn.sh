#!/usr/bin/env bash
# gunicorn's worker timeout: a sync worker (--timeout 2) runs a handler that sleeps 6 s; the
# arbiter, which checks its workers' heartbeats once a second, logs "[CRITICAL] WORKER TIMEOUT",
# sends SIGABRT and the worker exits: the connection is closed (FIN) without a response, 2-3 s
# after the request (the timeout counts from the worker's last heartbeat, taken as it accepted the
# connection, and is checked on the arbiter's 1 s tick). The client (requests) gets
# "Connection aborted." RemoteDisconnected. Three slow requests (GET, POST, GET) between fast
# ones, loopback, one connection per request (a sync worker closes after each response).
# X9_NGINX=1 records worker-timeout-gunicorn-nginx instead: the same behind nginx (default
# proxy settings), which logs "upstream prematurely closed connection" and answers 502.
# Writes samples/<scenario>.pcap and .meta.json (x9-meta.py checks it against the logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
cc_require python3 tcpdump tshark ip gunicorn

NGINX=${X9_NGINX:-0}
SCENARIO=worker-timeout-gunicorn
[ "$NGINX" = 1 ] && SCENARIO=worker-timeout-gunicorn-nginx && cc_require nginx
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
TIMEOUT_S=2

cc_netns_up "ccx9-wt$NGINX"
ccb_workdir
X9_WORK="$CCB_WORK"
CCB_SERVER_IP=127.0.0.1
x9_gunicorn "ccx9-wt$NGINX" 8081 -w 1 -k sync --timeout "$TIMEOUT_S"
BASE=http://127.0.0.1:8081
FILTER="tcp port 8081"
CLIENT_ARGS=()
if [ "$NGINX" = 1 ]; then
  # nginx listens on 127.0.0.2 and reaches gunicorn from 127.0.0.1; the client connects from
  # 127.0.0.3, as a remote client would (a client on the proxy's own outgoing address is not
  # told apart from the proxy's upstream requests).
  x9_nginx_proxy 127.0.0.2:8080 127.0.0.1:8081
  BASE=http://127.0.0.2:8080
  CLIENT_ARGS=(--source 127.0.0.3)
  FILTER="tcp port 8081 or tcp port 8080"
fi
mapfile -t SOFTWARE < <(x9_software_gunicorn | grep -v 'delay line'; [ "$NGINX" = 1 ] && nginx -v 2>&1 | sed 's/.*: //')
cc_capture_start "$OUT" "$FILTER"
cc_in timeout 40 python3 "$X9_PROGRAMS/x9-timeout-client.py" --base "$BASE" --log "$X9_WORK/client.log" --pause 0.5 "${CLIENT_ARGS[@]}" \
  GET:/items/a GET:/sleep/6/s1 GET:/items/b POST:/sleep/6/s2 GET:/items/c GET:/sleep/6/s3 GET:/items/d
cc_capture_stop
ARGS=(--capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --client-log "$X9_WORK/client.log"
  --app-log "$X9_WORK/app.log" --error-log "$X9_WORK/error.log" --server-port 8081 --set gunicornTimeout="$TIMEOUT_S")
[ "$NGINX" = 1 ] && ARGS+=(--proxy-port 8080 --proxy-error-log "$X9_WORK/nginx-error.log" --proxy-access-log "$X9_WORK/nginx-access.log")
python3 "$X9_PROGRAMS/x9-meta.py" worker-timeout "${ARGS[@]}" --software "${SOFTWARE[@]}"
cat "$X9_WORK/client.log"; grep -v DEBUG "$X9_WORK/error.log" | grep -v '^  ' || true
[ "$NGINX" = 1 ] && { cat "$X9_WORK/nginx-access.log"; grep -v 'client .* closed keepalive' "$X9_WORK/nginx-error.log" || true; }
true
