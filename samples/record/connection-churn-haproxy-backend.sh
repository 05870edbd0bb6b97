#!/usr/bin/env bash
# A proxy that opens a backend connection per request (blind round 13b, S7b): ApacheBench without
# -k (HTTP/1.0, no keep-alive: one connection per request) -> HAProxy 2.6 on 127.0.0.2:8390
# (source 127.0.0.2, default `http-reuse safe`) -> nginx 1.22 on 127.0.0.3:8380 (keep-alive allowed,
# keepalive_timeout 75 s). Under `http-reuse safe` the first request of every client connection goes
# on a backend connection of its own; HAProxy forwards it as HTTP/1.0 with Connection: keep-alive,
# nginx answers with keep-alive, and HAProxy closes that backend connection with a RST once the
# response is relayed (no TIME_WAIT on its side). The capture holds both legs (ports 8390 and 8380).
# Expected: connection-churn on 127.0.0.2 -> 127.0.0.3:8380 (closedByReset = the churned count,
# clientForwards: true, the proxy's reuse settings in the remedy); the client leg (HTTP/1.0 without
# keep-alive: a deliberate one-shot) is not churn.
# Ground truth: ab's summary (complete, failed), HAProxy's log (one line per request, its backend
# source port), nginx's access log ($remote_port $connection_requests).
# Writes samples/connection-churn-haproxy-backend.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x12.sh"
cc_require haproxy nginx ab python3 tcpdump ip

SCENARIO=connection-churn-haproxy-backend
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
REQUESTS=60
CONCURRENCY=2

cc_netns_up "ccchurn-hap"
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/tmp" "$WORK/www"
printf 'hello\n' >"$WORK/www/index.html"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log info;
events { worker_connections 256; }
http {
  log_format ch '\$remote_addr:\$remote_port "\$request" \$status \$connection \$connection_requests';
  access_log $WORK/nginx-access.log ch;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.3:8380;
    root $WORK/www;
  }
}
CONF
cc_bg nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8380
x12_haproxy_start "$CC_NS" 127.0.0.2:8390 "server s1 127.0.0.3:8380 source 127.0.0.2" "  timeout connect 2s
  timeout server 10s"
mapfile -t SOFTWARE < <(haproxy -v | head -1 | cut -d' ' -f1-3; nginx -v 2>&1 | sed 's/.*: //'; ab -V | head -1)

cc_capture_start "$OUT" "tcp port 8390 or tcp port 8380"
# In rounds of 10 requests 50 ms apart: one burst of all of them outran the capture on a busy machine.
: >"$WORK/ab.txt"
for round in $(seq 1 $((REQUESTS / 10))); do
  cc_in timeout 10 ab -n 10 -c "$CONCURRENCY" "http://127.0.0.2:8390/index.html" >>"$WORK/ab.txt" 2>&1 || true
  sleep 0.05
done
sleep 0.3
cc_capture_stop
x12_haproxy_stop
kill -QUIT "$NGINX_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true

python3 - "$SCENARIO" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$WORK/ab.txt" "$WORK/nginx-access.log" "$WORK/haproxy.log" "$REQUESTS" "$CONCURRENCY" "${SOFTWARE[@]}" <<'PY'
import json, re, sys
scenario, meta_path, ab_path, access_path, haproxy_path, requests, concurrency = sys.argv[1:8]
software = sys.argv[8:]
requests, concurrency = int(requests), int(concurrency)
ab = open(ab_path).read()
complete = sum(int(n) for n in re.findall(r'Complete requests:\s+(\d+)', ab))
failed = sum(int(n) for n in re.findall(r'Failed requests:\s+(\d+)', ab))
access = [l.split() for l in open(access_path) if l.strip()]
haproxy = [l for l in open(haproxy_path) if 'GET /index.html' in l]
# nginx: $remote_addr:$remote_port "GET /index.html HTTP/1.0" status connection connection_requests
ports = {a[0] for a in access}
per_connection = [int(a[-1]) for a in access]
assert complete == requests and failed == 0, ab
assert len(access) == requests and len(haproxy) == requests, (len(access), len(haproxy))
# One backend connection per request: every backend connection served exactly one request.
assert len(ports) == requests and set(per_connection) == {1}, (len(ports), set(per_connection))
meta = {
  'scenario': scenario,
  'description': (
    f'ApacheBench without -k ({requests} requests in rounds of 10 at concurrency {concurrency}, 50 ms apart: HTTP/1.0, one connection per request) -> HAProxy on 127.0.0.2:8390 '
    '(source 127.0.0.2, default http-reuse safe) -> nginx on 127.0.0.3:8380 (keepalive_timeout 75 s). HAProxy sends the first request of each client '
    'connection on a backend connection of its own, forwards it as HTTP/1.0 with Connection: keep-alive, and resets that connection after the response. '
    'The capture holds both legs.'),
  'software': software,
  'configured': {'requests': requests, 'concurrency': concurrency, 'haproxyHttpReuse': 'safe (default)', 'nginxKeepaliveTimeout': 75},
  'observed': {'abComplete': complete, 'abFailed': failed, 'nginxBackendConnections': len(ports), 'nginxRequestsPerConnection': sorted(set(per_connection))},
  'facts': {'client': '127.0.0.1', 'proxy': '127.0.0.2:8390', 'backend': '127.0.0.3:8380'},
  'expect': [
    {'kind': 'connection-churn', 'client': '127.0.0.2', 'server': '127.0.0.3:8380',
     'notes': f'HAProxy opened {len(ports)} backend connections for {requests} requests (nginx: one request per connection) and reset each after its response: '
              "closedByReset equals the churned count, no TIME_WAIT on HAProxy's side; HAProxy forwards its clients' requests (clientForwards), "
              "so the remedy is the proxy's reuse settings (http-reuse always, or keep-alive on its clients)."},
  ],
  'silent': False,
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
PY
grep -E 'Complete|Failed' "$WORK/ab.txt" | sort | uniq -c
