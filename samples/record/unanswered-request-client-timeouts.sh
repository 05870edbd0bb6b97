#!/usr/bin/env bash
# Three clients, each with a fixed 3 s timeout of its own, against a server that takes the requests
# (the kernel ACKs them) but whose handler sleeps longer than that on some paths: python requests
# (programs/x9-timeout-client.py, one shared Session, timeout=3), curl (--max-time 3, one invocation
# per request and one that reuses its connection) and Node http.request (programs/b-pool-client.js
# --mode timeouts, the request option timeout 3000, which destroys the request after 3 s without a
# byte), at once, behind a 5 ms one-way-latency link. The server (programs/x19l-hang-server.py,
# Python http.server, keep-alive) answers /fast at once and /slow?s=N after N s (5 or 6 s): each
# client gives up on every /slow request after its 3 s and closes the connection (FIN); the server
# answers later into the closed socket and the client's kernel resets it. Some slow requests go on
# reused keep-alive connections, one is a POST. Server-side capture. Bounded: one attempt takes
# ~17 s; at most 3. Writes samples/unanswered-request-client-timeouts.pcap and .meta.json
# (programs/x19l-meta.py timeouts matches each request the clients gave up on to the wire by URI).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19l-lib.sh"
x19l_require curl

SCENARIO=unanswered-request-client-timeouts
DELAY_MS=5
TIMEOUT_S=3
x19l_setup ccx19l-ur "$DELAY_MS"
BASE="http://$CCB_SERVER_IP:$X19L_PORT"
OUT="$CCB_WORK/$SCENARIO.pcap"
META="$CCB_WORK/$SCENARIO.meta.json"
CURL_W='{"url":"%{url_effective}","method":"%{method}","port":%{local_port},"code":"%{http_code}","time":%{time_total},"exit":%{exitcode},"error":"%{errormsg}"}\n'

clients() {
  local pids=()
  ip netns exec "$X19L_NS_C" timeout 40 /usr/bin/python3 "$X19L_PROGRAMS/x9-timeout-client.py" --base "$BASE" --log "$CCB_WORK/requests.log" \
    --timeout "$TIMEOUT_S" --shared --pause 0.3 'GET:/fast?c=py-0' 'GET:/slow?s=6&c=py-1' 'GET:/fast?c=py-2' 'POST:/slow?s=6&c=py-3' \
    'GET:/fast?c=py-4' 'GET:/slow?s=5&c=py-5' 'GET:/fast?c=py-6' &
  pids+=($!)
  ip netns exec "$X19L_NS_C" timeout 40 node "$X19L_PROGRAMS/b-pool-client.js" --host "$CCB_SERVER_IP" --port "$X19L_PORT" --mode timeouts \
    --timeout $((TIMEOUT_S * 1000)) --log "$CCB_WORK/node.log" \
    --plan 'n:/fast?c=node-0,n:/slow?s=6&c=node-1,r:/fast?c=node-2,r:/slow?s=5&c=node-3,r:/fast?c=node-4,n:/slow?s=6&c=node-5' &
  pids+=($!)
  (
    cd "$CCB_WORK"
    ip netns exec "$X19L_NS_C" curl -s --max-time "$TIMEOUT_S" -o /dev/null -w "$CURL_W" "$BASE/slow?s=6&c=curl-1" >>curl.log || true
    sleep 0.3
    # one invocation, one connection: the fast transfer, then the slow one on the reused connection
    ip netns exec "$X19L_NS_C" curl -s --max-time "$TIMEOUT_S" -w "$CURL_W" -o /dev/null "$BASE/fast?c=curl-2" -o /dev/null "$BASE/slow?s=5&c=curl-3" >>curl.log || true
    sleep 0.3
    ip netns exec "$X19L_NS_C" curl -s --max-time "$TIMEOUT_S" -o /dev/null -w "$CURL_W" -d 'order=1' "$BASE/slow?s=6&c=curl-4" >>curl.log || true
    sleep 0.3
    ip netns exec "$X19L_NS_C" curl -s --max-time "$TIMEOUT_S" -o /dev/null -w "$CURL_W" "$BASE/fast?c=curl-5" >>curl.log || true
  ) &
  pids+=($!)
  wait "${pids[@]}" || true
}

mapfile -t SOFTWARE < <(
  echo "python requests $(/usr/bin/python3 -c 'import requests; print(requests.__version__)') (Debian python3-requests; urllib3 $(/usr/bin/python3 -c 'import urllib3; print(urllib3.__version__)')): programs/x9-timeout-client.py --timeout 3 --shared"
  echo "$(curl --version | head -1 | cut -d' ' -f1-2) (Debian curl): --max-time 3"
  echo "node $(node -v) http.request, option timeout 3000 (programs/b-pool-client.js --mode timeouts)"
  echo "Python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())') http.server ThreadingHTTPServer (programs/x19l-hang-server.py)"
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency")
for attempt in 1 2 3; do
  rm -f "$CCB_WORK"/{requests,node,curl,server}.log
  x19l_hang_start
  ccb_capture_start "$CC_NS" ccbs "$OUT" "tcp port $X19L_PORT"
  clients
  sleep 3.5   # the last slow handlers answer (into closed sockets)
  cc_capture_stop
  x19l_server_stop
  if python3 "$X19L_PROGRAMS/x19l-meta.py" timeouts "$SCENARIO" --capture "$OUT" --meta "$META" --server-port "$X19L_PORT" \
      --server-log "$CCB_WORK/server.log" --requests-log "$CCB_WORK/requests.log" --curl-log "$CCB_WORK/curl.log" --node-log "$CCB_WORK/node.log" \
      --need-timeouts 9 \
      --configured "{\"clientTimeout\": $TIMEOUT_S, \"requestsTimeout\": $TIMEOUT_S, \"curlMaxTime\": $TIMEOUT_S, \"nodeRequestTimeoutMs\": $((TIMEOUT_S * 1000)), \"slowHandlerSeconds\": [5, 6], \"oneWayDelayMs\": $DELAY_MS}" \
      --configured-notes "Every client's timeout is its own and 3 s: requests' timeout=3 (connect and read timeout: 3 s without a byte from the server), curl --max-time 3 (the whole transfer, connect included), Node http.request's timeout option 3000 ms (socket inactivity; b-pool-client.js destroys the request on 'timeout'). The server has no timeout of its own that fires here: its /slow handler sleeps 5 or 6 s and then answers." \
      --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
      --description "Client-side timeouts against a slow server. ${SOFTWARE[3]%% (*} (programs/x19l-hang-server.py) answers /fast at once and /slow?s=N after sleeping N s (5 or 6). Three clients at once, each with its own fixed 3 s timeout: ${SOFTWARE[0]%% (*} (one shared Session, timeout=3), ${SOFTWARE[1]%% (*} (--max-time 3; one invocation per request, one invocation reusing its connection for a slow transfer, one POST) and ${SOFTWARE[2]%% (*} (destroyed after 3 s without a byte). The kernel ACKs each slow request; each client waits 3 s without a response, gives up (requests: ReadTimeout; curl: exit 28 'Operation timed out'; Node: the 'timeout' event, then destroy) and closes the connection with a FIN; the server answers 200 2-3 s later into the closed socket and the client's kernel resets it. 5 ms one-way latency, captured on the server side."; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
if [ -n "${X19L_LOG_DIR:-}" ]; then mkdir -p "$X19L_LOG_DIR"; cp "$CCB_WORK"/*.log "$X19L_LOG_DIR/" 2>/dev/null || true; fi
exit 0
