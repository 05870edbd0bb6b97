#!/usr/bin/env bash
# healthy-streaming-responses: responses that look truncated and are not. On one namespace's loopback
# (ccx29s): nginx 1.22 on 127.0.0.2:8080 (proxy_read_timeout 3s) in front of a Python stdlib backend on
# 127.0.0.3 (programs/x29s-backend.py): :9001 streams slowly and finishes (Content-Length bodies written
# in parts 0.5-1 s apart; text/event-stream bodies, chunked, one chunk per event, pauses of 0.5-2 s, all
# below the proxy's timeout, ended by the last chunk; 304 on If-None-Match; 204; HEAD with the GET's
# Content-Length and no body), :9002 answers with bodies delimited by its close (an HTTP/1.0 response
# without Content-Length; an HTTP/1.1 "Connection: close" response without Content-Length or chunking).
# nginx also serves a 2.5 MB static file at full speed, single and multipart Range requests (206), HEAD,
# 304 (If-None-Match) and 204, proxies the close-delimited backend (upstream HTTP/1.0: close-delimited on
# the backend leg, chunked to the client), and answers an HTTP/1.0 client's streamed response
# close-delimited. Clients from 127.0.0.1: curl 7.88, Python (http.client keep-alive, requests with
# "Connection: close", a raw-socket partial reader: programs/x29s-py-client.py) and Node 20 http.Agent
# (programs/x29s-node-client.js). Some clients end a transfer themselves, which is not the server
# truncating: curl --max-time 1 on a slow body, the partial reader closing after 100 bytes (unread data:
# its close is a RST) or after the first event (a FIN), Node destroying an event stream after its first
# event.
# Ground truth: the clients' logs (local port, status, body bytes, outcome), the backend's log, nginx's
# access log (status, $request_completion, upstream) and error log. programs/x29s-meta.py reassembles
# every connection of the capture (tshark), frames every response itself and checks: every response
# the clients logged complete has all its Content-Length bytes, or its last chunk, or ends with the
# server's FIN (close-delimited); every transfer a client ended on purpose was closed by that client
# first (its FIN or RST before any close by the server), and so was the proxy's backend leg of it;
# no other short body, no other reset. It writes samples/healthy-streaming-responses.pcap and
# .meta.json, or refuses (at most 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require nginx node curl tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=healthy-streaming-responses
PY=/usr/bin/python3
cc_netns_up "${X29S_NETNS:-ccx29s}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true

# the static files: 2.5 MB, and a small one for the 304
mkdir -p "$WORK/www/static"
head -c 2621440 /dev/urandom >"$WORK/www/static/big.bin"
seq 1 400 >"$WORK/www/static/small.txt"
SMALL_ETAG="$(printf '"%x-%x"' "$(stat -c %Y "$WORK/www/static/small.txt")" "$(stat -c %s "$WORK/www/static/small.txt")")"

ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format x29s escape=json '{"msec":\$msec,"client":"\$remote_addr:\$remote_port","connection":\$connection,"connectionRequests":\$connection_requests,"request":"\$request","status":\$status,"bytesSent":\$bytes_sent,"bodyBytesSent":\$body_bytes_sent,"completion":"\$request_completion","upstream":"\$upstream_addr","upstreamStatus":"\$upstream_status","requestTime":\$request_time}';
  access_log $WORK/nginx-access.log x29s;
  keepalive_timeout 15s;
  sendfile on;
  upstream streaming { server 127.0.0.3:9001; keepalive 4; }
  upstream closer { server 127.0.0.3:9002; }
  server {
    listen 127.0.0.2:8080;
    root $WORK/www;
    location /static/ { }
    location = /empty { return 204; }
    # streamed through as it comes (event streams, slow bodies)
    location /stream/ {
      proxy_pass http://streaming/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 3s;
    }
    # the same backend, nginx's default buffering
    location /buffered/ {
      proxy_pass http://streaming/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 3s;
    }
    # a backend whose bodies end with its close (nginx speaks HTTP/1.0 to it)
    location /close/ {
      proxy_pass http://closer/;
      proxy_buffering off;
      proxy_read_timeout 3s;
    }
  }
CONF

software() {
  SOFTWARE=(
    "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian; one process)"
    "python $($PY -c 'import sys; print(sys.version.split()[0])') http.server ThreadingHTTPServer (x29s-backend.py), http.client and socket (x29s-py-client.py)"
    "python requests $($PY -c 'import requests; print(requests.__version__)') (urllib3 $($PY -c 'import urllib3; print(urllib3.__version__)'))"
    "$(curl --version | head -1 | cut -d' ' -f1-2)"
    "node $(node -v) http.Agent (x29s-node-client.js)"
  )
}
software

