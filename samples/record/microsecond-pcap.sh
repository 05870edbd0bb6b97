#!/usr/bin/env bash
# microsecond-pcap: a small capture in classic pcap with tcpdump's default microsecond
# timestamps (magic a1b2c3d4), plus a gzipped copy microsecond-pcap.pcap.gz of the
# same bytes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node python3 gzip ip

out="$CC_SAMPLES_DIR/microsecond-pcap.pcap"
port=8080
cc_netns_up cc-a-microsecond

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$port"
cc_wait_port "$port"
# No --time-stamp-precision: tcpdump's default (microseconds) is the point here.
# --immediate-mode: without it libpcap's TPACKET_V3 ring holds up to 1 s of packets
# that are lost when tcpdump is stopped.
cc_a_tcpdump_start lo "$out" "tcp port $port" --immediate-mode
cc_a_run 15 node "$CC_A_PROGRAMS/keepalive-agent-client.js" --host 127.0.0.1 --port "$port" \
  --requests 3 --max-sockets 1 --pauses 100
cc_capture_stop
# -n: no name or time stamp in the gzip header, so the .gz depends only on the capture.
gzip -9 -n -c "$out" >"$out.gz"
gzip -dc "$out.gz" | cmp - "$out"

cc_a_meta "$out" '{
  "scenario": "microsecond-pcap",
  "description": "Classic pcap with microsecond timestamps (magic 0xa1b2c3d4, tcpdump default precision) and a gzip copy (microsecond-pcap.pcap.gz, same bytes once decompressed) of one keep-alive connection: Node http.Agent (keepAlive, maxSockets 1) sends 3 requests (2 GET, 1 POST) 100 ms apart to a Node server; the client destroys the agent at the end (client FIN first). Clean traffic.",
  "software": ["tcpdump 4.99 (default microsecond precision)", "gzip", "node v20 http server", "node v20 http.Agent keepAlive"],
  "configured": {"serverKeepAliveTimeout": 5.0, "serverIdleTimeout": 6.0, "clientMaxSockets": 1, "clientPausesSeconds": [0.1]},
  "silent": true,
  "expectMode": "silent",
  "notes": "microsecond-pcap.pcap.gz must give exactly the same analysis as microsecond-pcap.pcap.",
  "facts": {"fileFormat": "pcap", "timestampPrecision": "microseconds (6)", "linkType": "ether",
            "connections": 1, "states": {"SF": 1}, "syn": 1, "synAck": 1, "fin": 2, "rst": 0,
            "httpRequests": 3, "httpResponses": 3, "exchanges": 3,
            "methods": {"GET": 2, "POST": 1}, "statuses": {"200": 2, "201": 1},
            "clientFirstFin": 1, "tcpAnalysisFlaggedPackets": 0}
}' "$port"
