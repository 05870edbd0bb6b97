"""A small WSGI application for the round-9 recorders (gunicorn): the ground truth of what
the server handled, written by the application itself (one JSON line per request start and
end, with the wall-clock time, the worker's pid and the client's port).

Routes: GET/POST /items/<anything> -> 200 small JSON (POST bodies are read and counted);
        /sleep/<seconds>/<anything> -> sleeps that long first (a slow handler, to meet
        gunicorn's --timeout); /sleepfirst/<seconds>/<anything> -> the same before reading a
        POST body (a worker killed meanwhile leaves the body unread: its connection is reset). Set X9_APP_LOG to the log file (appended, line-buffered).
"""
import json
import os
import time

_LOG = open(os.environ.get('X9_APP_LOG', '/dev/stderr'), 'a', buffering=1)


def _log(event, environ, **extra):
    rec = {'t': round(time.time(), 6), 'event': event, 'pid': os.getpid(),
           'client': f"{environ.get('REMOTE_ADDR')}:{environ.get('REMOTE_PORT')}",
           'method': environ.get('REQUEST_METHOD'), 'uri': environ.get('PATH_INFO')}
    rec.update(extra)
    _LOG.write(json.dumps(rec) + '\n')


def app(environ, start_response):
    _log('start', environ)
    length = int(environ.get('CONTENT_LENGTH') or 0)
    path = environ.get('PATH_INFO', '/')
    parts = path.strip('/').split('/')
    if parts[0] == 'sleepfirst' and len(parts) >= 2:
        time.sleep(min(float(parts[1]), 20.0))   # bounded; the body is read only after
    body_in = environ['wsgi.input'].read(length) if length > 0 else b''
    if parts[0] == 'sleep' and len(parts) >= 2:
        time.sleep(min(float(parts[1]), 20.0))   # bounded
    body = json.dumps({'path': path, 'received': len(body_in)}).encode() + b'\n'
    start_response('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))])
    _log('end', environ, status=200)
    return [body]
