#!/usr/bin/env python3
"""A server whose application hangs: it accepts each connection, reads one HTTP request head (its
kernel ACKs it) and then neither answers nor reads for --hold seconds (a worker stuck on a lock or a
dead dependency: the client's FIN goes unnoticed), then closes. Nothing of a response is ever
written, so the server's sequence number never moves past its SYN-ACK's: what tells a hung
application from a response lost on the path. One JSON line per connection on stdout: its client,
the request line, when it came, and whether the client had closed by the end of the hold.

Usage: hang-server.py --host ADDR --port PORT [--hold S (6)]
"""
import argparse
import json
import socket
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument('--host', required=True)
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--hold', type=float, default=6)
a = ap.parse_args()


def hang(conn, peer):
    with conn:
        conn.settimeout(a.hold)
        buf = b''
        try:
            while b'\r\n\r\n' not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            got = time.time()
            line = buf.split(b'\r\n', 1)[0].decode(errors='replace')
            # The hang: nothing read, nothing written, for --hold seconds.
            time.sleep(a.hold)
            conn.setblocking(False)
            try:
                event = 'client-closed' if conn.recv(65536) == b'' else 'client-sent-more'
            except BlockingIOError:
                event = 'client-still-open'
        except OSError as e:
            got, line, event = time.time(), '', f'failed: {e!r}'
        sys.stdout.write(json.dumps({'client': f'{peer[0]}:{peer[1]}', 'request': line, 'event': event,
                                     'requestTs': round(got, 6), 'held': a.hold}) + '\n')
        sys.stdout.flush()


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((a.host, a.port))
srv.listen(16)
while True:
    c, p = srv.accept()
    threading.Thread(target=hang, args=(c, p), daemon=True).start()
