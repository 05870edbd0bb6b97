#!/usr/bin/env bash
# Backend too slow behind Apache Traffic Server 9.2: traffic_server on 127.0.0.2:8080 (reverse
# proxy, no cache, transaction_no_activity_timeout_out 1 s) in front of a Node http server on 127.0.0.3:9001; everything on one
# loopback, so ATS connects to the backend from 127.0.0.1, the clients' address. curl asks two
# fast URLs on one keep-alive connection, then three /slow?ms=2500 at once (three connections),
# then two fast ones again. What ATS answers and when is read from its access log. Writes samples/gateway-timeout-trafficserver.pcap and .meta.json (only when
# programs/x10-meta.py finds capture and logs agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require traffic_server node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-trafficserver
DESCRIPTION="Backend too slow behind Apache Traffic Server 9.2: traffic_server on 127.0.0.2:8080 (reverse proxy, no cache) with proxy.config.http.transaction_no_activity_timeout_out 1 in front of a Node http server on 127.0.0.3:9001 (all on one loopback: ATS connects from 127.0.0.1, the clients' address). curl fetches two fast URLs on one keep-alive connection, then three /slow?ms=2500 at once, then two fast ones. ATS tries each slow request 4 times (connect_attempts_max_retries, 3 by default), each attempt on a new backend connection that it closes 1.8-2.0 s after the request (its inactivity timeouts are checked once a second: the first attempts at a random phase, the retries right after a check), and answers 504 after 7.8 s (access log ERR_READ_TIMEOUT, 3 connect attempts, proxy finish TIMEOUT)."
cc_netns_up ccx10-tgt
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x10_ats_start "$CC_NS" 8080 "CONFIG proxy.config.http.transaction_no_activity_timeout_out INT 1" "map http://127.0.0.2:8080/ http://127.0.0.3:9001/"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
ccb_slow_clients http://127.0.0.2:8080
sleep 1.8                          # the backend's late answers to the closed connections
cc_capture_stop
x10_ats_stop
[ -n "${X10_DEBUG_DIR:-}" ] && { mkdir -p "$X10_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$WORK"/ats/log/* "$X10_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy trafficserver --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/ats/log/access.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --configured proxyReadTimeout=1 --description "$DESCRIPTION" \
  --software "$(traffic_server -V 2>/dev/null | head -1 | cut -d' ' -f1-3)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
