#!/usr/bin/env bash
# Backend connect timeout behind HAProxy 2.6 (mode http): `timeout connect 1500ms`, `retries 3` (the
# default) in front of 127.0.0.3:9009, where an nftables rule drops every SYN. Each request: HAProxy
# sends a SYN (retransmitted by the kernel after 1 s), gives up at 1.5 s, tries again on a new
# connection (3 retries: 4 attempts), then answers 503 (its log: termination sC--, retries 3).
# curl fetches /ok/1 and /ok/2 (another backend: a Node http server on 127.0.0.3:9001) on one
# connection, then /x/1..3 at once, then /x/4. Everything on one loopback in namespace ccx12-ct:
# HAProxy connects from 127.0.0.1, the clients' address (the forwarded /ok requests show it).
# Writes samples/connect-timeout-haproxy.pcap + meta (programs/x10-meta.py checks the capture
# against HAProxy's log).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x12.sh"
cc_require haproxy node curl nft python3 tcpdump tshark ip

SCENARIO=connect-timeout-haproxy
DESCRIPTION="Backend connect timeout behind HAProxy 2.6: HAProxy (mode http, timeout connect 1500ms, retries 3: the default) on 127.0.0.2:8080 in front of 127.0.0.3:9009, where an nftables rule drops every SYN, and (for /ok/*) of a Node http server on 127.0.0.3:9001 (all on one loopback: HAProxy connects from 127.0.0.1, the clients' address). curl fetches /ok/1 and /ok/2 on one connection, then /x/1..3 at once, then /x/4. For each, HAProxy's SYN is retransmitted by the kernel after 1 s and never answered; at 1.5 s HAProxy abandons the attempt and opens a new connection, 4 attempts in all, then answers 503 (log: termination sC--, retries 3)."
cc_netns_up ccx12-ct
ccb_workdir
WORK="$CCB_WORK"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ccb_drop_syns "$CC_NS" ccx12_ct 9009
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9001
X12_FRONTEND="  use_backend ok if { path_beg /ok/ }" \
x12_haproxy_start "$CC_NS" 127.0.0.2:8080 "server s1 127.0.0.3:9009" "  timeout connect 1500ms
  timeout server 5s
  retries 3" "backend ok
  server s2 127.0.0.3:9001"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9009"
cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/ok/1 -o /dev/null http://127.0.0.2:8080/ok/2
CLIENTS=()
for i in 1 2 3; do
  cc_in curl -s -o /dev/null -m 15 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/x/$i" &
  CLIENTS+=("$!")
done
wait "${CLIENTS[@]}"
cc_in curl -s -o /dev/null -m 15 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/x/4"
cc_capture_stop
x12_haproxy_stop
cc_in nft delete table inet ccx12_ct
[ -n "${X12_DEBUG_DIR:-}" ] && { mkdir -p "$X12_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X12_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy haproxy --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/haproxy.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9009 --ok-backend 127.0.0.3:9001 \
  --configured proxyConnectTimeout=1.5 --description "$DESCRIPTION" \
  --software "$(haproxy -v | head -1 | cut -d' ' -f1-3)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "nftables SYN drop rule"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
