#!/usr/bin/env bash
# Two Node http.Agent processes of one host (keepAlive, one pooled connection each; http.Agent
# never retries) fail the same POST /echo 32 ms apart, each on its own pooled connection, against
# python3 http.server with a 2 s idle timeout (StreamRequestHandler.timeout): both connections
# were opened together and closed by the server together; each process's event loop was busy
# while the FIN arrived, so each POST went on its dead connection (stale reuse) and drew a RST.
# The second is no retry of the first (blind round 12, S5: two aiohttp processes against
# lighttpd). A third process fails POST /orders the same way and retries it itself at once on a
# new connection: that one is a retry. Loopback in a namespace.
# Writes samples/retried-request-concurrent-stale-pools.pcap and .meta.json (rlink-stale-pools-meta.py checks
# the capture against the clients' logs, else writes nothing).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=retried-request-concurrent-stale-pools
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
IDLE=2.0

cc_netns_up cc-rlink-stale
ccb_workdir
WORK="$CCB_WORK"
cc_bg python3 "$CCB_PROGRAMS/b-py-server.py" 127.0.0.1 8080 "$IDLE" 2>"$WORK/server.log"
cc_wait_port 8080
# The FIN must arrive inside each client's busy block: timing on a shared machine varies, so
# the recording is redone (at most 3 times) until the clients' logs show every failure.
for attempt in 1 2 3; do
  rm -f "$WORK/client.log"
  cc_capture_start "$OUT" "tcp port 8080"
  START=$(( $(date +%s%3N) + 300 ))
  C="$CCB_PROGRAMS/rlink-stale-agent-client.js"
  cc_in timeout 10 node "$C" --name a --url http://127.0.0.1:8080 --start-epoch-ms "$START" --block-from-ms 1940 --block-ms 90 --log "$WORK/client.log" &
  A=$!
  cc_in timeout 10 node "$C" --name b --url http://127.0.0.1:8080 --start-epoch-ms "$START" --block-from-ms 1940 --block-ms 122 --log "$WORK/client.log" &
  B=$!
  cc_in timeout 10 node "$C" --name r --url http://127.0.0.1:8080 --start-epoch-ms "$(( START + 3000 ))" --block-from-ms 1940 --block-ms 90 \
    --path /orders --retry --log "$WORK/client.log" &
  R=$!
  wait "$A" "$B" "$R" || true
  cc_capture_stop
  if python3 "$CCB_PROGRAMS/rlink-stale-pools-meta.py" --capture "$OUT" --client-log "$WORK/client.log" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
    --idle "$IDLE" --software "node $(node --version) http.Agent (keepAlive, maxSockets 1)" --software "$(python3 --version) http.server ThreadingHTTPServer (b-py-server.py)"; then
    break
  fi
  cat "$WORK/client.log" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cat "$WORK/client.log"
