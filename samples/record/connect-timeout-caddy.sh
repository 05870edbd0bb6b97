#!/usr/bin/env bash
# Backend connect timeout behind Caddy 2.6: Caddy reverse_proxy on 127.0.0.2:8080 with transport
# http { dial_timeout 2s } sends /x/* to 127.0.0.3:9009, where an nftables rule drops every SYN (a
# blackholed backend), and everything else to a Node http server on 127.0.0.3:9001. curl asks /ok/1
# and /ok/2, then /x/1..3 at once, then /x/4 and /x/5. What Caddy answers and when is read from its
# access log and its debug log (dial errors). Writes samples/connect-timeout-caddy.pcap and
# .meta.json (only when programs/x10-meta.py finds capture and logs agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require caddy node curl nft python3 tcpdump tshark ip

SCENARIO=connect-timeout-caddy
DESCRIPTION="Backend connect timeout behind Caddy 2.6: Caddy reverse_proxy on 127.0.0.2:8080 with transport http { dial_timeout 2s } in front of two backends: /x/* goes to 127.0.0.3:9009, where an nftables rule drops every SYN, anything else to a Node http server on 127.0.0.3:9001 (all on one loopback: Caddy connects from 127.0.0.1, the clients' address). curl fetches /ok/1 and /ok/2 on one connection, then /x/1..3 at once, then /x/4 and /x/5. Each time Caddy's SYN is sent, retransmitted by the kernel after 1 s, never answered; at 2 s Caddy gives up (debug log: 'dial tcp 127.0.0.3:9009: i/o timeout') and answers 502."
cc_netns_up ccx10-cct
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
# Two routes: the site block's reverse_proxy goes to the working backend; /x/* to the dead one.
x10_caddy_start "$CC_NS" 127.0.0.2:8080 127.0.0.3:9001 "dial_timeout 2s" \
  "}
  reverse_proxy /x/* 127.0.0.3:9009 {
    transport http {
      dial_timeout 2s
    }"
ccb_drop_syns "$CC_NS" ccx10_cct 9009
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9009"
ccb_blackhole_clients http://127.0.0.2:8080
cc_capture_stop
x10_caddy_stop
cc_in nft delete table inet ccx10_cct
[ -n "${X10_DEBUG_DIR:-}" ] && { mkdir -p "$X10_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X10_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy caddy --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/caddy-access.log" --debug-log "$WORK/caddy.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9009 --ok-backend 127.0.0.3:9001 \
  --configured proxyConnectTimeout=2 --description "$DESCRIPTION" \
  --software "caddy $(caddy version | cut -d' ' -f1)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "nftables SYN drop rule"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
