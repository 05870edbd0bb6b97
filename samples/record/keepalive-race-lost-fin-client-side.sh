#!/usr/bin/env bash
# Keep-alive race whose FIN was lost, captured at the CLIENT, 20 ms one way from the server (client,
# router and server namespaces joined by user-space wires: this kernel has no netem). nginx
# (keepalive_timeout 2s) closes an idle connection; the wire next to it drops that FIN (its first
# FIN from port 8080: --drop-fins 1), so the client never learns of the close. A Node http.Agent
# reuses the connection after 2.2 s idle; nginx's kernel answers the request with a RST without ACK
# (the reset of a socket closed to it), the client gets ECONNRESET. The next request, 0.5 s later,
# goes on a new connection. The capture shows no FIN at all: a request after an idle gap, then a bare RST.
# Writes samples/keepalive-race-lost-fin-client-side.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require nginx node python3 tcpdump tshark ip

SCENARIO=keepalive-race-lost-fin-client-side
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
ONE_WAY_MS=20

ccb_workdir
WORK="$CCB_WORK"
X5_SERVER_WIRE_ARGS="--drop-fins 1 --drop-fin-sport 8080"
x5_topology_up "${RECORD_NS:-x5-lostfin}" "$ONE_WAY_MS"
S="$X5_SERVER_IP"
: >"$WORK/access.log"
chmod a+w "$WORK/access.log"
cat >"$WORK/nginx.conf" <<NG
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log $WORK/error.log info;
events { worker_connections 64; }
http { access_log $WORK/access.log; client_body_temp_path $WORK; keepalive_timeout 2s;
  server { listen $S:8080; location / { return 200 "ok\n"; } } }
NG
ccb_bg "$X5_S" nginx -c "$WORK/nginx.conf"
ccb_wait_port "$X5_S" 8080
x5_capture_start "$X5_C" x5c "$OUT" "tcp port 8080"
ip netns exec "$X5_C" timeout 20 node "$X5_PROGRAMS/x5-agent-client.js" --host "$S" --port 8080 --gaps 1000,2200,500 >"$WORK/client.log"
x5_capture_stop_all
# The wires print their counts when they end: stop them now (by PID, as cleanup would).
for pid in "${CC_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
for pid in "${CC_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
CC_PIDS=()
cat "$WORK/client.log"
cat >"$WORK/spec.json" <<SPEC
{ "description": "Keep-alive race whose FIN was lost, captured at the client, $ONE_WAY_MS ms one way from the server (client, router and server namespaces joined by user-space wires). nginx (keepalive_timeout 2s) closes the idle connection 2 s after its second response; the wire next to nginx drops that FIN, so neither the client nor this capture sees it. A Node http.Agent (keep-alive, no idle timeout of its own) reuses the connection 2.2 s after that response: nginx's kernel answers the POST with a RST without ACK (the reset of a socket closed to it), and the client gets ECONNRESET. Its next POST, 0.5 s later, goes on a new connection and is answered.",
  "software": ["$(nginx -v 2>&1 | sed 's/^nginx version: //')", "node $(node --version) http.Agent client (x5-agent-client.js)"],
  "configured": { "serverKeepaliveTimeout": 2.0 },
  "configuredNotes": "serverKeepaliveTimeout is nginx keepalive_timeout; its idle close is not in the capture (the FIN was lost), so no idle timeout can be inferred from it.",
  "oneWayMs": $ONE_WAY_MS, "capturePoint": "client", "server": "$S:8080", "clientIp": "$X5_CLIENT_IP",
  "clientLog": "$WORK/client.log", "accessLog": "$WORK/access.log", "wiresLog": "$WORK/wires.log" }
SPEC
python3 "$X5_PROGRAMS/x5-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --spec "$WORK/spec.json"
