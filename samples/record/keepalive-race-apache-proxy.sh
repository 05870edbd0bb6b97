#!/usr/bin/env bash
# Keep-alive race on Apache mod_proxy's backend leg. Apache 2.4 (event MPM, one child) on
# 127.0.0.2:8080 with `ProxyPass / http://10.99.0.2:9001/` (backend connection reuse is on by
# default; no ttl=) in front of a Node http server (keepAliveTimeout 300 ms: Node 20 closes idle
# connections after 1.3 s) in another namespace, 5 ms one way away (a delay line); Apache connects
# from 10.99.0.1. One Node http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every
# second one a POST) with think times of 1.288-1.300 s, so Apache reuses its pooled connection as
# the backend's idle FIN is on its way. Apache checks a pooled connection for an arrived FIN
# before reusing it (AH00951), so only crossings fail: the backend resets the request, Apache
# logs AH01102 and closes the client connection without a response (AH01104; access log 502).
# Captured in Apache's namespace on every interface (both legs). Writes
# samples/keepalive-race-apache-proxy.pcap and .meta.json (only when the capture passes the
# checks of programs/apache-proxy-meta.py against Apache's logs; at most 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-apache-proxy.sh"
cc_require apache2 node python3 tcpdump tshark ip

SCENARIO=keepalive-race-apache-proxy
REQUESTS=16

cc_netns_up cc-x6-akr-p           # client and Apache (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add cc-x6-akr-b         # backend
ccb_delay_link cc-x6-akr-p cc-x6-akr-b 5
ip netns exec cc-x6-akr-p ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ccp_apache_proxy_conf "$WORK/apache.conf" "Listen 127.0.0.2:8080" "ProxyPass / http://$CCB_SERVER_IP:9001/"
ccb_bg cc-x6-akr-b node "$CCB_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port 9001 --keep-alive-timeout 300 2>"$WORK/backend.log"
ccb_wait_port cc-x6-akr-b 9001
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3; do
  # A fresh Apache each attempt: an empty backend pool and fresh logs.
  : >"$WORK/apache-error.log"; : >"$WORK/proxy-access.log"; rm -f "$WORK/client.log"
  cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
  APACHE_PID="$CC_LAST_PID"
  cc_wait_port 8080
  ccb_capture_start cc-x6-akr-p any "$OUT" "tcp port 8080 or tcp port 9001"
  GAPS=$(python3 -c "import random; random.seed($attempt); print(','.join(str(random.randint(1288, 1300)) for _ in range($REQUESTS - 1)))")
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 2 --log "$WORK/client.log"
  sleep 1.5                       # the backend's idle close of the last pooled connection
  cc_capture_stop
  kill "$APACHE_PID"; wait "$APACHE_PID" 2>/dev/null || true
  if python3 "$CCB_PROGRAMS/apache-proxy-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" \
      --error-log "$WORK/apache-error.log" --access-log "$WORK/proxy-access.log" --client-log "$WORK/client.log" \
      --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_proxy_http)" "node $(node -v)"; then
    break
  fi
  # Kept for a look at what failed, when asked for.
  if [ -n "${CCP_DEBUG_DIR:-}" ]; then
    mkdir -p "$CCP_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$CCP_DEBUG_DIR/$attempt/" || true
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E 'AH01102|AH01104' "$WORK/apache-error.log" | sed 's/^\[[^]]*\] //' || true
