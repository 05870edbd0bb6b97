# A tiny ASGI app for keepalive-race-hypercorn.sh, run by Hypercorn (Debian python3-hypercorn):
#   hypercorn ... samples/record/programs/x20h-asgi-app.py:app
# GET -> 200 text/plain "ok <uri>", POST -> reads the body, 201 application/json. It reads every
# request to its end (http.request with more_body false) before answering: Hypercorn keeps a
# connection open for the next request only when h11 has seen the whole request (else it closes after
# the response). It answers the lifespan protocol (Hypercorn's trio worker insists on it). Each request
# it handled is one JSON line appended to $X20H_SERVER_LOG (wall clock t, pid, the client's port,
# method, uri, status, body bytes), the format programs/x19l-meta.py reads: ground truth that a
# request reached the application.
import json
import os
import time

LOG = os.environ.get('X20H_SERVER_LOG', '/dev/stderr')


def log_line(**e):
    with open(LOG, 'a') as f:
        f.write(json.dumps(e) + '\n')


async def app(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            m = await receive()
            if m['type'] == 'lifespan.startup':
                await send({'type': 'lifespan.startup.complete'})
            elif m['type'] == 'lifespan.shutdown':
                await send({'type': 'lifespan.shutdown.complete'})
                return
    if scope['type'] != 'http':
        return
    read = 0
    while True:
        m = await receive()
        if m['type'] == 'http.disconnect':
            return
        read += len(m.get('body', b''))
        if not m.get('more_body'):
            break
    method = scope['method']
    uri = scope['path'] + ('?' + scope['query_string'].decode('latin-1') if scope['query_string'] else '')
    if method == 'POST':
        status, ctype, body = 201, b'application/json', json.dumps({'ok': True, 'bytes': read}).encode() + b'\n'
    else:
        status, ctype, body = 200, b'text/plain', f'ok {uri}\n'.encode()
    log_line(event='request', t=round(time.time(), 6), pid=os.getpid(), port=scope['client'][1] if scope.get('client') else None,
             method=method, uri=uri, status=status, bodyBytes=read)
    await send({'type': 'http.response.start', 'status': status,
                'headers': [(b'content-type', ctype), (b'content-length', str(len(body)).encode())]})
    await send({'type': 'http.response.body', 'body': body})
