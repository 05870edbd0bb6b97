#!/usr/bin/env bash
# Backend connect timeout behind h2o 2.2: h2o on 127.0.0.2:8080 with proxy.timeout.io 2 s (h2o
# 2.2 has no connect timeout of its own) sends /x/ to 127.0.0.3:9009, where an nftables rule drops every SYN (a
# blackholed backend), and everything else to a Node http server on 127.0.0.3:9001. curl asks /ok/1
# and /ok/2, then /x/1..3 at once, then /x/4 and /x/5. What h2o answers and when is read from its
# access log. Writes samples/connect-timeout-h2o.pcap and
# .meta.json (only when programs/x10-meta.py finds capture and logs agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x10.sh"
cc_require h2o node curl nft python3 tcpdump tshark ip

SCENARIO=connect-timeout-h2o
DESCRIPTION="Backend connect timeout behind h2o 2.2: h2o on 127.0.0.2:8080 with proxy.timeout.io 2000 (ms; h2o 2.2 has no separate connect timeout) in front of two backends: /x/ goes to 127.0.0.3:9009, where an nftables rule drops every SYN, anything else to a Node http server on 127.0.0.3:9001 (all on one loopback: h2o connects from 127.0.0.1, the clients' address). curl fetches /ok/1 and /ok/2 on one connection, then /x/1..3 at once, then /x/4 and /x/5. Each time h2o's SYN is sent, retransmitted by the kernel after 1 s, never answered; at 2 s h2o gives up (access log: '[lib/core/proxy.c] connection timeout') and answers 502."
cc_netns_up ccx10-hct
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
X10_H2O_PATHS="      /x/:
        proxy.reverse.url: http://127.0.0.3:9009/x/" \
  x10_h2o_start "$CC_NS" 127.0.0.2 8080 http://127.0.0.3:9001/ "proxy.timeout.io: 2000"
ccb_drop_syns "$CC_NS" ccx10_hct 9009
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9009"
ccb_blackhole_clients http://127.0.0.2:8080
cc_capture_stop
x10_h2o_stop
cc_in nft delete table inet ccx10_hct
[ -n "${X10_DEBUG_DIR:-}" ] && { mkdir -p "$X10_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.log "$X10_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x10-meta.py" "$SCENARIO" --proxy h2o --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/h2o-access.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9009 --ok-backend 127.0.0.3:9001 \
  --configured proxyConnectTimeout=2 --description "$DESCRIPTION" \
  --software "$(h2o --version | head -1 | sed 's/ version//')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "nftables SYN drop rule"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
