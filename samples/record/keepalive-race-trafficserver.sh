#!/usr/bin/env bash
# Keep-alive race on Apache Traffic Server 9.2's backend leg. traffic_server (a private runroot,
# reverse proxy with one remap rule, no cache; keep_alive_no_activity_timeout_out 10 s: its pool
# keeps idle backend connections longer than the backend does) on 127.0.0.2:8080 in front of a
# Node http server (keepAliveTimeout 300 ms: Node 20 closes idle connections after 1.3 s) in
# another namespace, 5 ms one way away (a delay line); ATS connects from 10.99.0.1. One Node
# http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every third one a POST) with think
# times of 1.288-1.300 s, so ATS reuses its pooled backend connection as the backend's idle FIN is
# on its way. What ATS then does is read from its access log (status to the client, the backend's
# status, connect attempts, finish codes) and its http_ss debug lines. Captured in ATS's namespace
# on every interface (both legs). Writes samples/keepalive-race-trafficserver.pcap and .meta.json
# (only when programs/x10-meta.py finds the capture and the access log agree and at least one
# race; at most 4 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require traffic_server node python3 tcpdump tshark ip

SCENARIO=keepalive-race-trafficserver
DESCRIPTION="Keep-alive race on Apache Traffic Server 9.2's backend leg: traffic_server on 127.0.0.2:8080 (reverse proxy, one remap rule, no cache, keep_alive_no_activity_timeout_out 10 s) in front of a Node http server (keepAliveTimeout 300 ms: it closes idle connections after 1.3 s) 5 ms one way away, ATS connecting from 10.99.0.1. A Node http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every third one a POST) with think times of 1.288-1.300 s, so ATS reuses its pooled backend connection as the backend's idle FIN is on its way. The backend resets each raced request. ATS sends a raced GET again on a new connection (access log: 200, one more server connect attempt); a raced POST is answered 502 within milliseconds (access log ERR_CONNECT_FAIL, backend status 000) and ATS then closes that client connection."
REQUESTS=16

cc_netns_up ccx10-tkr-p            # client and ATS (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add ccx10-tkr-b          # backend
ccb_delay_link ccx10-tkr-p ccx10-tkr-b 5
ip netns exec ccx10-tkr-p ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ccb_bg ccx10-tkr-b node "$CCB_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port 9001 --keep-alive-timeout 300 2>"$WORK/backend.log"
ccb_wait_port ccx10-tkr-b 9001
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3 4; do
  rm -rf "$WORK/client.log" "$WORK/ats"
  x10_ats_start ccx10-tkr-p 8080 "CONFIG proxy.config.http.keep_alive_no_activity_timeout_out INT 10" \
    "map http://127.0.0.2:8080/ http://$CCB_SERVER_IP:9001/"
  ccb_capture_start ccx10-tkr-p any "$OUT" "tcp port 8080 or tcp port 9001"
  GAPS=$(python3 -c "import random; random.seed($attempt); print(','.join(str(random.randint(1288, 1300)) for _ in range($REQUESTS - 1)))")
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 3 --log "$WORK/client.log"
  sleep 1.5                       # the backend's idle close of the last pooled connection
  cc_capture_stop
  x10_ats_stop
  if [ -n "${X10_DEBUG_DIR:-}" ]; then
    mkdir -p "$X10_DEBUG_DIR/$SCENARIO.$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/ats/log/* "$X10_DEBUG_DIR/$SCENARIO.$attempt/" || true
  fi
  if python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy trafficserver --capture "$OUT" --meta "$META" \
      --proxy-log "$WORK/ats/log/access.log" --client-log "$WORK/client.log" \
      --listen 127.0.0.2:8080 --backend "$CCB_SERVER_IP:9001" \
      --configured serverIdleTimeout=1.3 --description "$DESCRIPTION" \
      --software "$(traffic_server -V 2>/dev/null | head -1 | cut -d' ' -f1-3)" "node $(node -v)"; then
    break
  fi
  [ "$attempt" = 4 ] && { echo "record: $SCENARIO: no usable recording in 4 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
