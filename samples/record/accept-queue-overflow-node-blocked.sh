#!/usr/bin/env bash
# accept-queue-overflow-node-blocked: a Node http server (listen backlog 4) whose event loop is
# blocked for 3 s by a synchronous busy loop in one request's handler (/block?ms=3000). Meanwhile a
# burst of curl clients connects (30 started together, -m 10). Node cannot call accept() while
# blocked, so the kernel's accept queue (backlog 4: five connections) fills and every later SYN is
# dropped (ListenOverflows/ListenDrops, no SYN-ACK, no cookie): the clients retry 1 s and 3 s
# later. When the loop unblocks, Node accepts and answers the five queued connections, then the
# retried SYNs arrive together: the SYN queue holds more than `backlog` requests, so some are
# answered with SYN cookies (tcp_syncookies=1), and a cookie handshake whose last ACK (and the GET
# behind it) meets the momentarily full queue is dropped (tcp_abort_on_overflow=0) with nothing
# re-sending a SYN-ACK: the GET is retransmitted 200 ms later and gets in. Everyone is served,
# ~3 s late. Everything on the namespace's loopback. Ground truth: the server's log (accept time
# and client port per connection), curl's -w results, nstat counters of the namespace before,
# during the block and after; programs/x24n-meta.py checks them against the capture and writes
# the meta (or refuses, and the recording is repeated, at most three times).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark curl ip node nstat
scenario=accept-queue-overflow-node-blocked
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080 backlog=4 block_ms=3000 clients=30 max_time=10
counters="TcpExtListenOverflows TcpExtListenDrops TcpExtSyncookiesSent TcpExtSyncookiesRecv TcpExtSyncookiesFailed TcpExtTCPReqQFullDrop TcpExtTCPReqQFullDoCookies"

x24n_run() {
  local work; work="$(mktemp -d)"
  cc_netns_up "$(cc_c_ns x24n)"
  cc_c_sysctl net.ipv4.tcp_abort_on_overflow=0 net.ipv4.tcp_syncookies=1 net.ipv4.tcp_synack_retries=5
  cc_c_sysctl_if_present net.ipv4.tcp_syn_linear_timeouts=0
  local somaxconn; somaxconn="$(cc_in sysctl -n net.core.somaxconn)"
  cc_bg node "$CC_C_PROGRAMS/x24n-server.js" "$port" 127.0.0.1 "$backlog" "$work/server.log"
  local server="$CC_LAST_PID"
  cc_wait_port "$port"
  cc_in nstat -asz $counters >"$work/nstat.before"
  cc_c_capture_start "$out" "tcp port $port"
  sleep 0.2
  local fmt='{"port": %{local_port}, "status": "%{http_code}", "exit": %{exitcode}, "error": "%{errormsg}", "connect": %{time_connect}, "firstByte": %{time_starttransfer}, "time": %{time_total}}\n'
  : >"$work/client.log"
  cc_bg curl -sS -o /dev/null -m "$max_time" -w "$fmt" "http://127.0.0.1:$port/block?ms=$block_ms" >>"$work/client.log" 2>/dev/null
  local pids=("$CC_LAST_PID") i
  for i in $(seq 1 100); do grep -q blockStart "$work/server.log" && break; sleep 0.02; done
  grep -q blockStart "$work/server.log" || { echo "record: the server never blocked" >&2; return 1; }
  date +%s.%N >"$work/burst.start"
  for i in $(seq 1 "$clients"); do
    cc_bg curl -sS -o /dev/null -m "$max_time" -w "$fmt" "http://127.0.0.1:$port/item/c$i" >>"$work/client.log" 2>/dev/null
    pids+=("$CC_LAST_PID")
  done
  sleep 0.5
  cc_in ss -Hlnt "sport = :$port" >"$work/ss.during"
  cc_in nstat -asz $counters >"$work/nstat.during"
  for i in "${pids[@]}"; do cc_c_wait_pid $((max_time + 2)) "$i"; done
  cc_in nstat -asz $counters >"$work/nstat.after"
  sleep 0.3
  cc_c_capture_stop
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  local software=("node $(cc_c_node_version) http server (listen backlog $backlog, event loop blocked by a busy loop)" "curl $(cc_c_curl_version)" "Linux $(uname -r)")
  "$CC_C_PY" "$CC_C_PROGRAMS/x24n-meta.py" --scenario "$scenario" --capture "$out" --work "$work" \
    --meta "$CC_SAMPLES_DIR/$scenario.meta.json" --port "$port" --clients $((clients + 1)) --block "$block_ms" \
    --configured "{\"listenBacklog\": $backlog, \"somaxconn\": $somaxconn, \"tcpAbortOnOverflow\": 0, \"tcpSyncookies\": 1, \"tcpSynackRetries\": 5, \"nodeEventLoopBlock\": $(awk "BEGIN{print $block_ms/1000}"), \"clientSynRetransmitTimeout\": 1.0, \"clientMaxTime\": $max_time}" \
    --software "${software[@]}"
  rm -rf "$work"
}

# Each attempt in a subshell with errexit in force (inside `if` it would be off): its namespace and
# processes are cleaned up when it ends, and a refusal by x24n-meta.py fails it.
set +e
for attempt in 1 2 3; do
  ( set -e; x24n_run )
  [ $? = 0 ] && exit 0
  echo "record: attempt $attempt refused, recording again" >&2
done
exit 1
