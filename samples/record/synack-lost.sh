#!/usr/bin/env bash
# synack-lost (captured at the server: synack-lost-server-side; at the client: synack-lost-client-side;
# one run): a path that drops a share of the server's SYN-ACKs and nothing else. Client, router and
# server namespaces joined by user-space wires (lib-x5.sh, 2 ms one way, no loss of their own);
# nftables in the router drops every tenth SYN-ACK from the server's port 8080 it forwards
# (`numgen inc mod 10 == 0`: deterministic, the first one included), counting all it sees. nginx
# serves a small file; programs/synack-client.py makes CONNECTS connects one after another (GET,
# Connection: close), logging how long each connect() took. A connect whose SYN-ACK was dropped
# waits for the client's SYN retransmission timeout (1 s), sends its SYN again and is answered
# (the server repeats its SYN-ACK too, at its own 1 s timer). Nothing fails; data is never dropped.
# Writes samples/synack-lost-{server,client}-side.pcap and their metas (programs/synack-meta.py
# checks both captures against the client's log, nginx's access log and the router's counters).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require nginx python3 tcpdump tshark ip nft

SERVER_SIDE=synack-lost-server-side
CLIENT_SIDE=synack-lost-client-side
ONE_WAY_MS=2
PORT=8080
CONNECTS=24
DROP_EVERY=10

ccb_workdir
WORK="$CCB_WORK"
x5_topology_up "${RECORD_NS:-x5-synack-lost}" "$ONE_WAY_MS"
ip netns exec "$X5_R" nft -f - <<NFT
table inet synack {
  chain forward {
    type filter hook forward priority 0; policy accept;
    tcp sport $PORT tcp flags & (syn | ack) == (syn | ack) counter name synacks_seen
    tcp sport $PORT tcp flags & (syn | ack) == (syn | ack) numgen inc mod $DROP_EVERY == 0 counter name synacks_dropped drop
  }
  counter synacks_seen { }
  counter synacks_dropped { }
}
NFT
mkdir -p "$WORK/www"
printf 'hello\n' >"$WORK/www/index.html"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  server { listen $X5_SERVER_IP:$PORT; root $WORK/www; }
CONF
ccb_bg "$X5_S" nginx -p "$WORK" -c "$WORK/nginx.conf"
ccb_wait_port "$X5_S" "$PORT"
x5_capture_start "$X5_C" x5c "$CC_SAMPLES_DIR/$CLIENT_SIDE.pcap" "tcp port $PORT"
x5_capture_start "$X5_S" x5s "$CC_SAMPLES_DIR/$SERVER_SIDE.pcap" "tcp port $PORT"
ip netns exec "$X5_C" timeout 120 python3 "$X5_PROGRAMS/synack-client.py" --host "$X5_SERVER_IP" --port "$PORT" --count "$CONNECTS" >"$WORK/client.log"
ip netns exec "$X5_C" sleep 0.3
x5_capture_stop_all
ip netns exec "$X5_R" nft -j list counters table inet synack >"$WORK/nft.json"
cat "$WORK/client.log" "$WORK/access.log" "$WORK/nft.json"
python3 "$X5_PROGRAMS/synack-meta.py" --client-capture "$CC_SAMPLES_DIR/$CLIENT_SIDE.pcap" --server-capture "$CC_SAMPLES_DIR/$SERVER_SIDE.pcap" \
  --client-log "$WORK/client.log" --access-log "$WORK/access.log" --nft "$WORK/nft.json" --samples "$CC_SAMPLES_DIR" \
  --connects "$CONNECTS" --drop-every "$DROP_EVERY" --one-way-ms "$ONE_WAY_MS" \
  --software "$(nginx -v 2>&1 | cut -d' ' -f3) (one process, a static file)" \
  --software "Python $(python3 -c 'import platform; print(platform.python_version())') socket client (programs/synack-client.py)" \
  --software "nftables $(nft --version | cut -d' ' -f2)" --software "Linux $(uname -r)"
