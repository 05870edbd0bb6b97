#!/usr/bin/env bash
# Backend too slow behind h2o 2.2: h2o on 127.0.0.2:8080 (proxy.reverse.url, proxy.timeout.io
# 1 s) in front of a Node http server on 127.0.0.3:9001; everything on one
# loopback, so h2o connects to the backend from 127.0.0.1, the clients' address. curl asks two
# fast URLs on one keep-alive connection, then three /slow?ms=2500 at once (three connections),
# then two fast ones again. What h2o answers and when is read from its access log. Writes samples/gateway-timeout-h2o.pcap and .meta.json (only when
# programs/x10-meta.py finds capture and logs agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require h2o node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-h2o
DESCRIPTION="Backend too slow behind h2o 2.2: h2o on 127.0.0.2:8080 with proxy.timeout.io 1000 (ms) in front of a Node http server on 127.0.0.3:9001 (all on one loopback: h2o connects from 127.0.0.1, the clients' address). curl fetches two fast URLs on one keep-alive connection, then three /slow?ms=2500 at once, then two fast ones. For each slow one h2o gives up after 1 s (access log: '[lib/core/proxy.c] I/O timeout'), closes the backend connection (FIN) and answers 502."
cc_netns_up ccx10-hgt
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x10_h2o_start "$CC_NS" 127.0.0.2 8080 http://127.0.0.3:9001/ "proxy.timeout.io: 1000"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
ccb_slow_clients http://127.0.0.2:8080
sleep 1.8                          # the backend's late answers to the closed connections
cc_capture_stop
x10_h2o_stop
[ -n "${X10_DEBUG_DIR:-}" ] && { mkdir -p "$X10_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X10_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy h2o --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/h2o-access.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --configured proxyReadTimeout=1 --description "$DESCRIPTION" \
  --software "$(h2o --version | head -1 | sed 's/ version//')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
