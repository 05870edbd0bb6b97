#!/usr/bin/env bash
# Healthy keep-alive through HAProxy 2.6 in mode http with backend connection reuse (http-reuse safe):
# two Node http.Agent clients (keepAlive) send 8 requests each, 0.3 s apart, through HAProxy on
# 127.0.0.2:8080 to a Node http server on 127.0.0.3:9001 whose idle timeout (5 s) is far longer than
# the pauses. Nothing may be reported. Everything on one loopback in namespace ccx12-ok.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x12.sh"
cc_require haproxy node python3 tcpdump tshark ip

SCENARIO=healthy-haproxy
DESCRIPTION="Healthy keep-alive through HAProxy 2.6 (mode http, http-reuse safe, timeout server 3s, timeout http-keep-alive 3s) on 127.0.0.2:8080 in front of a Node http server on 127.0.0.3:9001 (keepAliveTimeout 5 s). Two Node http.Agent clients (keepAlive, maxSockets 1) send 8 requests each (every third a POST), 0.3 s apart: HAProxy reuses its backend connections throughout; every request is answered, nothing fails."
cc_netns_up ccx12-ok
ccb_workdir
WORK="$CCB_WORK"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9001
x12_haproxy_start "$CC_NS" 127.0.0.2:8080 "server s1 127.0.0.3:9001" "  timeout connect 1s
  timeout server 3s
  timeout http-keep-alive 3s"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
GAPS=300,300,300,300,300,300,300
CLIENTS=()
for tag in a b; do
  cc_in timeout 30 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 3 --tag "$tag" --log "$WORK/client-$tag.log" &
  CLIENTS+=("$!")
  sleep 0.1
done
wait "${CLIENTS[@]}"
sleep 0.5
cc_capture_stop
x12_haproxy_stop
[ -n "${X12_DEBUG_DIR:-}" ] && { mkdir -p "$X12_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X12_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy haproxy --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/haproxy.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --description "$DESCRIPTION" --software "$(haproxy -v | head -1 | cut -d' ' -f1-3)" "node $(node -v)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
