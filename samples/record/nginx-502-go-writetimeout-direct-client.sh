#!/usr/bin/env bash
# nginx-502-go-writetimeout-direct-client: a Go net/http server (programs/go-http.go,
# http.Server{WriteTimeout: 1s}) whose /slow handler takes 1.5 s, asked at the same moment directly
# and through nginx (location /g/, default proxy_read_timeout 60 s, upstream HTTP/1.0), everything
# on 127.0.0.1 (blind round 11, s3). Go writes no response once its write deadline has passed and
# closes both connections at 1.5 s; nginx reads EOF ("upstream prematurely closed connection") and
# answers 502, the direct client gets an empty reply. programs/direct-and-proxied.py fixes the order:
# pair 1 sends the direct GET /slow/1 before the proxied GET /g/slow/1 (both connections opened
# first), pair 2 sends the direct GET /slow/2 right after the proxied GET /g/slow/2, so that it
# reaches Go between nginx's receipt of its request and nginx's copy. Quick requests through nginx
# and directly before and after are answered 200.
# What conncheck must say: Go closed all four requests without a response after the handler's
# time (one serverTimeout diagnosis at 127.0.0.1:8200 naming WriteTimeout); the direct requests are
# no proxy's client leg (nothing "forwarded to 127.0.0.1:8180"), and nginx's 502s pair with nginx's
# own copies. Ground truth: the client's log (status, time), nginx's error log (prematurely closed)
# and access log ($status $upstream_status), Go's log (the four /slow handlers ran).
# Writes samples/nginx-502-go-writetimeout-direct-client.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go python3 tcpdump ip nginx curl

SCENARIO=nginx-502-go-writetimeout-direct-client
WRITE_TIMEOUT_S=1
HANDLER_MS=1500
cc_netns_up fxw-gowtd
ccb_workdir
WORK="$CCB_WORK"
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$WORK/go-http" "$CCB_PROGRAMS/go-http.go")
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format up '\$msec|\$remote_port|\$request|\$status|\$upstream_status|\$upstream_response_time';
  access_log $WORK/access.log up;
  server {
    listen 127.0.0.1:8180;
    location /g/ {
      proxy_pass http://127.0.0.1:8200;
    }
  }
CONF

cc_bg "$WORK/go-http" server -addr 127.0.0.1:8200 -write "${WRITE_TIMEOUT_S}s" >"$WORK/server.log" 2>"$WORK/server.err"
BACKEND_PID="$CC_LAST_PID"
cc_wait_port 8200
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8180
cc_capture_start "$OUT" "tcp port 8180 or tcp port 8200"
CURL=(curl -sS -o /dev/null -w '%{url} %{http_code} %{time_total} %{local_port}\n' --max-time 5)
cc_in "${CURL[@]}" http://127.0.0.1:8180/g/fast/1 >>"$WORK/client.log"
cc_in "${CURL[@]}" http://127.0.0.1:8200/fast/2 >>"$WORK/client.log"
sleep 0.1
cc_in timeout 15 python3 "$CCB_PROGRAMS/direct-and-proxied.py" --proxy 127.0.0.1:8180 --backend 127.0.0.1:8200 \
  --prefix /g --path "/slow/1?sleep=$HANDLER_MS" --order direct-first --log "$WORK/pairs.log"
sleep 0.3
cc_in timeout 15 python3 "$CCB_PROGRAMS/direct-and-proxied.py" --proxy 127.0.0.1:8180 --backend 127.0.0.1:8200 \
  --prefix /g --path "/slow/2?sleep=$HANDLER_MS" --order direct-between --log "$WORK/pairs.log"
sleep 0.1
cc_in "${CURL[@]}" http://127.0.0.1:8180/g/fast/3 >>"$WORK/client.log"
cc_in "${CURL[@]}" http://127.0.0.1:8200/fast/4 >>"$WORK/client.log"
cc_capture_stop
ccb_stop "$NGINX_PID"
ccb_stop "$BACKEND_PID"
cat "$WORK/client.log" "$WORK/pairs.log"

