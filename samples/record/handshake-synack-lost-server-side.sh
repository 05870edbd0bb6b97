#!/usr/bin/env bash
# A healthy keep-alive exchange captured at the SERVER, 20 ms one way from the client, whose first
# SYN-ACK is lost on the path (the wire next to the server drops it: --drop-synacks 1). The
# client's SYN times out after its 1 s RTO and is sent again; the server answers it; the handshake
# completes one round trip later and three requests are answered on the connection. The capture
# shows SYN, SYN-ACK, SYN, SYN-ACK, ACK: where it was taken is told by the SYN-ACK that answered the
# last SYN (next to the server), not by the first one, which the last SYN follows.
# Writes samples/handshake-synack-lost-server-side.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=handshake-synack-lost-server-side
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
ONE_WAY_MS=20

ccb_workdir
WORK="$CCB_WORK"
X5_SERVER_WIRE_ARGS="--drop-synacks 1"
x5_topology_up "${RECORD_NS:-x5-synack}" "$ONE_WAY_MS"
ccb_bg "$X5_S" node "$X5_PROGRAMS/b-http-server.js" --host "$X5_SERVER_IP" --port 8080 --keep-alive-timeout 5000 2>"$WORK/server.log"
ccb_wait_port "$X5_S" 8080
x5_capture_start "$X5_S" x5s "$OUT" "tcp port 8080"
ip netns exec "$X5_C" timeout 20 node "$X5_PROGRAMS/x5-agent-client.js" --host "$X5_SERVER_IP" --port 8080 --gaps 200,200 >"$WORK/client.log"
ip netns exec "$X5_C" sleep 0.2
x5_capture_stop_all
cat "$WORK/client.log"
cat >"$WORK/spec.json" <<SPEC
{ "description": "A healthy keep-alive exchange captured at the server, $ONE_WAY_MS ms one way from the client (client, router and server namespaces joined by user-space wires), whose first SYN-ACK was lost on the path (dropped by the wire next to the server). The client's SYN timed out after its 1 s RTO and was sent again, the server answered it, the handshake completed one round trip later and three POSTs from a Node http.Agent were answered 201 on the connection (the agent keeps it; the capture ends before any idle close).",
  "software": ["node $(node --version) http server", "node $(node --version) http.Agent client (x5-agent-client.js)"],
  "configured": {},
  "oneWayMs": $ONE_WAY_MS, "capturePoint": "server", "server": "$X5_SERVER_IP:8080" }
SPEC
python3 "$X5_PROGRAMS/x5-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --spec "$WORK/spec.json"
