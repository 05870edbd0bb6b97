#!/usr/bin/env python3
"""A raw HTTP server for response-truncated-paced-exit: accepts one connection, answers its request
with a chunked 200 whose chunks it writes PAUSE seconds apart, and then either exits (os._exit, its
kernel closing the socket with a FIN mid-body: a crash between two writes) one PAUSE after its last
chunk, or finishes the body (mode `complete`: the near miss). Logs one JSON line per event."""
import json, os, socket, sys, time

addr, port, pause, chunks, mode, log = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
CHUNK = 2000

def note(**kw):
    kw['t'] = time.time()
    with open(log, 'a') as f:
        f.write(json.dumps(kw) + '\n')

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(4)
ls.settimeout(20)
c, peer = ls.accept()
c.settimeout(10)
buf = b''
while b'\r\n\r\n' not in buf:
    data = c.recv(4096)
    if not data:
        sys.exit(1)
    buf += data
note(event='request', line=buf.split(b'\r\n')[0].decode(), port=peer[1])
c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n')
for i in range(chunks):
    c.sendall(b'%x\r\n' % CHUNK + b'c' * CHUNK + b'\r\n')
    note(event='chunk', n=i + 1, port=peer[1])
    time.sleep(pause)
if mode == 'complete':
    c.sendall(b'0\r\n\r\n')
    note(event='complete', port=peer[1])
    c.close()
    sys.exit(0)
note(event='exit', port=peer[1])
os._exit(3)
