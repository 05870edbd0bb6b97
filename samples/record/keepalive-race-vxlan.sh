#!/usr/bin/env bash
# Keep-alive race (stale reuse) inside a VXLAN overlay, captured on the underlay, as on a
# Kubernetes node's physical interface (flannel, Calico VXLAN mode) or from a cloud traffic mirror
# (AWS VPC Traffic Mirroring, Azure vTAP deliver VXLAN): two hosts (namespaces) joined by a veth
# "underlay" (10.77.0.1 - 10.77.0.2) carry a VXLAN overlay (VNI 42, UDP port 4789, 172.31.0.1 -
# 172.31.0.2). The race is keepalive-race-stale's: a Node http server closes idle sockets after
# 2.0 s, a raw net client hands the dead connection out 25 and 50 ms after the FIN arrived, gets
# RST and retries. tcpdump runs three times on the client host: on the underlay veth (the sample),
# on the VXLAN device (the overlay's view, kept as its own sample to compare with) and on "any"
# (both at once: every packet plain and tunnelled, as on a Kubernetes node).
# The scenario's check (b-meta.py keepalive-race-stale) runs on the overlay capture; vxlan-meta.py
# then checks that the underlay capture holds exactly those packets inside VXLAN, and the "any"
# capture each of them twice, plain and inside VXLAN.
# Writes samples/keepalive-race-vxlan{,-overlay,-any}.pcap and their meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-any.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=keepalive-race-vxlan
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
OVERLAY="$CC_SAMPLES_DIR/$SCENARIO-overlay.pcap"
ANY="$CC_SAMPLES_DIR/$SCENARIO-any.pcap"
VNI=42
PORT=4789

cc_netns_up cc-vx-c               # the client host, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add cc-vx-s             # the server host
ccany_veth cc-vx-s veth-u 10.77.0.2/24
cc_in ip addr add 10.77.0.1/24 dev veth-u
cc_in ip link add vx0 type vxlan id "$VNI" dstport "$PORT" local 10.77.0.1 remote 10.77.0.2 dev veth-u
ip netns exec cc-vx-s ip link add vx0 type vxlan id "$VNI" dstport "$PORT" local 10.77.0.2 remote 10.77.0.1 dev eth0
cc_in ip addr add 172.31.0.1/24 dev vx0
cc_in ip link set vx0 up
ip netns exec cc-vx-s ip addr add 172.31.0.2/24 dev vx0
ip netns exec cc-vx-s ip link set vx0 up

ccb_bg cc-vx-s node "$CCB_PROGRAMS/b-http-server.js" --host 172.31.0.2 --port 8080 --keep-alive-timeout 1000 2>"$WORK/server.log"
ccb_wait_port cc-vx-s 8080
# The overlay's and "any" captures first; their tcpdumps are ended by PID with the recorder's other processes.
ccb_capture_start "$CC_NS" vx0 "$OVERLAY" "tcp port 8080"
OVERLAY_TCPDUMP_PID="$CC_TCPDUMP_PID"
CC_PIDS+=("$OVERLAY_TCPDUMP_PID")
ccb_capture_start "$CC_NS" any "$ANY" "udp port $PORT or tcp port 8080" -y LINUX_SLL2
ANY_TCPDUMP_PID="$CC_TCPDUMP_PID"
CC_PIDS+=("$ANY_TCPDUMP_PID")
ccb_capture_start "$CC_NS" veth-u "$OUT" "udp port $PORT"
cc_in node "$CCB_PROGRAMS/b-race-client.js" --host 172.31.0.2 --port 8080 --mode stale \
  --nominal-idle-ms 2000 --stale-delays 25,50 --log "$WORK/client.log"
sleep 0.2
cc_capture_stop
for pid in "$OVERLAY_TCPDUMP_PID" "$ANY_TCPDUMP_PID"; do
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done

python3 "$CCB_PROGRAMS/b-meta.py" keepalive-race-stale --capture "$OVERLAY" --http-port 8080 \
  --meta "$WORK/overlay.meta.json" --client-log "$WORK/client.log" --set 'staleDelays=[25,50]'
python3 - "$WORK/overlay.meta.json" "$CC_SAMPLES_DIR/$SCENARIO-overlay.meta.json" "$SCENARIO" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
meta["scenario"] = sys.argv[3] + "-overlay"
meta["description"] = ("The overlay's own view of " + sys.argv[3] + ": the same traffic captured on the VXLAN device of the "
                       "client host. The traffic: " + meta["description"].replace(" on loopback", " inside the overlay"))
meta["software"] = meta.get("software", []) + ["Linux vxlan device"]
meta["facts"]["captureFile"] = sys.argv[3] + "-overlay.pcap"
open(sys.argv[2], "w").write(json.dumps(meta, indent=2) + "\n")
PY
python3 "$CCB_PROGRAMS/vxlan-meta.py" --capture "$OUT" --overlay "$OVERLAY" --client-side-meta "$WORK/overlay.meta.json" \
  --scenario "$SCENARIO" --vni "$VNI" --udp-port "$PORT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json"
python3 "$CCB_PROGRAMS/vxlan-meta.py" --capture "$ANY" --overlay "$OVERLAY" --client-side-meta "$WORK/overlay.meta.json" \
  --scenario "$SCENARIO-any" --vni "$VNI" --udp-port "$PORT" --any --meta "$CC_SAMPLES_DIR/$SCENARIO-any.meta.json"
cat "$WORK/client.log"
