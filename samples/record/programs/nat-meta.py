#!/usr/bin/env python3
"""Check a capture made with "tcpdump -i any" on a host that DNATs, and write its meta.json.

Usage: nat-meta.py --capture FILE --client-side-meta FILE --scenario NAME
                   --seen-as IP:PORT --translated-to IP:PORT --meta OUT

The scenario itself was checked by b-meta.py on the client side's packets (--client-side-meta).
This checks, with tshark, what the capture adds: every connection to --seen-as is in the capture
again, to --translated-to, on --interfaces interfaces in all: its SYN with the same initial
sequence number and IPv4 identification, moments later; and each interface holds the same
number of packets. It then writes the scenario's meta (the expectations of the client side: the
translated views must add no finding) with those counts as facts, and the description given or
the routed DNAT one. Fails (exit 1, nothing written) otherwise.
"""
import argparse
import sys
from collections import defaultdict

from any_capture import add_common_arguments, tshark_fields, write_meta

FIELDS = ["frame.time_epoch", "sll.ifindex", "ip.dst", "tcp.dstport", "tcp.flags", "tcp.seq_raw", "ip.id"]
SYN, ACK = 0x02, 0x10


def main():
    ap = argparse.ArgumentParser()
    add_common_arguments(ap)
    ap.add_argument("--seen-as", required=True)
    ap.add_argument("--translated-to", required=True)
    ap.add_argument("--interfaces", type=int, default=2)
    a = ap.parse_args()
    per_interface = defaultdict(int)
    syns = defaultdict(list)
    for v in tshark_fields(a.capture, FIELDS):
        if len(v) < len(FIELDS) or not v[4]:
            continue
        per_interface[v[1]] += 1
        if int(v[4], 16) & (SYN | ACK) == SYN:
            syns[(v[5], v[6])].append((float(v[0]), v[1], f"{v[2]}:{v[3]}"))
    problems = []
    if len(per_interface) != a.interfaces or len(set(per_interface.values())) != 1:
        problems.append(f"packets per interface {dict(per_interface)} (expected the same count on {a.interfaces})")
    gaps = []
    for (isn, ipid), seen in syns.items():
        targets = {s[2] for s in seen}
        if targets != {a.seen_as, a.translated_to} or len({s[1] for s in seen}) != len(seen):
            problems.append(f"SYN isn {isn} id {ipid}: seen as {sorted(targets)}")
            continue
        times = [s[0] for s in seen]
        gaps.append(max(times) - min(times))
    if problems or not gaps:
        print(f"nat-meta: {a.capture} does not show each connection before and after the NAT: " + "; ".join(problems[:5]), file=sys.stderr)
        return 1
    described = a.description or (
        "tcpdump -i any (LINUX_SLL2) on a host that translates addresses, as on a Kubernetes node where kube-proxy DNATs a "
        f"Service address to a pod: the client connects to {a.seen_as}, nftables in the routing namespace between client "
        f"and server rewrites it to {a.translated_to}, and tcpdump there sees every connection twice, once per veth, with "
        "the same sequence numbers and IP identifications.")
    write_meta(
        a,
        described + " conncheck must analyze each connection once (under the first addresses seen, the client's) and find "
        "what it finds on the client side alone.",
        a.software or ["nftables dnat", "Linux routing between veth pairs"],
        {
            "framesPerInterface": sorted(per_interface.values()),
            "connectionsSeenTwice": len(gaps),
            "translation": {"seenAs": a.seen_as, "translatedTo": a.translated_to},
            "largestSynGapMicroseconds": round(max(gaps) * 1e6, 1),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
