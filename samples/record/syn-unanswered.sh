#!/usr/bin/env bash
# syn-unanswered: a python http.server listens on 8080, but an nftables rule in the
# namespace drops every SYN to it (a listener whose SYNs vanish: a full backlog, a
# firewall, a hung host). Four curl clients connect at once; the kernel retransmits
# each SYN with the same ISN at 1 s, 3 s, 7 s (tcp_syn_retries=3 in the namespace, and
# tcp_syn_linear_timeouts=0 so that kernels >= 6.x double from 1 s like older ones
# instead of retrying every second). Three give up at their 3.5 s connect timeout; the
# rule is removed at 4 s, so the fourth (no connect timeout) is answered late by its
# 7 s retry and gets its response.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark nft curl ip
scenario=syn-unanswered
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_c_sysctl net.ipv4.tcp_syn_retries=3
cc_c_sysctl_if_present net.ipv4.tcp_syn_linear_timeouts=0
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-py-http.py" --port "$port" --lifetime 30
cc_wait_port "$port"
cc_c_nft <<NFT
table inet cc_c {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport $port tcp flags & (syn | ack) == syn drop
  }
}
NFT

cc_c_capture_start "$out" "tcp port $port"
clients=()
for i in 1 2 3; do
  cc_bg curl -sS -o /dev/null --connect-timeout 3.5 -m 5 "http://127.0.0.1:$port/gives-up-$i"
  clients+=("$CC_LAST_PID")
done
cc_bg curl -sS -o /dev/null -m 12 "http://127.0.0.1:$port/answered-late"
clients+=("$CC_LAST_PID")
sleep 4
ip netns exec "$CC_NS" nft delete table inet cc_c
for pid in "${clients[@]}"; do cc_c_wait_pid 12 "$pid"; done
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"tcpSynRetries": 3, "tcpSynLinearTimeouts": 0, "clientConnectTimeout": 3.5, "synDropRuleRemovedAfter": 4.0, "clients": 4}' \
  "curl $(cc_c_curl_version)" "python $(cc_c_py_version) http.server" "nftables SYN drop rule"
