#!/usr/bin/env python3
"""An HTTP server whose workers get stuck: the first --serve connections it accepts are
served normally (HTTP/1.1 keep-alive, 200), every later one is handed to a worker
that never gets to read it, so its request stays unread in the kernel's receive
buffer. The recorder then kills the process (SIGKILL, by PID): the kernel closes the
served, idle connections with FIN and resets (RST) those with an unread request.

Options: --port P (8080), --serve N (1), --lifetime S (20)
"""
import argparse
import socket
import threading
import time


def serve(conn):
    buf = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            path = head.split(b" ")[1].decode(errors="replace")
            body = f"ok {path}\n".encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--serve", type=int, default=1)
    ap.add_argument("--lifetime", type=float, default=20.0)
    args = ap.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(64)
    ls.settimeout(0.1)
    stuck = []  # kept referenced: a closed socket would send FIN/RST too early
    accepted = 0
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        accepted += 1
        if accepted <= args.serve:
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        else:
            stuck.append(conn)


if __name__ == "__main__":
    main()
