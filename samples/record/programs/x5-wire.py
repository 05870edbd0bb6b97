#!/usr/bin/env python3
"""An impaired "wire" between two network namespaces, made of two tun devices.

This kernel has no netem, so a path with real-world conditions is made in user space: every
IP packet read from one tun device is written to the other one after a one-way delay, with
optional jitter (uniform, +/- JITTER ms: packets may then overtake each other, as on a real
path with several queues), loss (each packet dropped with probability LOSS %) and reordering
(with probability REORDER %, a packet skips the delay and overtakes those in flight). The
random draws are seeded (--seed) so a run's impairments can be told again.

Bursts of loss (healthy-lossy-path-heavy), off unless --burst-rate: per direction, bursts that come
and go in time, as on a congested or fading link, start at random (exponential gaps, --burst-rate per
second on average, measured from the end of the last one), each lasts --burst-ms-min to --burst-ms-max
ms (uniform), and while one lasts every packet in that direction is dropped with probability
--burst-loss % (instead of --loss %). The bursts are laid out in time (a packet is in one only if it
arrives while it lasts), so a path is as bad for a lone retransmission as for a busy transfer. They draw
from their own generator: without them, a seed's other impairments are what they always were. The counts
on exit add "bursts" (laid out, per direction, whether a packet met them or not) and "burstDropped"
(packets dropped inside bursts, also counted in "dropped"). The two tun devices
live in two namespaces created by the recorder: this process opens the first one in the
namespace it starts in, then joins the second (setns) for the other. It touches no other
interface. Chain two wires through a router namespace for a capture point in between.

Usage: x5-wire.py --tun-a NAME --netns-b /run/netns/NS --tun-b NAME --delay-ms 10
         [--jitter-ms 2] [--loss 1] [--reorder 0.5] [--seed 1] [--max-seconds 300]
         [--no-syn-loss] [--drop-synacks N] [--drop-fins N [--drop-fin-sport PORT]]
         [--burst-rate PER_S [--burst-ms-min 20] [--burst-ms-max 80] [--burst-loss 70]]
Prints "ready" once both devices are attached, and on exit one JSON line of counts on stderr.
Ends on SIGTERM/SIGINT or after --max-seconds.
"""
import argparse
import ctypes
import fcntl
import heapq
import json
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
MAX_PACKET = 65536


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def join_netns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    nsfd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(nsfd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns " + path + ": " + os.strerror(err))
    finally:
        os.close(nsfd)


def tcp_flags(pkt: bytes) -> int:
    """TCP flags of an IPv4 TCP segment, else 0."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != 6:
        return 0
    ihl = (pkt[0] & 0x0F) * 4
    return pkt[ihl + 13] if len(pkt) >= ihl + 14 else 0


def tcp_sport(pkt: bytes) -> int:
    """TCP source port of an IPv4 TCP segment, else 0."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != 6:
        return 0
    ihl = (pkt[0] & 0x0F) * 4
    return int.from_bytes(pkt[ihl:ihl + 2], "big") if len(pkt) >= ihl + 2 else 0


def is_tcp_syn(pkt: bytes) -> bool:
    """IPv4 TCP segment with SYN set (handshakes are kept loss-free with --no-syn-loss)."""
    return (tcp_flags(pkt) & 0x02) != 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tun-a", required=True)
    ap.add_argument("--netns-b", required=True)
    ap.add_argument("--tun-b", required=True)
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--jitter-ms", type=float, default=0.0)
    ap.add_argument("--loss", type=float, default=0.0, help="percent of packets dropped")
    ap.add_argument("--reorder", type=float, default=0.0, help="percent of packets sent at once")
    ap.add_argument("--no-syn-loss", action="store_true", help="never drop SYN / SYN-ACK")
    ap.add_argument("--drop-synacks", type=int, default=0, help="drop the first N SYN-ACKs (a handshake that must repeat)")
    ap.add_argument("--drop-fins", type=int, default=0, help="drop the first N segments carrying FIN (a close that is lost)")
    ap.add_argument("--drop-fin-sport", type=int, default=0, help="only FINs from this TCP source port count for --drop-fins")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=300.0)
    ap.add_argument("--burst-rate", type=float, default=0.0, help="bursts of loss per second, per direction")
    ap.add_argument("--burst-ms-min", type=float, default=20.0)
    ap.add_argument("--burst-ms-max", type=float, default=80.0)
    ap.add_argument("--burst-loss", type=float, default=70.0, help="percent of packets dropped during a burst")
    args = ap.parse_args()

    fd_a = open_tun(args.tun_a)
    join_netns(args.netns_b)
    fd_b = open_tun(args.tun_b)
    other = {fd_a: fd_b, fd_b: fd_a}
    rng = random.Random(args.seed)
    delay = args.delay_ms / 1000.0
    jitter = args.jitter_ms / 1000.0
    counts = {"forwarded": 0, "dropped": 0, "reordered": 0, "synAcksDropped": 0, "finsDropped": 0, "bursts": 0, "burstDropped": 0}
    brng = random.Random(args.seed * 7919 + 1)  # its own draws: the bursts do not shift the other impairments
    start = time.monotonic()
    burst_end = {fd_a: 0.0, fd_b: 0.0}
    next_burst = {fd: start + (brng.expovariate(args.burst_rate) if args.burst_rate > 0 else float("inf")) for fd in (fd_a, fd_b)}

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("ready", flush=True)

    queue = []  # (due, sequence, out fd, packet)
    seq = 0
    deadline = time.monotonic() + args.max_seconds
    while not stop and time.monotonic() < deadline:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, pkt = heapq.heappop(queue)
            try:
                os.write(out, pkt)
                counts["forwarded"] += 1
            except OSError:
                pass
        timeout = 0.05 if not queue else max(0.0, queue[0][0] - time.monotonic())
        try:
            ready, _, _ = select.select([fd_a, fd_b], [], [], timeout)
        except InterruptedError:
            continue
        for fd in ready:
            for _ in range(256):  # bounded per wake-up
                try:
                    pkt = os.read(fd, MAX_PACKET)
                except (BlockingIOError, OSError):
                    break
                if counts["finsDropped"] < args.drop_fins and (tcp_flags(pkt) & 0x01) != 0 and (args.drop_fin_sport == 0 or tcp_sport(pkt) == args.drop_fin_sport):
                    counts["finsDropped"] += 1
                    continue
                if counts["synAcksDropped"] < args.drop_synacks and (tcp_flags(pkt) & 0x12) == 0x12:
                    counts["synAcksDropped"] += 1
                    continue
                now_p = time.monotonic()
                # bursts are laid out in time, whether packets meet them or not: a packet is in one only if
                # it arrives between its start and its end (a lone retransmission seconds later is not)
                while now_p >= next_burst[fd]:
                    burst_end[fd] = next_burst[fd] + brng.uniform(args.burst_ms_min, args.burst_ms_max) / 1000.0
                    next_burst[fd] = burst_end[fd] + brng.expovariate(args.burst_rate)
                    counts["bursts"] += 1
                if now_p < burst_end[fd]:
                    if brng.random() * 100 < args.burst_loss and not (args.no_syn_loss and is_tcp_syn(pkt)):
                        counts["dropped"] += 1
                        counts["burstDropped"] += 1
                        continue
                elif args.loss > 0 and rng.random() * 100 < args.loss and not (args.no_syn_loss and is_tcp_syn(pkt)):
                    counts["dropped"] += 1
                    continue
                d = delay
                if jitter > 0:
                    d = max(0.0, d + rng.uniform(-jitter, jitter))
                if args.reorder > 0 and rng.random() * 100 < args.reorder:
                    d = 0.0
                    counts["reordered"] += 1
                seq += 1
                heapq.heappush(queue, (time.monotonic() + d, seq, other[fd], pkt))
    sys.stderr.write(json.dumps(counts) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
