#!/usr/bin/env python3
"""Check a capture of a VXLAN underlay against the overlay's own capture, and write its meta.json.

Usage: vxlan-meta.py --capture UNDERLAY --overlay OVERLAY --client-side-meta FILE --scenario NAME
                     --vni N --udp-port P --meta OUT [--any]

The scenario itself was checked by b-meta.py on the overlay device's capture (--client-side-meta,
the client host's view inside the overlay). This checks, with tshark (which opens VXLAN on the
port given), that the underlay capture holds exactly the overlay's TCP packets, each inside one
VXLAN packet of the VNI given (other VXLAN packets, the overlay's ARP, are counted), the same inner addresses, ports, sequence and acknowledgement
numbers, flags, lengths and IPv4 identifications, in the same order, each within 1 ms of its
overlay twin. With --any, the capture was taken with "tcpdump -i any" on the client host and must
hold every overlay packet twice: once as it is (on the VXLAN device) and once inside VXLAN (on
the underlay veth). It then writes the scenario's meta (the overlay's expectations: conncheck must find
in the tunnelled packets what it finds in the plain ones) with those counts as facts. Fails
(exit 1, nothing written) otherwise.
"""
import argparse
import sys

import json

from any_capture import add_common_arguments, tshark_fields

INNER = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "ip.id"]


def last(value):
    """The innermost of a field tshark lists once per layer (outer, inner), comma-separated."""
    return value.split(",")[-1]


def main():
    ap = argparse.ArgumentParser()
    add_common_arguments(ap)
    ap.add_argument("--overlay", required=True, help="the same traffic captured on the VXLAN device")
    ap.add_argument("--vni", type=int, required=True)
    ap.add_argument("--udp-port", type=int, required=True)
    ap.add_argument("--any", action="store_true", help="the capture is tcpdump -i any: each packet plain and tunnelled")
    a = ap.parse_args()
    decode_as = ["-d", f"udp.port=={a.udp_port},vxlan"] if a.udp_port != 4789 else []
    rows = tshark_fields_with(a.capture, ["frame.time_epoch", "vxlan.vni", "udp.dstport"] + INNER, decode_as)
    # The overlay's ARP (and IPv6 neighbour discovery) crosses the tunnel too; the overlay capture's filter left it out.
    tcp_rows = [r for r in rows if r[5] != ""]
    under = [r for r in tcp_rows if r[1] != ""]
    plain = [r for r in tcp_rows if r[1] == ""]
    other_inner = len(rows) - len(tcp_rows)
    over = tshark_fields(a.overlay, ["frame.time_epoch"] + INNER)
    problems = []
    if a.any:
        if [r[3:] for r in plain] != [o[1:] for o in over]:
            problems.append(f"the {len(plain)} plain TCP packets are not the overlay's {len(over)}")
    elif plain:
        problems.append(f"{len(plain)} TCP packets outside the tunnel")
    if len(under) != len(over):
        problems.append(f"{len(under)} packets in the underlay, {len(over)} in the overlay")
    outer = set()
    largest_gap = 0.0
    for i, (u, o) in enumerate(zip(under, over)):
        if u[1] != str(a.vni) or u[2] != str(a.udp_port):
            problems.append(f"underlay frame {i + 1}: VNI {u[1]!r} port {u[2]!r}")
            continue
        inner = [last(x) for x in u[3:]]
        if inner != o[1:]:
            problems.append(f"frame {i + 1}: inner {inner} is not the overlay's {o[1:]}")
        gap = abs(float(u[0]) - float(o[0]))
        largest_gap = max(largest_gap, gap)
        if gap > 0.001:
            problems.append(f"frame {i + 1}: {gap * 1000:.3f} ms from its overlay twin")
        outer.add(u[3].split(",")[0] + " -> " + u[4].split(",")[0])
    if problems or not under:
        print(f"vxlan-meta: {a.capture} is not the overlay's traffic inside VXLAN: " + "; ".join(problems[:5]), file=sys.stderr)
        return 1
    if a.any:
        description = (
            f"tcpdump -i any (LINUX_SLL2) on a host of a VXLAN overlay (VNI {a.vni}, UDP port {a.udp_port}), as on a Kubernetes "
            "node with flannel or Calico in VXLAN mode: every TCP packet is in the capture twice, once as it is on the VXLAN "
            "device and once inside a VXLAN packet on the underlay interface, with the same IP identification, sequence "
            "numbers and timestamps. conncheck must open the tunnel, take each tunnelled packet for the copy it is, and find "
            "what it finds on the VXLAN device's own capture (samples/" + a.overlay.rsplit("/", 1)[-1] + ").")
        software = ["Linux vxlan device", "tcpdump -i any"]
    else:
        description = (
            f"A capture of a VXLAN underlay (VNI {a.vni}, UDP port {a.udp_port}), as taken on the physical interface of a "
            "Kubernetes node with a VXLAN overlay (flannel, Calico VXLAN mode) or delivered by a cloud traffic mirror: every "
            "TCP packet is inside a VXLAN packet between the two hosts' underlay addresses. conncheck must open the tunnel and "
            "find what it finds on the overlay device's own capture (samples/" + a.overlay.rsplit("/", 1)[-1] + ").")
        software = ["Linux vxlan device"]
    write_vxlan_meta(
        a,
        description,
        a.software or software,
        {
            "vni": a.vni,
            "udpPort": a.udp_port,
            "tunnelledPackets": len(under),
            "plainTcpPackets": len(plain),
            "notTcpPackets": other_inner,
            "underlayHosts": sorted(outer),
            "largestGapToOverlayMicroseconds": round(largest_gap * 1e6, 1),
        },
    )
    return 0


def write_vxlan_meta(a, description, software, facts):
    """The overlay's meta (same expectations), renamed, described as the underlay capture and with its facts."""
    with open(a.client_side_meta) as f:
        meta = json.load(f)
    meta["scenario"] = a.scenario
    meta["description"] = description + " The traffic: " + meta["description"].replace(" on loopback", " inside the overlay")
    meta["software"] = meta.get("software", []) + software
    meta["facts"]["captureFile"] = a.capture.rsplit("/", 1)[-1]
    meta["facts"].update(facts)
    with open(a.meta, "w") as f:
        f.write(json.dumps(meta, indent=2) + "\n")


def tshark_fields_with(capture, fields, extra):
    import subprocess
    cmd = ["tshark", "-r", capture, "-T", "fields", "-E", "separator=\t"] + extra
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


if __name__ == "__main__":
    sys.exit(main())
