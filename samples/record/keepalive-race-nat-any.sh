#!/usr/bin/env bash
# Keep-alive race (stale reuse) seen by "tcpdump -i any" on a host that translates addresses, as
# on a Kubernetes node where kube-proxy DNATs a Service address to a pod: the client namespace
# talks to 10.96.0.10:80, the routing namespace in the middle (where tcpdump -i any runs) DNATs it
# to the server namespace's 10.98.1.2:8080 (nftables), so every connection is in the capture twice:
# on the client's veth with the Service address, on the server's with the pod's. The race is
# keepalive-race-stale's: a Node http server closes idle sockets after 2.0 s, a raw net client
# hands the dead connection out 25 and 50 ms after the FIN arrived, gets RST and retries.
# The scenario's check (b-meta.py keepalive-race-stale) runs on the client side's packets; the
# recorder then checks that each connection is in the capture a second time, translated.
# Writes samples/keepalive-race-nat-any.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nft

SCENARIO=keepalive-race-nat-any
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
SERVICE_IP=10.96.0.10
POD_IP=10.98.1.2

cc_netns_up cc-nat-node           # the translating host, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add cc-nat-c
ccb_netns_add cc-nat-s
cc_in sysctl -qw net.ipv4.ip_forward=1
cc_in ip link add veth-c type veth peer name eth0 netns cc-nat-c
cc_in ip link add veth-s type veth peer name eth0 netns cc-nat-s
cc_in ip addr add 10.98.0.254/24 dev veth-c
cc_in ip addr add 10.98.1.254/24 dev veth-s
cc_in ip link set veth-c up
cc_in ip link set veth-s up
ip netns exec cc-nat-c ip addr add 10.98.0.1/24 dev eth0
ip netns exec cc-nat-c ip link set eth0 up
ip netns exec cc-nat-c ip route add default via 10.98.0.254
ip netns exec cc-nat-s ip addr add "$POD_IP/24" dev eth0
ip netns exec cc-nat-s ip link set eth0 up
ip netns exec cc-nat-s ip route add default via 10.98.1.254
cc_in nft -f - <<NFT
table ip cc_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    ip daddr $SERVICE_IP tcp dport 80 dnat to $POD_IP:8080
  }
}
NFT

ccb_bg cc-nat-s node "$CCB_PROGRAMS/b-http-server.js" --host "$POD_IP" --port 8080 --keep-alive-timeout 1000 2>"$WORK/server.log"
ccb_wait_port cc-nat-s 8080
ccb_capture_start cc-nat-node any "$OUT" "tcp port 80 or tcp port 8080"
ip netns exec cc-nat-c node "$CCB_PROGRAMS/b-race-client.js" --host "$SERVICE_IP" --port 80 --mode stale \
  --nominal-idle-ms 2000 --stale-delays 25,50 --log "$WORK/client.log"
cc_capture_stop

# The packets as the client's veth saw them: the client's view, with the Service address.
client_if="$(cc_in cat /sys/class/net/veth-c/ifindex)"
tshark -r "$OUT" -Y "sll.ifindex == $client_if" -w "$WORK/client-side.pcap" 2>/dev/null
python3 "$CCB_PROGRAMS/b-meta.py" keepalive-race-stale --capture "$WORK/client-side.pcap" --http-port 80 \
  --meta "$WORK/client-side.meta.json" --client-log "$WORK/client.log" --set 'staleDelays=[25,50]'
python3 "$CCB_PROGRAMS/nat-meta.py" --capture "$OUT" --client-side-meta "$WORK/client-side.meta.json" \
  --scenario "$SCENARIO" --seen-as "$SERVICE_IP:80" --translated-to "$POD_IP:8080" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json"
cat "$WORK/client.log"
