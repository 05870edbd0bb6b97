#!/usr/bin/env bash
# Keep-alive race on Caddy 2.6's backend leg. Caddy (reverse_proxy, transport http with keepalive
# 10 s: its pool keeps idle backend connections longer than the backend does) on 127.0.0.2:8080 in
# front of a Node http server (keepAliveTimeout 300 ms: Node 20 closes idle connections after 1.3 s)
# in another namespace, 5 ms one way away (a delay line); Caddy connects from 10.99.0.1. One Node
# http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every third one a POST) with think
# times of 1.288-1.300 s, so Caddy reuses its pooled backend connection as the backend's idle FIN is
# on its way. Go's transport drops a pooled connection whose FIN it has read, so only crossings
# fail; what Caddy then does is read from its own logs (JSON access log, debug log's upstream round
# trips). Captured in Caddy's namespace on every interface (both legs). Writes
# samples/keepalive-race-caddy.pcap and .meta.json (only when programs/x10-meta.py finds the capture
# and Caddy's logs agree and at least one race; at most 4 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require caddy node python3 tcpdump tshark ip

SCENARIO=keepalive-race-caddy
DESCRIPTION="Keep-alive race on Caddy 2.6's backend leg: Caddy reverse_proxy on 127.0.0.2:8080 (transport http, keepalive 10 s) in front of a Node http server (keepAliveTimeout 300 ms: it closes idle connections after 1.3 s) 5 ms one way away, Caddy connecting from 10.99.0.1. A Node http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every third one a POST) with think times of 1.288-1.300 s, so Caddy reuses its pooled backend connection as the backend's idle FIN is on its way (crossings: Go's transport drops pooled connections whose FIN it has read). The backend resets each raced request. Go's transport sends a raced GET (no body) again on a new connection by itself (Caddy's debug log shows one successful upstream round trip, its access log 200); a raced POST is answered 502 within milliseconds (debug log: upstream roundtrip error EOF; access log 502)."
REQUESTS=16

cc_netns_up ccx10-ckr-p            # client and Caddy (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add ccx10-ckr-b          # backend
ccb_delay_link ccx10-ckr-p ccx10-ckr-b 5
ip netns exec ccx10-ckr-p ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ccb_bg ccx10-ckr-b node "$CCB_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port 9001 --keep-alive-timeout 300 2>"$WORK/backend.log"
ccb_wait_port ccx10-ckr-b 9001
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3 4; do
  rm -f "$WORK/client.log" "$WORK/caddy-access.log"
  x10_caddy_start ccx10-ckr-p 127.0.0.2:8080 "$CCB_SERVER_IP:9001" "keepalive 10s"
  ccb_capture_start ccx10-ckr-p any "$OUT" "tcp port 8080 or tcp port 9001"
  GAPS=$(python3 -c "import random; random.seed($attempt); print(','.join(str(random.randint(1288, 1300)) for _ in range($REQUESTS - 1)))")
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 3 --log "$WORK/client.log"
  sleep 1.5                       # the backend's idle close of the last pooled connection
  cc_capture_stop
  x10_caddy_stop
  if [ -n "${X10_DEBUG_DIR:-}" ]; then
    mkdir -p "$X10_DEBUG_DIR/$SCENARIO.$attempt"; cp "$OUT" "$WORK"/*.log "$X10_DEBUG_DIR/$SCENARIO.$attempt/" || true
  fi
  if python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy caddy --capture "$OUT" --meta "$META" \
      --proxy-log "$WORK/caddy-access.log" --debug-log "$WORK/caddy.log" --client-log "$WORK/client.log" \
      --listen 127.0.0.2:8080 --backend "$CCB_SERVER_IP:9001" \
      --configured serverIdleTimeout=1.3 --description "$DESCRIPTION" \
      --software "caddy $(caddy version | cut -d' ' -f1)" "node $(node -v)"; then
    break
  fi
  [ "$attempt" = 4 ] && { echo "record: $SCENARIO: no usable recording in 4 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
