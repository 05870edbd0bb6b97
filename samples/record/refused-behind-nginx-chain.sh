#!/usr/bin/env bash
# refused-behind-nginx-chain: a chain of two proxies in front of a backend that is down for ~1 s.
# One nginx (Debian 1.22, one worker) serves two tiers: the front 127.0.0.2:8080 (proxy_bind
# 127.0.0.2) proxies to the inner tier 127.0.0.4:8081 (proxy_bind 127.0.0.4), which proxies to a
# Node backend (b-http-server.js, keepAliveTimeout 30 s) on 127.0.0.3:9001; both upstreams
# keepalive 8, HTTP/1.1, `max_fails=0` (the inner tier tries the backend for every request) and
# `proxy_next_upstream off`. One python keep-alive client sends GET /items/N every 0.1 s for ~4 s;
# at ~1.2 s the backend is killed (SIGKILL, by its PID) and restarted 1 s later. While it is down
# the inner tier's connect is refused (SYN answered by RST) and it answers 502; the front relays
# each 502 to the client as it came (its upstream answered). Ground truth: the client's log (every
# status) and nginx's access log ($server_port $status $upstream_status). One outage: the
# refusals are connection-refused's, and its diagnosis counts the inner tier's 502s and the front's
# relays of them; intermittent-5xx reports neither tier (blind test 9, run d).
# Writes samples/refused-behind-nginx-chain.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx

SCENARIO=refused-behind-nginx-chain
cc_netns_up fxr-chain
ccb_workdir
WORK="$CCB_WORK"
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format up '\$msec|\$server_port|\$request|\$status|\$upstream_addr|\$upstream_status';
  access_log $WORK/access.log up;
  upstream inner { server 127.0.0.4:8081 max_fails=0; keepalive 8; }
  upstream backend { server 127.0.0.3:9001 max_fails=0; keepalive 8; }
  server {
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://inner; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_next_upstream off; proxy_bind 127.0.0.2;
    }
  }
  server {
    listen 127.0.0.4:8081;
    location / {
      proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_next_upstream off; proxy_bind 127.0.0.4;
    }
  }
CONF

backend() { # a Node backend on 127.0.0.3:9001; its PID in CC_LAST_PID
  cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 30000 2>>"$WORK/backend.log"
  cc_wait_port 9001
}

backend
BACKEND_PID="$CC_LAST_PID"
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8080
cc_wait_port 8081
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081 or tcp port 9001"
cat >"$WORK/client.py" <<'PY'
import http.client, json, sys, time
log = open(sys.argv[1], 'w')
conn = http.client.HTTPConnection('127.0.0.2', 8080, timeout=5)
for i in range(40):
    t = time.time()
    conn.request('GET', f'/items/{i + 1}')
    r = conn.getresponse()
    r.read()
    log.write(json.dumps({'t': t, 'i': i + 1, 'status': r.status}) + '\n')
    time.sleep(max(0.0, t + 0.1 - time.time()))
conn.close()
PY
cc_bg timeout 20 python3 "$WORK/client.py" "$WORK/client.log" 2>"$WORK/client.err"
CLIENT_PID="$CC_LAST_PID"
sleep 1.2
echo "{\"killed\": $(date +%s.%N)}" >"$WORK/events.log"
ccb_stop "$BACKEND_PID" KILL
sleep 1
backend
BACKEND_PID="$CC_LAST_PID"
echo "{\"restarted\": $(date +%s.%N)}" >>"$WORK/events.log"
wait "$CLIENT_PID" || cat "$WORK/client.err" "$WORK/error.log" >&2
cc_capture_stop
ccb_stop "$NGINX_PID"
ccb_stop "$BACKEND_PID"

python3 - "$WORK" "$META" "nginx/$(nginx -v 2>&1 | sed 's/.*nginx\///') (Debian)" "node $(node -v) (b-http-server.js)" "python3 $(python3 -c 'import platform; print(platform.python_version())') http.client" <<'PY'
import json, sys
work, meta, *software = sys.argv[1:]
statuses = [json.loads(l)['status'] for l in open(f'{work}/client.log')]
access = [l.strip().split('|') for l in open(f'{work}/access.log')]
inner502 = sum(1 for a in access if a[1] == '8081' and a[3] == '502')
front502 = sum(1 for a in access if a[1] == '8080' and a[3] == '502' and a[5] == '502')
client502 = statuses.count(502)
if client502 == 0 or inner502 != client502 or front502 != client502 or statuses.count(200) < 4:
    sys.exit(f'record: refused-behind-nginx-chain: unusable run (client 502 {client502}, inner 502 {inner502}, front relayed {front502})')
json.dump({
    'scenario': 'refused-behind-nginx-chain',
    'description': 'client 127.0.0.1 (python http.client, one keep-alive connection, GET /items/N every 0.1 s) -> nginx front 127.0.0.2:8080 -> nginx inner tier 127.0.0.4:8081 -> Node backend 127.0.0.3:9001, killed (SIGKILL) and restarted 1 s later. While it is down the inner tier\'s connect is refused and it answers 502; the front relays each 502 (upstream_status 502). One outage, one diagnosis: connection-refused counts both tiers\' 502s; intermittent-5xx stays silent at both.',
    'software': software,
    'configured': {'maxFails': 0, 'proxyNextUpstream': 'off', 'backendKeepAliveTimeout': 30},
    'observed': {'clientStatuses': {str(s): statuses.count(s) for s in sorted(set(statuses))}, 'inner502': inner502, 'frontRelayed502': front502},
    'expect': [
        {'kind': 'connection-refused', 'server': '127.0.0.3:9001', 'notes': f'the inner tier\'s connects while the backend was down; its diagnosis counts the {inner502} 502s and says 127.0.0.2:8080 relayed them'},
        {'kind': None, 'server': '127.0.0.4:8081', 'notes': 'intermittent-5xx: silent (its 502s are the refusal\'s)'},
        {'kind': None, 'server': '127.0.0.2:8080', 'notes': 'intermittent-5xx: silent (its 502s are relays of the refusal\'s)'},
    ],
}, open(meta, 'w'), indent=2)
open(meta, 'a').write('\n')
print(f'client 502 {client502}, inner 502 {inner502}, front relayed {front502}')
PY
