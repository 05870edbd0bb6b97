#!/usr/bin/env bash
# unanswered-request-nginx-upstream-leg: a Node http backend (127.0.0.3:9001) seen on its own port
# only, behind nginx as it is usually set up for keep-alive upstreams (blind round 16, chains S5 and
# load S13): `upstream app { server 127.0.0.3:9001; keepalive 4; }`, proxy_http_version 1.1,
# `proxy_set_header Connection ""`, proxy_bind 127.0.0.2. Its upstream requests are HTTP/1.1 with
# no Connection field, no X-Forwarded-For and the end client's User-Agent; only `Host: app` (no
# port, where a client writes `127.0.0.3:9001`) and a pooled connection carrying several clients'
# User-Agents tell a proxy. Two servers share the upstream: 127.0.0.2:8080 with proxy_read_timeout
# 1s (its two slow requests: 504 after 1 s) and 127.0.0.2:8081 with proxy_read_timeout 60s, whose
# curl clients give up themselves after 1.5 s (nginx logs 499 and closes the upstream leg with
# them). curl from 127.0.0.1 also asks the backend directly with --max-time 2 (near miss: Host with
# the port, one User-Agent: curl's own timeout). Quick requests with three User-Agents through
# nginx before fill the pool. The backend answers every /slow at 2.5 s, too late.
# What conncheck must say: the nginx leg's closes are not told flatly as the client's request
# timeout or curl's --max-time: its client may be a proxy (the Host, the mixed User-Agents), whose
# upstream read timeout or its own client's give-up passed on (499) closed the leg; the direct
# curl's closes are curl's own timeout of 2 s (--max-time).
# Ground truth: curl's status and time per request, nginx's error log (upstream timed out) and
# access log (504, 499), the backend's request log.
# Writes samples/unanswered-request-nginx-upstream-leg.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node nginx curl python3 tcpdump ip

SCENARIO=unanswered-request-nginx-upstream-leg
cc_netns_up fxw-ngul
ccb_workdir
WORK="$CCB_WORK"
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 10000 2>"$WORK/backend.log"
BACKEND_PID="$CC_LAST_PID"
cc_wait_port 9001
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format t '\$remote_addr:\$remote_port "\$request" \$status rt=\$request_time';
  access_log $WORK/access.log t;
  upstream app { server 127.0.0.3:9001; keepalive 4; }
  server {
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_bind 127.0.0.2;
      proxy_read_timeout 1s;
    }
  }
  server {
    listen 127.0.0.2:8081;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_bind 127.0.0.2;
      proxy_read_timeout 60s;
    }
  }
CONF
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8080
cc_wait_port 8081
# The backend's port only: what a capture on the backend's host shows.
cc_capture_start "$OUT" "tcp port 9001"
CURL=(curl -sS -o /dev/null -w '%{url} %{http_code} %{time_total} %{local_port} %{exitcode}\n')
for agent in 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' 'python-requests/2.31.0' 'curl/7.88.1'; do
  cc_in "${CURL[@]}" -m 5 -A "$agent" "http://127.0.0.2:8080/get?i=1" >>"$WORK/client.log"
  sleep 0.1
done
cc_in "${CURL[@]}" -m 5 "http://127.0.0.3:9001/get?i=1" >>"$WORK/client.log"
pids=()
for i in 1 2; do
  cc_in "${CURL[@]}" -m 10 "http://127.0.0.2:8080/slow?ms=2500&via=nginx-504&i=$i" >>"$WORK/client.log" &
  pids+=("$!")
  cc_in "${CURL[@]}" -m 1.5 "http://127.0.0.2:8081/slow?ms=2500&via=nginx-499&i=$i" >>"$WORK/client.log" || true &
  pids+=("$!")
  cc_in "${CURL[@]}" -m 2 "http://127.0.0.3:9001/slow?ms=2500&via=direct&i=$i" >>"$WORK/client.log" || true &
  pids+=("$!")
  sleep 0.05
done
wait "${pids[@]}" || true
sleep 0.8                          # the backend's late answers
cc_in "${CURL[@]}" -m 5 "http://127.0.0.2:8080/get?i=2" >>"$WORK/client.log"
cc_in "${CURL[@]}" -m 5 "http://127.0.0.3:9001/get?i=2" >>"$WORK/client.log"
cc_capture_stop
ccb_stop "$NGINX_PID"
ccb_stop "$BACKEND_PID"
cat "$WORK/client.log" "$WORK/access.log"

python3 - "$WORK" "$META" "nginx/$(nginx -v 2>&1 | sed 's/.*nginx\///') (Debian)" \
  "node $(node -v) http server (b-http-server.js)" "$(curl --version | head -1 | cut -d' ' -f1,2)" <<'PY'
