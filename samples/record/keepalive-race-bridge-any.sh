#!/usr/bin/env bash
# Keep-alive race (stale reuse) seen by "tcpdump -i any" on a host that bridges the traffic, as on
# a container host or a Kubernetes node: client and server namespaces hang on veth pairs off a
# bridge in a third namespace, where tcpdump -i any captures every packet twice (once arriving on
# the client's veth, once leaving on the server's, or the other way). The race itself is
# keepalive-race-stale's: a Node http server closes idle sockets after 2.0 s, a raw net client
# hands the dead connection out 25 and 50 ms after the FIN arrived, gets RST and retries.
# The scenario's check (b-meta.py keepalive-race-stale) runs on the packets of one interface; the
# recorder then checks that the capture holds each of them exactly twice, on two interfaces.
# Writes samples/keepalive-race-bridge-any.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-any.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=keepalive-race-bridge-any${CCANY_VARIANT:-}
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
CLIENT_IP=10.98.0.1
SERVER_IP=10.98.0.2
PREFIX=24
case "${CCANY_VARIANT:-}" in -ipv6*) CLIENT_IP=fd00:98::1; SERVER_IP=fd00:98::2; PREFIX=64 ;; esac

cc_netns_up cc-dup-hub${CCANY_VARIANT:+-v}           # the bridging host, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
C_NS=cc-dup-c${CCANY_VARIANT:+-v}
S_NS=cc-dup-s${CCANY_VARIANT:+-v}
ccb_netns_add "$C_NS"
ccb_netns_add "$S_NS"
ccany_client_timestamps "$C_NS"
# IPv6 addresses usable at once (no duplicate address detection: the veths are created after this).
for ns in "$C_NS" "$S_NS"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0; done
cc_in ip link add br0 type bridge
cc_in ip link set br0 up
ccany_veth "$C_NS" veth-c "$CLIENT_IP/$PREFIX"
ccany_veth "$S_NS" veth-s "$SERVER_IP/$PREFIX"
cc_in ip link set veth-c master br0
cc_in ip link set veth-s master br0

ccany_stale_race "$S_NS" "$SERVER_IP" "$C_NS" "$SERVER_IP" 8080 "tcp port 8080"

# The packets as the client's veth saw them: one copy of each.
ccany_client_side 8080
python3 "$CCB_PROGRAMS/dup-meta.py" --capture "$OUT" --client-side-meta "$WORK/client-side.meta.json" \
  --scenario "$SCENARIO" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" $(ccany_meta_args)
cat "$WORK/client.log"
