#!/usr/bin/env bash
# unanswered-request-app-drops-reused: a server application that reads the second request of each
# connection whole and closes without answering (a clean FIN acknowledging the request, no RST), its
# idle timeout 30 s (blind round 12, S8): not an idle-timer race however fast the close and whatever
# the idle gap before the request. In a namespace, on its loopback: programs/app-drops-server.py on
# 127.0.0.2:8080. Clients from 127.0.0.1: two curl --next pairs (GET /a then POST /post-b -d hello;
# GET /c then GET /get-d), 0.3 ms idle before the second request, which curl sends again on a new
# connection by itself ("Connection died, retrying a fresh connect"); then a python-requests
# Session reusing its connection after 0.4 s (POST /r2-post and GET /r4-get dropped:
# RemoteDisconnected, no retry). Ground truth: the server's log (which request it answered, which
# it read and dropped), curl's -v output and requests' outcomes; programs/app-drops-meta.py checks
# them against the capture and writes the meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require curl tcpdump tshark ip python3
python3 -c 'import requests' 2>/dev/null || { echo "record: python3-requests is required (apt-get install python3-requests)" >&2; exit 2; }

SCENARIO=unanswered-request-app-drops-reused
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
chmod 755 "$WORK"
P="$CC_RECORD_DIR/programs"
BASE="http://127.0.0.2:8080"

cc_netns_up cc-app-drops
# The server ends by itself after 20 s (bounded); cleanup ends it by PID before that.
cc_bg python3 -u "$P/app-drops-server.py" 127.0.0.2 8080 "$WORK/server.log" 20
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080"
cc_in timeout 10 curl -v -sS -o /dev/null "$BASE/a" --next -v -sS -o /dev/null -d hello "$BASE/post-b" 2>>"$WORK/curl.log" || echo "curl pair 1: exit $?" >>"$WORK/curl.log"
sleep 0.3
cc_in timeout 10 curl -v -sS -o /dev/null "$BASE/c" --next -v -sS -o /dev/null "$BASE/get-d" 2>>"$WORK/curl.log" || echo "curl pair 2: exit $?" >>"$WORK/curl.log"
sleep 0.3
cc_in timeout 20 python3 "$P/app-drops-requests.py" "$BASE" 0.4 "$WORK/requests.log"
cc_capture_stop
python3 "$P/app-drops-meta.py" --capture "$OUT" --meta "$META" --server-log "$WORK/server.log" --curl-log "$WORK/curl.log" \
  --requests-log "$WORK/requests.log" \
  --software "Python $(python3 -c 'import platform; print(platform.python_version())') socket server (app-drops-server.py)" \
  "$(curl --version | head -1 | cut -d' ' -f1-2)" "python-requests $(python3 -c 'import requests; print(requests.__version__)')"
rm -rf "$WORK"
