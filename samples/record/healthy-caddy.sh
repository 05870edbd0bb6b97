#!/usr/bin/env bash
# Healthy traffic through Caddy 2.6, keep-alive on both legs: Caddy reverse_proxy on 127.0.0.2:8080
# (transport http { keepalive 2s }: its pool drops idle backend connections after 2 s; servers idle
# timeout 3 s) in front of a Node http server on 127.0.0.3:9001 (keepAliveTimeout 5 s: Caddy drops
# its idle backend connections first, as it should). A Node http.Agent client (keepAlive, maxSockets
# 1) sends 11 requests (every third a POST) with think times of 0.05-3.5 s: Caddy reuses pooled
# backend connections, closes one idle for 2 s, and closes the client's connection after 3 s idle
# (the agent then opens a new one); curl then fetches four URLs on one connection. Nothing fails:
# conncheck must be silent. Writes samples/healthy-caddy.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require caddy node curl python3 tcpdump tshark ip

SCENARIO=healthy-caddy
DESCRIPTION="Healthy traffic through Caddy 2.6 with keep-alive on both legs: Caddy reverse_proxy on 127.0.0.2:8080 (transport http { keepalive 2s }, servers timeouts idle 3 s) in front of a Node http server on 127.0.0.3:9001 (keepAliveTimeout 5 s), all on one loopback. A Node http.Agent client (keepAlive, maxSockets 1) sends 11 requests (every third a POST) with think times of 0.05-3.5 s: Caddy reuses its pooled backend connections, closes idle ones itself, and closes the client's connection after 3 s idle (the agent opens a new one for the next request); then curl fetches four URLs on one connection. Every request is answered 200/201."
cc_netns_up ccx10-cok
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
X10_CADDY_SERVERS="idle 3s" x10_caddy_start "$CC_NS" 127.0.0.2:8080 127.0.0.3:9001 "keepalive 2s"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
ccb_healthy_clients http://127.0.0.2:8080
sleep 0.5
cc_capture_stop
x10_caddy_stop
[ -n "${X10_DEBUG_DIR:-}" ] && { mkdir -p "$X10_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X10_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy caddy --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/caddy-access.log" --debug-log "$WORK/caddy.log" --client-log "$WORK/client.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --description "$DESCRIPTION" \
  --software "caddy $(caddy version | cut -d' ' -f1)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
