#!/usr/bin/env python3
"""A raw HTTP/1.1 server whose closes no timer makes, for the pipehalf recorder.

  --mode drop-on-fin   reads a request, works on it for --delay s while watching the
                       socket; a FIN from the client (recv() == b"") is taken for a
                       disconnect: it closes without answering (a half-closing client,
                       still reading, gets nothing).
  --mode close-after   answers pipelined requests one at a time (--delay s each) and
                       closes right after its --limit-th response, whatever requests
                       are still waiting (a per-connection request limit, unannounced).
  --lifetime S         exit after S seconds (bound for a forgotten process).
"""
import argparse
import select
import socket
import threading
import time


def handle_drop_on_fin(conn, delay):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            conn.close()
            return
        buf += chunk
    deadline = time.monotonic() + delay
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            break
        ready, _, _ = select.select([conn], [], [], left)
        if ready and conn.recv(65536) == b"":
            break  # the client's FIN: taken for a disconnect, the request dropped
    conn.close()


def handle_close_after(conn, delay, limit):
    buf = b""
    answered = 0
    while answered < limit:
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                conn.close()
                return
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        path = head.split(b" ", 2)[1]
        time.sleep(delay)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))
        answered += 1
    conn.close()  # right after the last allowed response, requests still in the buffer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=["drop-on-fin", "close-after"], required=True)
    ap.add_argument("--delay", type=float, default=0.3)
    ap.add_argument("--limit", type=int, default=2)
    ap.add_argument("--lifetime", type=float, default=20)
    args = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(16)
    srv.settimeout(0.5)
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        if args.mode == "drop-on-fin":
            target, extra = handle_drop_on_fin, (args.delay,)
        else:
            target, extra = handle_close_after, (args.delay, args.limit)
        threading.Thread(target=target, args=(conn, *extra), daemon=True).start()


if __name__ == "__main__":
    main()
