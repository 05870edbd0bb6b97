#!/usr/bin/env python3
"""An HTTP client that half-closes: it sends one request, shuts down its write side at
once (shutdown(SHUT_WR): a FIN right after the request, a legal TCP half-close meaning
"no more requests"), then reads the response until the server closes.

Usage: c-half-close-client.py --port P --path /x [--method GET|POST] [--body N] [--timeout S]
"""
import argparse
import socket


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--path", default="/")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--body", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    body = b"z" * args.body
    head = f"{args.method} {args.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    s = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    s.sendall(head.encode() + b"\r\n" + body)
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    status_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    print(f"{args.method} {args.path}: {status_line} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
