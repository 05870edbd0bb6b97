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
source "$HERE/lib-any.sh"
cc_require node python3 tcpdump tshark ip nft

SCENARIO=keepalive-race-nat-any${CCANY_VARIANT:-}
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
SERVICE_IP=10.96.0.10
POD_IP=10.98.1.2

cc_netns_up cc-nat-node${CCANY_VARIANT:+-v}          # the translating host, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
C_NS=cc-nat-c${CCANY_VARIANT:+-v}
S_NS=cc-nat-s${CCANY_VARIANT:+-v}
ccb_netns_add "$C_NS"
ccb_netns_add "$S_NS"
ccany_client_timestamps "$C_NS"
cc_in sysctl -qw net.ipv4.ip_forward=1
ccany_veth "$C_NS" veth-c 10.98.0.1/24 10.98.0.254
ccany_veth "$S_NS" veth-s "$POD_IP/24" 10.98.1.254
cc_in ip addr add 10.98.0.254/24 dev veth-c
cc_in ip addr add 10.98.1.254/24 dev veth-s
cc_in nft -f - <<NFT
table ip cc_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    ip daddr $SERVICE_IP tcp dport 80 dnat to $POD_IP:8080
  }
}
NFT

ccany_stale_race "$S_NS" "$POD_IP" "$C_NS" "$SERVICE_IP" 80 "tcp port 80 or tcp port 8080"

# The packets as the client's veth saw them: the client's view, with the Service address.
ccany_client_side 80
python3 "$CCB_PROGRAMS/nat-meta.py" --capture "$OUT" --client-side-meta "$WORK/client-side.meta.json" \
  --scenario "$SCENARIO" --seen-as "$SERVICE_IP:80" --translated-to "$POD_IP:8080" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" $(ccany_meta_args)
cat "$WORK/client.log"
