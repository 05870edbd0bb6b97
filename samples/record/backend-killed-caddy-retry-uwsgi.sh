#!/usr/bin/env bash
# A backend that kills slow requests behind Caddy 2.6, which re-sends a GET once: uWSGI 2.0
# (--http11-socket: keep-alive, --harakiri 2, master and 2 workers) on 127.0.0.3:8084 behind Caddy's
# reverse_proxy on 127.0.0.2:8080 (transport defaults: no proxy timer shorter than the kills).
# uWSGI's master SIGKILLs a worker whose request outlives the harakiri deadline (whole seconds,
# checked once a second: 2-3 s after the request), and the worker's connection closes (FIN) without
# a response. Caddy (Go's Transport) re-sends a GET that met an EOF on a REUSED upstream connection,
# on a new one, which is killed in turn: its client gets 502 after both attempts. A GET on a new
# upstream connection is not re-sent: 502 after one. A direct curl to uWSGI is the near miss (the
# backend's close, no proxy in front). Both legs on one loopback (Caddy connects from 127.0.0.1).
# Writes samples/backend-killed-caddy-retry-uwsgi.pcap and .meta.json (programs/bkr-meta.py checks
# the capture against curl's, Caddy's, uWSGI's and the application's own logs first).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require caddy uwsgi curl python3 tcpdump tshark ip

SCENARIO=backend-killed-caddy-retry-uwsgi
HARAKIRI_S=2
cc_netns_up ccbkr
ccb_workdir
WORK="$CCB_WORK"
PROGRAMS="$CC_RECORD_DIR/programs"
: >"$WORK/app.log"
X9_APP_LOG="$WORK/app.log" ccb_bg "$CC_NS" uwsgi --plugin python3 --http11-socket 127.0.0.3:8084 --chdir "$PROGRAMS" \
  --wsgi-file x9-wsgi-app.py --callable app --master --processes 2 --harakiri "$HARAKIRI_S" --die-on-term \
  --logto "$WORK/uwsgi.log" --log-date
UWSGI_PID="$CC_LAST_PID"
ccb_wait_port "$CC_NS" 8084
x10_caddy_start "$CC_NS" 127.0.0.2:8080 127.0.0.3:8084 ""
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
W='%{url_effective} %{http_code} %{time_total} %{local_port}\n'
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8084"
# r1: on Caddy's pooled upstream connection (it carried /items/a): killed, re-sent, killed: 502 after both.
cc_in curl -s -o /dev/null -o /dev/null -o /dev/null -w "$W" -m 20 http://127.0.0.2:8080/items/a http://127.0.0.2:8080/sleep/6/r1 http://127.0.0.2:8080/items/b >>"$WORK/client.log" || true
# The near miss: the same kill with no proxy in front (curl: empty reply, 52).
cc_in curl -s -o /dev/null -w "$W" -m 20 http://127.0.0.3:8084/sleep/6/d1 >>"$WORK/client.log" || true
# uWSGI closes idle keep-alive connections after 4 s (socket-timeout): Caddy's pool is empty after
# 5 s, so r2 goes on a new upstream connection, which Go's Transport does not retry: 502 after one.
sleep 5
cc_in curl -s -o /dev/null -o /dev/null -w "$W" -m 20 http://127.0.0.2:8080/sleep/6/r2 http://127.0.0.2:8080/items/c >>"$WORK/client.log" || true
cc_capture_stop
x10_caddy_stop
ccb_stop "$UWSGI_PID" INT
python3 "$PROGRAMS/bkr-meta.py" --scenario "$SCENARIO" --capture "$OUT" --meta "$META" \
  --client-log "$WORK/client.log" --app-log "$WORK/app.log" --uwsgi-log "$WORK/uwsgi.log" --caddy-access-log "$WORK/caddy-access.log" \
  --proxy 127.0.0.2:8080 --backend 127.0.0.3:8084 --harakiri "$HARAKIRI_S" \
  --software "caddy $(caddy version | cut -d' ' -f1)" "uWSGI $(uwsgi --version) (Debian, python3 plugin, --http11-socket)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cat "$WORK/client.log"; grep -i 'harakiri on' "$WORK/uwsgi.log" || true
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
