#!/usr/bin/env bash
# Backend too slow behind Caddy 2.6: Caddy reverse_proxy on 127.0.0.2:8080 (transport http,
# response_header_timeout 1 s) in front of a Node http server on 127.0.0.3:9001; everything on one
# loopback, so Caddy connects to the backend from 127.0.0.1, the clients' address. curl asks two
# fast URLs on one keep-alive connection, then three /slow?ms=2500 at once (three connections),
# then two fast ones again. What Caddy answers and when is read from its access log and its debug
# log's upstream round trips. Writes samples/gateway-timeout-caddy.pcap and .meta.json (only when
# programs/x10-meta.py finds capture and logs agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require caddy node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-caddy
DESCRIPTION="Backend too slow behind Caddy 2.6: Caddy reverse_proxy on 127.0.0.2:8080 with transport http { response_header_timeout 1s } in front of a Node http server on 127.0.0.3:9001 (all on one loopback: Caddy connects from 127.0.0.1, the clients' address). curl fetches two fast URLs on one keep-alive connection, then three /slow?ms=2500 at once, then two fast ones. For each slow one Caddy gives up after 1 s (debug log: upstream roundtrip error 'net/http: timeout awaiting response headers'), closes the backend connection (FIN) and answers 504."
cc_netns_up ccx10-cgt
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x10_caddy_start "$CC_NS" 127.0.0.2:8080 127.0.0.3:9001 "response_header_timeout 1s"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
ccb_slow_clients http://127.0.0.2:8080
sleep 1.8                          # the backend's late answers to the closed connections
cc_capture_stop
x10_caddy_stop
[ -n "${X10_DEBUG_DIR:-}" ] && { mkdir -p "$X10_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X10_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy caddy --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/caddy-access.log" --debug-log "$WORK/caddy.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --configured proxyReadTimeout=1 --description "$DESCRIPTION" \
  --software "caddy $(caddy version | cut -d' ' -f1)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
