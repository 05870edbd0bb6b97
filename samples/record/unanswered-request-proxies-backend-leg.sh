#!/usr/bin/env bash
# unanswered-request-proxies-backend-leg: a Node http backend (127.0.0.3:9001) seen on its own port
# only (blind round 11, s3 leg8100), with three clients: nginx (127.0.0.2:8080, proxy_bind 127.0.0.2,
# proxy_read_timeout 1s, default upstream HTTP/1.0 with Connection: close), HAProxy (127.0.0.4:8090,
# source 127.0.0.4, timeout server 1s, option forwardfor) and curl itself (127.0.0.1, --max-time 2).
# Each is given two /slow?ms=2500 at once: nginx and HAProxy give up after 1 s (504 to their curl
# clients, whose legs are not captured), the direct curls after 2 s; Node answers each at 2.5 s,
# too late. Quick requests through each proxy and directly before and after are answered 200.
# What conncheck must say: the proxies' closes are a proxy's upstream read timeout of 1 s, told by
# their requests (nginx's HTTP/1.0 + Connection: close, HAProxy's X-Forwarded-For), although their
# User-Agent is curl's, passed on; the direct curl's closes are curl's own timeout of 2 s (curl
# named, --max-time). Ground truth: curl's status and time per request, nginx's error log (upstream
# timed out), HAProxy's log (504, sH--), the backend's request log.
# Writes samples/unanswered-request-proxies-backend-leg.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node haproxy nginx curl python3 tcpdump ip

SCENARIO=unanswered-request-proxies-backend-leg
cc_netns_up fxw-pxbl
ccb_workdir
WORK="$CCB_WORK"
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_in ip addr add 127.0.0.4/8 dev lo 2>/dev/null || true
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
BACKEND_PID="$CC_LAST_PID"
cc_wait_port 9001
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  server {
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://127.0.0.3:9001;
      proxy_bind 127.0.0.2;
      proxy_read_timeout 1s;
    }
  }
CONF
cat >"$WORK/haproxy.cfg" <<CONF
global
  log stderr format raw local0 info
defaults
  mode http
  log global
  option httplog
  option forwardfor
  timeout connect 1s
  timeout client 10s
  timeout server 1s
frontend fe
  bind 127.0.0.4:8090
  default_backend be
backend be
  source 127.0.0.4
  server s1 127.0.0.3:9001
CONF
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8080
cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
HAPROXY_PID="$CC_LAST_PID"
cc_wait_port 8090
# The backend's port only: what a capture on the backend's host shows.
cc_capture_start "$OUT" "tcp port 9001"
CURL=(curl -sS -o /dev/null -w '%{url} %{http_code} %{time_total} %{local_port} %{exitcode}\n')
for base in http://127.0.0.2:8080 http://127.0.0.4:8090 http://127.0.0.3:9001; do
  cc_in "${CURL[@]}" -m 5 "$base/get?i=1" >>"$WORK/client.log"
done
pids=()
for i in 1 2; do
  cc_in "${CURL[@]}" -m 10 "http://127.0.0.2:8080/slow?ms=2500&via=nginx&i=$i" >>"$WORK/client.log" &
  pids+=("$!")
  cc_in "${CURL[@]}" -m 10 "http://127.0.0.4:8090/slow?ms=2500&via=haproxy&i=$i" >>"$WORK/client.log" &
  pids+=("$!")
  cc_in "${CURL[@]}" -m 2 "http://127.0.0.3:9001/slow?ms=2500&via=direct&i=$i" >>"$WORK/client.log" || true &
  pids+=("$!")
  sleep 0.05
done
wait "${pids[@]}" || true
sleep 0.8                          # the backend's late answers
for base in http://127.0.0.2:8080 http://127.0.0.4:8090 http://127.0.0.3:9001; do
  cc_in "${CURL[@]}" -m 5 "$base/get?i=2" >>"$WORK/client.log"
done
cc_capture_stop
ccb_stop "$HAPROXY_PID"
ccb_stop "$NGINX_PID"
ccb_stop "$BACKEND_PID"
cat "$WORK/client.log"

