#!/usr/bin/env bash
# Request after a close notice: a Node http server answers "Connection: close" and closes;
# a raw net client sends another request on that connection anyway (four times as soon as it
# has read the response: before or just after the FIN arrives; once 30 ms after the FIN)
# and gets RST. Then a client
# that honours the notice opens a new connection (clean).
# Writes samples/request-after-close-notice.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=request-after-close-notice
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"

cc_netns_up cc-b-racn
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 8080 2>"$WORK/server.log"
cc_wait_port 8080
# Whether the immediate second request leaves before the server's FIN arrives depends on
# sub-millisecond timing: four immediate attempts, and the whole recording is redone (at
# most 3 times) until the capture holds both variants.
for attempt in 1 2 3; do
  rm -f "$WORK/client.log"
  cc_capture_start "$OUT" "tcp port 8080"
  cc_in node "$CCB_PROGRAMS/b-race-client.js" --host 127.0.0.1 --port 8080 --mode close-notice \
    --close-delays 0,0,0,0,-1 --log "$WORK/client.log"
  cc_capture_stop
  if ccb_meta "$SCENARIO" --client-log "$WORK/client.log"; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cat "$WORK/client.log"
