#!/usr/bin/env bash
# Healthy traffic through Apache Traffic Server 9.2, keep-alive on both legs: traffic_server on
# 127.0.0.2:8080 (reverse proxy, no cache; keep_alive_no_activity_timeout_out 2 s: its pool drops
# idle backend connections after 2 s; keep_alive_no_activity_timeout_in 3 s) in front of a Node http server on 127.0.0.3:9001 (keepAliveTimeout 5 s: ATS drops
# its idle backend connections first, as it should). A Node http.Agent client (keepAlive, maxSockets
# 1) sends 11 requests (every third a POST) with think times of 0.05-3.5 s: ATS reuses pooled
# backend connections, closes one idle for 2 s, and closes the client's connection after 3 s idle
# (the agent then opens a new one); curl then fetches four URLs on one connection. Nothing fails:
# conncheck must be silent. Writes samples/healthy-trafficserver.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require traffic_server node curl python3 tcpdump tshark ip

SCENARIO=healthy-trafficserver
DESCRIPTION="Healthy traffic through Apache Traffic Server 9.2 with keep-alive on both legs: traffic_server on 127.0.0.2:8080 (reverse proxy, no cache; proxy.config.http.keep_alive_no_activity_timeout_out 2, keep_alive_no_activity_timeout_in 3) in front of a Node http server on 127.0.0.3:9001 (keepAliveTimeout 5 s), all on one loopback. A Node http.Agent client (keepAlive, maxSockets 1) sends 11 requests (every third a POST) with think times of 0.05-3.5 s: ATS reuses its pooled backend connections, closes idle ones itself, and closes the client's connection after 3 s idle (the agent opens a new one for the next request); then curl fetches four URLs on one connection. Every request is answered 200/201."
cc_netns_up ccx10-tok
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x10_ats_start "$CC_NS" 8080 "CONFIG proxy.config.http.keep_alive_no_activity_timeout_out INT 2
CONFIG proxy.config.http.keep_alive_no_activity_timeout_in INT 3" "map http://127.0.0.2:8080/ http://127.0.0.3:9001/"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
ccb_healthy_clients http://127.0.0.2:8080
sleep 0.5
cc_capture_stop
x10_ats_stop
[ -n "${X10_DEBUG_DIR:-}" ] && { mkdir -p "$X10_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$WORK"/ats/log/* "$X10_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy trafficserver --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/ats/log/access.log" --client-log "$WORK/client.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --description "$DESCRIPTION" \
  --software "$(traffic_server -V 2>/dev/null | head -1 | cut -d' ' -f1-3)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
