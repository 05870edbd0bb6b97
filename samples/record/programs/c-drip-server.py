#!/usr/bin/env python3
"""An HTTP server whose /drip responses stall mid-body: it sends the head (Content-Length:
--length) and the first --first body bytes at once, sleeps --stall seconds, then sends the
rest and closes. Any other path gets its whole body (--length bytes) at once, with
`Connection: close`. One request per connection; every connection on its own thread.
A client that gave up during the stall has closed its socket: the rest meets it, and its
kernel answers with a RST (the server's late write fails, ignored here).

Options: --port P (8080), --length N (4000), --first N (2000), --stall S (3.3), --lifetime S (30)
"""
import argparse
import socket
import threading
import time


def handle(conn, args):
    with conn:
        conn.settimeout(10)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        path = data.split(b" ", 2)[1] if data.count(b" ") >= 2 else b"/"
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {args.length}\r\nConnection: close\r\n\r\n").encode()
        try:
            if path.startswith(b"/drip"):
                conn.sendall(head + b"a" * args.first)
                time.sleep(args.stall)
                conn.sendall(b"b" * (args.length - args.first))
            else:
                conn.sendall(head + b"a" * args.length)
        except OSError:
            pass  # the client went away: its kernel reset the connection


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--length", type=int, default=4000)
    ap.add_argument("--first", type=int, default=2000)
    ap.add_argument("--stall", type=float, default=3.3)
    ap.add_argument("--lifetime", type=float, default=30)
    args = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(16)
    srv.settimeout(0.2)
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn, args), daemon=True).start()
    srv.close()


if __name__ == "__main__":
    main()
