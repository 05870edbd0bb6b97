#!/usr/bin/env bash
# healthy-client-cancels: clients that end transfers on purpose, at scattered moments, no timer: not a
# client timeout, and not a server's truncation. On one namespace's loopback (ccx30h): the backend of
# programs/x30-backend.py on 127.0.0.3:9001 and nginx 1.22 on 127.0.0.2:8080 in front of it (the same
# setup as response-abandoned-client-timeouts: programs/x30-lib.sh; proxy_buffering off, upstream
# keepalive 4, proxy_bind 127.0.0.2). From 127.0.0.1:
# - one Node 20 program (programs/x30-node-client.js, no User-Agent) destroys 8 downloads flowing 1 KB
#   every 200 ms at 0.35, 0.8, 1.25, 1.9, 2.45, 3.1, 3.6 and 4.3 s after the request, half straight to the
#   backend, half through nginx (a user's cancel);
# - a Python raw-socket partial reader (programs/x30h-py-client.py, User-Agent x30-partial-reader/1)
#   reads 1 KB, 5 KB, 20 KB or 1 KB of a body and closes: on fast bodies (8 MB written at once, more than
#   the socket buffers hold) with unread data in its socket, a RST; on slow ones (nothing waiting), a FIN;
# - curl 7.88 with --max-time 0.7, 1.6 and 2.9 s on slow bodies, once each (exit 28);
# - and traffic that completes: curl keep-alive through nginx (small answers, a short slow body, HEAD, a
#   single and a multipart Range of a static file), Python http.client keep-alive straight to the backend
#   (GET and HEAD), a client that half-closes (shutdown(SHUT_WR) right after its request) and still reads
#   the whole response (straight to the backend only: nginx takes a client's FIN before the response is
#   done as the client going away).
# Ground truth: the clients' logs, the backend's log, nginx's access and error logs;
# programs/x30h-meta.py checks them against the capture (every transfer a client ended was closed by that
# client first, its body short; every other response whole; no other close mid-body) and writes
# samples/healthy-client-cancels.pcap and .meta.json (silent: no finding expected), or refuses (at most
# 3 attempts). One attempt takes ~15 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x30-lib.sh"
cc_require nginx node curl tcpdump tshark ip /usr/bin/python3

SCENARIO=healthy-client-cancels
cc_netns_up "${X30H_NETNS:-ccx30h}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$X30_PROGRAMS"
x30_addresses
x30_nginx_conf
x30_software
SOFTWARE+=("Python $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])') socket and http.client (programs/x30h-py-client.py)")

B=http://127.0.0.3:9001
N=http://127.0.0.2:8080
FLOW="total=30720&chunk=1024&every=200"       # 6 s of body, 1 KB every 200 ms

x30h_py() { cc_in timeout 30 /usr/bin/python3 "$P/x30h-py-client.py" --log "$WORK/py-client.log" "$@" 2>>"$WORK/py-client.err" || true; }

