#!/usr/bin/env bash
# A reload and a backend restart under load, behind nginx (Debian 1.22, master and one worker) on
# 127.0.0.2:8080 (proxy_bind 127.0.0.2; upstream keepalive 8, HTTP/1.1). /w goes to a Python
# http.server backend on 127.0.0.3:9101 that keeps idle connections 30 s; /v to one on
# 127.0.0.4:9202 that closes them after 1.37 s idle (programs/fx5h-backend.py). Four keep-alive
# lanes (programs/fx5h-load.py, http.client) call /w every 0.1 s, two call /v every 1.6 s, for 9 s.
# At ~3 s nginx is reloaded (SIGHUP to its master: the old worker closes its idle client
# connections at once); at ~6 s the 9101 backend is killed (SIGTERM, by its PID) and restarted
# 0.7 s later. Expected: races on the client leg told as the reload's (no close-after-response
# delay), the requests in flight at the kill told as the restart's (unanswered-request), no idle
# timeout of 9101 inferred from the closes at its exit; 9202's 1.37 s idle timeout still inferred
# from its idle closes (the near miss). Writes samples/restart-reload-nginx.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump ip nginx

SCENARIO=restart-reload-nginx
cc_netns_up fx5h-rr
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
mkdir -p "$WORK/tmp"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 256; }
http {
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  access_log $WORK/access.log;
  upstream w { server 127.0.0.3:9101; keepalive 8; }
  upstream v { server 127.0.0.4:9202; keepalive 8; }
  server {
    listen 127.0.0.2:8080;
    keepalive_timeout 30s;
    location /w { proxy_pass http://w; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_bind 127.0.0.2; }
    location /v { proxy_pass http://v; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_bind 127.0.0.2; }
  }
}
CONF
backend() { # backend ADDR PORT IDLE: its PID in CC_LAST_PID
  cc_bg python3 "$CCB_PROGRAMS/fx5h-backend.py" "$1" "$2" "$3" "$WORK/backend-$2.log"
  cc_wait_port "$2"
}
backend 127.0.0.3 9101 30
W_PID="$CC_LAST_PID"
backend 127.0.0.4 9202 1.37
V_PID="$CC_LAST_PID"
cc_bg nginx -p "$WORK" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9101 or tcp port 9202"
T0=$(date +%s.%N)
cc_in timeout 30 python3 "$CCB_PROGRAMS/fx5h-load.py" 127.0.0.2 8080 /w 4 0.1 9 "$WORK/load.log" &
LOAD_W=$!
cc_in timeout 30 python3 "$CCB_PROGRAMS/fx5h-load.py" 127.0.0.2 8080 /v 2 1.6 9 "$WORK/load.log" &
LOAD_V=$!
sleep 3
RELOAD=$(date +%s.%N)
kill -HUP "$NGINX_PID"
sleep 3
KILL=$(date +%s.%N)
ccb_stop "$W_PID" TERM
sleep 0.7
backend 127.0.0.3 9101 30
W_PID="$CC_LAST_PID"
RESTART=$(date +%s.%N)
wait "$LOAD_W" "$LOAD_V" || true
cc_capture_stop
ccb_stop "$NGINX_PID"
ccb_stop "$W_PID"
ccb_stop "$V_PID"
python3 - "$OUT" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$T0" "$RELOAD" "$KILL" "$RESTART" "$WORK/load.log" "$(nginx -v 2>&1 | sed 's/.*nginx\///')" <<'PY'
import json, sys, collections
out, meta, t0, reload, kill, restart, load, ngx = sys.argv[1:]
t0, reload, kill, restart = map(float, (t0, reload, kill, restart))
errors = collections.Counter(l.split()[-1] for l in open(load) if not l.split()[-1].isdigit() or l.split()[-1] != '200')
json.dump({
  'scenario': 'restart-reload-nginx',
  'description': 'nginx 1.22 (master + 1 worker) on 127.0.0.2:8080 in front of Python http.server backends: /w to 127.0.0.3:9101 (idle 30 s), /v to 127.0.0.4:9202 (idle 1.37 s); four keep-alive lanes call /w every 0.1 s, two call /v every 1.6 s; nginx reloaded (SIGHUP) at ~3 s, the 9101 backend killed (SIGTERM) at ~6 s and restarted 0.7 s later.',
  'software': [f'nginx/{ngx} (Debian)', 'python3 http.server (fx5h-backend.py)', 'python3 http.client (fx5h-load.py)'],
  'configured': {'backend9101IdleTimeout': 30, 'backend9202IdleTimeout': 1.37, 'upstreamKeepalive': 8, 'clientKeepaliveTimeout': 30},
  'observed': {'reloadAt': round(reload - t0, 3), 'killedAt': round(kill - t0, 3), 'restartedAt': round(restart - t0, 3), 'clientOutcomes': dict(errors)},
  'expect': [
    {'kind': 'keepalive-race', 'server': '127.0.0.2:8080', 'notes': 'requests of the lanes that met the reload\'s closes of idle client connections (the old worker closing them at once): told as the reload\'s, no serverCloseAfterResponse and no idle timeout inferred from those closes'},
    {'kind': 'unanswered-request', 'server': '127.0.0.3:9101', 'notes': 'requests in flight when 9101 was killed, its connections closed at one moment and its port refusing after: the restart\'s; no keepalive-race with an idle timeout of 9101 (it has none under 30 s)'},
    {'kind': 'None', 'server': '127.0.0.4:9202', 'notes': 'near miss: 9202 closes idle upstream connections after 1.37 s, one at a time: its idle closes are no burst, no reload or restart is claimed at 9202 (a race there would be told with its 1.37 s timer)'},
  ],
  'silent': False,
}, open(meta, 'w'), indent=2)
PY
cp "$OUT" "$CC_SAMPLES_DIR/"
cat "$WORK/load.log" | awk '$NF != "200"' | head -20
