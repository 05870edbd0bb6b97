#!/usr/bin/env bash
# Healthy traffic through Varnish Cache 7.1, keep-alive on both legs: varnishd on 127.0.0.2:8080
# (backend_idle_timeout 2 s, timeout_idle 3 s) in front of a Node http server on 127.0.0.3:9001
# (keepAliveTimeout 5 s: Varnish drops its idle backend connections first, as it should). A Node
# http.Agent client (keepAlive, maxSockets 1) sends 11 requests (every third a POST) with think
# times of 0.05-3.5 s: Varnish reuses pooled backend connections, closes one idle for 2 s, and
# closes the client's connection after 3 s idle (the agent then opens a new one); curl then fetches
# three URLs on one connection, one of them twice (the second a cache hit, no backend request).
# Nothing fails: conncheck must be silent. Writes samples/healthy-varnish.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require varnishd varnishlog varnishadm node curl python3 tcpdump tshark ip

SCENARIO=healthy-varnish
DESCRIPTION="Healthy traffic through Varnish Cache 7.1 with keep-alive on both legs: varnishd on 127.0.0.2:8080 (backend_idle_timeout 2 s, timeout_idle 3 s) in front of a Node http server on 127.0.0.3:9001 (keepAliveTimeout 5 s), all on one loopback. A Node http.Agent client (keepAlive, maxSockets 1) sends 11 requests (every third a POST) with think times of 0.05-3.5 s: Varnish reuses its pooled backend connections, closes one idle for 2 s itself, and closes the client's connection after 3 s idle (the agent opens a new one for the next request); then curl fetches three URLs on one connection, one twice (a cache hit). Every request is answered 200/201."
cc_netns_up ccx8-vok
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x8_varnish_start "$CC_NS" 127.0.0.3 9001 127.0.0.2:8080 backend_idle_timeout=2 timeout_idle=3
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
ccb_healthy_clients http://127.0.0.2:8080 a b a c
sleep 0.5
cc_capture_stop
x8_varnish_stop
[ -n "${X8_DEBUG_DIR:-}" ] && { mkdir -p "$X8_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$WORK"/*.txt "$X8_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x8-meta.py" "$SCENARIO" --proxy varnish --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/varnishlog.txt" --client-log "$WORK/client.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --description "$DESCRIPTION" \
  --software "$(varnishd -V 2>&1 | head -1 | sed 's/ revision.*//;s/[()]//g')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
