#!/usr/bin/env bash
# refused-connection: curl tries a port where nothing listens three times (each SYN is
# answered by RST,ACK), then makes one successful request to a Node server for contrast.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node curl python3 ip

out="$CC_SAMPLES_DIR/refused-connection.pcap"
open_port=8080
closed_port=8081
cc_netns_up cc-a-refused

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$open_port"
cc_wait_port "$open_port"
# --immediate-mode: without it libpcap's TPACKET_V3 ring holds up to 1 s of packets
# that are lost when tcpdump is stopped.
cc_capture_start "$out" "tcp port $open_port or tcp port $closed_port" --immediate-mode
for attempt in 1 2 3; do
  rc=0
  cc_a_run 5 curl -sS -o /dev/null "http://127.0.0.1:$closed_port/items/$attempt" 2>/dev/null || rc=$?
  [ "$rc" = 7 ] || { echo "record: attempt $attempt: expected curl exit 7 (refused), got $rc" >&2; exit 1; }
  sleep 0.2
done
cc_a_run 5 curl -sS -o /dev/null "http://127.0.0.1:$open_port/items/1"
cc_capture_stop

cc_a_meta "$out" '{
  "scenario": "refused-connection",
  "description": "curl connects three times, 200 ms apart, to 127.0.0.1:8081 where nothing listens: each SYN is answered at once by RST,ACK (curl exit code 7). Then one curl GET /items/1 to the Node server on 127.0.0.1:8080 succeeds (200; curl closes first at exit, then the server FIN).",
  "software": ["curl 7.88", "node v20 http server"],
  "configured": {"closedPort": 8081, "openPort": 8080, "attempts": 3, "attemptSpacingSeconds": 0.2, "serverIdleTimeout": 5.0},
  "silent": false,
  "expectMode": "refused",
  "expectNotes": {"refused": "SYN answered by RST,ACK at once: nothing listens on 8081", "clean": "the successful contrast connection: no finding"},
  "facts": {"connections": 4, "states": {"REJ": 3, "SF": 1}, "syn": 4, "synAck": 1, "fin": 2, "rst": 3,
            "httpRequests": 1, "httpResponses": 1, "requestsPerConnection": [0, 0, 0, 1], "exchanges": 1,
            "methods": {"GET": 1}, "statuses": {"200": 1}, "clientFirstFin": 1}
}' "$open_port" "$closed_port"