python3 - "$WORK" "$META" "$WRITE_TIMEOUT_S" "$HANDLER_MS" "nginx/$(nginx -v 2>&1 | sed 's/.*nginx\///') (Debian)" \
  "$(go version | sed 's/^go version //') net/http server (go-http.go: http.Server{WriteTimeout: ${WRITE_TIMEOUT_S}s})" \
  "$(curl --version | head -1 | cut -d' ' -f1,2)" "Python $(python3 -c 'import sys; print(sys.version.split()[0])') (direct-and-proxied.py)" <<'PY'
import json, sys
work, meta, write_s, handler_ms, *software = sys.argv[1:]
fast = [l.split() for l in open(f'{work}/client.log')]
pairs = [json.loads(l) for l in open(f'{work}/pairs.log')]
proxied = [p for p in pairs if p['which'] == 'proxied']
direct = [p for p in pairs if p['which'] == 'direct']
access = [l.strip().split('|') for l in open(f'{work}/access.log')]
premature = sum(1 for l in open(f'{work}/error.log') if 'upstream prematurely closed connection' in l)
served = [json.loads(l) for l in open(f'{work}/server.log') if l.startswith('{')]
slow_served = [s for s in served if '/slow/' in s.get('uri', '')]
handler = int(handler_ms) / 1000
ok = (len(proxied) == 2 and len(direct) == 2 and all(p['status'].startswith('HTTP/1.1 502') for p in proxied)
      and all(p['status'] == '' for p in direct) and all(c[1] == '200' for c in fast) and len(fast) == 4
      and premature == 2 and len(slow_served) == 4
      and all(handler <= p['seconds'] < handler + 0.5 for p in pairs))
if not ok:
    sys.exit(f'record: unusable run (pairs {pairs}, fast {fast}, premature {premature}, served {len(slow_served)})')
expect = [{'kind': None, 'client': f'127.0.0.1:{c[3]}', 'notes': f'{c[0]} answered 200; clean'} for c in fast]
expect += [
    {'kind': 'unanswered-request', 'client': f'127.0.0.1:{p["port"]}', 'server': '127.0.0.1:8200',
     'notes': f'direct GET {p["path"]} ({p["order"]}): Go closed the connection without a response after the handler\'s {handler} s (WriteTimeout {write_s} s had passed); the client got an empty reply. No proxy forwarded it: not paired with nginx\'s 502.'}
    for p in direct
]
expect += [
    {'kind': 'unanswered-request', 'server': '127.0.0.1:8200',
     'notes': f'nginx\'s two upstream copies GET /g/slow/N (HTTP/1.0, Connection: close): Go closed each without a response after {handler} s; nginx relayed each close as a 502 on the client leg'},
]
expect += [
    {'kind': None, 'client': f'127.0.0.1:{p["port"]}', 'server': '127.0.0.1:8180',
     'notes': f'GET /g{p["path"]} answered 502 by nginx after {p["seconds"]} s (upstream prematurely closed): the backend ended the connection, no proxy timer (no gateway-timeout)'}
    for p in proxied
]
json.dump({
    'scenario': 'nginx-502-go-writetimeout-direct-client',
    'description': f'All on 127.0.0.1: Go net/http server :8200 with WriteTimeout {write_s} s, nginx :8180 (location /g/ -> Go, default proxy_read_timeout 60 s, upstream HTTP/1.0). Twice, a slow URL whose handler takes {handler} s is asked directly (GET /slow/N) and through nginx (GET /g/slow/N) at the same moment: first with the direct request sent before the proxied one, then right after it (between nginx\'s receipt and its copy). Go writes no response once its write deadline has passed and closes all four connections at {handler} s; nginx answers 502 ("upstream prematurely closed connection"), the direct client gets an empty reply. Quick requests before and after, through nginx and directly, are answered 200.',
    'software': software,
    'configured': {'goWriteTimeout': float(write_s), 'handlerSeconds': handler, 'nginxProxyReadTimeout': 60},
    'observed': {'pairs': pairs, 'fastStatuses': {c[0]: int(c[1]) for c in fast}, 'nginxPrematurelyClosed': premature,
                 'nginxAccess': [{'request': a[2], 'status': a[3], 'upstreamStatus': a[4], 'upstreamResponseTime': a[5]} for a in access]},
    'expect': expect,
    'silent': False,
}, open(meta, 'w'), indent=2)
open(meta, 'a').write('\n')
print(f'pairs {pairs}; nginx prematurely closed x{premature}')
PY
