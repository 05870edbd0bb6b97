#!/usr/bin/env bash
# Backend connect timeout behind Apache Traffic Server 9.2: traffic_server on 127.0.0.2:8080
# (reverse proxy, no cache, connect_attempts_timeout 2 s, the retry settings left at their
# defaults: connect_attempts_max_retries 3, max_retries_dead_server 1) maps /x/ to 127.0.0.3:9009, where an nftables rule drops every SYN (a
# blackholed backend), and everything else to a Node http server on 127.0.0.3:9001. curl asks /ok/1
# and /ok/2, then /x/1..3 at once, then /x/4 and /x/5. What ATS answers and when is read from its
# access log (connect attempts, finish codes). Writes samples/connect-timeout-trafficserver.pcap and
# .meta.json (only when programs/x10-meta.py finds capture and logs agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require traffic_server node curl nft python3 tcpdump tshark ip

SCENARIO=connect-timeout-trafficserver
DESCRIPTION="Backend connect timeout behind Apache Traffic Server 9.2: traffic_server on 127.0.0.2:8080 (reverse proxy, no cache) with proxy.config.http.connect_attempts_timeout 2 and the retry settings at their defaults (connect_attempts_max_retries 3, connect_attempts_max_retries_dead_server 1, down_server.cache_time 60) in front of two backends: /x/* goes to 127.0.0.3:9009, where an nftables rule drops every SYN, anything else to a Node http server on 127.0.0.3:9001 (all on one loopback: ATS connects from 127.0.0.1, the clients' address). curl fetches /ok/1 and /ok/2 on one connection, then /x/1..3 at once, then /x/4 and /x/5. For each /x/ request ATS opens 4 connections one after the other (each SYN retransmitted by the kernel after 1 s, never answered), abandoning each after 2.0-3.0 s (timeouts checked once a second), and answers 502 after 9.8-11 s (access log ERR_CONNECT_FAIL, 3 connect attempts); marking the server down did not spare the later requests their 4 attempts."
cc_netns_up ccx10-tct
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x10_ats_start "$CC_NS" 8080 "CONFIG proxy.config.http.connect_attempts_timeout INT 2" \
  "map http://127.0.0.2:8080/x/ http://127.0.0.3:9009/x/
map http://127.0.0.2:8080/ http://127.0.0.3:9001/"
ccb_drop_syns "$CC_NS" ccx10_tct 9009
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9009"
ccb_blackhole_clients http://127.0.0.2:8080 30
cc_capture_stop
x10_ats_stop
cc_in nft delete table inet ccx10_tct
[ -n "${X10_DEBUG_DIR:-}" ] && { mkdir -p "$X10_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$WORK"/ats/log/* "$X10_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy trafficserver --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/ats/log/access.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9009 --ok-backend 127.0.0.3:9001 \
  --configured proxyConnectTimeout=2 --description "$DESCRIPTION" \
  --software "$(traffic_server -V 2>/dev/null | head -1 | cut -d' ' -f1-3)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "nftables SYN drop rule"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
