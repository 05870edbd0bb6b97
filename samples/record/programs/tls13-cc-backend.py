#!/usr/bin/env python3
"""A backend that reads each request and never answers (samples/record/unanswered-request-tls13-client-cert.sh,
lane d): nginx's proxied /hang waits on it until its client gives up. Bounded: it exits after LIFE seconds."""
import socket
import sys
import threading
import time

port, life, log = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.3', port))
srv.listen(16)
srv.settimeout(0.2)
held = []
end = time.time() + life
while time.time() < end:
    try:
        c, peer = srv.accept()
    except socket.timeout:
        continue
    c.settimeout(1)
    try:
        data = c.recv(4096)
    except OSError:
        data = b''
    held.append(c)
    line = data.split(b'\r\n')[0].decode(errors='replace')
    with open(log, 'a') as f:
        f.write(f'{time.time():.6f}\tread {len(data)} bytes from {peer[0]}:{peer[1]}: {line}; never answered\n')
for c in held:
    c.close()
