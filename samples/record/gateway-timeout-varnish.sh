#!/usr/bin/env bash
# Backend too slow behind Varnish Cache 7.1: varnishd on 127.0.0.2:8080 (first_byte_timeout 1 s)
# in front of a Node http server on 127.0.0.3:9001; everything on one loopback, so Varnish connects
# to the backend from 127.0.0.1, the clients' address. curl asks two fast URLs on one keep-alive
# connection, then three /slow?ms=2500 at once (three connections), then two fast ones again.
# Varnish gives up on each slow fetch after 1 s (varnishlog: FetchError "first byte timeout"),
# closes that backend connection and answers 503 "Backend fetch failed" (Varnish's synthetic
# error for any failed fetch; never 504). Writes samples/gateway-timeout-varnish.pcap and
# .meta.json (only when programs/x8-meta.py finds capture and varnishlog agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require varnishd varnishlog varnishadm node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-varnish
DESCRIPTION="Backend too slow behind Varnish Cache 7.1: varnishd on 127.0.0.2:8080 with first_byte_timeout 1 s in front of a Node http server on 127.0.0.3:9001 (all on one loopback: Varnish connects from 127.0.0.1, the clients' address). curl fetches two fast URLs on one keep-alive connection, then three /slow?ms=2500 at once, then two fast ones. For each slow one Varnish gives up after 1 s (varnishlog FetchError 'first byte timeout'), closes the backend connection (FIN; the backend's late answer is reset) and answers 503 'Backend fetch failed' (Varnish answers every failed fetch with its synthetic 503, never 504)."
cc_netns_up ccx8-vgt
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x8_varnish_start "$CC_NS" 127.0.0.3 9001 127.0.0.2:8080 first_byte_timeout=1
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
ccb_slow_clients http://127.0.0.2:8080
sleep 1.8                          # the backend's late answers to the closed connections
cc_capture_stop
x8_varnish_stop
[ -n "${X8_DEBUG_DIR:-}" ] && { mkdir -p "$X8_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$WORK"/*.txt "$X8_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x8-meta.py" "$SCENARIO" --proxy varnish --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/varnishlog.txt" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --configured proxyReadTimeout=1 --description "$DESCRIPTION" \
  --software "$(varnishd -V 2>&1 | head -1 | sed 's/ revision.*//;s/[()]//g')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