import json, sys
work, meta, *software = sys.argv[1:]
clients = [l.split() for l in open(f'{work}/client.log')]
slow = {v: [c for c in clients if f'via={v}&' in c[0]] for v in ('nginx-504', 'nginx-499', 'direct')}
fast = [c for c in clients if '/get?' in c[0]]
timed_out = sum(1 for l in open(f'{work}/error.log') if 'upstream timed out' in l)
access = [l.split() for l in open(f'{work}/access.log')]
logged = {s: sum(1 for a in access if 'slow' in a[2] and a[4] == s) for s in ('504', '499')}
served = [json.loads(l) for l in open(f'{work}/backend.log') if l.startswith('{')]
slow_served = [s for s in served if s['url'].startswith('/slow')]
ok = (all(len(v) == 2 for v in slow.values()) and all(c[1] == '504' for c in slow['nginx-504'])
      and all(c[1] == '000' and c[4] == '28' for c in slow['nginx-499'] + slow['direct']) and all(c[1] == '200' for c in fast) and len(fast) == 6
      and timed_out == 2 and logged == {'504': 2, '499': 2} and len(slow_served) == 6
      and all(0.99 <= float(c[2]) < 1.3 for c in slow['nginx-504']) and all(1.49 <= float(c[2]) < 1.8 for c in slow['nginx-499'])
      and all(1.99 <= float(c[2]) < 2.3 for c in slow['direct']))
if not ok:
    sys.exit(f'record: unusable run (slow {slow}, fast {fast}, nginx timed out {timed_out}, logged {logged}, served {len(slow_served)})')
json.dump({
    'scenario': 'unanswered-request-nginx-upstream-leg',
    'description': 'A Node http backend 127.0.0.3:9001 captured on its own port only, behind nginx 127.0.0.2 with a keep-alive upstream group (`upstream app`, keepalive 4, proxy_http_version 1.1, Connection ""): its upstream requests say `Host: app` and carry the end clients\' User-Agents, no X-Forwarded-For. Quick requests with three User-Agents fill the pool; then /slow?ms=2500 twice at once through 127.0.0.2:8080 (proxy_read_timeout 1s: 504), twice through 127.0.0.2:8081 (proxy_read_timeout 60s; curl --max-time 1.5 gives up, nginx logs 499 and closes the upstream leg) and twice directly from 127.0.0.1 with curl --max-time 2. The backend answers each at 2.5 s, too late.',
    'software': software,
    # Not as inferred names: every close here is inferred as clientTimeout on 127.0.0.3:9001 (the
    # nginx ones hedged as a proxy's), three values on one server.
    'configured': {'nginx proxy_read_timeout (127.0.0.2:8080)': '1s', 'nginx proxy_read_timeout (127.0.0.2:8081)': '60s',
                   'curl --max-time through 127.0.0.2:8081': '1.5s', 'curl --max-time direct to 127.0.0.3:9001': '2s',
                   'nginx upstream keepalive': 4},
    'observed': {'clients': [{'url': c[0], 'status': int(c[1]), 'seconds': float(c[2]), 'port': int(c[3]), 'exit': int(c[4])} for c in clients],
                 'nginxUpstreamTimedOut': timed_out, 'nginxLogged': logged, 'backendSlowRequests': len(slow_served)},
    'facts': ['nginx upstream requests: HTTP/1.1, Host: app, no Connection field, no X-Forwarded-For; the User-Agent is the end client\'s'],
    'expect': [
        {'kind': 'unanswered-request', 'server': '127.0.0.3:9001',
         'notes': 'nginx (127.0.0.2) closed 2 upstream connections at proxy_read_timeout 1 s (504) and 2 when its curl clients gave up after 1.5 s (499): clientTimeout hedged, the client may be a proxy (Host: app without the port; a pooled connection carrying several User-Agents), nginx 499 named'},
    ] + [
        {'kind': 'unanswered-request', 'client': f'127.0.0.1:{c[3]}', 'server': '127.0.0.3:9001',
         'notes': f'direct curl --max-time 2: gave up after {c[2]} s (exit 28): curl named, --max-time, no proxy hedge'}
        for c in slow['direct']
    ],
    'silent': False,
}, open(meta, 'w'), indent=2)
open(meta, 'a').write('\n')
print(f'504 after {[c[2] for c in slow["nginx-504"]]}; 499 after {[c[2] for c in slow["nginx-499"]]}; direct gave up after {[c[2] for c in slow["direct"]]}')
PY
