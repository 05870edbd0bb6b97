#!/usr/bin/env bash
# abortive-close-after-response (silent trap): a Node http.Agent (keepAlive, maxSockets 2)
# gets two full responses on each of two connections from a Node http server, then closes
# its pool abortively with socket.resetAndDestroy() (Node >= 20: SO_LINGER 0, a RST
# instead of a FIN). Every request was answered in full before the RST: normal.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark node ip
scenario=abortive-close-after-response
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg node "$CC_C_PROGRAMS/c-node-server.js" --port "$port" --keep-alive-timeout 3000 --lifetime 20
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
cc_c_run 15 node "$CC_C_PROGRAMS/c-node-pool-client.js" '{"port": '"$port"',
  "agent": {"keepAlive": true, "maxSockets": 2, "keepAliveMsecs": 10000},
  "steps": [{"parallel": 2, "path": "/a"}, {"sleep": 200}, {"parallel": 2, "path": "/b"}, {"sleep": 200}],
  "end": "reset"}'
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"serverKeepAliveTimeout": 3.0, "serverIdleTimeout": 4.0, "clientMaxSockets": 2}' \
  "node $(cc_c_node_version) http server" "node $(cc_c_node_version) http.Agent keepAlive + socket.resetAndDestroy()"
