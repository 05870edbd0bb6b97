#!/usr/bin/env python3
"""An HTTP client whose application stops reading in the middle of a large response
(a blocked worker): a small SO_RCVBUF, set before connect() so the window it
advertises is small, fills up, and its kernel advertises a zero window until the
application reads again after --pause seconds.

Usage: c-slow-reader-client.py --port P --path /size/N [--rcvbuf 4096] [--pause 2.0]
       [--first 2048] [--timeout 10]
"""
import argparse
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--path", default="/size/65536")
    ap.add_argument("--rcvbuf", type=int, default=4096)
    ap.add_argument("--pause", type=float, default=2.0)
    ap.add_argument("--first", type=int, default=2048, help="bytes read before the pause")
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    s.settimeout(args.timeout)
    s.connect(("127.0.0.1", args.port))
    s.sendall(f"GET {args.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    got = s.recv(args.first)
    time.sleep(args.pause)  # the application is busy: the receive buffer fills up
    total = len(got)
    started = time.monotonic()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        total += len(chunk)
    s.close()
    print(f"read {total} bytes ({time.monotonic() - started:.2f} s after the pause)")


if __name__ == "__main__":
    main()
