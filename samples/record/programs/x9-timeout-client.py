#!/usr/bin/env python3
"""A sequence of requests with python requests, one after another with a pause between them:
each on a fresh requests.Session (a new connection; for a server whose handler may outlive the
server's own timeout, gunicorn --timeout), or with --shared all on one Session (its pool reuses
connections; `sleep:SECONDS` items idle it). What the client saw is written as JSON lines to
--log (send, response with status, Connection header and local port, error with the exception
class and text), with urllib3's own log lines (new connections, dropped connections reset).
Usage: x9-timeout-client.py --base http://H:P --log F --pause 0.3 [--timeout 10] [--shared] [--source ADDR]
                            METHOD:URI|sleep:SECONDS ...
"""
import argparse
import json
import logging
import time

import requests

ap = argparse.ArgumentParser()
ap.add_argument('--base', required=True)
ap.add_argument('--log', required=True)
ap.add_argument('--pause', type=float, default=0.3)
ap.add_argument('--timeout', type=float, default=10.0)
ap.add_argument('--header', action='append', default=[])
ap.add_argument('--shared', action='store_true')
ap.add_argument('--source', default=None, help='local address to connect from')
ap.add_argument('requests', nargs='+')
args = ap.parse_args()
LOG = open(args.log, 'a', buffering=1)


def log(event, **kw):
    rec = {'t': round(time.time(), 6), 'lib': 'requests', 'event': event}
    rec.update(kw)
    LOG.write(json.dumps(rec) + '\n')


class _ToLog(logging.Handler):
    def emit(self, record):
        log('urllib3', level=record.levelname, text=record.getMessage())


_lg = logging.getLogger('urllib3.connectionpool')
_lg.setLevel(logging.DEBUG)
_lg.addHandler(_ToLog())


def local_port(session):
    pm = session.get_adapter(args.base).poolmanager
    for key in list(pm.pools.keys()):
        for c in list(pm.pools[key].pool.queue):
            if c is not None and getattr(c, 'sock', None) is not None:
                return c.sock.getsockname()[1]
    return None


class _SourceAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *a, **kw):
        kw['source_address'] = (args.source, 0)
        super().init_poolmanager(*a, **kw)


def new_session():
    s = requests.Session()
    if args.source:
        s.mount('http://', _SourceAdapter())
    return s


headers = dict(h.split(':', 1) for h in args.header)
shared = new_session() if args.shared else None
for i, spec in enumerate(args.requests[:40]):   # bounded
    method, uri = spec.split(':', 1)
    if method == 'sleep':
        time.sleep(min(float(uri), 10.0))
        continue
    s = shared or new_session()
    body = json.dumps({'n': i}).encode() if method == 'POST' else None
    t0 = time.monotonic()
    log('send', method=method, uri=uri)
    try:
        r = s.request(method, args.base + uri, data=body, timeout=args.timeout, headers=headers or None)
        log('response', method=method, uri=uri, status=r.status_code, after=round(time.monotonic() - t0, 6),
            connection=r.headers.get('Connection'), port=local_port(s))
    except Exception as e:
        log('error', method=method, uri=uri, error=type(e).__name__, text=str(e), after=round(time.monotonic() - t0, 6))
    if shared is None:
        s.close()
    time.sleep(args.pause)
if shared is not None:
    shared.close()
log('done')
