#!/usr/bin/env bash
# A firewall between client and server forges RSTs in the server's name, recorded at the client
# AND at the server and merged into one file (mergecap), as an engineer who captures both ends
# does. Each packet that crossed the router is in the file twice: at the point near its sender
# (IP TTL 64) and at the far one (63); the firewall's RSTs (TTL 64) only at the client's.
# Three namespaces: a client (10.132.1.2), a Linux router (ip_forward; nftables forward chain,
# table ip frm) and a python http.server (programs/fwr-server.py) on 10.132.2.2:8080. The rules:
#   - a WAF-like block: a client segment whose payload starts with "GET /adm" is rejected with a
#     tcp reset (dropped, a RST without ACK sent to the client from the server's address);
#   - a byte limit: once a connection's reply direction passed 60000 bytes, every client segment
#     on it is rejected with a tcp reset (`ct reply bytes`): the client's ACK is dropped and
#     answered in the server's name, its own RSTs after that dropped too, so the server never
#     learns and goes on sending and retransmitting (blind round 11, S2b).
# Clients, one after the other: python http.client GET /ok/1, /ok/2, /admin/1 on one connection
# (the third reset by the router); python GET /dl/300000 (cut after ~60 kB); python GET /crash/1
# (the near miss: the server aborts it 0.3 s later with SO_LINGER 0, its own RST, seen at both
# points). Captured on the client's veth and on the server's, merged by mergecap (pcapng, one
# interface per capture) into samples/reset-before-response-firewall-merged.pcap;
# programs/frm-meta.py checks it against the logs. Bounded: ~5 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require nft tcpdump tshark mergecap ip /usr/bin/python3

SCENARIO=reset-before-response-firewall-merged
FRM_TCPDUMPS=()
ccb_before_cleanup() {
  local pid
  for pid in "${FRM_TCPDUMPS[@]:-}"; do [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${FRM_TCPDUMPS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  FRM_TCPDUMPS=()
}

cc_netns_up frm-s
ccb_workdir
ccb_netns_add frm-c
ccb_netns_add frm-r
W="$CCB_WORK"
ip link add frmc netns frm-c type veth peer name frmrc netns frm-r
ip link add frms netns frm-s type veth peer name frmrs netns frm-r
ip -n frm-c addr add 10.132.1.2/24 dev frmc
ip -n frm-r addr add 10.132.1.1/24 dev frmrc
ip -n frm-r addr add 10.132.2.1/24 dev frmrs
ip -n frm-s addr add 10.132.2.2/24 dev frms
ip -n frm-c link set frmc up
ip -n frm-r link set frmrc up
ip -n frm-r link set frmrs up
ip -n frm-s link set frms up
ip -n frm-c route add default via 10.132.1.1
ip -n frm-s route add default via 10.132.2.1
ip netns exec frm-r sysctl -qw net.ipv4.ip_forward=1
ip netns exec frm-r nft -f - <<'NFT'
table ip frm {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip daddr 10.132.2.2 tcp dport 8080 @th,256,64 0x474554202f61646d counter reject with tcp reset
    ip saddr 10.132.1.2 tcp dport 8080 ct reply bytes > 60000 counter reject with tcp reset
  }
}
NFT

ccb_bg frm-s /usr/bin/python3 "$CCB_PROGRAMS/fwr-server.py" 10.132.2.2 8080 "$W/server.log"
cc_wait_port 8080

frm_capture() {
  local ns="$1" iface="$2" out="$3" i
  ip netns exec "$ns" tcpdump -i "$iface" --immediate-mode -U -n --time-stamp-precision=nano -s 0 -w "$out" 'tcp port 8080' 2>"$out.log" &
  FRM_TCPDUMPS+=("$!")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$out.log" 2>/dev/null && break
    sleep 0.05
  done
  grep -q 'listening on' "$out.log" || { cat "$out.log" >&2; echo "record: tcpdump did not start" >&2; exit 1; }
}
frm_capture frm-c frmc "$W/client-side.pcap"
frm_capture frm-s frms "$W/server-side.pcap"

: >"$W/client.log"
T0="$(date +%s.%N)"
ip netns exec frm-c timeout 10 /usr/bin/python3 "$CCB_PROGRAMS/fwr-client.py" 10.132.2.2 8080 "$W/client.log" keepalive /ok/1,/ok/2,/admin/1
sleep 0.2
ip netns exec frm-c timeout 10 /usr/bin/python3 "$CCB_PROGRAMS/fwr-client.py" 10.132.2.2 8080 "$W/client.log" dl /dl/300000
# The server retransmits into the connection it does not know is dead: three RTOs (0.2, 0.4, 0.8 s).
sleep 1.6
ip netns exec frm-c timeout 10 /usr/bin/python3 "$CCB_PROGRAMS/fwr-client.py" 10.132.2.2 8080 "$W/client.log" crash /crash/1
sleep 0.5
ip netns exec frm-r nft list table ip frm >"$W/nft-counters.txt"
ccb_before_cleanup
mergecap -w "$W/merged.pcap" "$W/client-side.pcap" "$W/server-side.pcap"
[ -z "${FRM_KEEP_WORK:-}" ] || { mkdir -p "$FRM_KEEP_WORK" && cp -a "$W/." "$FRM_KEEP_WORK/"; }
/usr/bin/python3 "$CCB_PROGRAMS/frm-meta.py" "$SCENARIO" --work "$W" --samples "$CC_SAMPLES_DIR" --started "$T0" \
  --kernel "$(uname -r)" --nft "$(nft --version | awk '{print $2}')" --python "$(/usr/bin/python3 -V | cut -d' ' -f2)" \
  --mergecap "$(mergecap -v | head -1 | awk '{print $2}')"
