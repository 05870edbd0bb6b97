#!/usr/bin/env python3
"""Requests sent on a schedule, each from its own thread on its own connection (python requests,
a fresh Session per request), so that several are outstanding at once: the worker-limit recorders
(worker-timeout-*-concurrent, queued-behind-slow-*). Each item is OFFSET@METHOD:URI, OFFSET in
seconds from the start (a POST's URI with pad=N sends N more body bytes). What the client saw is written as JSON lines to --log (send with the local
port, response with status and elapsed time, error with the exception text).
Usage: wk-schedule-client.py --base http://H:P --log F [--timeout 15] [--source ADDR] OFFSET@METHOD:URI ...
"""
import argparse
import json
import socket
import threading
import time

import requests

ap = argparse.ArgumentParser()
ap.add_argument('--base', required=True)
ap.add_argument('--log', required=True)
ap.add_argument('--timeout', type=float, default=15.0)
ap.add_argument('--source', default=None, help='local address to connect from')
ap.add_argument('items', nargs='+')
args = ap.parse_args()
LOG = open(args.log, 'a', buffering=1)
LOCK = threading.Lock()


def log(event, **kw):
    rec = {'t': round(time.time(), 6), 'lib': 'requests', 'event': event}
    rec.update(kw)
    with LOCK:
        LOG.write(json.dumps(rec) + '\n')


class _SourceAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *a, **kw):
        if args.source:
            kw['source_address'] = (args.source, 0)
        super().init_poolmanager(*a, **kw)


def body_for(uri):
    # ?pad=N: a body of N bytes (bounded), more than the server reads before its handler runs.
    pad = 0
    if 'pad=' in uri:
        pad = min(int(uri.split('pad=', 1)[1].split('&', 1)[0]), 1 << 20)
    return json.dumps({'uri': uri}).encode() + b' ' * pad


def one(method, uri):
    s = requests.Session()
    s.mount('http://', _SourceAdapter())
    t0 = time.monotonic()
    log('send', method=method, uri=uri)
    try:
        r = s.request(method, args.base + uri, timeout=args.timeout,
                      data=body_for(uri) if method == 'POST' else None,
                      stream=True)
        port = None
        try:
            sock = r.raw._fp.fp.raw._sock  # the response's socket, for the local port
            port = sock.getsockname()[1] if isinstance(sock, socket.socket) else None
        except AttributeError:
            pass
        body = r.content
        log('response', method=method, uri=uri, status=r.status_code, port=port, bytes=len(body),
            elapsed=round(time.monotonic() - t0, 6))
    except requests.RequestException as e:
        log('error', method=method, uri=uri, error=type(e).__name__, text=str(e), elapsed=round(time.monotonic() - t0, 6))
    finally:
        s.close()


start = time.monotonic()
threads = []
for item in args.items[:40]:   # bounded
    offset, spec = item.split('@', 1)
    method, uri = spec.split(':', 1)
    delay = start + min(float(offset), 30.0) - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    t = threading.Thread(target=one, args=(method, uri), daemon=True)
    t.start()
    threads.append(t)
for t in threads:
    t.join(args.timeout + 5)
