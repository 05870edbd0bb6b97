#!/usr/bin/env bash
# Unanswered requests: a Node http server never answers /hang; a Node http client with
# timeout: 1500 destroys each hung request (FIN) - five times, three on new connections and
# two on reused keep-alive connections - plus answered requests.
# Writes samples/unanswered-request-timeout.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=unanswered-request-timeout
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"

cc_netns_up cc-b-unans
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 8080 --keep-alive-timeout 5000 2>"$WORK/server.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080"
cc_in node "$CCB_PROGRAMS/b-pool-client.js" --host 127.0.0.1 --port 8080 --mode timeouts --timeout 1500 \
  --plan n:/hang/1,r:/fast/1,r:/hang/2,n:/hang/3,r:/fast/2,r:/hang/4,n:/hang/5,n:/fast/3 --log "$WORK/client.log"
cc_capture_stop
cat "$WORK/client.log"
ccb_meta "$SCENARIO" --client-log "$WORK/client.log"
