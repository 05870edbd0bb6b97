#!/usr/bin/env bash
# websocket-fixed-length-sessions: WebSocket sessions of one scripted length next to ordinary
# keep-alive HTTP on the same server, as a client that follows a live feed for a few seconds and
# leaves makes them. All on one namespace's loopback. Server: the Node 20 http server with the
# hand-written WebSocket upgrade (programs/x28w-node-server.js on 127.0.0.3:9001, keepAliveTimeout
# 30 s: its plain responses say Keep-Alive: timeout=30). Clients from 127.0.0.1: eight sessions, four
# from the hand-written Node client (programs/x28w-node-client.js) and four from autobahn 22.7's asyncio
# client (programs/x28w-autobahn-client.py), started 0.35 s apart: each sends a text message every 0.5 s
# (each echoed), six times, then closes with code 1000 (six of them starting the closing handshake
# themselves, two asking the server to); after the closing handshake the server closes the TCP
# connection first, as RFC 6455 asks, about 2.5 s after its 101. A Node http.Agent keep-alive client
# sends 7 requests 0.3-1.5 s apart on another connection. Nothing fails and nothing is idle: conncheck
# must stay silent. Ground truth: the clients' and the server's own logs; programs/x28w-meta.py checks
# them against the capture and writes samples/websocket-fixed-length-sessions.pcap and .meta.json, or
# refuses (at most 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x28w-lib.sh"
cc_require node tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import aiohttp, autobahn' 2>/dev/null || { echo "record: apt-get install -y python3-aiohttp python3-autobahn" >&2; exit 2; }

SCENARIO=websocket-fixed-length-sessions
cc_netns_up "${X28W_NETNS:-ccx28w}-f"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
DESCRIPTION="WebSocket sessions of one scripted length next to ordinary keep-alive HTTP on the same server, on one namespace's loopback: a Node 20 http server with a hand-written WebSocket upgrade (127.0.0.3:9001, keepAliveTimeout 30 s: its plain responses say Keep-Alive: timeout=30). Eight sessions from a hand-written Node client (masked frames) and autobahn 22.7's asyncio client, started 0.35 s apart, each a GET with Upgrade: websocket answered 101, then a text message every 0.5 s, echoed, six times, then a closing handshake with code 1000 (six started by the client, two by the server on request); after it the server closes the TCP connection first, as RFC 6455 asks, about 2.5 s after its 101 on every session. A Node http.Agent (keepAlive) sends 7 requests 0.3-1.5 s apart on another connection and closes it at the end. Nothing fails and no connection is idle: the server's first FINs on the WebSocket connections end closing handshakes, not idle keep-alive connections, and tell no idle timeout; conncheck must report nothing."
for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$WORK"/plans.jsonl "$OUT"
  x28w_backends
  cc_capture_start "$OUT" "tcp port 9001"
  X28W_CLIENTS=()
  x28w_http http://127.0.0.3:9001 hn 300,800,1500,500,700,400
  N=ws://127.0.0.3:9001/ws
  STEPS=text:32,sleep:500,text:32,sleep:500,text:32,sleep:500,text:32,sleep:500,text:32,sleep:500,text:32
  x28w_ws NODE "$N" f1 "$STEPS,close:1000"; sleep 0.35
  x28w_ws AB "$N" f2 "$STEPS,close:1000"; sleep 0.35
  x28w_ws NODE "$N" f3 "$STEPS,close:1000"; sleep 0.35
  x28w_ws AB "$N" f4 "$STEPS,srvclose:1000"; sleep 0.35
  x28w_ws NODE "$N" f5 "$STEPS,srvclose:1000"; sleep 0.35
  x28w_ws AB "$N" f6 "$STEPS,close:1000"; sleep 0.35
  x28w_ws NODE "$N" f7 "$STEPS,close:1000"; sleep 0.35
  x28w_ws AB "$N" f8 "$STEPS,close:1000"
  wait "${X28W_CLIENTS[@]}" || true
  sleep 0.5
  cc_capture_stop
  for pid in "${CC_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  CC_PIDS=()
  if [ -n "${X28W_DEBUG_DIR:-}" ]; then
    mkdir -p "$X28W_DEBUG_DIR/$SCENARIO/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK"/plans.jsonl "$X28W_DEBUG_DIR/$SCENARIO/$attempt/" || true
  fi
  if /usr/bin/python3 "$CCB_PROGRAMS/x28w-meta.py" "$SCENARIO" --mode healthy --capture "$OUT" --meta "$META" --work "$WORK" \
      --description "$DESCRIPTION" \
      --notes "facts.upgradeToFirstFin lists, per server, each WebSocket connection's time from its 101 to its first FIN (the server's, after the closing handshake): the sessions' length, not an idle time." \
      --software "node $(node -v) (x28w-node-server.js and x28w-node-client.js: WebSocket written by hand on http/net; paced-keepalive-client.js: http.Agent keepAlive)" \
        "autobahn $(/usr/bin/python3 -c 'import autobahn; print(autobahn.__version__)') asyncio WebSocket client (x28w-autobahn-client.py, /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
