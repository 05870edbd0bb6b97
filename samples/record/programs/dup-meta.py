#!/usr/bin/env python3
"""Check a capture made with "tcpdump -i any" on a bridging host and write its meta.json.

Usage: dup-meta.py --capture FILE --client-side-meta FILE --scenario NAME --meta OUT
                   [--checksum-offload --description TEXT --software NAME]

The scenario itself was checked by b-meta.py on the packets of one interface (written to
--client-side-meta). This checks, with tshark, what the capture adds: every TCP packet of the
one interface appears exactly twice, each time on a different interface, identical in every
header field a sender changes between transmissions (IP identification, TCP sequence and
acknowledgement numbers, flags, window, length, checksum), the second copy within 2 ms of the
first. It then writes the scenario's meta (same expectations: the copies must change no finding)
with the copy counts as facts. Fails (exit 1, nothing written) when the capture shows otherwise.

With --checksum-offload the two copies of a packet may differ in the TCP checksum, one holding
only the sum of the pseudo-header (what checksum offload leaves for the device; the other copy was
taken after the kernel computed it for a device without transmit checksum offload), and some must.
"""
import argparse
import socket
import sys
from collections import defaultdict

from any_capture import add_common_arguments, tshark_fields, write_meta

FIELDS = ["frame.time_epoch", "sll.ifindex", "ip.id", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags",
          "tcp.window_size_value", "tcp.len", "tcp.srcport", "tcp.dstport", "tcp.checksum", "ip.src", "ip.dst",
          "tcp.hdr_len", "ipv6.src", "ipv6.dst"]
KEY_END = 10  # the fields after the interface that copies share, whatever the checksum
CHECKSUM = 10


def pseudo_header_sum(src, dst, tcp_length):
    """The folded ones' complement sum of the IPv4 pseudo-header (RFC 9293 3.1), as offload leaves it."""
    total = 6 + tcp_length
    for address in (src, dst):
        b = socket.inet_aton(address)
        total += (b[0] << 8 | b[1]) + (b[2] << 8 | b[3])
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def main():
    ap = argparse.ArgumentParser()
    add_common_arguments(ap)
    ap.add_argument("--checksum-offload", action="store_true")
    a = ap.parse_args()
    copies = defaultdict(list)
    frames = 0
    for v in tshark_fields(a.capture, FIELDS):
        if len(v) < len(FIELDS) or not v[3]:
            continue
        frames += 1
        key = tuple(v[2:KEY_END]) if a.checksum_offload else tuple(v[2:])
        copies[key].append((float(v[0]), v[1], v))
    problems = []
    gaps = []
    offloaded = 0
    for key, seen in copies.items():
        if len(seen) != 2:
            problems.append(f"{key}: seen {len(seen)} times")
            continue
        (t1, if1, v1), (t2, if2, v2) = seen
        if v1[CHECKSUM] != v2[CHECKSUM]:
            partial = pseudo_header_sum(v1[11], v1[12], int(v1[13]) + int(v1[7]))
            if partial not in (int(v1[CHECKSUM], 16), int(v2[CHECKSUM], 16)):
                problems.append(f"{key}: checksums {v1[CHECKSUM]} and {v2[CHECKSUM]}, neither the pseudo-header sum")
            offloaded += 1
        if if1 == if2:
            problems.append(f"{key}: both copies on interface {if1}")
        gaps.append(abs(t2 - t1))
    if problems or not copies:
        print(f"dup-meta: {a.capture} is not a capture of every packet twice: " + "; ".join(problems[:5]), file=sys.stderr)
        return 1
    if max(gaps) >= 0.002:
        print(f"dup-meta: copies up to {max(gaps) * 1000:.3f} ms apart (expected < 2 ms)", file=sys.stderr)
        return 1
    if a.checksum_offload and offloaded == 0:
        print("dup-meta: no copy differs in its checksum (expected some, with --checksum-offload)", file=sys.stderr)
        return 1
    facts = {"framesInCapture": frames, "packetsCapturedTwice": len(copies), "largestCopyGapMicroseconds": round(max(gaps) * 1e6, 1)}
    if a.checksum_offload:
        facts["copiesWithPseudoHeaderChecksum"] = offloaded
    write_meta(
        a,
        a.description or (
            "tcpdump -i any (LINUX_SLL2) on a host that bridges the traffic, as on a container host or a Kubernetes "
            "node: client and server namespaces on veth pairs off a Linux bridge, captured in the bridging namespace, "
            "so every packet is in the capture twice, once per veth. The copies are not retransmissions, duplicate ACKs "
            "or repeated SYNs (Wireshark marks them so): conncheck must count them as copies and find what it finds on "
            "one interface."),
        a.software or ["Linux bridge with veth pairs"],
        facts,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
