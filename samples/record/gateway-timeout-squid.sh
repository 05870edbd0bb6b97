#!/usr/bin/env bash
# Backend too slow behind Squid 5.7: Squid in accelerator mode on 127.0.0.2:8080 (read_timeout
# 1 s) in front of a Node http server on 127.0.0.3:9001 (cache_peer originserver); everything on
# one loopback, so Squid connects from 127.0.0.1, the clients' address. curl asks two fast URLs on
# one keep-alive connection, then five /slow?ms=3000 0.23 s apart, then two fast ones again. Squid
# gives up on each slow one at its read timeout, checked once a second on a clock of whole seconds
# (so the waits range from a fraction of a second to ~3 s, all 504s at one phase of the second), closes that backend connection and answers 504
# Gateway Timeout (access log TCP_MISS/504). Writes samples/gateway-timeout-squid.pcap and
# .meta.json (only when programs/x8-meta.py finds capture and access log agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require squid node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-squid
DESCRIPTION="Backend too slow behind Squid 5.7: Squid in accelerator mode on 127.0.0.2:8080 with read_timeout 1 s in front of a Node http server on 127.0.0.3:9001 (all on one loopback: Squid connects from 127.0.0.1, the clients' address). curl fetches two fast URLs on one keep-alive connection, then five /slow?ms=3000 0.23 s apart, then two fast ones. Squid checks its timeouts once a second on a clock of whole seconds, so its 1 s read_timeout fires at shared ticks, all 504s at one phase of the second, anywhere from a fraction of a second to about 3 s after the requests (0.16-1.94 s in one recording, 1.97-2.89 s in another: see observed.waitRange); for each it closes the backend connection and answers 504 Gateway Timeout (access log TCP_MISS/504)."
cc_netns_up ccx8-sgt
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x8_squid_conf "$WORK/squid.conf" 127.0.0.2:8080 127.0.0.3 9001 -- "read_timeout 1 second"
x8_squid_start "$CC_NS" "$WORK/squid.conf"
cc_wait_port 8080
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/get?i=1 -o /dev/null http://127.0.0.2:8080/get?i=2
CLIENTS=()
for i in 1 2 3 4 5; do
  cc_in curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/slow?ms=3000&i=$i" &
  CLIENTS+=("$!")
  sleep 0.23                       # not in step: each wait meets Squid's timer tick at another phase
done
wait "${CLIENTS[@]}"
cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/get?i=3 -o /dev/null http://127.0.0.2:8080/get?i=4
sleep 2.5                          # the backend's late answers to the closed connections
cc_capture_stop
x8_squid_stop
[ -n "${X8_DEBUG_DIR:-}" ] && { mkdir -p "$X8_DEBUG_DIR/$SCENARIO"; cp -r "$OUT" "$WORK"/*.log "$WORK"/squid "$X8_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x8-meta.py" "$SCENARIO" --proxy squid --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/squid/access.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --configured proxyReadTimeout=1 --description "$DESCRIPTION" \
  --software "$(squid -v | head -1 | sed 's/ Cache: Version//')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
