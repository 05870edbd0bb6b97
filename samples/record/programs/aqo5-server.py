#!/usr/bin/env python3
"""A listener stalled before its first accept() until the file GO exists (at most 20 s): listen(BACKLOG) with
TCP_DEFER_ACCEPT (as nginx's `listen ... deferred` or HAProxy's `defer-accept`), so a handshake is
completed by the client's first data, or by its ACK of the SYN-ACK the kernel repeats once the
deferral (1 s) has passed. After the stall it accepts and answers each connection 200 with
`Connection: close`, logging the client port and time. Usage: aqo5-server.py PORT BACKLOG GO LOG.
Runs until killed."""
import os
import signal
import socket
import sys
import time

port, backlog, go, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
s.bind(('127.0.0.1', port))
s.listen(backlog)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with open(log, 'w', buffering=1) as f:
    f.write(f'listening {time.time():.6f} backlog {backlog} defer_accept 1\n')
    for _ in range(400):
        if os.path.exists(go):
            break
        time.sleep(0.05)
    f.write(f'accepting {time.time():.6f}\n')
    while True:
        c, addr = s.accept()
        c.settimeout(2)
        try:
            c.recv(4096)
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n')
            f.write(f'served {addr[1]} {time.time():.6f}\n')
        except OSError as e:
            f.write(f'failed {addr[1]} {time.time():.6f} {e}\n')
        c.close()
