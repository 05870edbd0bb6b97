#!/usr/bin/env bash
# Port reuse: a raw net client connects from local port 40000 again and again; its new SYNs
# (new ISNs) meet the server's TIME_WAIT (server closed first, Connection: close) and then
# its own (client closed first; tcp_tw_reuse=2 allows it on loopback, tcp_tw_reuse_delay is
# lowered to 100 ms in this namespace). Writes samples/port-reuse.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip sysctl

SCENARIO=port-reuse
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"

cc_netns_up cc-b-preuse
ccb_workdir
WORK="$CCB_WORK"
cc_in sysctl -q -w net.ipv4.tcp_tw_reuse=2 net.ipv4.tcp_tw_reuse_delay=100
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 8080 --keep-alive-timeout 5000 2>"$WORK/server.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080"
cc_in node "$CCB_PROGRAMS/b-port-reuse-client.js" --host 127.0.0.1 --port 8080 --local-port 40000 \
  --plan close:0,close:30,keep:50,keep:150 --log "$WORK/client.log"
cc_capture_stop
cat "$WORK/client.log"
ccb_meta "$SCENARIO" --client-log "$WORK/client.log"
