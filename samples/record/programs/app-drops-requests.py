#!/usr/bin/env python3
"""A python-requests Session against app-drops-server.py: GET /r1, then after `pause` s on the same
connection POST /r2-post (dropped: RemoteDisconnected; requests does not retry), GET /r3 on a new
connection, then after `pause` s GET /r4-get (dropped). One JSON line per request: what the caller got."""
import json, sys, time
import requests

base, pause, log_path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
s = requests.Session()
with open(log_path, 'a') as log:
    for i, (method, path, body) in enumerate([('GET', '/r1', None), ('POST', '/r2-post', b'{"pay":1}'), ('GET', '/r3', None), ('GET', '/r4-get', None)]):
        if i in (1, 3):
            time.sleep(pause)
        try:
            r = s.request(method, base + path, data=body, timeout=5)
            outcome = {'status': r.status_code}
        except requests.RequestException as e:
            outcome = {'error': type(e).__name__, 'cause': repr(e.args[0]) if e.args else ''}
        log.write(json.dumps({'ts': round(time.time(), 6), 'request': f'{method} {path}', **outcome}) + '\n')
