#!/usr/bin/env bash
# client-closes-idle-first (silent trap): a Node http server with keepAliveTimeout 3 s
# (it announces Keep-Alive: timeout=3; Node 20 closes after keepAliveTimeout + 1 s) and a Node http.Agent whose `timeout: 1000`
# destroys pooled connections after 1 s idle, well before the server would. Three rounds
# of 3 request pairs over 2 connections, 2 s apart: each round's connections are closed
# by the client (FIN first) 1 s after their last response and the next round opens new
# ones. No server ever closes an idle connection.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark node ip
scenario=client-closes-idle-first
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg node "$CC_C_PROGRAMS/c-node-server.js" --port "$port" --keep-alive-timeout 3000 --lifetime 20
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
round='{"parallel": 2, "path": "/r"}, {"sleep": 200}, {"parallel": 2, "path": "/r"}, {"sleep": 200}, {"parallel": 2, "path": "/r"}'
cc_c_run 15 node "$CC_C_PROGRAMS/c-node-pool-client.js" '{"port": '"$port"',
  "agent": {"keepAlive": true, "maxSockets": 2, "timeout": 1000, "keepAliveMsecs": 10000},
  "steps": ['"$round"', {"sleep": 2000}, '"$round"', {"sleep": 2000}, '"$round"', {"sleep": 1500}],
  "end": "destroy"}'
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"serverKeepAliveTimeout": 3.0, "serverIdleTimeout": 4.0, "clientIdleClose": 1.0, "clientMaxSockets": 2, "roundGapSeconds": 2.0}' \
  "node $(cc_c_node_version) http server" "node $(cc_c_node_version) http.Agent keepAlive timeout 1000"
