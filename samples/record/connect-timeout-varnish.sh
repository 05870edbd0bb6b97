#!/usr/bin/env bash
# Backend connect timeout behind Varnish Cache 7.1: varnishd on 127.0.0.2:8080 (connect_timeout
# 2 s) in front of 127.0.0.3:9009, where an nftables rule drops every SYN (a blackholed backend),
# for /x/, and a Node http server on 127.0.0.3:9001 for the rest. curl asks /ok/1 and /ok/2, then /x/1..3 at once, then /x/4 and /x/5. Varnish's SYN is retransmitted by the kernel after
# 1 s, never answered, and at 2 s Varnish gives up (varnishlog FetchError "backend origin: fail
# errno 110 (Connection timed out)" ...) and answers 503 "Backend fetch failed". Writes
# samples/connect-timeout-varnish.pcap and .meta.json (only when programs/x8-meta.py finds capture
# and varnishlog agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require varnishd varnishlog varnishadm node curl nft python3 tcpdump tshark ip

SCENARIO=connect-timeout-varnish
DESCRIPTION="Backend connect timeout behind Varnish Cache 7.1: varnishd on 127.0.0.2:8080 with connect_timeout 2 s in front of two backends: /x/ goes to 127.0.0.3:9009, where an nftables rule drops every SYN, anything else to a Node http server on 127.0.0.3:9001 (all on one loopback: Varnish connects from 127.0.0.1, the clients' address). curl fetches /ok/1 and /ok/2 on one connection (answered 200 through the working backend), then /x/1..3 at once, then /x/4 and /x/5. Each time Varnish's SYN is sent, retransmitted by the kernel after 1 s, never answered; at 2 s Varnish gives up (varnishlog FetchError: backend fail, errno 110) and answers 503 'Backend fetch failed'."
cc_netns_up ccx8-vct
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
cat >"$WORK/two-backends.vcl" <<VCL
vcl 4.1;
backend ok { .host = "127.0.0.3"; .port = "9001"; }
backend down { .host = "127.0.0.3"; .port = "9009"; }
sub vcl_recv {
  if (req.url ~ "^/x/") { set req.backend_hint = down; } else { set req.backend_hint = ok; }
}
VCL
x8_varnish_start_vcl "$CC_NS" "$WORK/two-backends.vcl" 127.0.0.2:8080 connect_timeout=2
ccb_drop_syns "$CC_NS" ccx8_vct 9009
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9009"
ccb_blackhole_clients http://127.0.0.2:8080
cc_capture_stop
x8_varnish_stop
cc_in nft delete table inet ccx8_vct
[ -n "${X8_DEBUG_DIR:-}" ] && { mkdir -p "$X8_DEBUG_DIR/$SCENARIO"; cp "$OUT" "$WORK"/*.txt "$X8_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x8-meta.py" "$SCENARIO" --proxy varnish --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/varnishlog.txt" --listen 127.0.0.2:8080 --backend 127.0.0.3:9009 --ok-backend 127.0.0.3:9001 \
  --configured proxyConnectTimeout=2 --description "$DESCRIPTION" \
  --software "$(varnishd -V 2>&1 | head -1 | sed 's/ revision.*//;s/[()]//g')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "nftables SYN drop rule"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
