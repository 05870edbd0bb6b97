#!/usr/bin/env python3
"""Python http.client POSTs over TLS on one HTTPSConnection, after set pauses (keepalive-race-tls-early-answer).

http.client writes a request's head and its body as two TLS records (here 1 ms apart); nginx's `return` answers on the
head alone, so the answer comes between them. http.client has no idle limit and does not check the
socket before reuse: a request after a pause longer than the server's keep-alive timeout is written
on the connection the server already closed (close_notify + FIN), and fails with ssl.SSLEOFError.
After a failure the code closes the connection; the next request opens a new one.
Logs one JSON line per request: {"tag", "t" (wall clock at the send), "ok", "status"|"error"}.
"""
import argparse
import http.client
import json
import ssl
import time

ap = argparse.ArgumentParser()
ap.add_argument('--host', required=True)
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--cafile', required=True)
ap.add_argument('--gaps', required=True, help='comma-separated pauses (s) before each request after the first')
ap.add_argument('--log', required=True)
args = ap.parse_args()

ctx = ssl.create_default_context(cafile=args.cafile)
conn = http.client.HTTPSConnection(args.host, args.port, context=ctx, timeout=5)
gaps = [float(g) for g in args.gaps.split(',')]
with open(args.log, 'w') as log:
    for i, gap in enumerate([0.0] + gaps):
        time.sleep(gap)
        tag = 'warm' if i == 0 else f'gap{gap}'
        t = time.time()
        try:
            body = b'{"qty":1}' + b' ' * 291
            # As conn.request() does (head, then body, two writes, two TLS records), with 1 ms between
            # them so that a server answering on the head (nginx's `return`) always answers before the
            # body arrives; conn.request() leaves that to the scheduler (blind round 13, tls S1: 0.2 ms).
            conn.putrequest('POST', f'/api/orders/{i}')
            conn.putheader('Content-Type', 'application/json')
            conn.putheader('Content-Length', str(len(body)))
            conn.endheaders()
            time.sleep(0.001)
            conn.send(body)
            r = conn.getresponse()
            r.read()
            log.write(json.dumps({'tag': tag, 't': t, 'ok': True, 'status': r.status}) + '\n')
        except Exception as e:  # the stale reuse: ssl.SSLEOFError (or RemoteDisconnected)
            log.write(json.dumps({'tag': tag, 't': t, 'ok': False, 'error': f'{type(e).__name__}: {e}'}) + '\n')
            conn.close()
        log.flush()
conn.close()
