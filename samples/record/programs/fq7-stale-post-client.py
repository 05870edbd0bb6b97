#!/usr/bin/env python3
"""Client for rst-on-close-nginx-stale-post: writes one JSON line per request (ground truth).

Lane "stale" (port A, nginx `return 200`, keepalive_timeout 1s): http.client sends a POST's head,
then its body 50 ms later; nginx answers 200 on the head and discards the body itself. The
client reads the 200, idles past the keep-alive timeout (nginx closes with FIN), then sends a GET
on the same connection: nginx's kernel resets it (stale reuse). Twice, each on its own connection.
Lane "refused" (port B, client_max_body_size 16k, lingering_close off): a raw socket sends a
300000-byte chunked body; nginx answers 413 once 16k have come and closes with the rest unread (RST).
"""
import argparse
import http.client
import json
import socket
import time

p = argparse.ArgumentParser()
p.add_argument('--host', default='127.0.0.1')
p.add_argument('--stale-port', type=int, required=True)
p.add_argument('--refused-port', type=int, required=True)
p.add_argument('--idle', type=float, required=True)
p.add_argument('--log', required=True)
a = p.parse_args()
log = open(a.log, 'w')


def note(**kw):
    kw['ts'] = time.time()
    log.write(json.dumps(kw) + '\n')
    log.flush()


for i in range(2):
    c = http.client.HTTPConnection(a.host, a.stale_port, timeout=5)
    c.connect()
    port = c.sock.getsockname()[1]
    # The head, then the body 50 ms later: nginx answers on the head before the body has come
    # (over a real path, as in the blind storm, its answer overtakes the body by itself).
    body = b'p' * 60000
    c.putrequest('POST', f'/post/{i}')
    c.putheader('Content-Type', 'application/octet-stream')
    c.putheader('Content-Length', str(len(body)))
    c.endheaders()
    time.sleep(0.05)
    c.send(body)
    r = c.getresponse()
    r.read()
    note(lane='stale', port=port, method='POST', status=r.status, error=None)
    time.sleep(a.idle)
    try:
        c.request('GET', f'/after/{i}')
        r = c.getresponse()
        r.read()
        note(lane='stale', port=port, method='GET', status=r.status, error=None)
    except (OSError, http.client.HTTPException) as e:
        note(lane='stale', port=port, method='GET', status=None, error=type(e).__name__)
    c.close()

s = socket.create_connection((a.host, a.refused_port), timeout=5)
port = s.getsockname()[1]
total = 300000
err = None
reply = b''
try:
    # Chunked: its size shows only as it arrives, so nginx reads past its limit, then refuses.
    s.sendall(b'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
    for _ in range(total // 10000):
        s.sendall(b'2710\r\n' + b'u' * 10000 + b'\r\n')
        time.sleep(0.002)
    s.sendall(b'0\r\n\r\n')
except OSError as e:
    err = type(e).__name__
try:
    reply = s.recv(4096)
except OSError as e:
    err = err or type(e).__name__
status = int(reply.split()[1]) if reply.startswith(b'HTTP/') else None
note(lane='refused', port=port, method='POST', status=status, error=err)
s.close()
