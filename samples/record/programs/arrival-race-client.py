#!/usr/bin/env python3
"""A keep-alive client whose reused connection's request arrives just as lighttpd's idle timer fires.

lighttpd 1.4 checks idle keep-alive connections once per second of its monotonic clock, on the
first event-loop pass of each new second, and before it handles that pass's socket events. With
server.max-keep-alive-idle = 1 a connection last read in second k is closed in the first pass of
second k + 2. A request that arrives a few milliseconds into second k + 2 (before lighttpd's own
once-a-second wakeup) wakes the loop, the timeout sweep runs first and closes the connection with
the request unread in its buffer: the kernel has ACKed it, lighttpd sends FIN (a lingering close)
and never answers. The client gets EOF and, like most pools, retries on a new connection.

Sequence (times aligned on CLOCK_MONOTONIC, the clock lighttpd's timeouts use):
  connection A: GET /cart.json, 0.3 s later GET /cart.json?warm (a healthy reuse),
                then GET /cart.json?sync at k + 0.8, then GET /cart.json?second at k + 2 + 5 ms → EOF;
  connection B: the retry of GET /cart.json?second, then POST /cgi-bin/post.sh the same way → EOF;
  connection C: the retry of the POST, then left idle until lighttpd closes it (an idle close).
Each event is one JSON line in --log. Every wait is bounded.
"""
import argparse
import json
import socket
import time

ap = argparse.ArgumentParser()
ap.add_argument('--host', default='127.0.0.1')
ap.add_argument('--port', type=int, default=8082)
ap.add_argument('--log', required=True)
ap.add_argument('--into-second-ms', type=float, default=5.0, help='how far into second k + 2 the late request is sent')
args = ap.parse_args()

log = open(args.log, 'w')


def note(**event):
    event['mono'] = round(time.monotonic(), 6)
    event['wall'] = round(time.time(), 6)
    log.write(json.dumps(event) + '\n')
    log.flush()


def connect():
    s = socket.create_connection((args.host, args.port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request_bytes(method, uri, body=b''):
    head = f'{method} {uri} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\nUser-Agent: arrival-race-client\r\n'
    if method == 'POST':
        head += f'Content-Type: application/json\r\nContent-Length: {len(body)}\r\n'
    return (head + '\r\n').encode() + body


def exchange(s, method, uri, body=b''):
    """Sends one request; returns the status line, or None when the server closed without answering."""
    name = s.getsockname()
    s.sendall(request_bytes(method, uri, body))
    note(event='request', client=f'{name[0]}:{name[1]}', method=method, uri=uri)
    buf = b''
    while b'\r\n\r\n' not in buf:
        chunk = s.recv(65536)
        if not chunk:
            note(event='eof', client=f'{name[0]}:{name[1]}', method=method, uri=uri, received=len(buf))
            return None
        buf += chunk
    head, rest = buf.split(b'\r\n\r\n', 1)
    lines = head.decode('latin-1').split('\r\n')
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(':')
        if k.strip().lower() == 'content-length':
            length = int(v.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    note(event='response', client=f'{name[0]}:{name[1]}', method=method, uri=uri, status=lines[0])
    return lines[0]


def sleep_until_mono(t):
    while True:
        left = t - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.2))


def late_request(s, method, uri, body=b''):
    """Reads at k + 0.8, then sends the request into second k + 2 (lighttpd's sweep closes it first)."""
    now = time.monotonic()
    k = int(now) + 1
    sleep_until_mono(k + 0.8)
    exchange(s, 'GET', '/cart.json?sync')
    sleep_until_mono(k + 2 + args.into_second_ms / 1000)
    return exchange(s, method, uri, body)


POST_BODY = b'{"sku":"widget","qty":1}'

a = connect()
exchange(a, 'GET', '/cart.json')
time.sleep(0.3)
exchange(a, 'GET', '/cart.json?warm')
got = late_request(a, 'GET', '/cart.json?second')
a.close()

b = connect()
if got is None:
    exchange(b, 'GET', '/cart.json?second')  # the retry
got = late_request(b, 'POST', '/cgi-bin/post.sh', POST_BODY)
b.close()

c = connect()
if got is None:
    exchange(c, 'POST', '/cgi-bin/post.sh', POST_BODY)  # the retry (a POST: the pool risks a duplicate)
c.settimeout(5)
name = c.getsockname()
try:
    left = c.recv(1)
    note(event='idle-close' if not left else 'unexpected-bytes', client=f'{name[0]}:{name[1]}')
except socket.timeout:
    note(event='idle-timeout-not-seen', client=f'{name[0]}:{name[1]}')
c.close()
note(event='done')