python3 - "$WORK" "$META" "nginx/$(nginx -v 2>&1 | sed 's/.*nginx\///') (Debian)" "$(haproxy -v | head -1 | cut -d' ' -f1-3)" \
  "node $(node -v) http server (b-http-server.js)" "$(curl --version | head -1 | cut -d' ' -f1,2)" <<'PY'
import json, sys
work, meta, *software = sys.argv[1:]
clients = [l.split() for l in open(f'{work}/client.log')]
slow = {v: [c for c in clients if f'via={v}' in c[0]] for v in ('nginx', 'haproxy', 'direct')}
fast = [c for c in clients if '/get?' in c[0]]
timed_out = sum(1 for l in open(f'{work}/error.log') if 'upstream timed out' in l)
served = [json.loads(l) for l in open(f'{work}/backend.log') if l.startswith('{')]
slow_served = [s for s in served if s['url'].startswith('/slow')]
ok = (all(len(v) == 2 for v in slow.values()) and all(c[1] == '504' for c in slow['nginx'] + slow['haproxy'])
      and all(c[1] == '000' and c[4] == '28' for c in slow['direct']) and all(c[1] == '200' for c in fast) and len(fast) == 6
      and timed_out == 2 and len(slow_served) == 6
      and all(0.99 <= float(c[2]) < 1.3 for c in slow['nginx'] + slow['haproxy']) and all(1.99 <= float(c[2]) < 2.3 for c in slow['direct']))
if not ok:
    sys.exit(f'record: unusable run (slow {slow}, fast {fast}, nginx timed out {timed_out}, served {len(slow_served)})')
expect = [
    {'kind': 'unanswered-request', 'server': '127.0.0.3:9001',
     'notes': 'nginx (127.0.0.2, HTTP/1.0 + Connection: close, User-Agent curl/7.88.1 passed on) and HAProxy (127.0.0.4, X-Forwarded-For) each closed two upstream connections 1 s after the request (proxy_read_timeout 1s / timeout server 1s; their clients got 504): one proxyReadTimeout diagnosis, curl not named'},
]
expect += [
    {'kind': 'unanswered-request', 'client': f'127.0.0.1:{c[3]}', 'server': '127.0.0.3:9001',
     'notes': f'direct curl --max-time 2: gave up after {c[2]} s (exit 28): a clientTimeout diagnosis naming curl and --max-time'}
    for c in slow['direct']
]
json.dump({
    'scenario': 'unanswered-request-proxies-backend-leg',
    'description': 'A Node http backend 127.0.0.3:9001 captured on its own port only, with three clients each asking /slow?ms=2500 twice at once: nginx 127.0.0.2 (proxy_read_timeout 1s, default upstream HTTP/1.0 with Connection: close), HAProxy 127.0.0.4 (timeout server 1s, option forwardfor) and curl itself from 127.0.0.1 (--max-time 2). The proxies give up after 1 s (their curl clients get 504; those legs are not captured) and the direct curls after 2 s; the backend answers at 2.5 s, too late. The proxies\' requests carry their clients\' User-Agent (curl/7.88.1). Quick requests through each and directly before and after are answered 200.',
    'software': software,
    'configured': {'proxyReadTimeout': {'value': 1.0, 'server': '127.0.0.3:9001'}, 'clientTimeout': {'value': 2.0, 'server': '127.0.0.3:9001'}},
    'observed': {'clients': [{'url': c[0], 'status': int(c[1]), 'seconds': float(c[2]), 'port': int(c[3]), 'exit': int(c[4])} for c in clients],
                 'nginxUpstreamTimedOut': timed_out, 'backendSlowRequests': len(slow_served)},
    'expect': expect,
    'silent': False,
}, open(meta, 'w'), indent=2)
open(meta, 'a').write('\n')
print(f'504 after {[c[2] for c in slow["nginx"] + slow["haproxy"]]}; direct gave up after {[c[2] for c in slow["direct"]]}')
PY
