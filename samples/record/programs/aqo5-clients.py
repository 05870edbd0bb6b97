#!/usr/bin/env python3
"""The clients of accept-queue-abort-on-overflow, in order (each a plain socket, one GET):
  fill1-fill3: connect and send at once: their data completes the handshake, the accept queue
    (backlog 3) takes them;
  data1: connects, then sends 0.4 s later, after fill4 filled the queue: its data completes the
    handshake, finds the queue full, and the kernel (tcp_abort_on_overflow=1) resets it;
  idle1: connects and sends nothing: the kernel repeats its SYN-ACK after the 1 s deferral, the
    client's ACK of it completes the handshake, the queue is full: reset;
  fill4: connects and sends at once: the fourth queued connection (backlog + 1), the queue is full.
A full accept queue drops new SYNs, and with tcp_syncookies=0 the SYN queue holds `backlog`
pending handshakes: hence the order. Once data1 and idle1 have ended, creates the file GO (the
server's signal to start accepting). Usage: aqo5-clients.py PORT GO LOG; writes one JSON line per
client (port, error, times) to LOG."""
import json
import socket
import sys
import threading
import time

port, go, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
REQUEST = b'GET /item HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
results = []
lock = threading.Lock()


def connect(name):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(6)
    s.connect(('127.0.0.1', port))
    return {'name': name, 'sock': s, 'port': s.getsockname()[1], 'connected': time.time()}


def finish(c, send_after):
    s = c['sock']
    out = {'name': c['name'], 'port': c['port'], 'connected': round(c['connected'], 6)}
    try:
        if send_after is not None:
            time.sleep(send_after)
            out['sent'] = round(time.time(), 6)
            s.sendall(REQUEST)
        data = s.recv(100)
        out['error'] = None if data else 'EOF'
    except OSError as e:
        out['error'] = type(e).__name__ if e.errno is None else __import__('errno').errorcode.get(e.errno, str(e.errno))
    out['ended'] = round(time.time(), 6)
    s.close()
    with lock:
        results.append(out)


threads = {}


def run(c, send_after):
    t = threading.Thread(target=finish, args=(c, send_after))
    t.start()
    threads[c['name']] = t


for name in ('fill1', 'fill2', 'fill3'):
    run(connect(name), 0)
    time.sleep(0.05)
run(connect('data1'), 0.4)
time.sleep(0.05)
run(connect('idle1'), None)
time.sleep(0.05)
run(connect('fill4'), 0)
for name in ('data1', 'idle1'):
    threads[name].join(4)
open(go, 'w').close()
for t in threads.values():
    t.join(8)
with open(log, 'w') as f:
    for r in sorted(results, key=lambda r: r['connected']):
        f.write(json.dumps(r) + '\n')
