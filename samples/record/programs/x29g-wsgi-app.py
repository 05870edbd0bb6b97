"""WSGI application for response-truncated-server-time-limits, served by gunicorn's sync worker.

  /ok                          2048 bytes with Content-Length
  /stream?n=N&size=S&ms=MS&cl=1|0
                               N chunks of S bytes, one every MS ms (a generator that sleeps between
                               yields); with cl=1 a Content-Length of N*S, else no length (gunicorn
                               sends HTTP/1.1 responses chunked)

Log (X29G_APP_LOG, JSON lines): "start" (time, client port, worker pid, path), "end" (time, chunks
yielded, and how the generator ended: "complete", or the exception that ended it, e.g. SystemExit when
gunicorn's arbiter sends the worker SIGABRT at its timeout).
"""
import json
import os
import time
from urllib.parse import parse_qs

LOG = os.environ.get('X29G_APP_LOG', '/dev/null')


def log(**kw):
    with open(LOG, 'a') as f:
        f.write(json.dumps(kw) + '\n')


def app(environ, start_response):
    path = environ.get('PATH_INFO', '')
    port = int(environ.get('REMOTE_PORT') or 0)
    q = {k: v[0] for k, v in parse_qs(environ.get('QUERY_STRING', '')).items()}
    log(event='start', t=time.time(), port=port, pid=os.getpid(), path=path + ('?' + environ['QUERY_STRING'] if environ.get('QUERY_STRING') else ''))
    if path == '/ok':
        body = b'k' * 2048
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
        log(event='end', t=time.time(), port=port, pid=os.getpid(), chunks=1, how='complete')
        return [body]
    if path == '/stream':
        n, size, ms = int(q.get('n', 50)), int(q.get('size', 2048)), int(q.get('ms', 100))
        headers = [('Content-Type', 'application/octet-stream')]
        if q.get('cl') == '1':
            headers.append(('Content-Length', str(n * size)))
        start_response('200 OK', headers)

        def gen():
            sent = 0
            how = 'complete'
            try:
                for i in range(n):
                    yield b's' * size
                    sent += 1
                    if i < n - 1:
                        time.sleep(ms / 1000.0)
            except BaseException as e:  # SystemExit from gunicorn's SIGABRT handler, GeneratorExit
                how = type(e).__name__
                raise
            finally:
                log(event='end', t=time.time(), port=port, pid=os.getpid(), chunks=sent, how=how)
        return gen()
    start_response('404 Not Found', [('Content-Length', '0')])
    return [b'']
