#!/usr/bin/env bash
# websocket-idle-proxy-timeout: idle WebSockets closed by a proxy's idle timeout ("my websocket
# disconnects every 60 seconds": nginx proxy_read_timeout, HAProxy timeout tunnel), here 3 s, on one
# namespace's loopback with both legs of each proxy captured. nginx 1.22 on 127.0.0.2:8080
# (proxy_http_version 1.1, Upgrade $http_upgrade, Connection "upgrade", proxy_read_timeout 3s) and
# HAProxy 2.6 on 127.0.0.2:8081 (mode http, timeout tunnel 3s, timeout client/server 30s) in front of
# the hand-written Node WebSocket server (programs/x28w-node-server.js, 127.0.0.3:9001) and aiohttp
# 3.8's (programs/x28w-aiohttp-server.py, 127.0.0.3:9002). Clients from 127.0.0.1: the hand-written
# Node client (programs/x28w-node-client.js) and autobahn 22.7's asyncio client
# (programs/x28w-autobahn-client.py), sending no pings of their own: six sessions exchange a message or
# two and then stay silent until the connection ends (seven sessions: four through nginx, three through HAProxy) (the proxy closes both legs at its timeout, no
# close frame: the clients report 1006; nginx sends FINs, HAProxy a FIN to the client and a RST to the backend); two sessions ping every second through each proxy and end
# with a closing handshake after 8 s; one direct session idles 5 s and closes cleanly. A few plain
# keep-alive requests through nginx on another connection. Ground truth: the clients' logs (close code
# and time), nginx's error log ("upstream timed out ... while proxying upgraded connection"),
# HAProxy's log (termination state); programs/x28w-meta.py checks them against the capture (the
# proxy's FIN on both legs 3 s after the last frame on either) and writes
# samples/websocket-idle-proxy-timeout.pcap and .meta.json, or refuses (at most 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x28w-lib.sh"
cc_require nginx haproxy node tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import aiohttp, autobahn' 2>/dev/null || { echo "record: apt-get install -y python3-aiohttp python3-autobahn" >&2; exit 2; }

SCENARIO=websocket-idle-proxy-timeout
TIMEOUT=3
cc_netns_up "${X28W_NETNS:-ccx28w}-t"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
ccb_before_cleanup() { x28w_stop_proxies; }
# what conncheck's round-21 build reports for these closes (nothing); the kind a finding would have
# Empty: conncheck reports each timed-out tunnel (tunnel-idle-timeout); a reason here marks the expectations knownMiss.
KNOWN_MISS=""
KNOWN_MISS="${X28W_KNOWN_MISS:-$KNOWN_MISS}"

NG=ws://127.0.0.2:8080
HA=ws://127.0.0.2:8081
x28w_proxy_software
for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$WORK"/plans.jsonl "$OUT"
  x28w_backends
  x28w_nginx ${TIMEOUT}s
  x28w_haproxy ${TIMEOUT}s
  cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081 or tcp port 9001 or tcp port 9002"
  X28W_CLIENTS=()
  x28w_ws NODE "$NG/node/ws" nt1 text:24,bin:200,wait:8000; sleep 0.3
  x28w_ws AB "$NG/py/ws" at2 text:40,wait:8000; sleep 0.3
  x28w_ws NODE "$NG/py/ws" nt3 text:30,sleep:1000,text:30,wait:8000; sleep 0.3
  x28w_ws AB "$NG/node/ws" at4 bin:100,wait:8000; sleep 0.3
  x28w_ws NODE "$NG/node/ws" np5 pingevery:1000:8,close:1000; sleep 0.3
  x28w_ws NODE "$HA/node/ws" nh1 text:24,wait:8000; sleep 0.3
  x28w_ws AB "$HA/py/ws" ah2 text:24,bin:500,wait:8000; sleep 0.3
  x28w_ws AB "$HA/node/ws" ap3 pingevery:1000:8,close:1000; sleep 0.3
  x28w_ws NODE "$HA/py/ws" nh4 bin:64,text:10,wait:8000; sleep 0.3
  x28w_ws NODE ws://127.0.0.3:9001/ws nd1 text:24,sleep:5000,text:24,close:1000
  x28w_http http://127.0.0.2:8080/py hxp 300,800,400,1200
  wait "${X28W_CLIENTS[@]}" || true
  sleep 0.5
  cc_capture_stop
  x28w_stop_proxies
  for pid in "${CC_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  CC_PIDS=()
  if [ -n "${X28W_DEBUG_DIR:-}" ]; then
    mkdir -p "$X28W_DEBUG_DIR/$SCENARIO/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK"/*.conf "$WORK"/*.cfg "$WORK"/plans.jsonl "$X28W_DEBUG_DIR/$SCENARIO/$attempt/" || true
  fi
  if /usr/bin/python3 "$CCB_PROGRAMS/x28w-meta.py" "$SCENARIO" --mode timeout --timeout "$TIMEOUT" --capture "$OUT" --meta "$META" --work "$WORK" \
      --expect-kind "${X28W_EXPECT_KIND:-tunnel-idle-timeout}" --known-miss "$KNOWN_MISS" \
      --software "${X28W_SOFTWARE[@]}"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
