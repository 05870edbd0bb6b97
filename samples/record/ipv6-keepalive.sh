#!/usr/bin/env bash
# ipv6-keepalive: keepalive-node-agent over ::1 with fewer requests — a Node
# http.Agent({keepAlive: true, maxSockets: 2}) client sends 6 requests over 2 reused
# connections to a Node http server; the client destroys the agent at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node python3 ip

out="$CC_SAMPLES_DIR/ipv6-keepalive.pcap"
port=8080
cc_netns_up cc-a-ipv6-keepalive

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host ::1 --port "$port"
cc_wait_port "$port"
# --immediate-mode: without it libpcap's TPACKET_V3 ring holds up to 1 s of packets
# that are lost when tcpdump is stopped.
cc_capture_start "$out" "tcp port $port" --immediate-mode
cc_a_run 20 node "$CC_A_PROGRAMS/keepalive-agent-client.js" --host ::1 --port "$port" \
  --requests 6 --max-sockets 2 --pauses 200,300
cc_capture_stop

cc_a_meta "$out" '{
  "scenario": "ipv6-keepalive",
  "description": "The keepalive-node-agent scenario over IPv6 loopback (::1): Node http.Agent (keepAlive, maxSockets 2) sends 6 requests (4 GET, 2 POST with small JSON bodies) in 3 pairs over 2 reused connections, 200-300 ms apart; the client destroys the agent at the end (client FIN first, then server FIN). Clean traffic.",
  "software": ["node v20 http server", "node v20 http.Agent keepAlive"],
  "configured": {"serverKeepAliveTimeout": 5.0, "serverIdleTimeout": 6.0, "clientMaxSockets": 2, "clientPausesSeconds": [0.2, 0.3]},
  "silent": true,
  "expectMode": "silent",
  "facts": {"connections": 2, "states": {"SF": 2}, "syn": 2, "synAck": 2, "fin": 4, "rst": 0,
            "httpRequests": 6, "httpResponses": 6, "requestsPerConnection": [3, 3], "exchanges": 6,
            "methods": {"GET": 4, "POST": 2}, "statuses": {"200": 4, "201": 2},
            "clientFirstFin": 2, "serverFirstFin": 0, "tcpAnalysisFlaggedPackets": 0}
}' "$port"
