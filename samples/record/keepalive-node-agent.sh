#!/usr/bin/env bash
# keepalive-node-agent: a Node http server and a Node http.Agent({keepAlive: true,
# maxSockets: 2}) client; 12 requests (GETs and small JSON POSTs) over 2 reused
# connections with 50-400 ms pauses; the client destroys the agent at the end (client FIN).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node python3 ip

out="$CC_SAMPLES_DIR/keepalive-node-agent.pcap"
port=8080
cc_netns_up cc-a-keepalive-agent

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$port"
cc_wait_port "$port"
# --immediate-mode: without it libpcap's TPACKET_V3 ring holds up to 1 s of packets
# that are lost when tcpdump is stopped.
cc_capture_start "$out" "tcp port $port" --immediate-mode
cc_a_run 20 node "$CC_A_PROGRAMS/keepalive-agent-client.js" --host 127.0.0.1 --port "$port" \
  --requests 12 --max-sockets 2 --pauses 50,300,100,400,200
cc_capture_stop

cc_a_meta "$out" '{
  "scenario": "keepalive-node-agent",
  "description": "Node http.Agent (keepAlive, maxSockets 2) sends 12 requests (8 GET, 4 POST with small JSON bodies) in 6 pairs over 2 connections that it keeps reusing, 50-400 ms apart; the Node server keeps both alive (keepAliveTimeout 5 s is never reached). The client destroys the agent at the end: client FIN first on both connections, then the server FIN. Clean traffic.",
  "software": ["node v20 http server", "node v20 http.Agent keepAlive"],
  "configured": {"serverKeepAliveTimeout": 5.0, "serverIdleTimeout": 6.0, "clientMaxSockets": 2, "clientPausesSeconds": [0.05, 0.3, 0.1, 0.4, 0.2]},
  "silent": true,
  "expectMode": "silent",
  "facts": {"connections": 2, "states": {"SF": 2}, "syn": 2, "synAck": 2, "fin": 4, "rst": 0,
            "httpRequests": 12, "httpResponses": 12, "requestsPerConnection": [6, 6], "exchanges": 12,
            "methods": {"GET": 8, "POST": 4}, "statuses": {"200": 8, "201": 4},
            "clientFirstFin": 2, "serverFirstFin": 0, "tcpAnalysisFlaggedPackets": 0}
}' "$port"
