#!/usr/bin/env bash
# websocket-healthy: WebSocket sessions (HTTP/1.1 GET with Upgrade: websocket -> 101 Switching
# Protocols, then RFC 6455 frames on the same connection) mixed with ordinary keep-alive HTTP, to the
# same servers, directly and through two proxies, all on one namespace's loopback (both legs of each
# proxy captured). Servers on 127.0.0.3: a Node 20 http server with a hand-written WebSocket upgrade
# (programs/x28w-node-server.js, 'upgrade' event, Sec-WebSocket-Accept; port 9001) and aiohttp 3.8's
# web server with web.WebSocketResponse (programs/x28w-aiohttp-server.py; port 9002); both echo text
# and binary messages, answer pings and close on request ("close-please:CODE": the server starts the
# closing handshake). Proxies on 127.0.0.2: nginx 1.22 (:8080; /node/ws and /py/ws with
# proxy_http_version 1.1, Upgrade $http_upgrade, Connection "upgrade", proxy_read_timeout 300s;
# /node/ and /py/ plain, through upstream keepalive pools) and HAProxy 2.6 (:8081, mode http,
# timeout tunnel 300s). Clients from 127.0.0.1: a hand-written Node WebSocket client (masked frames;
# programs/x28w-node-client.js) and autobahn 22.7's asyncio client (programs/x28w-autobahn-client.py),
# ten sessions at once, each a scripted mix of text and binary messages, pings, silences of 0.5-3 s and
# a closing handshake started by the client (1000) or by the server (1000/1001); four Node
# http.Agent keep-alive clients (programs/paced-keepalive-client.js) on other connections. Nothing
# fails: conncheck must stay silent. Ground truth: the clients' and servers' own logs, nginx's error
# and access logs, HAProxy's log; programs/x28w-meta.py checks them against the capture (legs of one
# session paired by Sec-WebSocket-Key) and writes samples/websocket-healthy.pcap and .meta.json, or
# refuses (at most 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x28w-lib.sh"
cc_require nginx haproxy node tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import aiohttp, autobahn' 2>/dev/null || { echo "record: apt-get install -y python3-aiohttp python3-autobahn" >&2; exit 2; }

SCENARIO=websocket-healthy
cc_netns_up "${X28W_NETNS:-ccx28w}-h"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
ccb_before_cleanup() { x28w_stop_proxies; }

N=ws://127.0.0.3:9001/ws
PY=ws://127.0.0.3:9002/py/ws
x28w_proxy_software
for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$WORK"/plans.jsonl "$OUT"
  x28w_backends
  x28w_nginx 300s
  x28w_haproxy 300s
  cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081 or tcp port 9001 or tcp port 9002"
  X28W_CLIENTS=()
  # direct
  x28w_ws NODE "$N" nd1 text:24,sleep:1200,bin:300,ping,sleep:2500,text:200,sleep:800,close:1000
  x28w_ws AB "$PY" ad2 text:40,sleep:700,bin:1500,sleep:3000,ping,text:100,sleep:600,srvclose:1000
  x28w_ws NODE "$PY" nd3 text:30,sleep:2000,bin:70000,ping,sleep:1000,text:60,srvclose:1001
  x28w_ws AB "$N" ad4 bin:64,sleep:1500,text:500,ping,sleep:2200,text:20,close:1000
  # through nginx
  x28w_ws NODE ws://127.0.0.2:8080/node/ws nx1 text:24,sleep:900,ping,bin:4000,sleep:2800,text:80,close:1000
  x28w_ws AB ws://127.0.0.2:8080/py/ws ax2 text:50,sleep:1600,bin:200,sleep:600,ping,text:30,sleep:2000,srvclose:1000
  x28w_ws NODE ws://127.0.0.2:8080/py/ws nx3 bin:100,sleep:2500,text:300,ping,sleep:1100,close:1000
  x28w_ws AB ws://127.0.0.2:8080/node/ws ax4 text:20,sleep:1000,text:20,sleep:1000,bin:900,ping,sleep:1500,srvclose:1001
  # through HAProxy
  x28w_ws NODE ws://127.0.0.2:8081/node/ws nh1 text:24,sleep:1300,bin:512,ping,sleep:2600,text:24,sleep:500,close:1000
  x28w_ws AB ws://127.0.0.2:8081/py/ws ah2 text:64,sleep:2100,ping,bin:2048,sleep:900,text:10,srvclose:1000
  # ordinary keep-alive HTTP to the same servers, on other connections
  x28w_http http://127.0.0.3:9001 hn 300,800,1500,500,2000,400
  x28w_http http://127.0.0.3:9002 hp 600,1200,400,2500,700
  x28w_http http://127.0.0.2:8080/node hxn 200,1000,1800,600,900,1400
  x28w_http http://127.0.0.2:8081/py hhp 500,700,2200,300,1600
  wait "${X28W_CLIENTS[@]}" || true
  sleep 0.5
  cc_capture_stop
  x28w_stop_proxies
  for pid in "${CC_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  CC_PIDS=()
  if [ -n "${X28W_DEBUG_DIR:-}" ]; then
    mkdir -p "$X28W_DEBUG_DIR/$SCENARIO/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK"/*.conf "$WORK"/*.cfg "$WORK"/plans.jsonl "$X28W_DEBUG_DIR/$SCENARIO/$attempt/" || true
  fi
  if /usr/bin/python3 "$CCB_PROGRAMS/x28w-meta.py" "$SCENARIO" --mode healthy --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "${X28W_SOFTWARE[@]}"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
