#!/usr/bin/env bash
# Healthy load at volume from ApacheBench against a Node http server (keepAliveTimeout 5 s):
# first `ab -k` (HTTP/1.0 with Connection: Keep-Alive, 8 concurrent, 1000 requests: each
# connection carries many requests), then plain `ab` (no keep-alive: one request per
# connection by the client's choice, 4 concurrent, 250 requests: ab closes each connection
# after its response). ab reports no failed requests. Captured with snaplen 256. Ground
# truth: ab's summaries and the server's access log, checked against the capture by x13-meta.py.
# Writes samples/healthy-load-node-ab.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x13.sh"
cc_require ab node python3 tcpdump tshark ip

SCENARIO=healthy-load-node-ab
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_MS=5000

cc_netns_up ccx13-node-ab
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CC_RECORD_DIR/programs/x13-node-server.js" --host 127.0.0.1 --port 8080 \
  --keep-alive-timeout "$KEEPALIVE_MS" --log "$WORK/access.log"
SERVER_PID="$CC_LAST_PID"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080" -s 256
cc_in timeout 20 ab -q -k -c 8 -n 1000 http://127.0.0.1:8080/item >"$WORK/ab-k.log"
cc_in timeout 20 ab -q -c 4 -n 250 http://127.0.0.1:8080/item >"$WORK/ab.log"
cc_capture_stop
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
grep -E 'Complete|Failed|Keep-Alive|Non-2xx' "$WORK/ab-k.log" "$WORK/ab.log"
x13_meta "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --gen "ab:$WORK/ab-k.log" --gen "ab:$WORK/ab.log" --access-log "$WORK/access.log" \
  --software "ApacheBench 2.3" --software "node $(node --version) http" \
  --configured "{\"serverIdleTimeout\": $((KEEPALIVE_MS / 1000))}" \
  --description "Healthy load from ApacheBench 2.3 against a Node http server (keepAliveTimeout ${KEEPALIVE_MS} ms): first ab -k (HTTP/1.0 Connection: Keep-Alive, 8 concurrent, 1000 requests, many requests per connection), then ab without -k (one request per connection by the client's choice, 4 concurrent, 250 requests; ab closes each connection after its response). ab reports no failed requests. Snaplen 256. No failure: no reset, no race; the second run is connection churn by design."
