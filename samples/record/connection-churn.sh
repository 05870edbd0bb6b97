#!/usr/bin/env bash
# Connection churn: a Node http client (Agent keepAlive:false, maxSockets 4) sends 30
# sequential GETs to a Node http server that keeps connections alive; the agent destroys
# each socket after its response, so every request opens a new connection.
# Writes samples/connection-churn.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=connection-churn
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"

cc_netns_up cc-b-churn
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 8080 --keep-alive-timeout 5000 2>"$WORK/server.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080"
cc_in node "$CCB_PROGRAMS/b-pool-client.js" --host 127.0.0.1 --port 8080 --mode churn \
  --count 30 --interval 20 --log "$WORK/client.log"
cc_capture_stop
ccb_meta "$SCENARIO" --client-log "$WORK/client.log"
head -3 "$WORK/client.log"
