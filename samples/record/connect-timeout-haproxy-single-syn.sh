#!/usr/bin/env bash
# Backend connect timeout behind HAProxy 2.6 shorter than the kernel's SYN RTO: `timeout connect
# 700ms`, `retries 2`, in front of 127.0.0.3:9009, where an iptables rule drops every SYN. Each
# attempt sends one SYN (the kernel's retransmission would come at 1 s), HAProxy abandons it at
# 0.7 s and tries again from a new source port: 3 attempts, then 503 after ~2.1 s (log: sC--,
# retries 2). HAProxy connects from 127.0.0.1, the clients' address, and no request is ever
# forwarded upstream, so nothing but the unanswered SYNs shows its upstream legs.
# Near miss first: /ok/1 to a Node server on 127.0.0.3:9002 whose first SYN a one-shot iptables
# rule drops (deleted 0.3 s later): HAProxy's first attempt is abandoned at 0.7 s, the second is
# answered at once, and the client gets 200 after ~0.7 s: one unanswered attempt, then answers (no
# outage, no gateway error). Then /x/1..3 at once (three series of 3 attempts interleaved).
# Namespace fxc-ct. Writes samples/connect-timeout-haproxy-single-syn.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x12.sh"
cc_require haproxy node curl iptables python3 tcpdump tshark ip

SCENARIO=connect-timeout-haproxy-single-syn
DESCRIPTION="Backend connect timeout shorter than the SYN RTO behind HAProxy 2.6: HAProxy (mode http, timeout connect 700ms, retries 2) on 127.0.0.2:8080, connecting from 127.0.0.1 (the clients' address), in front of 127.0.0.3:9009, where an iptables rule drops every SYN, and (for /ok/*) of a Node http server on 127.0.0.3:9002. Near miss first: the first SYN to 9002 is dropped by a one-shot rule; HAProxy abandons that attempt at 0.7 s and its second is answered: /ok/1 gets 200. Then curl asks /x/1..3 at once: each attempt sends one SYN, never answered, abandoned at 0.7 s, 3 attempts per request, then 503 after ~2.1 s (log: sC--, retries 2); no request is ever forwarded upstream."
cc_netns_up fxc-ct
ccb_workdir
WORK="$CCB_WORK"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_in iptables -A INPUT -p tcp --dport 9009 --syn -j DROP
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9002 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9002
X12_FRONTEND="  use_backend ok if { path_beg /ok/ }" \
x12_haproxy_start "$CC_NS" 127.0.0.2:8080 "server s1 127.0.0.3:9009" "  timeout connect 700ms
  timeout server 5s
  retries 2" "backend ok
  server s2 127.0.0.3:9002"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9002 or tcp port 9009"
# Near miss: one SYN to the healthy backend dropped, the next attempt answered.
cc_in iptables -I INPUT 1 -p tcp --dport 9002 --syn -j DROP
cc_in curl -s -o /dev/null -m 15 -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/ok/1 &
NEAR="$!"
sleep 0.3
cc_in iptables -D INPUT -p tcp --dport 9002 --syn -j DROP
wait "$NEAR"
sleep 1.5
CLIENTS=()
for i in 1 2 3; do
  cc_in curl -s -o /dev/null -m 15 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/x/$i" &
  CLIENTS+=("$!")
done
wait "${CLIENTS[@]}"
cc_capture_stop
x12_haproxy_stop
[ -n "${X12_DEBUG_DIR:-}" ] && { mkdir -p "$X12_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X12_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy haproxy --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/haproxy.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9009 --ok-backend 127.0.0.3:9002 \
  --configured proxyConnectTimeout=0.7 --description "$DESCRIPTION" \
  --software "$(haproxy -v | head -1 | cut -d' ' -f1-3)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "iptables SYN drop rule"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
