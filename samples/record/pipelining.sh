#!/usr/bin/env bash
# pipelining: a raw Node net client writes 5 pipelined GET requests in one write; the
# Node http server answers them in order on the same connection; the client then closes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node python3 ip

out="$CC_SAMPLES_DIR/pipelining.pcap"
port=8080
cc_netns_up cc-a-pipelining

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$port"
cc_wait_port "$port"
# --immediate-mode: without it libpcap's TPACKET_V3 ring holds up to 1 s of packets
# that are lost when tcpdump is stopped.
cc_capture_start "$out" "tcp port $port" --immediate-mode
cc_a_run 10 node "$CC_A_PROGRAMS/pipelining-client.js" --host 127.0.0.1 --port "$port" --requests 5
cc_capture_stop

cc_a_meta "$out" '{
  "scenario": "pipelining",
  "description": "A raw TCP client writes 5 pipelined GET /items/1..5 requests in one write (one segment); the Node http server answers them in order on the same connection (200 with Content-Length each); after the 5th response the client closes (client FIN first, then server FIN). Clean traffic.",
  "software": ["node v20 net (raw pipelining client)", "node v20 http server"],
  "configured": {"serverKeepAliveTimeout": 5.0, "serverIdleTimeout": 6.0, "pipelinedRequests": 5},
  "silent": true,
  "expectMode": "silent",
  "notes": "All 5 requests are in one client segment; requests and responses must be paired in order (request k with response k), none of them is unanswered.",
  "facts": {"connections": 1, "states": {"SF": 1}, "syn": 1, "synAck": 1, "fin": 2, "rst": 0,
            "httpRequests": 5, "httpResponses": 5, "exchanges": 5,
            "methods": {"GET": 5}, "statuses": {"200": 5},
            "maxRequestsInOneSegment": 5, "clientFirstFin": 1, "tcpAnalysisFlaggedPackets": 0}
}' "$port"
