#!/usr/bin/env bash
# A firewall that resets a connection once its response passed a byte count, forging the RST toward
# the SERVER in the client's name (blind round 17, s08: `ct reply bytes > 100000 reject with tcp
# reset`; nginx logged "connection reset by peer", curl stalled until its timeout, and conncheck
# said nothing at the server). Three namespaces: a client (10.133.1.2), a Linux router (ip_forward;
# nftables forward chain, table ip fwb) and a python http.server (programs/fwb-server.py) on
# 10.133.2.2:8080. The router's rule: a server segment (sport 8080) on a connection whose reply
# direction has carried more than 60000 bytes is rejected with a tcp reset, which goes to the server
# from the client's address with the router's TTL (64; the client's own packets arrive with 63):
# the server's socket is gone, the client gets nothing more.
# Clients, one after the other (curl, python; fixed local ports name the roles):
#   cut    curl -m 1.5 --local-port 43001 GET /dl/150000: cut after ~60 kB, curl exit 28;
#   cancel python (programs/fwb-client.py) --local-port 43002 GET /paced/30000, reads 8000 body
#          bytes and aborts (SO_LINGER 0): the near miss in the client's name, its own RST (TTL 63
#          at the server), while the server still writes (5000 bytes per 50 ms; under the limit);
#   crash  curl --local-port 43003 GET /crash/1: the near miss in the server's name, the server's
#          own abort 0.3 s after the request (TTL 63 at the client, that of its other packets).
# Captured on the client's veth (samples/reset-before-response-firewall-bytes.pcap) and on the
# server's (samples/reset-before-response-firewall-bytes-server-side.pcap); programs/fwb-meta.py
# checks both against the clients' and the server's logs and writes the meta files. Bounded: ~4 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require nft tcpdump tshark curl ip /usr/bin/python3

SCENARIO=reset-before-response-firewall-bytes
FWB_TCPDUMPS=()
ccb_before_cleanup() {
  local pid
  for pid in "${FWB_TCPDUMPS[@]:-}"; do [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${FWB_TCPDUMPS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  FWB_TCPDUMPS=()
}

cc_netns_up fwb-s
ccb_workdir
ccb_netns_add fwb-c
ccb_netns_add fwb-r
W="$CCB_WORK"
ip link add fwbc netns fwb-c type veth peer name fwbrc netns fwb-r
ip link add fwbs netns fwb-s type veth peer name fwbrs netns fwb-r
ip -n fwb-c addr add 10.133.1.2/24 dev fwbc
ip -n fwb-r addr add 10.133.1.1/24 dev fwbrc
ip -n fwb-r addr add 10.133.2.1/24 dev fwbrs
ip -n fwb-s addr add 10.133.2.2/24 dev fwbs
for l in "fwb-c fwbc" "fwb-r fwbrc" "fwb-r fwbrs" "fwb-s fwbs"; do
  set -- $l
  ip -n "$1" link set "$2" up
  # Offloads off: segments as they are on the wire (a 150 kB response in MSS-sized packets).
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
done
ip -n fwb-c route add default via 10.133.1.1
ip -n fwb-s route add default via 10.133.2.1
ip netns exec fwb-r sysctl -qw net.ipv4.ip_forward=1
ip netns exec fwb-r nft -f - <<'NFT'
table ip fwb {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip saddr 10.133.2.2 tcp sport 8080 ct reply bytes > 60000 counter reject with tcp reset
  }
}
NFT

ccb_bg fwb-s /usr/bin/python3 "$CCB_PROGRAMS/fwb-server.py" 10.133.2.2 8080 "$W/server.log"
cc_wait_port 8080

fwb_capture() {
  local ns="$1" iface="$2" out="$3" i
  ip netns exec "$ns" tcpdump -i "$iface" --immediate-mode -U -n --time-stamp-precision=nano -s 400 -w "$out" 'tcp port 8080' 2>"$out.log" &
  FWB_TCPDUMPS+=("$!")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$out.log" 2>/dev/null && break
    sleep 0.05
  done
  grep -q 'listening on' "$out.log" || { cat "$out.log" >&2; echo "record: tcpdump did not start" >&2; exit 1; }
}
fwb_capture fwb-c fwbc "$W/client-side.pcap"
fwb_capture fwb-s fwbs "$W/server-side.pcap"

: >"$W/client.log"
T0="$(date +%s.%N)"
fwb_curl() { # LANE PORT PATH MAXTIME
  local out
  out="$(ip netns exec fwb-c timeout 10 curl -s -m "$4" --local-port "$2" -o /dev/null -w '%{http_code} %{exitcode} %{time_total} %{size_download}' "http://10.133.2.2:8080$3" || true)"
  set -- "$1" "$2" "$3" $out
  printf '{"t": %s, "lane": "%s", "client": "curl", "port": %s, "uri": "%s", "status": "%s", "curlExit": %s, "seconds": %s, "bodyBytes": %s}\n' \
    "$(date +%s.%N)" "$1" "$2" "$3" "$4" "$5" "$6" "$7" >>"$W/client.log"
}
fwb_curl cut 43001 /dl/150000 1.5
sleep 0.2
ip netns exec fwb-c timeout 10 /usr/bin/python3 "$CCB_PROGRAMS/fwb-client.py" 10.133.2.2 8080 43002 /paced/30000 8000 "$W/client.log"
sleep 0.5
fwb_curl crash 43003 /crash/1 3
sleep 0.5
ip netns exec fwb-r nft list table ip fwb >"$W/nft-counters.txt"
ccb_before_cleanup
[ -z "${FWB_KEEP_WORK:-}" ] || { mkdir -p "$FWB_KEEP_WORK" && cp -a "$W/." "$FWB_KEEP_WORK/"; }
/usr/bin/python3 "$CCB_PROGRAMS/fwb-meta.py" "$SCENARIO" --work "$W" --samples "$CC_SAMPLES_DIR" --started "$T0" \
  --kernel "$(uname -r)" --nft "$(nft --version | awk '{print $2}')" --curl "$(curl --version | head -1 | cut -d' ' -f1-2)" \
  --python "$(/usr/bin/python3 -V | cut -d' ' -f2)"
