#!/usr/bin/env bash
# Keep-alive race (stale reuse) seen by "tcpdump -i any" on a host that routes the traffic out of
# a device without transmit checksum offload (`ethtool -K dev tx off`, the usual workaround for
# broken offload on VXLAN or tun devices; many virtual NICs): the client namespace's packets
# arrive on its veth with only the pseudo-header sum in the TCP checksum (checksum offload: the
# device is to compute the rest) and leave on the server's veth with the checksum the kernel
# computed for it, so each client packet is in the capture twice with two checksums. The server's
# packets leave by a veth with offload and keep the same one. The race is keepalive-race-stale's:
# a Node http server closes idle sockets after 2.0 s, a raw net client hands the dead connection
# out 25 and 50 ms after the FIN arrived, gets RST and retries.
# The scenario's check (b-meta.py keepalive-race-stale) runs on the client's veth's packets; the
# recorder then checks (dup-meta.py --checksum-offload) that the capture holds each of them twice.
# Writes samples/keepalive-race-txcsum-any.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-any.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=keepalive-race-txcsum-any
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
CLIENT_IP=10.98.0.1
SERVER_IP=10.98.1.2

cc_netns_up cc-csum-node          # the routing host, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add cc-csum-c
ccb_netns_add cc-csum-s
cc_in sysctl -qw net.ipv4.ip_forward=1
ccany_veth cc-csum-c veth-c "$CLIENT_IP/24" 10.98.0.254
ccany_veth cc-csum-s veth-s "$SERVER_IP/24" 10.98.1.254
cc_in ip addr add 10.98.0.254/24 dev veth-c
cc_in ip addr add 10.98.1.254/24 dev veth-s
cc_in python3 "$CCB_PROGRAMS/tx-checksum-off.py" veth-s

ccany_stale_race cc-csum-s "$SERVER_IP" cc-csum-c "$SERVER_IP" 8080 "tcp port 8080"

# The packets as the client's veth saw them: one copy of each.
ccany_client_side 8080
python3 "$CCB_PROGRAMS/dup-meta.py" --capture "$OUT" --client-side-meta "$WORK/client-side.meta.json" \
  --scenario "$SCENARIO" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --checksum-offload \
  --software "Linux routing between veth pairs, transmit checksum offload off on one" \
  --description "tcpdump -i any (LINUX_SLL2) on a host that routes the traffic out of a device without transmit checksum offload (ethtool -K veth-s tx off): each packet is in the capture twice, once per veth, and the client's packets arrive with only the pseudo-header sum in their TCP checksum (offload) and leave with the checksum the kernel computed. The copies are not retransmissions or repeated SYNs: conncheck must count them as copies and find what it finds on one interface."
cat "$WORK/client.log"
