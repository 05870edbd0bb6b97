#!/usr/bin/env bash
# A backend that stops listening for 2 s behind nginx, under a client loop (blind round 17, the
# nightly CI job, s04: 16 x 502 to users, and conncheck exited 0 because connection-refused was a
# warning). nginx 1.22 (one worker) on 127.0.0.2:8080 (proxy_bind 127.0.0.2; one upstream server,
# keepalive 8) in front of a Python http.server backend on 127.0.0.3:9101 (programs/fx5h-backend.py,
# idle 30 s). Two keep-alive lanes (programs/fx5h-load.py, http.client) call /w every 0.1 s for
# 5 s (GET, GET, POST). At ~1.5 s the backend is stopped (SIGTERM, by its PID) and started again
# 2 s later: each request meanwhile gets nginx's connect refused and a 502 (nginx has no other
# server to try). Expected: connection-refused at 127.0.0.3:9101, one error per refused connect
# that nginx answered 502 to its client; the near miss (a refused connect its client saw no error
# for) is dead-upstream-nginx. Writes samples/backend-down-2s-nginx.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump ip nginx

SCENARIO=backend-down-2s-nginx
cc_netns_up n17-down
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
  server {
    listen 127.0.0.2:8080;
    keepalive_timeout 30s;
    location /w { proxy_pass http://w; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_bind 127.0.0.2; }
  }
}
CONF
backend() { # its PID in CC_LAST_PID
  cc_bg python3 "$CCB_PROGRAMS/fx5h-backend.py" 127.0.0.3 9101 30 "$WORK/backend.log"
  cc_wait_port 9101
}
backend
W_PID="$CC_LAST_PID"
cc_bg nginx -p "$WORK" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9101"
T0=$(date +%s.%N)
cc_in timeout 20 python3 "$CCB_PROGRAMS/fx5h-load.py" 127.0.0.2 8080 /w 2 0.1 5 "$WORK/load.log" &
LOAD=$!
sleep 1.5
STOP=$(date +%s.%N)
ccb_stop "$W_PID" TERM
sleep 2
START=$(date +%s.%N)
backend
W_PID="$CC_LAST_PID"
wait "$LOAD" || true
cc_capture_stop
ccb_stop "$NGINX_PID"
ccb_stop "$W_PID"
python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$T0" "$STOP" "$START" "$WORK/load.log" "$WORK/access.log" "$WORK/error.log" "$(nginx -v 2>&1 | sed 's/.*nginx\///')" <<'PY'
import json, sys, collections
meta, t0, stop, start, load, access, error, ngx = sys.argv[1:]
t0, stop, start = map(float, (t0, stop, start))
outcomes = collections.Counter(l.split()[-1] for l in open(load))
statuses = collections.Counter(l.split('"')[2].split()[0] for l in open(access) if l.count('"') >= 2)
refused = sum(1 for l in open(error) if 'connect() failed (111: Connection refused)' in l)
json.dump({
  'scenario': 'backend-down-2s-nginx',
  'description': 'nginx 1.22 (one worker) on 127.0.0.2:8080, one upstream server 127.0.0.3:9101 (Python http.server, idle 30 s), two http.client keep-alive lanes calling /w every 0.1 s for 5 s; the backend stopped (SIGTERM) at ~1.5 s and started again 2 s later. Each request meanwhile: nginx connect() refused, 502 to the client.',
  'software': [f'nginx/{ngx} (Debian)', 'python3 http.server (fx5h-backend.py)', 'python3 http.client (fx5h-load.py)'],
  'configured': {'backendIdleTimeout': 30, 'upstreamKeepalive': 8, 'upstreamServers': 1, 'downSeconds': 2.0, 'lanes': 2, 'gapSeconds': 0.1},
  'observed': {'stoppedAt': round(stop - t0, 3), 'startedAt': round(start - t0, 3), 'clientOutcomes': dict(outcomes),
               'nginxStatuses': dict(statuses), 'nginxConnectRefused': refused},
  'expect': [
    {'kind': 'connection-refused', 'server': '127.0.0.3:9101', 'severity': 'error', 'count': refused,
     'notes': 'each refused connect of nginx is one of its 502s to a client (error.log "connect() failed (111: Connection refused)", access.log 502): an error each, the diagnosis an error; the outage window and nginx as the refused proxy named'},
    {'kind': 'reset-before-response', 'server': '127.0.0.3:9101',
     'notes': 'the request in flight when the backend was stopped (its process reset the kept-alive connection holding it; nginx answered that one 502 too: the 502 beyond the refused connects), told as the same stop'},
    {'kind': 'intermittent-5xx', 'server': '127.0.0.2:8080',
     'notes': 'warning: some of the 502s of GET /w in one period (a tally of the front\'s answers that does not leave all the refusals\' 502s to connection-refused; as before this sample)'},
  ],
  'silent': False,
}, open(meta, 'w'), indent=2)
PY
cp "$OUT" "$CC_SAMPLES_DIR/"
[ -n "${CC_KEEP_LOGS:-}" ] && cp "$WORK"/*.log "$CC_KEEP_LOGS"/
awk '$NF != "200"' "$WORK/load.log" | head -30
