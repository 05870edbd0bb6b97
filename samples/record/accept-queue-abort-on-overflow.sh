#!/usr/bin/env bash
# accept-queue-abort-on-overflow: a listener (python, listen backlog 3, TCP_DEFER_ACCEPT 1 s as
# nginx's `listen ... deferred`) that does not call accept() until two clients were reset, with
# net.ipv4.tcp_abort_on_overflow=1 and tcp_syncookies=0 in the namespace (a SYN-cookie handshake
# is never reset, it is dropped silently). Deferred accept makes the kernel ignore a bare handshake
# ACK: the connection is completed by the client's first data, or, for a client that sends nothing,
# by its ACK of the SYN-ACK the kernel repeats after the deferral. Six clients in order
# (programs/aqo5-clients.py): three connect and send at once (queued), data1 connects and sends
# 0.4 s later, idle1 connects and sends nothing, fill4 connects and sends at once (the fourth queued
# connection: the queue is full). data1's first data then finds the queue full and the kernel
# answers it with a RST (no ACK, seq = the data's ACK number) 0.4 s after the handshake; idle1's ACK
# of the SYN-ACK repeated at 1 s is answered the same way: ECONNRESET both, the kernel never created
# a socket for them (EmbryonicRsts, ListenOverflows +2). Then the server accepts and answers the
# four queued. Ground truth: the clients' errors, the server's log, the namespace's nstat counters;
# programs/aqo5-meta.py checks them against the capture and writes the meta (or refuses, and the
# recording is repeated, at most three times). Everything on the namespace's loopback.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark ip python3 nstat
scenario=accept-queue-abort-on-overflow
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080 backlog=3
counters="TcpExtListenOverflows TcpExtListenDrops TcpExtEmbryonicRsts TcpExtTCPDeferAcceptDrop TcpExtSyncookiesRecv"
description="A python listener (listen backlog 3, TCP_DEFER_ACCEPT 1 s) that does not accept() until two clients were reset; net.ipv4.tcp_abort_on_overflow=1, tcp_syncookies=0. Four clients that send at once fill its accept queue (backlog + 1); a fifth that connected before the last of them sends its request 0.4 s after the handshake, which completes it (deferred accept ignores the bare ACK): the kernel answers the request with a RST without ACK. A sixth sends nothing: the kernel repeats its SYN-ACK after the 1 s deferral and resets the client's ACK of it. Both clients get ECONNRESET (EmbryonicRsts, ListenOverflows +2); no socket was ever closed (no reload, no restart). The four queued are served afterwards."

aqo5_run() {
  local work; work="$(mktemp -d)"
  cc_netns_up "fx5a-aqo-$$"
  cc_c_sysctl net.ipv4.tcp_abort_on_overflow=1 net.ipv4.tcp_syncookies=0 net.ipv4.tcp_synack_retries=5
  local somaxconn; somaxconn="$(cc_in sysctl -n net.core.somaxconn)"
  cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/aqo5-server.py" "$port" "$backlog" "$work/go" "$work/server.log"
  local server="$CC_LAST_PID"
  cc_wait_port "$port"
  cc_in nstat -asz $counters >"$work/nstat.before"
  cc_c_capture_start "$out" "tcp port $port"
  sleep 0.2
  cc_c_run 20 "$CC_C_PY" "$CC_C_PROGRAMS/aqo5-clients.py" "$port" "$work/go" "$work/client.log"
  cc_in nstat -asz $counters >"$work/nstat.after"
  sleep 0.3
  cc_c_capture_stop
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  "$CC_C_PY" "$CC_C_PROGRAMS/aqo5-meta.py" --scenario "$scenario" --description "$description" --capture "$out" --work "$work" \
    --meta "$CC_SAMPLES_DIR/$scenario.meta.json" --port "$port" \
    --configured "{\"listenBacklog\": $backlog, \"somaxconn\": $somaxconn, \"tcpDeferAccept\": 1, \"tcpAbortOnOverflow\": 1, \"tcpSyncookies\": 0, \"tcpSynackRetries\": 5}" \
    --software "python $(cc_c_py_version) sockets (server and clients)" "Linux $(uname -r)"
  rm -rf "$work"
}

# Each attempt in a subshell with errexit in force: its namespace and processes are cleaned up when
# it ends, and a refusal by aqo5-meta.py fails it.
set +e
for attempt in 1 2 3; do
  ( set -e; aqo5_run )
  [ $? = 0 ] && exit 0
  echo "record: attempt $attempt refused, recording again" >&2
done
exit 1
