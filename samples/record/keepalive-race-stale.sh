#!/usr/bin/env bash
# Keep-alive race, stale-reuse form, on loopback: a Node http server closes idle sockets
# after 2.0 s (keepAliveTimeout 1000 ms + Node's 1 s buffer); a raw net client acting as a
# pool that ignores 'end' hands the dead connection out 25 ms (GET) and 50 ms (POST) after
# the FIN arrived, gets RST, and retries the request on a new connection.
# Writes samples/keepalive-race-stale.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=keepalive-race-stale
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"

cc_netns_up cc-b-ks
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 8080 --keep-alive-timeout 1000 2>"$WORK/server.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080"
cc_in node "$CCB_PROGRAMS/b-race-client.js" --host 127.0.0.1 --port 8080 --mode stale \
  --nominal-idle-ms 2000 --stale-delays 25,50 --log "$WORK/client.log"
cc_capture_stop
ccb_meta "$SCENARIO" --client-log "$WORK/client.log" --set 'staleDelays=[25,50]'
cat "$WORK/client.log"
