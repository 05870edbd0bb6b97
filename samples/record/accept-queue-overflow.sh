#!/usr/bin/env bash
# accept-queue-overflow: a python server listens on 8080 with backlog 0 and never calls
# accept(). Four clients connect at once; their kernels delay the handshake's last ACK
# (TCP_QUICKACK off, up to 200 ms, like a client one RTT away), so all four SYNs are
# answered while the queue is still empty. The first ACK fills the queue; the other
# ACKs and the GETs that follow are dropped by the listener: the server retransmits its
# SYN-ACKs (tcp_synack_retries=2 in the namespace) although the clients ACKed them, and
# the clients' requests are never ACKed. A fifth client (curl) arriving at 0.6 s finds
# the queue full: its SYNs are dropped. The clients give up after 4 s (the queued one
# with a FIN; the others' FINs wait behind their unACKed requests); the capture stops
# before the server is ended.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark curl ip
scenario=accept-queue-overflow
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_c_sysctl net.ipv4.tcp_synack_retries=2 net.ipv4.tcp_syn_retries=2
cc_c_sysctl_if_present net.ipv4.tcp_syn_linear_timeouts=0
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-no-accept-server.py" --port "$port" --backlog 0 --lifetime 15
server="$CC_LAST_PID"
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-delayed-ack-clients.py" --port "$port" --count 4 --send-after 0.3 --timeout 4 --name queued
clients="$CC_LAST_PID"
sleep 0.6
cc_bg curl -sS -o /dev/null --connect-timeout 3.5 -m 4 "http://127.0.0.1:$port/late"
late="$CC_LAST_PID"
cc_c_wait_pid 8 "$clients"
cc_c_wait_pid 4 "$late"
sleep 0.3
cc_c_capture_stop
kill "$server" 2>/dev/null || true

cc_c_meta "$scenario" "$out" '{"listenBacklog": 0, "tcpSynackRetries": 2, "tcpSynRetries": 2, "clientAckDelay": 0.2, "clientRequestAfter": 0.3, "clientResponseTimeout": 4.0, "lateClientStart": 0.6, "lateClientConnectTimeout": 3.5}' \
  "python $(cc_c_py_version) socket server (listen(0), never accepts)" "python $(cc_c_py_version) socket clients (TCP_QUICKACK off)" "curl $(cc_c_curl_version)"
