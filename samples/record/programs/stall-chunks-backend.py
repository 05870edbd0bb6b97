#!/usr/bin/env python3
"""A chunked backend for response-truncated-nginx-lazy-timer: one thread per connection.

GET /stall?n=N&gap=G  the head and N 400-byte chunks G s apart, then silence (the socket kept open
                      STALL_HOLD s, then closed): a backend stalled mid-body.
GET /ok?n=N&gap=G     N chunks G s apart, then the last chunk: a slow but whole stream.
GET /exit?n=N&gap=G   N chunks G s apart, then the backend closes the connection itself without
                      the last chunk (as a worker that dies mid-response).
Every write and close is logged with its time (time.time()) to the log file.
Usage: stall-chunks-backend.py ADDR PORT LOG
"""
import socket
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

STALL_HOLD = 4.0
addr, port, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log_lock = threading.Lock()


def log(*parts):
    with log_lock, open(log_path, 'a') as f:
        f.write('%.6f %s\n' % (time.time(), ' '.join(str(p) for p in parts)))


def serve(c, peer):
    try:
        req = b''
        while b'\r\n\r\n' not in req and len(req) < 65536:
            got = c.recv(4096)
            if not got:
                return
            req += got
        target = req.split(b'\r\n', 1)[0].split(b' ')[1].decode()
        u = urlsplit(target)
        q = parse_qs(u.query)
        n, gap = int(q.get('n', ['3'])[0]), float(q.get('gap', ['0.3'])[0])
        log('request', peer[1], u.path, 'n=%d' % n, 'gap=%.3f' % gap)
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n')
        for i in range(n):
            if i > 0:
                time.sleep(gap)
            c.sendall(b'%x\r\n%s\r\n' % (400, bytes([65 + i]) * 400))
            log('chunk', peer[1], u.path, i + 1)
        if u.path == '/ok':
            time.sleep(gap)
            c.sendall(b'0\r\n\r\n')
            log('complete', peer[1], u.path)
        elif u.path == '/exit':
            log('closing mid-body', peer[1], u.path)
        else:
            log('stalling', peer[1], u.path)
            c.settimeout(STALL_HOLD)
            try:
                got = c.recv(1)
                log('peer closed' if got == b'' else 'peer sent', peer[1], u.path)
            except socket.timeout:
                log('stall ended unclosed', peer[1], u.path)
    except OSError as e:
        log('error', peer[1], repr(e))
    finally:
        c.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(16)
while True:
    conn, peer = ls.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
