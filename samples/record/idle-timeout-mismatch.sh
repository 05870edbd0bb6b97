#!/usr/bin/env bash
# Idle-timeout mismatch, no race yet: a Node http server that closes idle sockets after
# 2.0 s (keepAliveTimeout 1000 ms + Node's 1 s buffer) but advertises Keep-Alive: timeout=5;
# four Node http.Agent pools reuse their connection after gaps of up to 1.9 s, then idle
# until the server closes it. Writes samples/idle-timeout-mismatch.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=idle-timeout-mismatch
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"

cc_netns_up cc-b-itm
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 8080 --keep-alive-timeout 1000 \
  --keep-alive-header "timeout=5" 2>"$WORK/server.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080"
cc_in node "$CCB_PROGRAMS/b-pool-client.js" --host 127.0.0.1 --port 8080 --mode reuse-gaps \
  --pools 4 --gaps 300,1200,1600,1900 --final-idle 3000 --log "$WORK/client.log"
cc_capture_stop
ccb_meta "$SCENARIO" --client-log "$WORK/client.log"
cat "$WORK/client.log"
