#!/usr/bin/env bash
# Keep-alive race (stale reuse) seen by "tcpdump -i any" on a host that publishes a container's
# port as Docker does: the client namespace connects to the host's 10.98.0.254:18080, nftables
# DNATs it to the "container" 172.17.0.2:8080 on a Linux bridge and masquerades it as the bridge's
# 172.17.0.1. tcpdump -i any in the host namespace sees each packet on three interfaces: the
# client's veth (the addresses the client used), the bridge and the container's veth (both
# translated: copies of each other), and on the bridge the server's packets with the masquerade
# undone but not yet the DNAT (a third 4-tuple, which starts with a SYN-ACK). The race is
# keepalive-race-stale's: a Node http server closes idle sockets after 2.0 s, a raw net client
# hands the dead connection out 25 and 50 ms after the FIN arrived, gets RST and retries.
# Writes samples/keepalive-race-docker-any.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nft

SCENARIO=keepalive-race-docker-any
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
HOST_IP=10.98.0.254
CONTAINER_IP=172.17.0.2

cc_netns_up cc-dock-host          # the Docker host, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add cc-dock-c
ccb_netns_add cc-dock-s
cc_in sysctl -qw net.ipv4.ip_forward=1
cc_in ip link add veth-c type veth peer name eth0 netns cc-dock-c
cc_in ip addr add "$HOST_IP/24" dev veth-c
cc_in ip link set veth-c up
cc_in ip link add br0 type bridge
cc_in ip addr add 172.17.0.1/16 dev br0
cc_in ip link set br0 up
cc_in ip link add veth-s type veth peer name eth0 netns cc-dock-s
cc_in ip link set veth-s master br0
cc_in ip link set veth-s up
ip netns exec cc-dock-c ip addr add 10.98.0.1/24 dev eth0
ip netns exec cc-dock-c ip link set eth0 up
ip netns exec cc-dock-c ip route add default via "$HOST_IP"
ip netns exec cc-dock-s ip addr add "$CONTAINER_IP/16" dev eth0
ip netns exec cc-dock-s ip link set eth0 up
ip netns exec cc-dock-s ip route add default via 172.17.0.1
cc_in nft -f - <<NFT
table ip cc_docker {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    ip daddr $HOST_IP tcp dport 18080 dnat to $CONTAINER_IP:8080
  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "br0" masquerade
  }
}
NFT

ccb_bg cc-dock-s node "$CCB_PROGRAMS/b-http-server.js" --host "$CONTAINER_IP" --port 8080 --keep-alive-timeout 1000 2>"$WORK/server.log"
ccb_wait_port cc-dock-s 8080
# A 32 MiB buffer: three copies of each burst must not overflow it (a dropped packet is a gap).
ccb_capture_start cc-dock-host any "$OUT" "tcp port 18080 or tcp port 8080" -B 32768
ip netns exec cc-dock-c node "$CCB_PROGRAMS/b-race-client.js" --host "$HOST_IP" --port 18080 --mode stale \
  --nominal-idle-ms 2000 --stale-delays 25,50 --log "$WORK/client.log"
cc_capture_stop

# The packets as the client's veth saw them: the client's view, with the host's address.
client_if="$(cc_in cat /sys/class/net/veth-c/ifindex)"
tshark -r "$OUT" -Y "sll.ifindex == $client_if" -w "$WORK/client-side.pcap" 2>/dev/null
python3 "$CCB_PROGRAMS/b-meta.py" keepalive-race-stale --capture "$WORK/client-side.pcap" --http-port 18080 \
  --meta "$WORK/client-side.meta.json" --client-log "$WORK/client.log" --set 'staleDelays=[25,50]'
python3 "$CCB_PROGRAMS/nat-meta.py" --capture "$OUT" --client-side-meta "$WORK/client-side.meta.json" \
  --scenario "$SCENARIO" --seen-as "$HOST_IP:18080" --translated-to "$CONTAINER_IP:8080" --interfaces 3 \
  --software "nftables dnat and masquerade" --software "Linux bridge with veth pairs" \
  --description "tcpdump -i any (LINUX_SLL2) on a host that publishes a container's port as Docker does: the client connects to $HOST_IP:18080, nftables DNATs it to $CONTAINER_IP:8080 on a Linux bridge and masquerades it as the bridge's 172.17.0.1. Each packet is in the capture three times: on the client's veth as the client addressed it; on the bridge and on the container's veth translated (copies of each other); and on the bridge the server's packets appear with the masquerade undone but not the DNAT yet (a third 4-tuple, opened by a SYN-ACK)." \
  --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json"
cat "$WORK/client.log"
