#!/usr/bin/env bash
# SYNs that meet the server's TIME_WAIT and are answered with an ACK, not a SYN-ACK. A python
# server on 127.0.0.1:8080 answers each request with Connection: close and closes first, so its
# kernel keeps the 4-tuple in TIME_WAIT; a python client binds fixed local ports and connects again
# from the same port at once (its own side of the old connection is gone: it closed second).
#   40000  a 16 MB POST, then a GET from the same port: the old connection carried more sequence
#          space than the new ISN gained meanwhile (Linux's ISN clock advances one per 64 ns), and
#          with TCP timestamps off in this namespace the TIME_WAIT judges the SYN by its sequence
#          number alone, so it rejects it and answers with an ACK of the old connection (RFC 793).
#          The client resets that, sends its SYN again (Linux: ~10 ms later, not at its 1 s RTO:
#          the RST ended the TIME_WAIT) and is served.
#   40001  two GETs (near miss): the new ISN is past the old connection's last byte, the TIME_WAIT
#          accepts the SYN (a plain port reuse, SYN-ACK at once).
#   40002, 40003  a GET each, then the server closes its listener (as a killed server's goes), and
#          the client connects again from both ports: with no listener, the TIME_WAIT answers any
#          SYN with an ACK (blind round 13b S5a, gunicorn killed under ab); each retry is refused
#          (RST). Two such SYNs in a row (50 ms apart), none answered by a SYN-ACK, read as an outage
#          (syn-unanswered) before the fix. Two later connects from ephemeral ports, 0.6 s apart,
#          refused, keep the capture running past the 1 s such a run must wait.
# Writes samples/port-reuse-time-wait-ack.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 tcpdump tshark ip sysctl

SCENARIO=port-reuse-time-wait-ack
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
WORK="$(mktemp -d)"

cc_netns_up cc-twack
cleanup_all() { cc_cleanup; rm -rf "$WORK"; }
trap cleanup_all EXIT
# Ephemeral ports away from the fixed ones.
cc_in sysctl -q -w net.ipv4.tcp_timestamps=0 net.ipv4.ip_local_port_range='50000 60999'
cc_bg timeout 30 python3 "$HERE/programs/tw-ack-server.py" --port 8080 --serve 6 --linger 4 --log "$WORK/server.log"
SERVER_PID="$CC_LAST_PID"
cc_wait_port 8080
# 200 bytes a packet: the upload's payload is cut (conncheck counts it as cut, not lost).
cc_capture_start "$OUT" "tcp port 8080" -s 200
cc_in timeout 20 python3 "$HERE/programs/tw-ack-client.py" 8080 "$WORK/client.log" \
  40000:16000000 40000:0 sleep:0.2 40001:0 40001:0 sleep:0.2 40002:0 40003:0 sleep:0.3 40002:0 sleep:0.05 40003:0 sleep:0.6 0:0 sleep:0.6 0:0
cc_capture_stop
wait "$SERVER_PID" 2>/dev/null || true
cat "$WORK/server.log" "$WORK/client.log"
python3 "$HERE/programs/tw-ack-meta.py" "$OUT" "$WORK/server.log" "$WORK/client.log" "$CC_SAMPLES_DIR/$SCENARIO.meta.json"