clients() {
  local pids=()
  # Node: 8 flowing downloads destroyed at scattered moments, each on its own connection
  x30_node --tag node --parallel 1 --plan '[
    {"url":"'$B'/slow?'$FLOW'&cl=1&want=cancel&c=node&id=n1","destroyAfterMs":350,"startAfterMs":0},
    {"url":"'$N'/slow?'$FLOW'&cl=0&want=cancel&c=node&id=n2","destroyAfterMs":800,"startAfterMs":150},
    {"url":"'$B'/slow?'$FLOW'&cl=0&want=cancel&c=node&id=n3","destroyAfterMs":1250,"startAfterMs":300},
    {"url":"'$N'/slow?'$FLOW'&cl=1&want=cancel&c=node&id=n4","destroyAfterMs":1900,"startAfterMs":450},
    {"url":"'$B'/slow?'$FLOW'&cl=1&want=cancel&c=node&id=n5","destroyAfterMs":2450,"startAfterMs":600},
    {"url":"'$N'/slow?'$FLOW'&cl=0&want=cancel&c=node&id=n6","destroyAfterMs":3100,"startAfterMs":750},
    {"url":"'$B'/slow?'$FLOW'&cl=0&want=cancel&c=node&id=n7","destroyAfterMs":3600,"startAfterMs":900},
    {"url":"'$N'/slow?'$FLOW'&cl=1&want=cancel&c=node&id=n8","destroyAfterMs":4300,"startAfterMs":1050}]' &
  pids+=("$!")
  # the partial readers
  (
    x30h_py --mode partial --tag partial --read 1024 "$B/slow?total=20480&chunk=1024&every=300&cl=1&want=cancel&c=partial&id=p1"
    x30h_py --mode partial --tag partial --read 5120 "$B/ok?size=8388608&want=cancel&c=partial&id=p2"
    x30h_py --mode partial --tag partial --read 20480 "$N/slow?total=40960&chunk=2048&every=150&cl=1&want=cancel&c=partial&id=p3"
    x30h_py --mode partial --tag partial --read 1024 "$N/ok?size=8388608&want=cancel&c=partial&id=p4"
  ) & pids+=("$!")
  # curl: scattered --max-time values on slow bodies
  (
    sleep 0.2
    x30_curl curl -m 0.7 -o /dev/null "$B/slow?total=20480&chunk=1024&every=200&cl=1&want=cancel&c=curl&id=m1"
    x30_curl curl -m 1.6 -o /dev/null "$N/slow?total=20480&chunk=1024&every=250&cl=0&want=cancel&c=curl&id=m2"
    x30_curl curl -m 2.9 -o /dev/null "$B/slow?total=20480&chunk=1024&every=300&cl=0&want=cancel&c=curl&id=m3"
  ) & pids+=("$!")
  # traffic that completes
  (
    sleep 0.4
    x30_curl curl -o /dev/null "$N/ok?size=500&want=ok&c=curl&id=k1" \
      -o /dev/null "$N/slow?total=3072&chunk=1024&every=200&cl=0&want=ok&c=curl&id=k2" \
      -o /dev/null "$N/ok?size=2000&want=ok&c=curl&id=k3" \
      --next -sS -w '{"tag":"curl","curl":%{json}}\n' -o /dev/null -I "$N/slow?total=4096&cl=1&want=ok&c=curl&id=k4" \
      --next -sS -w '{"tag":"curl","curl":%{json}}\n' -o /dev/null -r 0-999 "$N/static/file.bin?want=ok&c=curl&id=k5" \
      --next -sS -w '{"tag":"curl","curl":%{json}}\n' -o /dev/null -r 0-99,5000-5099 "$N/static/file.bin?want=ok&c=curl&id=k6"
    x30h_py --mode keepalive --tag keepalive "$B/ok?size=800&want=ok&c=keepalive&id=h1" \
      "$B/slow?total=4096&chunk=1024&every=150&cl=1&want=ok&c=keepalive&id=h2" \
      "HEAD:$B/slow?total=4096&cl=1&want=ok&c=keepalive&id=h3" \
      "$B/slow?total=2048&chunk=1024&every=100&cl=0&want=ok&c=keepalive&id=h4"
    x30h_py --mode halfclose --tag halfclose "$B/slow?total=6144&chunk=1024&every=150&cl=1&want=ok&c=halfclose&id=f1"
    x30h_py --mode halfclose --tag halfclose "$B/slow?total=4096&chunk=1024&every=150&cl=0&want=ok&c=halfclose&id=f2"
  ) & pids+=("$!")
  wait "${pids[@]}" || true
}

for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$OUT"
  x30_start_servers
  cc_capture_start "$OUT" "tcp"
  clients
  sleep 1
  x30_stop_servers
  cc_capture_stop
  CC_PIDS=()
  if [ -n "${X30H_DEBUG_DIR:-}" ]; then
    mkdir -p "$X30H_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK"/nginx.conf "$X30H_DEBUG_DIR/$attempt/" 2>/dev/null || true
  fi
  if /usr/bin/python3 "$P/x30h-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "${SOFTWARE[@]}"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
