#!/usr/bin/env python3
"""Server of tcp-keepalive-dead-peer (record/tcp-keepalive-dead-peer.sh): a tiny keep-alive
HTTP/1.1 server on 8080 (no TCP keep-alive) and 8081 (SO_KEEPALIVE with TCP_KEEPIDLE=1,
TCP_KEEPINTVL=1, TCP_KEEPCNT=3 on each accepted connection). Logs one JSON object a line:
accepts, requests, and how each connection ended (EOF, or the errno its kernel reported)."""
import argparse
import errno
import json
import socket
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--addr", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--lifetime", type=float, default=30)
args = ap.parse_args()
logf = open(args.log, "a")
lock = threading.Lock()


def log(**kw):
    kw["t"] = round(time.time(), 6)
    with lock:
        logf.write(json.dumps(kw) + "\n")
        logf.flush()


def serve(c, peer, port):
    buf = b""
    try:
        while True:
            chunk = c.recv(4096)
            if not chunk:
                log(event="eof", peer=peer, port=port)
                return
            buf += chunk
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                log(event="request", peer=peer, port=port, line=head.split(b"\r\n")[0].decode())
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    except OSError as e:
        log(event="error", peer=peer, port=port, error=type(e).__name__, errno=errno.errorcode.get(e.errno or 0), message=str(e))
    finally:
        c.close()


def listen(port, keepalive):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, port))
    ls.listen(16)
    while True:
        c, (host, cport) = ls.accept()
        if keepalive:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        peer = f"{host}:{cport}"
        log(event="accept", peer=peer, port=port, keepalive=keepalive)
        threading.Thread(target=serve, args=(c, peer, port), daemon=True).start()


for port, ka in ((8080, False), (8081, True)):
    threading.Thread(target=listen, args=(port, ka), daemon=True).start()
time.sleep(args.lifetime)
