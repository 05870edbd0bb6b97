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
source "$HERE/lib-any.sh"
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
ccany_veth cc-dock-c veth-c 10.98.0.1/24 "$HOST_IP"
cc_in ip addr add "$HOST_IP/24" dev veth-c
cc_in ip link add br0 type bridge
cc_in ip addr add 172.17.0.1/16 dev br0
cc_in ip link set br0 up
ccany_veth cc-dock-s veth-s "$CONTAINER_IP/16" 172.17.0.1
cc_in ip link set veth-s master br0
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

# A 32 MiB buffer: three copies of each burst must not overflow it (a dropped packet is a gap).
ccany_stale_race cc-dock-s "$CONTAINER_IP" cc-dock-c "$HOST_IP" 18080 "tcp port 18080 or tcp port 8080" -B 32768

# The packets as the client's veth saw them: the client's view, with the host's address.
ccany_client_side 18080
python3 "$CCB_PROGRAMS/nat-meta.py" --capture "$OUT" --client-side-meta "$WORK/client-side.meta.json" \
  --scenario "$SCENARIO" --seen-as "$HOST_IP:18080" --translated-to "$CONTAINER_IP:8080" --interfaces 3 \
  --software "nftables dnat and masquerade" --software "Linux bridge with veth pairs" \
  --description "tcpdump -i any (LINUX_SLL2) on a host that publishes a container's port as Docker does: the client connects to $HOST_IP:18080, nftables DNATs it to $CONTAINER_IP:8080 on a Linux bridge and masquerades it as the bridge's 172.17.0.1. Each packet is in the capture three times: on the client's veth as the client addressed it; on the bridge and on the container's veth translated (copies of each other); and on the bridge the server's packets appear with the masquerade undone but not the DNAT yet (a third 4-tuple, opened by a SYN-ACK)." \
  --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json"
cat "$WORK/client.log"
