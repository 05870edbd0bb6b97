#!/usr/bin/env python3
"""A two-port "wire" with a fixed one-way latency, made of two tun devices.

Loopback delivers a packet within microseconds, so a request can never be in
flight while the server's FIN is in flight the other way: the keep-alive race
in its *crossing* form (the request leaves the client before the FIN reaches
it) needs a path with latency. This kernel has no netem, so the latency is
made in user space: every IP packet read from one tun device is written to the
other one DELAY ms later, in order. The two tun devices live in two network
namespaces (client side and server side) created by the recorder; this process
starts in the first namespace, opens its tun, then joins the second namespace
(setns) to open the other one. It never touches any other interface.

Usage: b-delayline.py --tun-a NAME --netns-b /run/netns/NS --tun-b NAME --delay-ms 5
Prints "ready" on stdout once both devices are attached. Ends on SIGTERM/SIGINT.
"""
import argparse
import ctypes
import fcntl
import heapq
import os
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
    ifr = struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tun-a", required=True)
    ap.add_argument("--netns-b", required=True)
    ap.add_argument("--tun-b", required=True)
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--max-seconds", type=float, default=120.0,
                    help="safety bound: exit after this long whatever happens")
    args = ap.parse_args()

    fd_a = open_tun(args.tun_a)
    join_netns(args.netns_b)
    fd_b = open_tun(args.tun_b)
    delay = args.delay_ms / 1000.0
    other = {fd_a: fd_b, fd_b: fd_a}

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("ready", flush=True)

    # (due time, sequence number keeps FIFO order among equal due times, out fd, packet)
    queue = []
    seq = 0
    deadline = time.monotonic() + args.max_seconds
    while not stop and time.monotonic() < deadline:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, pkt = heapq.heappop(queue)
            try:
                os.write(out, pkt)
            except OSError:
                pass  # device down while stopping: drop, like a wire would
        # select() takes a microsecond timeout (poll/epoll round up to whole ms).
        timeout = 0.05
        if queue:
            timeout = max(0.0, queue[0][0] - time.monotonic())
        try:
            ready, _, _ = select.select([fd_a, fd_b], [], [], timeout)
        except InterruptedError:
            continue
        for fd in ready:
            while True:
                try:
                    pkt = os.read(fd, MAX_PACKET)
                except BlockingIOError:
                    break
                except OSError:
                    break
                seq += 1
                heapq.heappush(queue, (time.monotonic() + delay, seq, other[fd], pkt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
