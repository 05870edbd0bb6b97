#!/usr/bin/env bash
# chunked-responses: a Node server streams chunked responses (several res.write()s
# 40 ms apart, one with a trailer); a keep-alive client fetches three of them on one
# connection, then a HEAD, a 304 and a 204 on the same connection; then closes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node python3 ip

out="$CC_SAMPLES_DIR/chunked-responses.pcap"
port=8080
cc_netns_up cc-a-chunked

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$port"
cc_wait_port "$port"
# --immediate-mode: without it libpcap's TPACKET_V3 ring holds up to 1 s of packets
# that are lost when tcpdump is stopped.
cc_capture_start "$out" "tcp port $port" --immediate-mode
cc_a_run 15 node "$CC_A_PROGRAMS/chunked-client.js" --host 127.0.0.1 --port "$port"
cc_capture_stop

cc_a_meta "$out" '{
  "scenario": "chunked-responses",
  "description": "One keep-alive connection (Node http.Agent, maxSockets 1), 100 ms between requests: GET /stream/3 and GET /stream/4 get chunked bodies written 40 ms apart (one chunk per segment), GET /stream-trailers gets a chunked body with a Trailer header and an X-Checksum trailer field; then HEAD /items/1 (200 with Content-Length but no body), GET /cached with If-None-Match (304, no body) and DELETE /items/7 (204, no body). The client destroys the agent at the end (client FIN first). Clean traffic.",
  "software": ["node v20 http server", "node v20 http.Agent keepAlive"],
  "configured": {"serverKeepAliveTimeout": 5.0, "serverIdleTimeout": 6.0, "chunkIntervalSeconds": 0.04, "clientPauseSeconds": 0.1},
  "silent": true,
  "expectMode": "silent",
  "notes": "The HEAD response carries Content-Length: 31 but no body bytes follow; 304 and 204 have no body either. A parser that expects a body there would swallow the next response.",
  "facts": {"connections": 1, "states": {"SF": 1}, "syn": 1, "synAck": 1, "fin": 2, "rst": 0,
            "httpRequests": 6, "httpResponses": 6, "exchanges": 6,
            "methods": {"DELETE": 1, "GET": 4, "HEAD": 1}, "statuses": {"200": 4, "204": 1, "304": 1},
            "chunkedResponses": 3, "trailerFields": ["X-Checksum: c0ffee"],
            "clientFirstFin": 1, "tcpAnalysisFlaggedPackets": 0}
}' "$port"
