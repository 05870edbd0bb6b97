#!/usr/bin/env python3
"""A server whose application never accepts: it listens with a tiny backlog and then
just sleeps (a worker stuck in a long GC pause, a deadlocked event loop). The kernel
completes handshakes into the accept queue until it is full, then drops what
overflows. Ends after --lifetime seconds (or when the recorder ends it by PID);
its queued connections are then reset by the kernel.

Options: --port P (8080), --backlog N (0), --lifetime S (10)
"""
import argparse
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--backlog", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=10.0)
    args = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", args.port))
    s.listen(args.backlog)
    time.sleep(args.lifetime)  # never accept()


if __name__ == "__main__":
    main()
