#!/usr/bin/env bash
# Node 20 fetch (undici) processes that close every connection right after its response (the
# server's Keep-Alive: timeout=2 less undici's 2 s threshold leaves nothing), five of them late
# (100-150 ms: their event loop busy when a response came), next to Node http.Agent processes
# whose stale reuses race the server's 3 s idle close. The late closes are the same
# close-when-done, not a client idle timer (blind round 12, S3). Loopback in a namespace.
# Writes samples/idle-timeout-mismatch-fetch-closes-when-done.pcap and .meta.json (rlink-done-meta.py
# checks the capture against the clients' logs, else writes nothing).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=idle-timeout-mismatch-fetch-closes-when-done
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"

cc_netns_up cc-rlink-done
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 8080 --keep-alive-timeout 2000 2>"$WORK/server.log"
cc_wait_port 8080
F="$CCB_PROGRAMS/rlink-fetch-done-client.js"
A="$CCB_PROGRAMS/rlink-stale-agent-client.js"
# Busy loops and stale reuses depend on scheduling on a shared machine: the recording is redone
# (at most 3 times) until the logs and the capture show every part of the scenario.
for attempt in 1 2 3; do
  rm -f "$WORK/client.log"
  cc_capture_start "$OUT" "tcp port 8080"
  START=$(( $(date +%s%3N) + 400 ))
  pids=()
  i=0
  for busy in 0 160 0 170 0 180 0 175 165; do
    i=$((i + 1))
    cc_in timeout 15 node "$F" --name "f$i" --url http://127.0.0.1:8080 --start-epoch-ms $(( START + i * 450 )) --busy-ms "$busy" \
      --rounds 4 --space-ms 700 --log "$WORK/client.log" &
    pids+=($!)
  done
  cc_in timeout 15 node "$A" --name a --url http://127.0.0.1:8080 --start-epoch-ms "$START" --block-from-ms 2900 --block-ms 200 --log "$WORK/client.log" &
  pids+=($!)
  cc_in timeout 15 node "$A" --name b --url http://127.0.0.1:8080 --start-epoch-ms $(( START + 1300 )) --block-from-ms 2900 --block-ms 200 --log "$WORK/client.log" &
  pids+=($!)
  for k in 1 2; do
    cc_in timeout 15 node "$A" --name "i$k" --url http://127.0.0.1:8080 --start-epoch-ms $(( START + 200 + k * 900 )) --block-from-ms 3400 --block-ms 1 \
      --log "$WORK/client.log" &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  cc_capture_stop
  if python3 "$CCB_PROGRAMS/rlink-done-meta.py" --capture "$OUT" --client-log "$WORK/client.log" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
    --software "node $(node --version) fetch (undici) and http.Agent (keepAlive)" --software "node $(node --version) http.Server (keepAliveTimeout 2000 ms; b-http-server.js)"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cat "$WORK/client.log"
