#!/usr/bin/env python3
"""An HTTP server that rejects large uploads the careless way: it reads one chunk
(--read bytes) of the request, and if the announced Content-Length is larger than
--max-body it answers 413 with `Connection: close` and closes the socket without
reading the rest. The unread bytes in its receive buffer make the kernel send RST
instead of FIN. Small requests are read completely, answered 200 and closed with a
FIN (the clean comparison).

A small --rcvbuf on the listening socket (inherited by accepted sockets) keeps the
advertised window small, so a large upload is still in progress when the server
closes, as on a real network, and the capture stays small.

Options: --port P (8080), --read N (4096), --max-body N (1024), --rcvbuf N (16384),
         --lifetime S (20)
"""
import argparse
import socket
import threading
import time


def handle(conn, args):
    with conn:
        data = conn.recv(args.read)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length > args.max_body:
            body = b"upload too large\n"
            status = b"413 Payload Too Large"
        else:
            while len(rest) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                rest += chunk
            body = f"stored {len(rest)} bytes\n".encode()
            status = b"200 OK"
        conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        # close() with unread data in the receive queue: the kernel answers with RST.


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--read", type=int, default=4096)
    ap.add_argument("--max-body", type=int, default=1024)
    ap.add_argument("--rcvbuf", type=int, default=16384)
    ap.add_argument("--lifetime", type=float, default=20.0)
    args = ap.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Before listen(): the window scale is negotiated from it in the SYN-ACK.
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(16)
    ls.settimeout(0.1)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn, args), daemon=True).start()


if __name__ == "__main__":
    main()
