#!/usr/bin/env bash
# midstream-start: a long-lived keep-alive connection whose capture starts after the
# handshake and the first exchange: the client makes one request, then tcpdump starts,
# then the client makes 4 more requests on the same connection and closes it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node python3 ip

out="$CC_SAMPLES_DIR/midstream-start.pcap"
port=8080
cc_netns_up cc-a-midstream
sync_dir="$(mktemp -d /tmp/cc-a-midstream.XXXXXX)"
trap 'cc_cleanup; rm -rf "$sync_dir"' EXIT

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$port"
cc_wait_port "$port"
# The client signals "ready" after its first request (connection open, idle in the
# pool), then waits for "go" before it continues on the same connection.
cc_bg node "$CC_A_PROGRAMS/keepalive-agent-client.js" --host 127.0.0.1 --port "$port" \
  --requests 5 --max-sockets 1 --pauses 150 --ready-file "$sync_dir/ready" --go-file "$sync_dir/go"
client_pid="$CC_LAST_PID"
cc_a_wait_file "$sync_dir/ready"
# --immediate-mode: without it libpcap's TPACKET_V3 ring holds up to 1 s of packets
# that are lost when tcpdump is stopped.
cc_capture_start "$out" "tcp port $port" --immediate-mode
touch "$sync_dir/go"
cc_a_wait_pid "$client_pid" 15
cc_capture_stop

cc_a_meta "$out" '{
  "scenario": "midstream-start",
  "description": "The capture starts on an already established keep-alive connection (Node http.Agent keepAlive, maxSockets 1, to a Node server): the handshake and the first exchange (GET /items/1) happened before tcpdump started, so the file has no SYN. In the capture the client sends 4 more requests on that connection, 150 ms apart (POST /items, GET /items/3, GET /items/4, POST /items), then destroys the agent (client FIN first, server FIN). Clean traffic.",
  "software": ["node v20 http server", "node v20 http.Agent keepAlive"],
  "configured": {"serverKeepAliveTimeout": 5.0, "serverIdleTimeout": 6.0, "clientMaxSockets": 1, "clientPausesSeconds": [0.15]},
  "silent": true,
  "expectMode": "silent",
  "notes": "No SYN: the client is the side that sends the requests (higher port); the connection history before the capture is unknown, and so is the window scale (raw windows read 64; the real scale is 1024). The capture begins with a request (POST /items) on the idle connection. states.SF follows Zeek, which labels a midstream connection closed by both FINs SF. Nothing here is an anomaly.",
  "facts": {"connections": 1, "syn": 0, "synAck": 0, "fin": 2, "rst": 0,
            "httpRequests": 4, "httpResponses": 4, "exchanges": 4,
            "methods": {"GET": 2, "POST": 2}, "statuses": {"200": 2, "201": 2},
            "clientFirstFin": 1, "tcpAnalysisFlaggedPackets": 0}
}' "$port"
