#!/usr/bin/env bash
# tcp-keepalive-probes (silent trap): a Node http.Agent (keepAlive; keepAliveMsecs 1000,
# so its sockets have SO_KEEPALIVE with a 1 s idle time) sends a request, idles 4.5 s,
# and reuses the connection for a second request before the Node server's 6 s
# keepAliveTimeout (7 s with Node 20's 1 s buffer); then it closes its pool. While idle, the client's kernel sends TCP
# keep-alive probes every second (tcp_keepalive_intvl=1 in the namespace): zero-length
# ACKs with seq = next - 1, each answered by an ACK. They are not data, not
# retransmissions, and not a reuse of the connection.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark node ip
scenario=tcp-keepalive-probes
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_c_sysctl net.ipv4.tcp_keepalive_intvl=1 net.ipv4.tcp_keepalive_time=1
cc_bg node "$CC_C_PROGRAMS/c-node-server.js" --port "$port" --keep-alive-timeout 6000 --lifetime 20
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
cc_c_run 15 node "$CC_C_PROGRAMS/c-node-pool-client.js" '{"port": '"$port"',
  "agent": {"keepAlive": true, "maxSockets": 1, "keepAliveMsecs": 1000},
  "steps": [{"path": "/before-idle"}, {"sleep": 4500}, {"path": "/after-idle"}, {"sleep": 200}],
  "end": "destroy"}'
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"serverKeepAliveTimeout": 6.0, "serverIdleTimeout": 7.0, "tcpKeepaliveIdle": 1.0, "tcpKeepaliveIntvl": 1.0, "clientIdleGap": 4.5}' \
  "node $(cc_c_node_version) http server" "node $(cc_c_node_version) http.Agent keepAlive (SO_KEEPALIVE 1 s)"
