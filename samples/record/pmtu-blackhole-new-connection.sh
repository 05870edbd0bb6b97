#!/usr/bin/env bash
# pmtu-blackhole-new-connection (captured at the client; blind round 13, S12) and its near miss
# pmtu-icmp-allowed-client-side (the same path, ICMP let through): a PMTU black hole met by a new
# connection whose response never shows a byte at the client. Client, router and server namespaces
# joined by user-space wires (lib-x5.sh, 2 ms one way, no loss); the router's link toward the client
# has an MTU of 1000 while both hosts have 1500 (the client's SYN offers MSS 1460);
# net.ipv4.tcp_mtu_probing=0 in the server's namespace. Servers: nginx on :8081 (static files: the
# response head leaves with the body in full-size segments) and programs/hang-server.py on :8080
# (reads the request, then neither reads nor answers for 5 s: a really hung application, on the
# same path; its close comes after the capture).
#   Phase 1 (pmtu-blackhole-new-connection-client-side): nftables in the router drops the ICMP
#   "fragmentation needed" it would send. curl --max-time 3, each URL its own connection: nginx's
#   6-byte /small (passes), nginx's 20000-byte /big (nothing arrives: curl exit 28 with 0 bytes;
#   only the server's ACK of curl's FIN, its sequence number past what it sent, reaches the
#   client), and :8080's /hang (exit 28: the server ACKed the request and sent nothing).
#   Phase 2 (pmtu-icmp-allowed-client-side): the rule is removed (a counter shows the ICMP sent);
#   /big again: the first full-size segments are dropped, the ICMP tells nginx's kernel the path MTU
#   and the body arrives whole in smaller segments: nothing to report.
# Writes both pcaps and metas (programs/pmtu-new-conn-meta.py checks the captures against curl's
# log, the hung server's log, nginx's access log and the router's counters).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require curl python3 tcpdump tshark ip nft nginx

BLACKHOLE=pmtu-blackhole-new-connection-client-side
ALLOWED=pmtu-icmp-allowed-client-side
ONE_WAY_MS=2
SMALL_MTU=1000
MAX_TIME=3
BIG=20000
HANG_PORT=8080
NGINX_PORT=8081

ccb_workdir
WORK="$CCB_WORK"
x5_topology_up "${RECORD_NS:-x5-pmtu1}" "$ONE_WAY_MS"
ip netns exec "$X5_R" ip link set x5r1 mtu "$SMALL_MTU"
ip netns exec "$X5_S" sysctl -qw net.ipv4.tcp_mtu_probing=0
ip netns exec "$X5_S" ip route flush cache 2>/dev/null || true
ip netns exec "$X5_R" nft -f - <<NFT
table inet pmtu {
  chain output {
    type filter hook output priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed counter drop
  }
}
NFT
ccb_bg "$X5_S" python3 "$X5_PROGRAMS/hang-server.py" --host "$X5_SERVER_IP" --port "$HANG_PORT" --hold 5 >"$WORK/hang.log" 2>"$WORK/hang.err"
ccb_wait_port "$X5_S" "$HANG_PORT"
mkdir -p "$WORK/www"
printf 'small\n' >"$WORK/www/small"
head -c "$BIG" /dev/zero | tr '\0' b >"$WORK/www/big"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  server { listen $X5_SERVER_IP:$NGINX_PORT; root $WORK/www; }
CONF
ccb_bg "$X5_S" nginx -p "$WORK" -c "$WORK/nginx.conf"
ccb_wait_port "$X5_S" "$NGINX_PORT"

# fetch PHASE URL: one curl, one connection; its -w line and exit code go to curl.log.
fetch() {
  local rc=0
  ip netns exec "$X5_C" curl -sS -o /dev/null --max-time "$MAX_TIME" \
    -w '{"phase":'"$1"',"local":"%{local_ip}:%{local_port}","url":"%{url}","status":"%{http_code}","downloaded":%{size_download},"total":%{time_total}}\n' \
    "$2" >>"$WORK/curl.log" 2>>"$WORK/curl.err" || rc=$?
  echo "{\"phase\":$1,\"url\":\"$2\",\"exit\":$rc}" >>"$WORK/curl.exit"
}
: >"$WORK/curl.log"; : >"$WORK/curl.err"; : >"$WORK/curl.exit"

x5_capture_start "$X5_C" x5c "$CC_SAMPLES_DIR/$BLACKHOLE.pcap" "tcp port $HANG_PORT or tcp port $NGINX_PORT or icmp"
fetch 1 "http://$X5_SERVER_IP:$NGINX_PORT/small"
fetch 1 "http://$X5_SERVER_IP:$NGINX_PORT/big"
fetch 1 "http://$X5_SERVER_IP:$HANG_PORT/hang"
sleep 0.5
x5_capture_stop_all
ip netns exec "$X5_R" nft list table inet pmtu >"$WORK/nft1.txt"

# Phase 2: ICMP "fragmentation needed" let through (counted), nothing learned from phase 1 kept.
ip netns exec "$X5_R" nft delete table inet pmtu
ip netns exec "$X5_R" nft -f - <<NFT
table inet pmtu {
  chain output {
    type filter hook output priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed counter accept
  }
}
NFT
ip netns exec "$X5_S" ip route flush cache 2>/dev/null || true
x5_capture_start "$X5_C" x5c "$CC_SAMPLES_DIR/$ALLOWED.pcap" "tcp port $NGINX_PORT or icmp"
fetch 2 "http://$X5_SERVER_IP:$NGINX_PORT/big"
sleep 0.5
x5_capture_stop_all
ip netns exec "$X5_R" nft list table inet pmtu >"$WORK/nft2.txt"
# The hung server logs each connection at the end of its hold (bounded wait).
for _ in $(seq 1 100); do
  [ -s "$WORK/hang.log" ] && break
  sleep 0.1
done
cat "$WORK/curl.log" "$WORK/curl.exit" "$WORK/curl.err" "$WORK/hang.log" "$WORK/access.log" "$WORK/nft1.txt" "$WORK/nft2.txt"
if [ -z "${PMTU_NO_META:-}" ]; then
  python3 "$X5_PROGRAMS/pmtu-new-conn-meta.py" --blackhole-capture "$CC_SAMPLES_DIR/$BLACKHOLE.pcap" --allowed-capture "$CC_SAMPLES_DIR/$ALLOWED.pcap" \
    --curl-log "$WORK/curl.log" --curl-exit "$WORK/curl.exit" --curl-err "$WORK/curl.err" --hang-log "$WORK/hang.log" --access-log "$WORK/access.log" \
    --nft1 "$WORK/nft1.txt" --nft2 "$WORK/nft2.txt" --samples "$CC_SAMPLES_DIR" --mtu "$SMALL_MTU" --max-time "$MAX_TIME" --big "$BIG" \
    --software "$(nginx -v 2>&1 | cut -d' ' -f3) (one process, static files)" \
    --software "Python $(python3 -c 'import platform; print(platform.python_version())') (programs/hang-server.py)" \
    --software "$(curl --version | head -1 | cut -d' ' -f1-2)" --software "nftables $(nft --version | cut -d' ' -f2)"
fi
