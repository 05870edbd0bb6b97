#!/usr/bin/env python3
"""Writes --count GET requests in one write (HTTP/1.1 pipelining) and reads until the
server closes; prints how many responses came back.

Usage: fp6-pipeline-client.py --port P --prefix /x [--count 5] [--timeout S]
"""
import argparse
import socket


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", default="/p")
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    reqs = b"".join(b"GET %s/%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % (args.prefix.encode(), k) for k in range(1, args.count + 1))
    s = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    s.sendall(reqs)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    print(f"{args.prefix}: {data.count(b'HTTP/1.1 200')} of {args.count} answered")


if __name__ == "__main__":
    main()
