#!/usr/bin/env bash
# Keep-alive race on Squid 5.7's backend leg. Squid in accelerator mode on 127.0.0.2:8080
# (cache_peer originserver, server_idle_pconn_timeout 10 s, longer than the backend keeps idle
# connections) in front of a Node http server (keepAliveTimeout 300 ms: Node 20 closes idle
# connections after 1.3 s) in another namespace, 5 ms one way away (a delay line); Squid connects
# from 10.99.0.1. One Node http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every
# second one a POST) with think times of 1.288-1.300 s, so Squid reuses its pooled backend
# connection as the backend's idle FIN is on its way. Squid watches idle pooled connections and
# closes those whose FIN arrived, so only crossings fail: the backend resets the request; Squid
# retries on a new connection what it may (forward_max_tries) and answers the rest with an error.
# Captured in Squid's namespace on every interface (both legs). Writes
# samples/keepalive-race-squid.pcap and .meta.json (only when programs/x8-meta.py finds the
# capture and Squid's access log agree; at most 4 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require squid node python3 tcpdump tshark ip

SCENARIO=keepalive-race-squid
DESCRIPTION="Keep-alive race on Squid 5.7's backend leg: Squid in accelerator mode on 127.0.0.2:8080 (cache_peer originserver, server_idle_pconn_timeout 10 s) in front of a Node http server (keepAliveTimeout 300 ms: it closes idle connections after 1.3 s) 5 ms one way away, Squid connecting from 10.99.0.1. A Node http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every second one a POST) with think times of 1.288-1.300 s, so Squid reuses its pooled backend connection as the backend's idle FIN is on its way (crossings: Squid closes idle pooled connections whose FIN has arrived). The backend resets each raced request; Squid retries it on a new connection (cache.log: ERR_ZERO_SIZE_OBJECT, then 'retryOrBail: re-forwarding') and its client gets 200 with nothing to see. Squid never sends a POST on a reused connection (it could not retry it; server_pconn_for_nonretriable is off by default): every POST opens a new backend connection, so only GETs race."
REQUESTS=16

cc_netns_up ccx8-skr-p            # client and Varnish (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add ccx8-skr-b          # backend
ccb_delay_link ccx8-skr-p ccx8-skr-b 5
ip netns exec ccx8-skr-p ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ccb_bg ccx8-skr-b node "$CCB_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port 9001 --keep-alive-timeout 300 2>"$WORK/backend.log"
ccb_wait_port ccx8-skr-b 9001
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3 4; do
  rm -f "$WORK/client.log"
  rm -rf "$WORK/squid"
  x8_squid_conf "$WORK/squid.conf" 127.0.0.2:8080 "$CCB_SERVER_IP" 9001 -- "server_idle_pconn_timeout 10 seconds"
  x8_squid_start ccx8-skr-p "$WORK/squid.conf"
  cc_wait_port 8080
  ccb_capture_start ccx8-skr-p any "$OUT" "tcp port 8080 or tcp port 9001"
  GAPS=$(python3 -c "import random; random.seed($attempt); print(','.join(str(random.randint(1288, 1300)) for _ in range($REQUESTS - 1)))")
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 2 --log "$WORK/client.log"
  sleep 1.5                       # the backend's idle close of the last pooled connection
  cc_capture_stop
  x8_squid_stop
  if [ -n "${X8_DEBUG_DIR:-}" ]; then
    mkdir -p "$X8_DEBUG_DIR/$SCENARIO.$attempt"; cp -r "$OUT" "$WORK"/*.log "$WORK"/squid "$X8_DEBUG_DIR/$SCENARIO.$attempt/" || true
  fi
  if python3 "$CCB_PROGRAMS/x8-meta.py" "$SCENARIO" --proxy squid --capture "$OUT" --meta "$META" \
      --proxy-log "$WORK/squid/access.log" --client-log "$WORK/client.log" --listen 127.0.0.2:8080 --backend "$CCB_SERVER_IP:9001" \
      --configured serverIdleTimeout=1.3 --require-race-outcomes 200 --description "$DESCRIPTION" \
      --software "$(squid -v | head -1 | sed 's/ Cache: Version//')" "node $(node -v)"; then
    break
  fi
  [ "$attempt" = 4 ] && { echo "record: $SCENARIO: no usable recording in 4 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
