#!/usr/bin/env python3
"""An HTTP server for response-abandoned-lone-stall, one request per connection, each on its
own thread, with a log line per response on stdout (path, body bytes written, how it ended):

  /stall   Content-Length --length; the head and --first body bytes at once, then nothing for
           --stall seconds (the server stalls mid-body), then the rest.
  /flow    Content-Length --length; --piece bytes every --every seconds, steadily (a download
           still flowing when its client gives up).
  /events  text/event-stream, chunked: one event, --pause seconds of nothing, one more event and
           the last chunk (a stream pausing between its events).

A client that closed its socket meets the server's next write with a RST; the write fails and is
logged as peer-gone.

Options: --port P (8080), --length N (40000), --first N (10000), --stall S (3), --piece N (1000),
         --every S (0.1), --pause S (2), --lifetime S (30)
"""
import argparse
import socket
import sys
import threading
import time

LOCK = threading.Lock()


def log(*parts):
    with LOCK:
        print(f"{time.time():.6f}", *parts, flush=True)


def handle(conn, peer, args):
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
        path = data.split(b" ", 2)[1].decode() if data.count(b" ") >= 2 else "/"
        sent = 0
        try:
            if path.startswith("/events"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                             b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                for k, pause in ((1, args.pause), (2, 0)):
                    event = f"data: event {k}\n\n".encode()
                    conn.sendall(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                    sent += len(event)
                    time.sleep(pause)
                conn.sendall(b"0\r\n\r\n")
            else:
                conn.sendall((f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                              f"Content-Length: {args.length}\r\nConnection: close\r\n\r\n").encode())
                if path.startswith("/stall"):
                    conn.sendall(b"a" * args.first)
                    sent += args.first
                    time.sleep(args.stall)
                    conn.sendall(b"b" * (args.length - args.first))
                    sent = args.length
                else:
                    while sent < args.length:
                        n = min(args.piece, args.length - sent)
                        conn.sendall(b"f" * n)
                        sent += n
                        time.sleep(args.every)
            log("done", peer[1], path, sent)
        except OSError as e:
            log("peer-gone", peer[1], path, sent, type(e).__name__)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--length", type=int, default=40000)
    ap.add_argument("--first", type=int, default=10000)
    ap.add_argument("--stall", type=float, default=3)
    ap.add_argument("--piece", type=int, default=1000)
    ap.add_argument("--every", type=float, default=0.1)
    ap.add_argument("--pause", type=float, default=2)
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
            conn, peer = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn, peer, args), daemon=True).start()
    srv.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
