#!/usr/bin/env bash
# clean-keepalive-reuse (silent trap): a Node http server with keepAliveTimeout 3 s and a
# (announced as Keep-Alive: timeout=3; Node 20 closes after keepAliveTimeout + 1 s) and a
# Node http.Agent (keepAlive, maxSockets 2) sending 5 pairs of requests with 0.3-0.9 s
# pauses: the two connections are reused well within the server's idle timeout, and the
# client closes its pool itself at the end (agent.destroy(): client FIN first).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark node ip
scenario=clean-keepalive-reuse
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg node "$CC_C_PROGRAMS/c-node-server.js" --port "$port" --keep-alive-timeout 3000 --lifetime 20
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
# keepAliveMsecs 10000: no TCP keep-alive probes here (tcp-keepalive-probes shows those).
cc_c_run 15 node "$CC_C_PROGRAMS/c-node-pool-client.js" '{"port": '"$port"',
  "agent": {"keepAlive": true, "maxSockets": 2, "keepAliveMsecs": 10000},
  "steps": [{"parallel": 2, "path": "/items"}, {"sleep": 300},
            {"parallel": 2, "path": "/items"}, {"sleep": 900},
            {"parallel": 2, "path": "/items", "method": "POST", "body": 64}, {"sleep": 600},
            {"parallel": 2, "path": "/items"}, {"sleep": 800},
            {"parallel": 2, "path": "/items"}],
  "end": "destroy"}'
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"serverKeepAliveTimeout": 3.0, "serverIdleTimeout": 4.0, "clientMaxSockets": 2, "clientPausesSeconds": [0.3, 0.9, 0.6, 0.8], "clientReuseGapMax": 1.0}' \
  "node $(cc_c_node_version) http server" "node $(cc_c_node_version) http.Agent keepAlive"
