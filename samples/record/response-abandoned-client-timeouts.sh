#!/usr/bin/env bash
# response-abandoned-client-timeouts: clients that give up on a response whose body is still arriving, at
# their own timers. On one namespace's loopback (ccx30a): a Python stdlib backend on 127.0.0.3:9001
# (programs/x30-backend.py: /slow bodies flowing 1 KB every 230-450 ms (a different period per transfer) for
# 4.4-9 s, Content-Length or chunked;
# /stall bodies that send some bytes over PRE ms, then stall 4 s; /ok) and nginx 1.22 on 127.0.0.2:8080 in
# front of it (upstream keepalive 4, proxy_buffering off, proxy_read_timeout 30s so that nginx never cuts
# first, proxy_bind 127.0.0.2, a JSON access log and the error log at info). Four client programs on
# 127.0.0.1, each with four transfers it abandons at its timer and two or three that complete (some on the
# same keep-alive connection before a cut):
# - Go net/http (programs/x30a-go-client.go, default User-Agent Go-http-client/1.1) with
#   http.Client{Timeout: 2 * time.Second}, straight to the backend, on flowing /slow bodies: a TOTAL
#   timeout, each connection closed ~2.0 s after the request while the bytes still flow;
# - Python requests 2.28 (programs/x30a-requests-client.py) with timeout=(1, 1.5), straight to the backend,
#   on /stall bodies with PRE 0.2, 0.6, 1.0, 1.4 s: a READ timeout, each close 1.5 s after the last byte;
# - curl 7.88 --max-time 3 through nginx on flowing /slow bodies: closes ~3 s after the transfer started
#   (exit 28); nginx logs 499 and closes its upstream leg (the proxy follows its client);
# - Node 20 http (programs/x30-node-client.js, no User-Agent header) through nginx with
#   http.get(url, {timeout: 2500}) and req.destroy() on 'timeout': a socket inactivity timeout, each close
#   2.5 s after the last byte of /stall bodies with PRE 0.3, 0.9, 1.5, 2.1 s.
# Every URL carries want=cut or want=ok, c=PROGRAM and a unique id. Ground truth: the clients' logs (local
# port, bytes read, error: Go's, requests' exception, curl's exit code and -w %{json}, Node's), the
# backend's log (bytes written, peer gone), nginx's access log (status 499, $request_completion, upstream)
# and error log. programs/x30a-meta.py checks them against the capture and writes
# samples/response-abandoned-client-timeouts.pcap and .meta.json, or refuses (at most 3 attempts). One
# attempt takes ~35 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x30-lib.sh"
cc_require go nginx node curl tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=response-abandoned-client-timeouts
cc_netns_up "${X30A_NETNS:-ccx30a}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$X30_PROGRAMS"
x30_addresses
x30_nginx_conf
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$WORK/x30a-go-client" "$P/x30a-go-client.go")

x30_software
GO_V="$(go env GOVERSION)"
SOFTWARE+=(
  "Go $GO_V net/http client (Debian golang-go $(dpkg-query -W -f='${Version}' golang-go); programs/x30a-go-client.go, standard library only: http.Client{Timeout: 2 * time.Second})"
  "$(/usr/bin/python3 -c 'import sys, urllib3, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__} urllib3 {urllib3.__version__}")') (Debian python3-requests; programs/x30a-requests-client.py: timeout=(1, 1.5))"
)

B=http://127.0.0.3:9001
N=http://127.0.0.2:8080
FLOW="total=20480&chunk=1024"                 # 20 parts of 1 KB, EVERY ms apart: 4.4-9 s of body
SHORT="total=3072&chunk=1024&every=250"       # 0.5 s: completes inside every timer
STALL="stall=4000&rest=4096"

