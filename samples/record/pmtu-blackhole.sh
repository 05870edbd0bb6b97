#!/usr/bin/env bash
# pmtu-blackhole (captured at the client: pmtu-blackhole-client-side; at the server:
# pmtu-blackhole-server-side; one run): a PMTU black hole. Client, router and server namespaces
# joined by user-space wires (lib-x5.sh, 2 ms one way, no loss). The router's link toward the client
# has an MTU of 1280 while both hosts have 1500 (the client's SYN offers MSS 1460), and nftables in
# the router drops the ICMP "fragmentation needed" (type 3 code 4) and ICMPv6 "packet too big" it
# would send back; the server namespace has net.ipv4.tcp_mtu_probing=0. Servers: a Python
# ThreadingHTTPServer on :8080 (programs/pmtu-server.py: /small 200 bytes, /big?n=N N bytes, head and
# body in two writes, so the head passes) and nginx on :8081 (static files; head and body leave
# together, so nothing of /big passes). curl --max-time 8 fetches /small then the 20000-byte /big on
# one connection, three times from Python, twice from nginx: the small answers pass, each big body leaves in full-size
# segments the router drops, the server resends the first one at RTO backoff, and curl gives up at
# 8 s. Writes samples/pmtu-blackhole-{client,server}-side.pcap and their metas (programs/pmtu-meta.py
# checks both captures against curl's log, the servers' logs and the router's drop counters).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require curl python3 tcpdump tshark ip nft

CLIENT_SIDE=pmtu-blackhole-client-side
SERVER_SIDE=pmtu-blackhole-server-side
ONE_WAY_MS=2
SMALL_MTU=1280
MAX_TIME=8
BIG=20000
PORT=8080
NGINX_PORT=8081

ccb_workdir
WORK="$CCB_WORK"
x5_topology_up "${RECORD_NS:-x5-pmtu}" "$ONE_WAY_MS"
ip netns exec "$X5_R" ip link set x5r1 mtu "$SMALL_MTU"
ip netns exec "$X5_S" sysctl -qw net.ipv4.tcp_mtu_probing=0
ip netns exec "$X5_S" ip route flush cache 2>/dev/null || true
ip netns exec "$X5_R" nft -f - <<NFT
table inet pmtu {
  chain forward {
    type filter hook forward priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed counter drop
    icmpv6 type packet-too-big counter drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed counter drop
    icmpv6 type packet-too-big counter drop
  }
}
NFT
ccb_bg "$X5_S" python3 "$X5_PROGRAMS/pmtu-server.py" --host "$X5_SERVER_IP" --port "$PORT" >"$WORK/server.log" 2>"$WORK/server.err"
ccb_wait_port "$X5_S" "$PORT"
mkdir -p "$WORK/www"
head -c 200 /dev/zero | tr '\0' s >"$WORK/www/small"
head -c "$BIG" /dev/zero | tr '\0' b >"$WORK/www/big"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  server { listen $X5_SERVER_IP:$NGINX_PORT; root $WORK/www; }
CONF
ccb_bg "$X5_S" nginx -p "$WORK" -c "$WORK/nginx.conf"
ccb_wait_port "$X5_S" "$NGINX_PORT"
x5_capture_start "$X5_C" x5c "$CC_SAMPLES_DIR/$CLIENT_SIDE.pcap" "tcp port $PORT or tcp port $NGINX_PORT or icmp"
x5_capture_start "$X5_S" x5s "$CC_SAMPLES_DIR/$SERVER_SIDE.pcap" "tcp port $PORT or tcp port $NGINX_PORT or icmp"
: >"$WORK/curl.log"
for i in 1 2 3; do
  rc=0
  ip netns exec "$X5_C" curl -sS -o /dev/null --max-time "$MAX_TIME" \
    -w '{"run":'"$i"',"local":"%{local_ip}:%{local_port}","url":"%{url}","status":"%{http_code}","downloaded":%{size_download},"total":%{time_total}}\n' \
    "http://$X5_SERVER_IP:$PORT/small?run=$i" "http://$X5_SERVER_IP:$PORT/big?n=$BIG&run=$i" >>"$WORK/curl.log" 2>>"$WORK/curl.err" || rc=$?
  echo "{\"run\":$i,\"exit\":$rc}" >>"$WORK/curl.log"
done
for i in 1 2; do
  rc=0
  ip netns exec "$X5_C" curl -sS -o /dev/null --max-time "$MAX_TIME" \
    -w '{"run":'"$i"',"local":"%{local_ip}:%{local_port}","url":"%{url}","status":"%{http_code}","downloaded":%{size_download},"total":%{time_total}}\n' \
    "http://$X5_SERVER_IP:$NGINX_PORT/small?run=$i" "http://$X5_SERVER_IP:$NGINX_PORT/big?run=$i" >>"$WORK/curl.log" 2>>"$WORK/curl.err" || rc=$?
  echo "{\"run\":$i,\"nginx\":true,\"exit\":$rc}" >>"$WORK/curl.log"
done
sleep 1
x5_capture_stop_all
ip netns exec "$X5_R" nft list table inet pmtu >"$WORK/nft.txt"
cat "$WORK/curl.log" "$WORK/curl.err" "$WORK/server.log" "$WORK/access.log" "$WORK/nft.txt"
if [ -z "${PMTU_NO_META:-}" ]; then
  python3 "$X5_PROGRAMS/pmtu-meta.py" --client-capture "$CC_SAMPLES_DIR/$CLIENT_SIDE.pcap" --server-capture "$CC_SAMPLES_DIR/$SERVER_SIDE.pcap" \
    --curl-log "$WORK/curl.log" --curl-err "$WORK/curl.err" --server-log "$WORK/server.log" --access-log "$WORK/access.log" --nft "$WORK/nft.txt" \
    --samples "$CC_SAMPLES_DIR" --mtu "$SMALL_MTU" --max-time "$MAX_TIME" --big "$BIG" \
    --software "Python $(python3 -c 'import platform; print(platform.python_version())') http.server ThreadingHTTPServer (programs/pmtu-server.py)" \
    --software "$(nginx -v 2>&1 | cut -d' ' -f3) (one process, static files)" --software "$(curl --version | head -1 | cut -d' ' -f1-2)" --software "nftables $(nft --version | cut -d' ' -f2)"
fi
