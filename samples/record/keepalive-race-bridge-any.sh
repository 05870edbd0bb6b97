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
cc_require node python3 tcpdump tshark ip

SCENARIO=keepalive-race-bridge-any
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
CLIENT_IP=10.98.0.1
SERVER_IP=10.98.0.2

cc_netns_up cc-dup-hub            # the bridging host, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add cc-dup-c
ccb_netns_add cc-dup-s
cc_in ip link add br0 type bridge
cc_in ip link set br0 up
for side in c s; do
  cc_in ip link add "veth-$side" type veth peer name eth0 netns "cc-dup-$side"
  cc_in ip link set "veth-$side" master br0
  cc_in ip link set "veth-$side" up
  ip netns exec "cc-dup-$side" ip link set eth0 up
done
ip netns exec cc-dup-c ip addr add "$CLIENT_IP/24" dev eth0
ip netns exec cc-dup-s ip addr add "$SERVER_IP/24" dev eth0

ccb_bg cc-dup-s node "$CCB_PROGRAMS/b-http-server.js" --host "$SERVER_IP" --port 8080 --keep-alive-timeout 1000 2>"$WORK/server.log"
ccb_wait_port cc-dup-s 8080
ccb_capture_start cc-dup-hub any "$OUT" "tcp port 8080"
ip netns exec cc-dup-c node "$CCB_PROGRAMS/b-race-client.js" --host "$SERVER_IP" --port 8080 --mode stale \
  --nominal-idle-ms 2000 --stale-delays 25,50 --log "$WORK/client.log"
cc_capture_stop

# The packets as the client's veth saw them: one copy of each.
client_if="$(cc_in cat /sys/class/net/veth-c/ifindex)"
tshark -r "$OUT" -Y "sll.ifindex == $client_if" -w "$WORK/one-interface.pcap" 2>/dev/null
python3 "$CCB_PROGRAMS/b-meta.py" keepalive-race-stale --capture "$WORK/one-interface.pcap" \
  --meta "$WORK/one-interface.meta.json" --client-log "$WORK/client.log" --set 'staleDelays=[25,50]'
python3 "$CCB_PROGRAMS/dup-meta.py" --capture "$OUT" --one-interface-meta "$WORK/one-interface.meta.json" \
  --scenario "$SCENARIO" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json"
cat "$WORK/client.log"
