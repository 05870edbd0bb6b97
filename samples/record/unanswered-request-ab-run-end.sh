#!/usr/bin/env bash
# A client's run ending with requests in flight (blind round 13b, S5a/S14): ab -c 4 -t 1.2 against a
# server that answers one request at a time after 0.3 s (the others wait in its accept queue). At
# 1.2 s ab's time limit ends the run: it closes its four connections at once, their requests of
# different ages unanswered (ab -s 5: no request timeout fires). The server answers them later into
# closed sockets. Client 127.0.0.1 -> server 127.0.0.3:9001, client leg on the namespace's loopback.
# Writes samples/unanswered-request-ab-run-end.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump tshark ip ab

SCENARIO=unanswered-request-ab-run-end
SERVER_IP=127.0.0.3
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up cc-b-abend
ccb_workdir
WORK="$CCB_WORK"
cc_bg python3 "$CCB_PROGRAMS/serial-slow-server.py" "$SERVER_IP" 9001 0.3 2>"$WORK/server.log"
cc_wait_port 9001
cc_capture_start "$OUT" "tcp port 9001"
cc_in timeout 10 ab -c 4 -t 1.2 -s 5 "http://$SERVER_IP:9001/slow" >"$WORK/ab.txt" 2>&1 || true
# The server goes on with the queued requests (0.3 s each) and answers into closed sockets.
sleep 1.6
cc_capture_stop
grep -E "Complete|Failed|Time taken" "$WORK/ab.txt" || true
ccb_meta "$SCENARIO" --http-port 9001 --client-log "$WORK/server.log"
cat "$WORK/server.log"
