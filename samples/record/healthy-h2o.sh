#!/usr/bin/env bash
# Healthy traffic through h2o 2.2, keep-alive on both legs: h2o on 127.0.0.2:8080
# (proxy.timeout.keepalive 2 s, its default: its pool drops idle backend connections after 2 s;
# http1-request-timeout 3 s) in front of a Node http server on 127.0.0.3:9001 (keepAliveTimeout 5 s: h2o drops
# its idle backend connections first, as it should). A Node http.Agent client (keepAlive, maxSockets
# 1) sends 11 requests (every third a POST) with think times of 0.05-3.5 s: h2o reuses pooled
# backend connections, closes one idle for 2 s, and closes the client's connection after 3 s idle
# (the agent then opens a new one); curl then fetches four URLs on one connection. Nothing fails:
# conncheck must be silent. Writes samples/healthy-h2o.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require h2o node curl python3 tcpdump tshark ip

SCENARIO=healthy-h2o
DESCRIPTION="Healthy traffic through h2o 2.2 with keep-alive on both legs: h2o on 127.0.0.2:8080 (proxy.timeout.keepalive 2000 ms, http1-request-timeout 3 s) in front of a Node http server on 127.0.0.3:9001 (keepAliveTimeout 5 s), all on one loopback. A Node http.Agent client (keepAlive, maxSockets 1) sends 11 requests (every third a POST) with think times of 0.05-3.5 s: h2o reuses its pooled backend connections, closes idle ones itself, and closes the client's connection after 3 s idle (the agent opens a new one for the next request); then curl fetches four URLs on one connection. Every request is answered 200/201."
cc_netns_up ccx10-hok
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x10_h2o_start "$CC_NS" 127.0.0.2 8080 http://127.0.0.3:9001/ "proxy.timeout.keepalive: 2000
http1-request-timeout: 3"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
ccb_healthy_clients http://127.0.0.2:8080
sleep 0.5
cc_capture_stop
x10_h2o_stop
[ -n "${X10_DEBUG_DIR:-}" ] && { mkdir -p "$X10_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X10_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy h2o --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/h2o-access.log" --client-log "$WORK/client.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --description "$DESCRIPTION" \
  --software "$(h2o --version | head -1 | sed 's/ version//')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
