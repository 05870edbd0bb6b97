#!/usr/bin/env bash
# response-truncated-killed-mid-body: a server killed (SIGKILL) while two downloads are mid-body: its
# kernel closes both connections with a FIN right after the last bytes written, no timer involved
# (blind round 11, S2d: a node server killed mid-stream; the "abrupt" reading had no sample).
# In a namespace, on its loopback: programs/killed-mid-body-server.js (Node 20) on 127.0.0.2:8080.
# curl (from 127.0.0.1) fetches /small (complete: the near miss), then two /big downloads
# (Content-Length 5 000 000, written 64 KiB every 50 ms) begun 0.4 s apart; 1.2 s after the first
# began the recorder kills the server by its PID: both cut at one instant, at different times since
# their requests (two downloads begun together would read as a time limit as well). Ground truth: the server's write log and curl's exit codes
# (18: transfer closed with bytes remaining); programs/killed-mid-body-meta.py checks them against the
# capture and writes the meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require node curl tcpdump tshark ip python3

SCENARIO=response-truncated-killed-mid-body
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
chmod 755 "$WORK"
P="$CC_RECORD_DIR/programs"

cc_netns_up cc-killed-mid-body
cc_bg node "$P/killed-mid-body-server.js" 127.0.0.2 8080 "$WORK/server.log"
SERVER_PID="$CC_LAST_PID"
cc_wait_port 8080
# Only the headers and the first bytes of each segment (snaplen 400): the 5 MB bodies stay out of the sample.
cc_capture_start "$OUT" "tcp port 8080" -s 400
fetch() {
  local rc=0
  cc_in timeout 15 curl -s -o /dev/null "http://127.0.0.2:8080/$1" || rc=$?
  echo "$1 $rc" >>"$WORK/curl.log"
}
fetch small
fetch big & C1=$!
sleep 0.4
fetch big & C2=$!
sleep 0.8
kill -KILL "$SERVER_PID"
wait $C1 $C2 || true
cc_capture_stop
python3 "$P/killed-mid-body-meta.py" --capture "$OUT" --meta "$META" --server-log "$WORK/server.log" --curl-log "$WORK/curl.log" \
  --software "node $(node --version)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
rm -rf "$WORK"
