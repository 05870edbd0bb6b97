#!/usr/bin/env bash
# http2-cleartext: a Node http2 server and client without TLS (h2c with prior knowledge, as gRPC
# runs inside clusters): one connection carrying 6 streams (4 GET, 2 POST) 100 ms apart, then the
# client closes it. conncheck reads HTTP/1.x: it must count the connection as HTTP/2 without TLS,
# parse nothing and report nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node python3 ip

out="$CC_SAMPLES_DIR/http2-cleartext.pcap"
port=8080
cc_netns_up cc-a-http2-cleartext

cc_bg node "$CC_A_PROGRAMS/h2c-server.js" --host 127.0.0.1 --port "$port"
cc_wait_port "$port"
cc_capture_start "$out" "tcp port $port" --immediate-mode
cc_a_run 20 node "$CC_A_PROGRAMS/h2c-client.js" --host 127.0.0.1 --port "$port" --requests 6 --pause-ms 100
cc_capture_stop

cc_a_meta "$out" '{
  "scenario": "http2-cleartext",
  "description": "A Node http2 client opens one connection without TLS to a Node http2 server (h2c with prior knowledge: the client starts with the PRI * HTTP/2.0 preface, the server may send its SETTINGS first) and sends 6 streams on it, 4 GET and 2 small JSON POST, 100 ms apart, each answered 200; then it closes the session (GOAWAY, client FIN first). conncheck reads HTTP/1.x only: it counts the connection as HTTP/2 without TLS, parses no exchange and reports nothing.",
  "software": ["node v20 http2 server (h2c)", "node v20 http2 client (h2c)"],
  "configured": {"streams": 6, "pauseSeconds": 0.1},
  "silent": true,
  "expectMode": "silent",
  "facts": {"connections": 1, "states": {"SF": 1}, "syn": 1, "synAck": 1, "rst": 0, "clientFirstFin": 1, "serverFirstFin": 0}
}'
