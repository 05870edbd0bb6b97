#!/usr/bin/env python3
"""A pooled HTTP client (python requests.Session or a urllib3.PoolManager, default settings)
that paces requests right at the server's keep-alive close, for the round-9 recorders.

Each round uses a fresh pool: a warm GET opens the connection, then the next request
(GET or POST) is sent EPS ms before the moment the server's idle-close FIN reached the
client in the probe rounds (measured the same way: from just before the warm request to
the pooled socket becoming readable). Writes one JSON line per event to --log:
  probe (closeAfter), send (method, uri, reusePort), response (status, port), error
  (exception class and text), urllib3 (the library's own log lines: new connections,
  dropped connections reset, retries).
Usage: x9-pool-client.py --lib requests|urllib3 --base http://H:P --probes 2
                         --rounds GET:3,POST:3 --tag r1 --log FILE [--max-seconds 40]
A negative EPS sends that many ms after the FIN has arrived (the pool's check for a dropped
connection then sees it).
"""
import argparse
import json
import logging
import select
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument('--lib', choices=['requests', 'urllib3'], required=True)
ap.add_argument('--base', required=True)
ap.add_argument('--probes', type=int, default=2)
ap.add_argument('--rounds', default='')
ap.add_argument('--tag', default='r')
ap.add_argument('--log', required=True)
ap.add_argument('--max-seconds', type=float, default=40.0)
args = ap.parse_args()

import urllib3  # noqa: E402
import requests  # noqa: E402

LOG = open(args.log, 'a', buffering=1)
START = time.monotonic()


def log(event, **kw):
    rec = {'t': round(time.time(), 6), 'lib': args.lib, 'event': event}
    rec.update(kw)
    LOG.write(json.dumps(rec) + '\n')


class _ToLog(logging.Handler):
    def emit(self, record):
        log('urllib3', level=record.levelname, text=record.getMessage())


_h = _ToLog()
for name in ('urllib3.connectionpool', 'urllib3.util.retry'):
    lg = logging.getLogger(name)
    lg.setLevel(logging.DEBUG)
    lg.addHandler(_h)
log('versions', python=sys.version.split()[0], urllib3=urllib3.__version__, requests=requests.__version__)


class Pool:
    """One fresh pool: requests.Session() or urllib3.PoolManager(), both with their defaults."""

    def __init__(self):
        if args.lib == 'requests':
            self.s = requests.Session()
            self.pm = self.s.get_adapter(args.base).poolmanager
        else:
            self.pm = urllib3.PoolManager()

    def request(self, method, uri, body=None):
        url = args.base + uri
        if args.lib == 'requests':
            r = self.s.request(method, url, data=body, headers={'Content-Type': 'application/json'} if body else None)
            return r.status_code
        r = self.pm.request(method, url, body=body, headers={'Content-Type': 'application/json'} if body else None)
        return r.status

    def sock(self):
        # The pools as the library keyed them (requests adds TLS settings to the key).
        for key in list(self.pm.pools.keys()):
            for c in list(self.pm.pools[key].pool.queue):
                if c is not None and getattr(c, 'sock', None) is not None:
                    return c.sock
        return None

    def port(self):
        s = self.sock()
        return s.getsockname()[1] if s else None

    def close(self):
        if args.lib == 'requests':
            self.s.close()
        else:
            self.pm.clear()


def over_budget():
    return time.monotonic() - START > args.max_seconds


def one(pool, method, uri, body=None):
    log('send', method=method, uri=uri, reusePort=pool.port())
    try:
        status = pool.request(method, uri, body)
        log('response', method=method, uri=uri, status=status, port=pool.port())
        return True
    except Exception as e:  # the client-side ground truth: what the application saw
        log('error', method=method, uri=uri, error=type(e).__name__, text=str(e))
        return False


# Probes: when does the server's idle close reach us, counted from just before the warm request?
closes = []
for i in range(args.probes):
    if over_budget():
        break
    p = Pool()
    t0 = time.monotonic()
    one(p, 'GET', f'/items/{args.tag}-probe-{i}')
    s = p.sock()
    if s is None:
        continue
    ready, _, _ = select.select([s], [], [], 8.0)   # bounded
    if ready:
        closes.append(time.monotonic() - t0)
        log('probe', port=s.getsockname()[1], closeAfter=round(closes[-1], 6))
    p.close()
if not closes:
    log('abort', why='no idle close seen in the probes')
    sys.exit(2)
close_after = statistics.median(closes)

for n, spec in enumerate(x for x in args.rounds.split(',') if x):
    if over_budget():
        log('abort', why='time budget')
        break
    method, eps = spec.split(':')
    p = Pool()
    t0 = time.monotonic()
    one(p, 'GET', f'/items/{args.tag}-{n}-warm')
    wait = t0 + close_after - float(eps) / 1000.0 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    body = json.dumps({'order': n, 'qty': 1}).encode() if method == 'POST' else None
    one(p, method, f'/items/{args.tag}-{n}-{method.lower()}-eps{eps}', body)
    p.close()
log('done')
