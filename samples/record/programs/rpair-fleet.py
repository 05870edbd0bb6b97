#!/usr/bin/env python3
"""Clients of one host on a common schedule (retried-request-common-schedule).

Four fleet clients A-D (Python http.client, one kept-alive connection each, no retry) send GET /a
at fixed offsets from one start: B, C and D every 1.5 s; A at 0.3 s, then 4.5 s idle, so its
second GET meets the server's 3 s idle close and is reset; A reconnects at once and sends its next
call 0.3 s later. B's thread runs 2 ms behind A's, so B's scheduled GET on its open connection
goes out just after A's reset: a coincidence, not a retry. C and D run 1 and 0.5 ms ahead.

A pool client P (two connections, retry on another pooled connection, as urllib3's Retry picks
an idle one) sends GET /r on p1 at 0.6 s, opens p2 and sends GET /r on it at 3.9 s, then GET /r on
p1 at 5.6 s (idle 5 s: reset) and resends it at once on p2 (idle 1.7 s, alive): a real retry.

Each line of the log is one JSON object: name, conn (local port), sent (epoch s), status or
error; P's retry line has retryOf. Bounded: every client ends after its last offset (about 7 s).
"""
import argparse
import http.client
import json
import threading
import time

p = argparse.ArgumentParser()
p.add_argument('--host', required=True)
p.add_argument('--port', type=int, required=True)
p.add_argument('--start', type=float, required=True, help='epoch seconds of the common start')
p.add_argument('--log', required=True)
args = p.parse_args()

lock = threading.Lock()
FAILS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def log(**kw):
    with lock, open(args.log, 'a') as f:
        f.write(json.dumps(kw) + '\n')


def at(offset):
    delay = args.start + offset - time.time()
    if delay > 0:
        time.sleep(delay)


def connect():
    c = http.client.HTTPConnection(args.host, args.port, timeout=5)
    c.connect()
    return c


def get(c, path):
    """Sends GET path on c; (local port, send time, status or None, error name or None)."""
    port = c.sock.getsockname()[1]
    t = time.time()
    try:
        c.request('GET', path)
        r = c.getresponse()
        r.read()
        return port, t, r.status, None
    except FAILS as e:
        return port, t, None, type(e).__name__


def fleet(name, offsets):
    c = connect()
    for off in offsets:
        at(off)
        port, t, status, err = get(c, '/a')
        log(name=name, conn=port, path='/a', offset=off, sent=t, status=status, error=err)
        if err is not None:
            # What the failed client does: a new connection at once, its next call at its pace.
            c.close()
            c = connect()
            log(name=name, reconnected=c.sock.getsockname()[1], at=time.time())
    c.close()


def pool():
    p1 = connect()
    at(0.6)
    port, t, status, err = get(p1, '/r')
    log(name='P', conn=port, path='/r', offset=0.6, sent=t, status=status, error=err)
    at(3.85)
    p2 = connect()
    at(3.9)
    port, t, status, err = get(p2, '/r')
    log(name='P', conn=port, path='/r', offset=3.9, sent=t, status=status, error=err)
    at(5.6)
    port, t, status, err = get(p1, '/r')
    log(name='P', conn=port, path='/r', offset=5.6, sent=t, status=status, error=err)
    if err is not None:
        failed = port
        port, t, status, err = get(p2, '/r')
        log(name='P', conn=port, path='/r', sent=t, status=status, error=err, retryOf=failed)
    p1.close()
    p2.close()


TICKS = [0.3 + 1.5 * k for k in range(5)]
threads = [
    threading.Thread(target=fleet, args=('A', [0.3, 4.8, 5.1])),
    threading.Thread(target=fleet, args=('B', [t + 0.002 for t in TICKS])),
    threading.Thread(target=fleet, args=('C', [t - 0.001 for t in TICKS])),
    threading.Thread(target=fleet, args=('D', [t - 0.0005 for t in TICKS])),
    threading.Thread(target=pool),
]
for th in threads:
    th.start()
for th in threads:
    th.join(15)
