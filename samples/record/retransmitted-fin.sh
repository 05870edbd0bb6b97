#!/usr/bin/env bash
# retransmitted-fin (silent trap): nftables rules in the namespace drop exactly one FIN
# each (an nft quota: the first FIN matching passes the capture point, then is dropped
# before the receiving socket sees it), so the sender's kernel retransmits it:
#  - a Node http.Agent (keepAlive, maxSockets 2) uses two connections, then destroys one
#    of them: its FIN is dropped once and retransmitted (the server's FIN then passes);
#  - the other connection stays pooled until the Node server closes it idle (keepAliveTimeout
#    2 s, announced as timeout=2; Node 20 adds a 1 s buffer, so it closes at 3 s):
#    the server's idle-close FIN is dropped once and retransmitted; the client then
#    closes too.
# A retransmitted FIN is one close, not two, and not a race.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark node nft ip
scenario=retransmitted-fin
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg node "$CC_C_PROGRAMS/c-node-server.js" --port "$port" --keep-alive-timeout 2000 --lifetime 20
cc_wait_port "$port"
# quota "until 100 bytes": the first FIN (52 bytes) matches and is dropped; the
# retransmission would pass 100 bytes and does not match.
cc_c_nft <<NFT
table inet cc_c_client_fin {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport $port tcp flags & fin == fin quota until 100 bytes drop
  }
}
NFT

cc_c_capture_start "$out" "tcp port $port"
cc_bg node "$CC_C_PROGRAMS/c-node-pool-client.js" '{"port": '"$port"',
  "agent": {"keepAlive": true, "maxSockets": 2, "keepAliveMsecs": 10000},
  "steps": [{"parallel": 2, "path": "/a"}, {"sleep": 100}, {"parallel": 2, "path": "/b"}, {"sleep": 200}],
  "end": "destroy-first", "endWaitMs": 3500}'
client="$CC_LAST_PID"
# The client closes its first connection at ~0.3 s; swap the rules at 1.2 s, well before
# the server's idle close of the second connection at ~3.1 s.
sleep 1.2
ip netns exec "$CC_NS" nft delete table inet cc_c_client_fin
cc_c_nft <<NFT
table inet cc_c_server_fin {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp sport $port tcp flags & fin == fin quota until 100 bytes drop
  }
}
NFT
cc_c_wait_pid 8 "$client"
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"serverKeepAliveTimeout": 2.0, "serverIdleTimeout": 3.0, "droppedFins": 2}' \
  "node $(cc_c_node_version) http server" "node $(cc_c_node_version) http.Agent keepAlive" "nftables quota rule dropping one FIN"
