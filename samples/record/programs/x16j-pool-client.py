#!/usr/bin/python3
"""The python requests clients of the x16j (Eclipse Jetty 9.4) recorders; run with Debian's
/usr/bin/python3 (python3-requests, python3-urllib3). One JSON object per line to --log (epoch
seconds): send (method, uri, reusePort: the pooled connection's local port, if any), response
(status, port, serverSaw: the client address Jetty saw), error (exception class, text, port of
the connection the request went out on), urllib3 (the library's own debug lines: new
connections, "Resetting dropped connection", retries). Every request carries a unique URI.

  healthy --steps GET:/p,sleep:0.3,POST:/q,...   one requests.Session for all steps, then
      Session.close() (the client closes its connections).
  sweep --gaps-ms 1960,1965,... --threads N --tag T   each round: a fresh requests.Session,
      a warm GET, sleep GAP ms after its response, then a GET or a POST (alternating by round)
      on the pooled connection, then Session.close(); rounds are spread over N threads.
Bounded by --max-seconds.
"""
import argparse
import http.client
import json
import logging
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument('mode', choices=['healthy', 'sweep'])
ap.add_argument('--base', required=True)
ap.add_argument('--log', required=True)
ap.add_argument('--steps', default='')
ap.add_argument('--gaps-ms', default='')
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--tag', default='py')
ap.add_argument('--max-seconds', type=float, default=40.0)
args = ap.parse_args()

import requests  # noqa: E402
import urllib3  # noqa: E402

LOG = open(args.log, 'a', buffering=1)
LOCK = threading.Lock()
START = time.monotonic()
TLS = threading.local()


def log(event, **kw):
    rec = {'t': round(time.time(), 6), 'lib': 'requests', 'thread': threading.current_thread().name, 'event': event}
    rec.update(kw)
    with LOCK:
        LOG.write(json.dumps(rec) + '\n')


class _ToLog(logging.Handler):
    def emit(self, record):
        log('urllib3', level=record.levelname, text=record.getMessage())


for name in ('urllib3.connectionpool', 'urllib3.util.retry'):
    lg = logging.getLogger(name)
    lg.setLevel(logging.DEBUG)
    lg.addHandler(_ToLog())

# Which local port did the request really go out on (urllib3 may have replaced a dropped
# connection after we looked at the pool)? Remembered per thread at send and at getresponse.
_send, _getresponse = http.client.HTTPConnection.send, http.client.HTTPConnection.getresponse


def _port(conn):
    try:
        return conn.sock.getsockname()[1] if conn.sock is not None else None
    except OSError:
        return None


def send(self, data):
    try:
        return _send(self, data)
    finally:
        TLS.port = _port(self) or getattr(TLS, 'port', None)


def getresponse(self, *a, **k):
    TLS.port = _port(self) or getattr(TLS, 'port', None)
    return _getresponse(self, *a, **k)


http.client.HTTPConnection.send = send
http.client.HTTPConnection.getresponse = getresponse
log('versions', python=sys.version.split()[0], requests=requests.__version__, urllib3=urllib3.__version__)


def pooled_port(s):
    pm = s.get_adapter(args.base).poolmanager
    for key in list(pm.pools.keys()):
        for c in list(pm.pools[key].pool.queue):
            if c is not None and getattr(c, 'sock', None) is not None:
                return _port(c)
    return None


def one(s, method, uri, **extra):
    TLS.port = None
    log('send', method=method, uri=uri, reusePort=pooled_port(s), **extra)
    body = json.dumps({'uri': uri, 'qty': 1}) if method == 'POST' else None
    try:
        r = s.request(method, args.base + uri, data=body,
                      headers={'Content-Type': 'application/json'} if body else None, timeout=10)
        saw = r.json().get('client')
        log('response', method=method, uri=uri, status=r.status_code, port=TLS.port, serverSaw=saw, **extra)
        return True
    except Exception as e:  # the client-side ground truth: what the application saw
        log('error', method=method, uri=uri, port=TLS.port, error=type(e).__name__, text=str(e), **extra)
        return False


def over_budget():
    return time.monotonic() - START > args.max_seconds


if args.mode == 'healthy':
    s = requests.Session()
    for n, step in enumerate(x for x in args.steps.split(',') if x):
        if over_budget():
            log('abort', why='time budget')
            break
        what, arg = step.split(':', 1)
        if what == 'sleep':
            time.sleep(float(arg))
        else:
            one(s, what, f'{arg}?i={n}')
    s.close()
    log('closed')
    sys.exit(0)

gaps = [int(g) for g in args.gaps_ms.split(',') if g]
queue = list(enumerate(gaps))
qlock = threading.Lock()


def worker():
    while not over_budget():
        with qlock:
            if not queue:
                return
            n, gap = queue.pop(0)
        method = 'POST' if n % 2 else 'GET'
        s = requests.Session()
        one(s, 'GET', f'/items/{args.tag}-{n}-warm', round=n, gapMs=gap)
        time.sleep(gap / 1000.0)
        one(s, method, f'/items/{args.tag}-{n}-{method.lower()}-gap{gap}', round=n, gapMs=gap)
        s.close()


threads = []
for i in range(args.threads):
    th = threading.Thread(target=worker, name=f'{args.tag}{i}')
    th.start()
    threads.append(th)
    time.sleep(0.137)   # staggered, so that the threads' requests do not coincide
for th in threads:
    th.join()
log('done')
