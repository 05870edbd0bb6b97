#!/usr/bin/env bash
# nginx-502-go-writetimeout: nginx (Debian, one worker, default proxy_read_timeout 60 s) in front of a
# Go net/http server (programs/go-http.go, http.Server{WriteTimeout: 1s}) whose handler takes 1.5 s
# for /slow (?sleep=1500). Go's write deadline has passed when the handler finishes: it writes no
# response and closes the connection, nginx reads EOF ("upstream prematurely closed connection")
# and answers 502 after ~1.5 s, the handler's time. Three curl clients ask /slow at once; quick
# requests before and after are answered 200. Both legs on the namespace's loopback: clients
# 127.0.0.1 -> nginx 127.0.0.2:8080; nginx 127.0.0.2 (proxy_bind) -> backend 127.0.0.3:9001.
# What conncheck must say: the 502s are the backend ending the connection with no response (its
# WriteTimeout shorter than the handler's time), not a proxy read timeout; on the client leg alone
# (tests filter the backend's packets out) no proxy_read_timeout is named for 502s either.
# Ground truth: curl's status and time per request, nginx's error log (upstream prematurely
# closed) and access log ($status $upstream_status $upstream_response_time).
# Writes samples/nginx-502-go-writetimeout.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go python3 tcpdump ip nginx curl

SCENARIO=nginx-502-go-writetimeout
WRITE_TIMEOUT_S=1
HANDLER_MS=1500
cc_netns_up fxw-gowt
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
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://127.0.0.3:9001;
      proxy_bind 127.0.0.2;
    }
  }
CONF

cc_bg "$WORK/go-http" server -addr 127.0.0.3:9001 -write "${WRITE_TIMEOUT_S}s" >"$WORK/server.log" 2>"$WORK/server.err"
BACKEND_PID="$CC_LAST_PID"
cc_wait_port 9001
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
CURL=(curl -sS -o /dev/null -w '%{url} %{http_code} %{time_total} %{local_port}\n' --max-time 5)
cc_in "${CURL[@]}" http://127.0.0.2:8080/fast/1 >>"$WORK/client.log"
sleep 0.1
pids=()
for i in 1 2 3; do
  cc_in "${CURL[@]}" "http://127.0.0.2:8080/slow/$i?sleep=$HANDLER_MS" >>"$WORK/client.log" &
  pids+=("$!")
  sleep 0.05
done
wait "${pids[@]}"
sleep 0.1
cc_in "${CURL[@]}" http://127.0.0.2:8080/fast/2 >>"$WORK/client.log"
cc_in "${CURL[@]}" http://127.0.0.2:8080/fast/3 >>"$WORK/client.log"
cc_capture_stop
ccb_stop "$NGINX_PID"
ccb_stop "$BACKEND_PID"
cat "$WORK/client.log"

python3 - "$WORK" "$META" "$WRITE_TIMEOUT_S" "$HANDLER_MS" "nginx/$(nginx -v 2>&1 | sed 's/.*nginx\///') (Debian)" \
  "$(go version | sed 's/^go version //') net/http server (go-http.go: http.Server{WriteTimeout: ${WRITE_TIMEOUT_S}s})" \
  "$(curl --version | head -1 | cut -d' ' -f1,2)" <<'PY'
import json, sys
work, meta, write_s, handler_ms, *software = sys.argv[1:]
clients = [l.split() for l in open(f'{work}/client.log')]
slow = [c for c in clients if '/slow/' in c[0]]
fast = [c for c in clients if '/fast/' in c[0]]
access = [l.strip().split('|') for l in open(f'{work}/access.log')]
premature = sum(1 for l in open(f'{work}/error.log') if 'upstream prematurely closed connection' in l)
served = [json.loads(l) for l in open(f'{work}/server.log') if l.startswith('{')]
slow_served = [s for s in served if s.get('uri', '').startswith('/slow/')]
delays = sorted(round(float(c[2]), 3) for c in slow)
if len(slow) != 3 or any(c[1] != '502' for c in slow) or any(c[1] != '200' for c in fast) or premature != 3 or len(slow_served) != 3:
    sys.exit(f'record: nginx-502-go-writetimeout: unusable run (slow {slow}, fast {fast}, premature {premature}, served {len(slow_served)})')
if any(not (float(handler_ms) / 1000 <= d < float(handler_ms) / 1000 + 0.5) for d in delays):
    sys.exit(f'record: nginx-502-go-writetimeout: 502 delays {delays} are not the handler\'s time')
expect = [
    {'kind': None, 'server': '127.0.0.2:8080', 'client': f'127.0.0.1:{c[3]}', 'notes': f'{c[0].split("8080")[1]} answered 200; clean'} for c in fast
]
expect += [
    {'kind': 'unanswered-request', 'server': '127.0.0.3:9001',
     'notes': f'the 3 forwarded /slow requests: the Go backend closed each upstream connection (FIN) without a response after the handler\'s {int(handler_ms) / 1000} s (its WriteTimeout {write_s} s had passed); nginx relayed each close as a 502 on the client leg'},
    {'kind': None, 'server': '127.0.0.2:8080',
     'notes': 'gateway-timeout: silent, the 502s are the backend ending the connection (relayed), no proxy timer; its client-leg-only reading names no proxy_read_timeout for 502s'},
]
json.dump({
    'scenario': 'nginx-502-go-writetimeout',
    'description': f'client 127.0.0.1 (curl) -> nginx 127.0.0.2:8080 (default proxy_read_timeout 60 s, upstream HTTP/1.0) -> Go net/http server 127.0.0.3:9001 with WriteTimeout {write_s} s. Three /slow requests at once whose handler takes {int(handler_ms) / 1000} s: Go writes no response once its write deadline has passed and closes the connection; nginx logs "upstream prematurely closed connection" and answers 502 after the handler\'s time. Quick /fast requests before and after are answered 200.',
    'software': software,
    'configured': {'goWriteTimeout': float(write_s), 'handlerSeconds': int(handler_ms) / 1000, 'nginxProxyReadTimeout': 60},
    'observed': {'clientStatuses': {c[0].split('8080')[1]: int(c[1]) for c in clients}, 'slow502Seconds': delays,
                 'nginxPrematurelyClosed': premature,
                 'upstreamStatuses': [a[4] for a in access], 'upstreamResponseTimes': [a[5] for a in access]},
    'expect': expect,
    'silent': False,
}, open(meta, 'w'), indent=2)
open(meta, 'a').write('\n')
print(f'502 after {delays}; nginx prematurely closed x{premature}')
PY
