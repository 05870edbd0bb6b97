#!/usr/bin/env bash
# Backend too slow behind HAProxy 2.6 (mode http): `timeout server 1s` in front of a Node http server.
# curl fetches two fast URLs on one keep-alive connection, then three /slow?ms=2500 at once, then two
# fast ones. For each slow one HAProxy gives up after 1 s, closes the backend connection and answers
# 504 (its log: termination sH--, Tr -1). Everything on one loopback in namespace ccx12-gt: HAProxy on
# 127.0.0.2:8080, the backend on 127.0.0.3:9001. Writes samples/gateway-timeout-haproxy.pcap + meta
# (programs/x10-meta.py checks the capture against HAProxy's log).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x12.sh"
cc_require haproxy node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-haproxy
DESCRIPTION="Backend too slow behind HAProxy 2.6: HAProxy (mode http, timeout server 1s, timeout connect 1s, default retry-on conn-failure) on 127.0.0.2:8080 in front of a Node http server on 127.0.0.3:9001 (all on one loopback). curl fetches two fast URLs on one keep-alive connection, then three /slow?ms=2500 at once, then two fast ones. For each slow one HAProxy gives up after 1 s (log: 504, termination sH--), closes the backend connection and answers 504."
cc_netns_up ccx12-gt
ccb_workdir
WORK="$CCB_WORK"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9001
x12_haproxy_start "$CC_NS" 127.0.0.2:8080 "server s1 127.0.0.3:9001" "  timeout connect 1s
  timeout server 1s"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/get?i=1 -o /dev/null http://127.0.0.2:8080/get?i=2
CLIENTS=()
for i in 1 2 3; do
  cc_in curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/slow?ms=2500&i=$i" &
  CLIENTS+=("$!")
done
wait "${CLIENTS[@]}"
cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/get?i=3 -o /dev/null http://127.0.0.2:8080/get?i=4
sleep 1.8                          # the backend's late answers to the closed connections
cc_capture_stop
x12_haproxy_stop
[ -n "${X12_DEBUG_DIR:-}" ] && { mkdir -p "$X12_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X12_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy haproxy --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/haproxy.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --configured proxyReadTimeout=1 --description "$DESCRIPTION" \
  --software "$(haproxy -v | head -1 | cut -d' ' -f1-3)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