go_lane() {
  cc_in timeout 30 "$WORK/x30a-go-client" -tag go -timeout 2s -log "$WORK/go-client.log" \
    "$B/ok?size=300&want=ok&c=go&id=g1" \
    "$B/slow?$FLOW&every=300&cl=1&want=cut&c=go&id=g2" \
    "$B/slow?$FLOW&every=370&cl=0&want=cut&c=go&id=g3" \
    "$B/slow?$SHORT&cl=1&want=ok&c=go&id=g4" \
    "$B/slow?$FLOW&every=230&cl=0&want=cut&c=go&id=g5" \
    "$B/slow?$FLOW&every=450&cl=1&want=cut&c=go&id=g6" 2>>"$WORK/go-client.err" || true
}
requests_lane() {
  cc_in timeout 30 /usr/bin/python3 "$P/x30a-requests-client.py" --tag requests --connect-timeout 1 --read-timeout 1.5 \
    --log "$WORK/requests-client.log" \
    "$B/ok?size=300&want=ok&c=requests&id=r1" \
    "$B/stall?first=1024&pre=200&$STALL&cl=1&want=cut&c=requests&id=r2" \
    "$B/stall?first=3072&pre=600&$STALL&cl=0&want=cut&c=requests&id=r3" \
    "$B/stall?first=2048&pre=300&stall=1000&rest=2048&cl=1&want=ok&c=requests&id=r4" \
    "$B/stall?first=4096&pre=1000&$STALL&cl=1&want=cut&c=requests&id=r5" \
    "$B/stall?first=5120&pre=1400&$STALL&cl=0&want=cut&c=requests&id=r6" 2>>"$WORK/requests-client.err" || true
}
curl_lane() {
  x30_curl curl -m 3 -o /dev/null "$N/ok?size=300&want=ok&c=curl&id=c1" -o /dev/null "$N/slow?$FLOW&every=350&cl=1&want=cut&c=curl&id=c2"
  x30_curl curl -m 3 -o /dev/null "$N/slow?$FLOW&every=400&cl=0&want=cut&c=curl&id=c3"
  x30_curl curl -m 3 -o /dev/null "$N/slow?$SHORT&cl=0&want=ok&c=curl&id=c4" -o /dev/null "$N/slow?$FLOW&every=260&cl=1&want=cut&c=curl&id=c5"
  x30_curl curl -m 3 -o /dev/null "$N/slow?$FLOW&every=420&cl=0&want=cut&c=curl&id=c6"
}
node_lane() {
  x30_node --tag node --plan '[
    {"url":"'$N'/ok?size=300&want=ok&c=node&id=n1","timeoutMs":2500},
    {"url":"'$N'/stall?first=1024&pre=300&'$STALL'&cl=1&want=cut&c=node&id=n2","timeoutMs":2500},
    {"url":"'$N'/stall?first=3072&pre=900&'$STALL'&cl=0&want=cut&c=node&id=n3","timeoutMs":2500},
    {"url":"'$N'/stall?first=2048&pre=300&stall=1500&rest=2048&cl=1&want=ok&c=node&id=n4","timeoutMs":2500},
    {"url":"'$N'/stall?first=4096&pre=1500&'$STALL'&cl=1&want=cut&c=node&id=n5","timeoutMs":2500},
    {"url":"'$N'/stall?first=5120&pre=2100&'$STALL'&cl=0&want=cut&c=node&id=n6","timeoutMs":2500}]'
}

for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$OUT"
  x30_start_servers
  cc_capture_start "$OUT" "tcp"
  LANES=()
  (go_lane; curl_lane) & LANES+=("$!")
  (sleep 0.2; requests_lane; node_lane) & LANES+=("$!")
  wait "${LANES[@]}" || true
  sleep 2.5   # the backend's stalled handlers wake up, write, and find their peers gone
  x30_stop_servers
  cc_capture_stop
  CC_PIDS=()
  if [ -n "${X30A_DEBUG_DIR:-}" ]; then
    mkdir -p "$X30A_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK"/nginx.conf "$X30A_DEBUG_DIR/$attempt/" 2>/dev/null || true
  fi
  if /usr/bin/python3 "$P/x30a-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "${SOFTWARE[@]}"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
