#!/usr/bin/env bash
# keepalive-pcapng: a few keep-alive requests captured as pcapng (dumpcap on the
# namespace's loopback; tcpdump 4.99 on Debian 12 cannot write pcapng).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require dumpcap tshark capinfos node python3 ip

out="$CC_SAMPLES_DIR/keepalive-pcapng.pcapng"
port=8080
cc_netns_up cc-a-pcapng

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$port"
cc_wait_port "$port"
rm -f "$out"
cc_a_dumpcap_start "$out" "tcp port $port"
cc_a_run 15 node "$CC_A_PROGRAMS/keepalive-agent-client.js" --host 127.0.0.1 --port "$port" \
  --requests 4 --max-sockets 1 --pauses 150
cc_a_dumpcap_stop
chmod 644 "$out"  # dumpcap creates its file 0600

cc_a_meta "$out" '{
  "scenario": "keepalive-pcapng",
  "description": "pcapng (dumpcap: Section Header, one Interface Description Block for lo with if_tsresol 9 (nanoseconds), Enhanced Packet Blocks, an Interface Statistics Block at the end) of one keep-alive connection: Node http.Agent (keepAlive, maxSockets 1) sends 4 requests (3 GET, 1 POST) 150 ms apart to a Node server; the client destroys the agent at the end (client FIN first). Clean traffic.",
  "software": ["dumpcap (Wireshark 4.0)", "node v20 http server", "node v20 http.Agent keepAlive"],
  "configured": {"serverKeepAliveTimeout": 5.0, "serverIdleTimeout": 6.0, "clientMaxSockets": 1, "clientPausesSeconds": [0.15]},
  "silent": true,
  "expectMode": "silent",
  "facts": {"fileFormat": "pcapng", "linkType": "ether", "timestampPrecision": "nanoseconds (9)", "connections": 1, "states": {"SF": 1},
            "syn": 1, "synAck": 1, "fin": 2, "rst": 0,
            "httpRequests": 4, "httpResponses": 4, "exchanges": 4,
            "methods": {"GET": 3, "POST": 1}, "statuses": {"200": 3, "201": 1},
            "clientFirstFin": 1, "tcpAnalysisFlaggedPackets": 0}
}' "$port"
