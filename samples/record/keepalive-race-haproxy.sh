#!/usr/bin/env bash
# Keep-alive race on HAProxy 2.6's backend leg (mode http, http-reuse safe: the default). HAProxy on
# 127.0.0.2:8080 (timeout server 10s, timeout http-keep-alive 10s: its idle backend connections stay
# pooled as long as the client's connection lives) in front of a Node http server (keepAliveTimeout
# 300 ms: Node 20 closes idle connections after 1.3 s) in another namespace, 5 ms one way away (a
# delay line); HAProxy connects from 10.99.0.1. One Node http.Agent client (keepAlive, maxSockets 1)
# sends 16 requests (every third one a POST) with think times of 1.288-1.300 s, so HAProxy reuses the
# backend connection as the backend's idle FIN is on its way. What HAProxy then does is read from its
# own log (status, termination state SH--, retries). Writes samples/keepalive-race-haproxy.pcap and
# .meta.json (only when programs/x10-meta.py finds the capture and HAProxy's log agree and at least
# one race; at most 4 attempts).
# keepalive-race-haproxy-retry-on.sh runs this with `retry-on all-retryable-errors`, and
# keepalive-race-haproxy-always.sh with `http-reuse always` and a new client connection per request
# (X12_SCENARIO, X12_RETRY_ON, X12_REUSE, X12_CLIENT_ARGS, X12_NETNS).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x12.sh"
cc_require haproxy node python3 tcpdump tshark ip

SCENARIO=${X12_SCENARIO:-keepalive-race-haproxy}
RETRY_ON=${X12_RETRY_ON:-}
REUSE=${X12_REUSE:-safe}
CLIENT_ARGS=${X12_CLIENT_ARGS:-}
CLIENT_TEXT="keepAlive, maxSockets 1"
[ -n "$CLIENT_ARGS" ] && CLIENT_TEXT="no keep-alive: a new connection for every request"
NS=${X12_NETNS:-ccx12-kr}
if [ "$REUSE" = always ]; then
  RETRY_TEXT="With \`http-reuse always\` and a new client connection for every request (Node http.Agent without keep-alive), HAProxy sends each request, the first on its client connection, on its pooled backend connection; with the default \`retry-on conn-failure\` a raced one is not sent again and its client gets 502 (log: termination SH--)."
elif [ -n "$RETRY_ON" ]; then
  RETRY_TEXT="With \`retry-on $RETRY_ON\` and \`retries 3\`, HAProxy resends a raced request on a new connection (log: retries +1)."
else
  RETRY_TEXT="With HAProxy 2.6's default \`retry-on conn-failure\` a raced request is not sent again: the client gets 502 (log: termination SH--)."
fi
DESCRIPTION="Keep-alive race on HAProxy 2.6's backend leg: HAProxy (mode http, http-reuse $REUSE, timeout server 10s) on 127.0.0.2:8080 in front of a Node http server (keepAliveTimeout 300 ms: it closes idle connections after 1.3 s) 5 ms one way away, HAProxy connecting from 10.99.0.1. A Node http.Agent client ($CLIENT_TEXT) sends 16 requests (every third one a POST) with think times of 1.288-1.300 s, so HAProxy reuses its backend connection as the backend's idle FIN is on its way. $RETRY_TEXT"
REQUESTS=16

cc_netns_up "$NS-p"                # client and HAProxy
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add "$NS-b"              # backend
ccb_delay_link "$NS-p" "$NS-b" 5
ip netns exec "$NS-p" ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ccb_bg "$NS-b" node "$CCB_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port 9001 --keep-alive-timeout 300 2>"$WORK/backend.log"
ccb_wait_port "$NS-b" 9001
DEFAULTS="  timeout connect 1s
  timeout server 10s
  timeout http-keep-alive 10s
  retries 3
  http-reuse $REUSE"
[ -n "$RETRY_ON" ] && DEFAULTS="$DEFAULTS
  retry-on $RETRY_ON"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3 4; do
  rm -f "$WORK/client.log"
  x12_haproxy_start "$NS-p" 127.0.0.2:8080 "server s1 $CCB_SERVER_IP:9001 source $CCB_CLIENT_IP" "$DEFAULTS"
  ccb_capture_start "$NS-p" any "$OUT" "tcp port 8080 or tcp port 9001"
  GAPS=$(python3 -c "import random; random.seed($attempt); print(','.join(str(random.randint(1288, 1300)) for _ in range($REQUESTS - 1)))")
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 3 $CLIENT_ARGS --log "$WORK/client.log"
  sleep 1.5                       # the backend's idle close of the last pooled connection
  cc_capture_stop
  x12_haproxy_stop
  if [ -n "${X12_DEBUG_DIR:-}" ]; then
    mkdir -p "$X12_DEBUG_DIR/$SCENARIO.$attempt"; cp "$OUT" "$WORK"/*.log "$X12_DEBUG_DIR/$SCENARIO.$attempt/" || true
  fi
  if python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy haproxy --capture "$OUT" --meta "$META" \
      --proxy-log "$WORK/haproxy.log" --client-log "$WORK/client.log" \
      --listen 127.0.0.2:8080 --backend "$CCB_SERVER_IP:9001" \
      --configured serverIdleTimeout=1.3 --description "$DESCRIPTION" \
      --software "$(haproxy -v | head -1 | cut -d' ' -f1-3)" "node $(node -v)"; then
    break
  fi
  [ "$attempt" = 4 ] && { echo "record: $SCENARIO: no usable recording in 4 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
