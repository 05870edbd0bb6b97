#!/usr/bin/env bash
# any-interface-sll2: a few keep-alive requests captured with "tcpdump -i any", whose
# link type is LINUX_SLL2 (each frame starts with a 20-byte cooked header instead of
# Ethernet).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node python3 ip

out="$CC_SAMPLES_DIR/any-interface-sll2.pcap"
port=8080
cc_netns_up cc-a-any-sll2

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$port"
cc_wait_port "$port"
# -y LINUX_SLL2 makes the link type explicit (it is tcpdump 4.99's default for "any").
# --immediate-mode: without it libpcap's TPACKET_V3 ring holds up to 1 s of packets
# that are lost when tcpdump is stopped.
cc_a_tcpdump_start any "$out" "tcp port $port" -y LINUX_SLL2 --immediate-mode --time-stamp-precision=nano
cc_a_run 15 node "$CC_A_PROGRAMS/keepalive-agent-client.js" --host 127.0.0.1 --port "$port" \
  --requests 4 --max-sockets 1 --pauses 150
cc_capture_stop

cc_a_meta "$out" '{
  "scenario": "any-interface-sll2",
  "description": "tcpdump -i any (link type LINUX_SLL2, nanosecond pcap) of one keep-alive connection: Node http.Agent (keepAlive, maxSockets 1) sends 4 requests (3 GET, 1 POST) 150 ms apart to a Node server; the client destroys the agent at the end (client FIN first). Loopback packets appear once each (libpcap drops the outgoing copy on lo). Clean traffic.",
  "software": ["tcpdump 4.99 -i any", "node v20 http server", "node v20 http.Agent keepAlive"],
  "configured": {"serverKeepAliveTimeout": 5.0, "serverIdleTimeout": 6.0, "clientMaxSockets": 1, "clientPausesSeconds": [0.15]},
  "silent": true,
  "expectMode": "silent",
  "facts": {"linkType": "linux-sll2", "connections": 1, "states": {"SF": 1}, "syn": 1, "synAck": 1, "fin": 2, "rst": 0,
            "httpRequests": 4, "httpResponses": 4, "exchanges": 4,
            "methods": {"GET": 3, "POST": 1}, "statuses": {"200": 3, "201": 1},
            "clientFirstFin": 1, "tcpAnalysisFlaggedPackets": 0}
}' "$port"
