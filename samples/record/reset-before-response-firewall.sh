#!/usr/bin/env bash
# Resets forged by a firewall between client and server, in the server's name (at the client) and
# in the client's name (at the server), beside a server's own reset. Three namespaces: a client
# (10.131.1.2), a Linux router (ip_forward; nftables forward chain, table ip fwr) and a python
# http.server (programs/fwr-server.py) on 10.131.2.2:8080. The router's rules:
#   - a WAF-like block: a client segment whose payload starts with "GET /adm" (at 32 bytes into the
#     TCP header: Linux sends timestamps) is rejected with a tcp reset, which goes to the client from
#     the server's address with the router's TTL (64; the server's own packets arrive with 63);
#   - every second SYN-ACK to client port 42999 (the first) is rejected with a tcp reset, which goes
#     to the server in the client's name: the server drops its half-open connection, the client
#     sends its SYN again after 1 s and the server answers with a new ISN.
# Clients, one after the other: python http.client GET /ok/1, /ok/2, /admin/1 on one connection
# (the third is reset by the router); curl --local-port 42001 GET /admin/2 (reset); python
# GET /crash/1 (the near miss: the server reads it, works 0.3 s and aborts with SO_LINGER 0, its own
# RST with TTL 63); curl --local-port 42999 GET /ok/4 (its first SYN-ACK rejected).
# Captured on the client's veth (samples/reset-before-response-firewall.pcap) and on the server's
# (samples/reset-before-response-firewall-server-side.pcap); programs/fwr-meta.py checks both
# against the clients' and the server's logs and writes the meta files. Bounded: ~4 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require nft tcpdump tshark curl ip /usr/bin/python3

SCENARIO=reset-before-response-firewall
FWR_TCPDUMPS=()
ccb_before_cleanup() {
  local pid
  for pid in "${FWR_TCPDUMPS[@]:-}"; do [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${FWR_TCPDUMPS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  FWR_TCPDUMPS=()
}

cc_netns_up fwr-s
ccb_workdir
ccb_netns_add fwr-c
ccb_netns_add fwr-r
W="$CCB_WORK"
ip link add fwrc netns fwr-c type veth peer name fwrrc netns fwr-r
ip link add fwrs netns fwr-s type veth peer name fwrrs netns fwr-r
ip -n fwr-c addr add 10.131.1.2/24 dev fwrc
ip -n fwr-r addr add 10.131.1.1/24 dev fwrrc
ip -n fwr-r addr add 10.131.2.1/24 dev fwrrs
ip -n fwr-s addr add 10.131.2.2/24 dev fwrs
ip -n fwr-c link set fwrc up
ip -n fwr-r link set fwrrc up
ip -n fwr-r link set fwrrs up
ip -n fwr-s link set fwrs up
ip -n fwr-c route add default via 10.131.1.1
ip -n fwr-s route add default via 10.131.2.1
ip netns exec fwr-r sysctl -qw net.ipv4.ip_forward=1
ip netns exec fwr-r nft -f - <<'NFT'
table ip fwr {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip daddr 10.131.2.2 tcp dport 8080 @th,256,64 0x474554202f61646d counter reject with tcp reset
    ip saddr 10.131.2.2 tcp sport 8080 tcp dport 42999 tcp flags & (syn|ack) == syn|ack numgen inc mod 2 == 0 counter reject with tcp reset
  }
}
NFT

ccb_bg fwr-s /usr/bin/python3 "$CCB_PROGRAMS/fwr-server.py" 10.131.2.2 8080 "$W/server.log"
cc_wait_port 8080

fwr_capture() {
  local ns="$1" iface="$2" out="$3" i
  ip netns exec "$ns" tcpdump -i "$iface" --immediate-mode -U -n --time-stamp-precision=nano -s 0 -w "$out" 'tcp port 8080' 2>"$out.log" &
  FWR_TCPDUMPS+=("$!")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$out.log" 2>/dev/null && break
    sleep 0.05
  done
  grep -q 'listening on' "$out.log" || { cat "$out.log" >&2; echo "record: tcpdump did not start" >&2; exit 1; }
}
fwr_capture fwr-c fwrc "$W/client-side.pcap"
fwr_capture fwr-s fwrs "$W/server-side.pcap"

: >"$W/client.log"
T0="$(date +%s.%N)"
fwr_curl() { # LANE PORT PATH
  local out
  out="$(ip netns exec fwr-c timeout 10 curl -s -m 5 --local-port "$2" -o /dev/null -w '%{http_code} %{exitcode} %{time_total}' "http://10.131.2.2:8080$3" || true)"
  set -- "$1" "$2" "$3" $out
  printf '{"t": %s, "lane": "%s", "client": "curl", "port": %s, "uri": "%s", "status": "%s", "curlExit": %s, "seconds": %s}\n' \
    "$(date +%s.%N)" "$1" "$2" "$3" "$4" "$5" "$6" >>"$W/client.log"
}
ip netns exec fwr-c timeout 10 /usr/bin/python3 "$CCB_PROGRAMS/fwr-client.py" 10.131.2.2 8080 "$W/client.log" keepalive /ok/1,/ok/2,/admin/1
sleep 0.2
fwr_curl first 42001 /admin/2
sleep 0.2
ip netns exec fwr-c timeout 10 /usr/bin/python3 "$CCB_PROGRAMS/fwr-client.py" 10.131.2.2 8080 "$W/client.log" crash /crash/1
sleep 0.2
fwr_curl synack 42999 /ok/4
sleep 0.5
ip netns exec fwr-r nft list table ip fwr >"$W/nft-counters.txt"
ccb_before_cleanup
[ -z "${FWR_KEEP_WORK:-}" ] || { mkdir -p "$FWR_KEEP_WORK" && cp -a "$W/." "$FWR_KEEP_WORK/"; }
/usr/bin/python3 "$CCB_PROGRAMS/fwr-meta.py" "$SCENARIO" --work "$W" --samples "$CC_SAMPLES_DIR" --started "$T0" \
  --kernel "$(uname -r)" --nft "$(nft --version | awk '{print $2}')" --curl "$(curl --version | head -1 | cut -d' ' -f1-2)" \
  --python "$(/usr/bin/python3 -V | cut -d' ' -f2)"