N=http://127.0.0.2:8080
B=http://127.0.0.3:9001
C=http://127.0.0.3:9002
W='{"tag":"TAG","curl":%{json}}\n'
# x29s_curl TAG CURL-ARGS...: curl in the namespace, one JSON line per transfer in curl.log
x29s_curl() {
  local tag="$1"; shift
  cc_in timeout 20 curl -s -w "${W/TAG/$tag}" "$@" >>"$WORK/curl.log" 2>>"$WORK/curl.err" || true
}
x29s_py() { cc_in timeout 30 "$PY" "$CCB_PROGRAMS/x29s-py-client.py" --log "$WORK/py.log" "$@" 2>>"$WORK/py.err" || true; }
x29s_node() { cc_in timeout 30 node "$CCB_PROGRAMS/x29s-node-client.js" --log "$WORK/node.log" "$@" 2>>"$WORK/node.err" || true; }

clients() {
  local pids=()
  # Python http.client, keep-alive through nginx: slow Content-Length body, event stream (one 2 s pause),
  # HEAD, a Range, 304 from the backend and from nginx, 204 from the backend
  x29s_py --mode keepalive --tag py-ka-nginx --host 127.0.0.2 --port 8080 --requests '[
    {"method":"GET","path":"/stream/slow-cl?parts=4&size=1500&gap=1000&id=pk1"},
    {"method":"GET","path":"/stream/sse?events=5&gap=800,800,2000,500&id=pk2"},
    {"method":"HEAD","path":"/stream/slow-cl?parts=4&size=1500&id=pk3"},
    {"method":"GET","path":"/static/big.bin?id=pk4","headers":{"Range":"bytes=1000-1999"}},
    {"method":"GET","path":"/buffered/etag?id=pk5","headers":{"If-None-Match":"\"x29s-v1\""}},
    {"method":"GET","path":"/stream/nocontent?id=pk6"},
    {"method":"GET","path":"/static/small.txt?id=pk7","headers":{"If-None-Match":"'"${SMALL_ETAG//\"/\\\"}"'"}},
    {"method":"GET","path":"/buffered/slow-cl?parts=3&size=20000&gap=500&id=pk8"}]' &
  pids+=("$!")
  # Python http.client, keep-alive straight to the backend
  x29s_py --mode keepalive --tag py-ka-direct --host 127.0.0.3 --port 9001 --requests '[
    {"method":"GET","path":"/sse?events=4&gap=1000&id=pd1"},
    {"method":"HEAD","path":"/sse?id=pd2"},
    {"method":"GET","path":"/slow-cl?parts=3&size=800&gap=700&id=pd3"},
    {"method":"GET","path":"/etag?id=pd4","headers":{"If-None-Match":"\"x29s-v1\""}},
    {"method":"HEAD","path":"/etag?id=pd5"},
    {"method":"GET","path":"/nocontent?id=pd6"}]' &
  pids+=("$!")
  # Node http.Agent keep-alive through nginx, the last request destroyed by the client after its first event
  x29s_node --tag node-nginx --plan '[
    {"method":"GET","url":"'$N'/stream/sse?events=4&gap=1000&id=nn1"},
    {"method":"GET","url":"'$N'/static/small.txt?id=nn2"},
    {"method":"HEAD","url":"'$N'/static/big.bin?id=nn3"},
    {"method":"GET","url":"'$N'/empty?id=nn4"},
    {"method":"GET","url":"'$N'/close/h11close?parts=3&size=3000&gap=400&id=nn5"},
    {"method":"GET","url":"'$N'/close/h10?parts=3&size=3000&gap=400&id=nn6"},
    {"method":"GET","url":"'$N'/stream/sse?events=8&gap=1000&id=nn7","abortAfterBytes":1}]' &
  pids+=("$!")
  # Node straight to the close-delimited server and the backend
  x29s_node --tag node-direct --plan '[
    {"method":"GET","url":"'$C'/h10?parts=3&size=2500&gap=300&id=nd1"},
    {"method":"GET","url":"'$C'/h11close?parts=4&size=2500&gap=300&id=nd2"},
    {"method":"GET","url":"'$B'/slow-cl?parts=3&size=1200&gap=1000&id=nd3"}]' &
  pids+=("$!")
  # the partial readers: through nginx (unread data at its close: a RST), straight to the backend's
  # event stream and to the close-delimited server (everything received read first: a FIN)
  (sleep 0.3; x29s_py --mode partial --tag py-partial-nginx --host 127.0.0.2 --port 8080 \
      --path '/stream/slow-cl?parts=5&size=2000&gap=1000&id=pp1' --read 100) &
  pids+=("$!")
  (sleep 0.6; x29s_py --mode partial --tag py-partial-sse --host 127.0.0.3 --port 9001 \
      --path '/sse?events=6&gap=1000&id=pp2' --read 20 --drain) &
  pids+=("$!")
  (sleep 0.9; x29s_py --mode partial --tag py-partial-close --host 127.0.0.3 --port 9002 \
      --path '/h10?parts=5&size=2000&gap=800&id=pp3' --read 500 --drain) &
  pids+=("$!")
  # python requests with Connection: close, through nginx (chunked stream) and straight to the backend
  (sleep 1.2; x29s_py --mode requests-close --tag py-req-close-nginx --host 127.0.0.2 --port 8080 \
      --path '/stream/sse?events=3&gap=500&id=pr1'; \
   x29s_py --mode requests-close --tag py-req-close-direct --host 127.0.0.3 --port 9001 \
      --path '/slow-cl?parts=2&size=5000&gap=500&id=pr2') &
  pids+=("$!")
  # curl: the static file at full speed, ranges, HEAD, 304 and 204 on one connection
  x29s_curl curl-static -o /dev/null "$N/static/big.bin?id=cs1" \
    --next -s -w "${W/TAG/curl-static}" -o /dev/null -r 0-99 "$N/static/big.bin?id=cs2" \
    --next -s -w "${W/TAG/curl-static}" -o /dev/null -r 0-99,200-299 "$N/static/big.bin?id=cs3" \
    --next -s -w "${W/TAG/curl-static}" -o /dev/null -I "$N/static/big.bin?id=cs4" \
    --next -s -w "${W/TAG/curl-static}" -o /dev/null -H "If-None-Match: $SMALL_ETAG" "$N/static/small.txt?id=cs5" \
    --next -s -w "${W/TAG/curl-static}" -o /dev/null "$N/empty?id=cs6"
  # curl gives up after 1 s on a 6 s body: the client closes mid-body
  x29s_curl curl-maxtime -o /dev/null --max-time 1 "$N/stream/slow-cl?parts=4&size=4000&gap=1500&id=cm1"
  # the client asks for Connection: close (nginx closes after the whole body)
  x29s_curl curl-conn-close -o /dev/null -H 'Connection: close' "$N/buffered/slow-cl?parts=3&size=3000&gap=500&id=cc1"
  # an HTTP/1.0 client: nginx cannot chunk the event stream, so its body ends with nginx's close
  x29s_curl curl-http10 -o /dev/null --http1.0 "$N/stream/sse?events=4&gap=700&id=ch1"
  # straight to the close-delimited server
  x29s_curl curl-close-direct -o /dev/null "$C/h10?parts=3&size=4000&gap=500&id=cd1"
  x29s_curl curl-close-direct -o /dev/null "$C/h11close?parts=3&size=4000&gap=500&id=cd2"
  wait "${pids[@]}" || true
}

for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$OUT"
  cc_bg "$PY" "$CCB_PROGRAMS/x29s-backend.py" --host 127.0.0.3 --port 9001 --close-port 9002 --max-seconds 90 \
    >"$WORK/backend.log" 2>"$WORK/backend.err"
  BACKEND_PID="$CC_LAST_PID"
  cc_wait_port 9001
  cc_wait_port 9002
  cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
  NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8080
  cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9002"
  clients
  sleep 1
  # nginx stopped (graceful) while the capture runs: it closes its idle upstream keep-alive connections
  ccb_stop "$NGINX_PID" QUIT
  sleep 0.5
  cc_capture_stop
  ccb_stop "$BACKEND_PID"
  CC_PIDS=()
  if [ -n "${X29S_DEBUG_DIR:-}" ]; then
    mkdir -p "$X29S_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK"/nginx.conf "$X29S_DEBUG_DIR/$attempt/" 2>/dev/null || true
  fi
  if "$PY" "$CCB_PROGRAMS/x29s-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "${SOFTWARE[@]}"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
