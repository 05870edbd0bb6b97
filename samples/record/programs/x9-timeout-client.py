#!/usr/bin/env python3
"""Requests against a server whose handler may outlive the server's own timeout (gunicorn
--timeout): each request on a fresh requests.Session (a new connection), one after another
with a pause between them; what the client saw is written as JSON lines to --log (send,
response with status and local port, error with the exception class and text).
Usage: x9-timeout-client.py --base http://H:P --log F --pause 0.3 [--timeout 10] METHOD:URI ...
"""
import argparse
import json
import sys
import time

import requests

ap = argparse.ArgumentParser()
ap.add_argument('--base', required=True)
ap.add_argument('--log', required=True)
ap.add_argument('--pause', type=float, default=0.3)
ap.add_argument('--timeout', type=float, default=10.0)
ap.add_argument('--header', action='append', default=[])
ap.add_argument('requests', nargs='+')
args = ap.parse_args()
LOG = open(args.log, 'a', buffering=1)


def log(event, **kw):
    rec = {'t': round(time.time(), 6), 'lib': 'requests', 'event': event}
    rec.update(kw)
    LOG.write(json.dumps(rec) + '\n')


headers = dict(h.split(':', 1) for h in args.header)
for i, spec in enumerate(args.requests[:20]):   # bounded
    method, uri = spec.split(':', 1)
    s = requests.Session()
    body = json.dumps({'n': i}).encode() if method == 'POST' else None
    t0 = time.monotonic()
    log('send', method=method, uri=uri)
    try:
        r = s.request(method, args.base + uri, data=body, timeout=args.timeout, headers=headers or None)
        log('response', method=method, uri=uri, status=r.status_code, after=round(time.monotonic() - t0, 6),
            connection=r.headers.get('Connection'))
    except Exception as e:
        log('error', method=method, uri=uri, error=type(e).__name__, text=str(e), after=round(time.monotonic() - t0, 6))
    s.close()
    time.sleep(args.pause)
log('done')
