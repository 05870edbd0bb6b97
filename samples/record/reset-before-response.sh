#!/usr/bin/env bash
# reset-before-response: a python server serves its first connection normally, then its
# workers get stuck: later connections are accepted but their requests stay unread. A
# Node http.Agent (keepAlive) sends one request, then four at once (one reuses the
# pooled connection and is answered, three open new connections and hang). 0.6 s later
# the server is killed (SIGKILL, by PID), like a crash: the kernel resets the three
# connections whose requests were never read (a burst of RSTs at the same instant) and
# closes the idle, fully answered connection with a plain FIN.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark node ip
scenario=reset-before-response
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-stuck-server.py" --port "$port" --serve 1 --lifetime 20
server="$CC_LAST_PID"
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
cc_bg node "$CC_C_PROGRAMS/c-node-pool-client.js" '{"port": '"$port"',
  "agent": {"keepAlive": true, "keepAliveMsecs": 10000},
  "requestTimeoutMs": 5000,
  "steps": [{"path": "/warmup"}, {"sleep": 300}, {"parallel": 4, "path": "/work"}],
  "end": "destroy"}'
client="$CC_LAST_PID"
sleep 1.0
kill -KILL "$server"
wait "$server" 2>/dev/null || true
cc_c_wait_pid 6 "$client"
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"serverKilledAfter": 1.0, "clientRequestTimeout": 5.0, "stuckConnections": 3}' \
  "node $(cc_c_node_version) http.Agent keepAlive" "python $(cc_c_py_version) socket server (killed with SIGKILL)"
