#!/usr/bin/env bash
# connection-limit-node-maxconnections: a Node http server with `server.maxConnections = 2` and a
# 200 ms handler; a Node keep-alive http.Agent (maxSockets 6) fires 18 GETs at once. Node accepts
# each connection over the limit and destroys it at once ('drop' event): the server closes brand-new
# connections right after their handshake, by FIN before the request arrives (the request then meets
# a RST) or by RST with the request unread, while it serves the two it holds. A connection limit,
# not a keep-alive race and not a restart (blind round 16, load S11). Everything on the namespace's
# loopback. Ground truth: the server's log (drop and served events with the client's port) and the
# client's (port and outcome per request); programs/connlimit-meta.py checks them against the capture
# and writes the meta (or refuses, and the recording is repeated, at most three times).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
cc_require tcpdump tshark ip node python3
scenario=connection-limit-node-maxconnections
out="$CC_SAMPLES_DIR/$scenario.pcap"
programs="$here/programs"
addr=127.0.0.1 port=8091 max=2 handler_ms=200 requests=18 sockets=6

run() {
  local work; work="$(mktemp -d)"
  cc_netns_up cc-connlimit
  : >"$work/server.log"; : >"$work/client.log"
  cc_bg node "$programs/connlimit-server.js" "$port" "$addr" "$max" "$handler_ms" "$work/server.log"
  local server="$CC_LAST_PID"
  cc_wait_port "$port"
  cc_capture_start "$out" "tcp port $port"
  sleep 0.2
  # Bounded: the client's requests time out after 3 s; it exits when all have ended.
  cc_in timeout 10 node "$programs/connlimit-client.js" "$addr" "$port" "$requests" "$sockets" "$work/client.log"
  sleep 0.3
  cc_capture_stop
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  python3 "$programs/connlimit-meta.py" --scenario "$scenario" --capture "$out" --work "$work" \
    --meta "$CC_SAMPLES_DIR/$scenario.meta.json" --port "$port" --addr "$addr" \
    --configured "{\"nodeMaxConnections\": $max, \"handlerDelay\": $(awk "BEGIN{print $handler_ms/1000}"), \"clientRequestsAtOnce\": $requests, \"agentMaxSockets\": $sockets}" \
    --software "node $(node --version) http server (server.maxConnections = $max)" "node $(node --version) http.Agent (keepAlive, maxSockets $sockets)" "Linux $(uname -r)"
  rm -rf "$work"
}

# Each attempt in a subshell: its namespace and processes are cleaned up when it ends.
set +e
for attempt in 1 2 3; do
  ( set -e; run )
  [ $? = 0 ] && exit 0
  echo "record: attempt $attempt refused, recording again" >&2
done
exit 1
