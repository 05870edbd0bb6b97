#!/usr/bin/env bash
# Keep-alive race on h2o 2.2's backend leg. h2o (proxy.reverse.url, proxy.timeout.keepalive 10 s:
# its pool keeps idle backend connections longer than the backend does) on 127.0.0.2:8080 in front
# of a Node http server (keepAliveTimeout 300 ms: Node 20 closes idle connections after 1.3 s) in
# another namespace, 5 ms one way away (a delay line); h2o connects from 10.99.0.1. One Node
# http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every third one a POST) with think
# times of 1.288-1.300 s, so h2o reuses its pooled backend connection as the backend's idle FIN is
# on its way. What h2o then does is read from its access log (status, %{error}x). Captured in h2o's
# namespace on every interface (both legs). Writes samples/keepalive-race-h2o.pcap and .meta.json
# (only when programs/x10-meta.py finds the capture and the access log agree and at least one race;
# at most 4 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require h2o node python3 tcpdump tshark ip

SCENARIO=keepalive-race-h2o
DESCRIPTION="Keep-alive race on h2o 2.2's backend leg: h2o on 127.0.0.2:8080 (proxy.reverse.url, proxy.timeout.keepalive 10 s) in front of a Node http server (keepAliveTimeout 300 ms: it closes idle connections after 1.3 s) 5 ms one way away, h2o connecting from 10.99.0.1. A Node http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every third one a POST) with think times of 1.288-1.300 s, so h2o reuses its pooled backend connection as the backend's idle FIN is on its way The backend resets each raced request; h2o 2.2 does not retry it, GET or POST: it answers its client 502 within milliseconds (access log: '[lib/core/proxy.c] I/O error (head)') and keeps the client connection."
REQUESTS=16

cc_netns_up ccx10-hkr-p            # client and h2o (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add ccx10-hkr-b          # backend
ccb_delay_link ccx10-hkr-p ccx10-hkr-b 5
ip netns exec ccx10-hkr-p ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ccb_bg ccx10-hkr-b node "$CCB_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port 9001 --keep-alive-timeout 300 2>"$WORK/backend.log"
ccb_wait_port ccx10-hkr-b 9001
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3 4; do
  rm -f "$WORK/client.log" "$WORK/h2o-access.log"
  x10_h2o_start ccx10-hkr-p 127.0.0.2 8080 "http://$CCB_SERVER_IP:9001/" "proxy.timeout.keepalive: 10000"
  ccb_capture_start ccx10-hkr-p any "$OUT" "tcp port 8080 or tcp port 9001"
  GAPS=$(python3 -c "import random; random.seed($attempt); print(','.join(str(random.randint(1288, 1300)) for _ in range($REQUESTS - 1)))")
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 3 --log "$WORK/client.log"
  sleep 1.5                       # the backend's idle close of the last pooled connection
  cc_capture_stop
  x10_h2o_stop
  if [ -n "${X10_DEBUG_DIR:-}" ]; then
    mkdir -p "$X10_DEBUG_DIR/$SCENARIO.$attempt"; cp "$OUT" "$WORK"/*.log "$X10_DEBUG_DIR/$SCENARIO.$attempt/" || true
  fi
  if python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy h2o --capture "$OUT" --meta "$META" \
      --proxy-log "$WORK/h2o-access.log" --client-log "$WORK/client.log" \
      --listen 127.0.0.2:8080 --backend "$CCB_SERVER_IP:9001" \
      --configured serverIdleTimeout=1.3 --description "$DESCRIPTION" \
      --software "$(h2o --version | head -1 | sed 's/ version//')" "node $(node -v)"; then
    break
  fi
  [ "$attempt" = 4 ] && { echo "record: $SCENARIO: no usable recording in 4 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
