#!/usr/bin/env bash
# lost-response-client-timeout (client side) and lost-response-client-timeout-server-side: the path
# loses a served answer and the client gives up at its 1 s timeout (blind round 17, middlebox s11,
# made deterministic). Three namespaces: client (10.78.0.1) -- router (nftables, conntrack) --
# server (10.78.1.2: programs/lostresp-server.py, HTTP/1.1 keep-alive, each answer in one write).
# The router's forward chain drops, from the server's port 8080:
#   every segment of IP length 1000-1100: the answer to /lost (900 B body) and all its retransmissions;
#   the first segment of IP length 1150-1300 only (ct mark): the answer to /near (1100 B body, larger
#   than the lost one: no PMTU black hole's shape), whose retransmission (the server's 200 ms RTO)
#   gets through: the near miss.
# Client: programs/lostresp-client.py (python http.client, timeout 1 s): /small, /small, /near,
# /small, /lost on one connection (TimeoutError on /lost: it closes), then /small on a new one.
# tcpdump runs on the client's veth and on the server's veth. Writes samples/<scenario>.pcap and
# .meta.json for both; the meta is checked against the client's and server's logs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 tcpdump ip nft

SCENARIO=lost-response-client-timeout
OUT_C="$CC_SAMPLES_DIR/$SCENARIO.pcap"
OUT_S="$CC_SAMPLES_DIR/$SCENARIO-server-side.pcap"
R_NS=cc-lostr-r
S_NS=cc-lostr-s
WORK="$(mktemp -d)"
S_TCPDUMP=""
SERVER_PID=""

cc_netns_up cc-lostr-c
cleanup_all() {
  [ -n "$S_TCPDUMP" ] && { kill -INT "$S_TCPDUMP" 2>/dev/null || true; wait "$S_TCPDUMP" 2>/dev/null || true; }
  [ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
  cc_cleanup
  ip netns del "$R_NS" 2>/dev/null || true
  ip netns del "$S_NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup_all EXIT
for ns in "$R_NS" "$S_NS"; do
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
done
ip link add veth-c netns "$CC_NS" type veth peer name veth-rc netns "$R_NS"
ip link add veth-s netns "$S_NS" type veth peer name veth-rs netns "$R_NS"
for pair in "$CC_NS veth-c" "$R_NS veth-rc" "$R_NS veth-rs" "$S_NS veth-s"; do
  set -- $pair
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
done
cc_in ip addr add 10.78.0.1/24 dev veth-c
cc_in ip link set veth-c up
cc_in ip route add default via 10.78.0.254
ip netns exec "$R_NS" ip addr add 10.78.0.254/24 dev veth-rc
ip netns exec "$R_NS" ip addr add 10.78.1.254/24 dev veth-rs
ip netns exec "$R_NS" ip link set veth-rc up
ip netns exec "$R_NS" ip link set veth-rs up
ip netns exec "$R_NS" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$S_NS" ip addr add 10.78.1.2/24 dev veth-s
ip netns exec "$S_NS" ip link set veth-s up
ip netns exec "$S_NS" ip route add default via 10.78.1.254
ip netns exec "$R_NS" nft -f - <<'NFT'
table ip cc_lostr {
  chain forward {
    type filter hook forward priority 0;
    tcp sport 8080 ip length 1000-1100 counter drop
    tcp sport 8080 ip length 1150-1300 ct mark != 0x78 ct mark set 0x78 counter drop
  }
}
NFT

ip netns exec "$S_NS" python3 "$HERE/programs/lostresp-server.py" 8080 "$WORK/server.log" &
SERVER_PID=$!
for i in $(seq 1 100); do
  ip netns exec "$S_NS" ss -Hltn 'sport = :8080' | grep -q . && break
  sleep 0.05
done

ip netns exec "$CC_NS" tcpdump -i veth-c -U --immediate-mode -n --time-stamp-precision=nano -s 0 -w "$OUT_C" 'tcp port 8080' 2>"$WORK/tc.log" &
CC_TCPDUMP_PID=$!
ip netns exec "$S_NS" tcpdump -i veth-s -U --immediate-mode -n --time-stamp-precision=nano -s 0 -w "$OUT_S" 'tcp port 8080' 2>"$WORK/ts.log" &
S_TCPDUMP=$!
for i in $(seq 1 100); do grep -q 'listening on' "$WORK/tc.log" && grep -q 'listening on' "$WORK/ts.log" && break; sleep 0.05; done

timeout 20 ip netns exec "$CC_NS" python3 "$HERE/programs/lostresp-client.py" 10.78.1.2 8080 "$WORK/client.log"
# Let the server's last retransmissions and FINs pass (its RTO backoff after the client's close).
sleep 2
cc_capture_stop
kill -INT "$S_TCPDUMP" 2>/dev/null || true; wait "$S_TCPDUMP" 2>/dev/null || true; S_TCPDUMP=""
ip netns exec "$R_NS" nft list table ip cc_lostr > "$WORK/nft.txt"
cp "$WORK/client.log" "$WORK/server.log" "$WORK/nft.txt" "${LOSTR_KEEP:-$WORK}/" 2>/dev/null || true
python3 "$HERE/programs/lostresp-meta.py" "$WORK/client.log" "$WORK/server.log" "$WORK/nft.txt" "$CC_SAMPLES_DIR" "$SCENARIO"
