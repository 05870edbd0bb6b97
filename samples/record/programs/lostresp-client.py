#!/usr/bin/env python3
"""Client for lost-response-client-timeout: python http.client, timeout 1 s, one keep-alive
connection for /small, /small, /near, /small, /lost; after an error it closes the connection and
opens a new one for the next request (/small). Logs each request (time, local port, path, outcome)."""
import http.client
import sys
import time

host, port, log = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], 'a', buffering=1)
conn = None
for path in ['/small', '/small', '/near', '/small', '/lost', '/small']:
    if conn is None:
        conn = http.client.HTTPConnection(host, port, timeout=1)
    start = time.time()
    try:
        conn.request('GET', path)
        if conn.sock is not None:
            lport = conn.sock.getsockname()[1]
        resp = conn.getresponse()
        body = resp.read()
        log.write(f'{start:.6f} {lport} {path} {resp.status} {len(body)} {time.time() - start:.3f}\n')
    except Exception as e:  # noqa: BLE001 - the outcome is what is logged
        log.write(f'{start:.6f} {lport} {path} {type(e).__name__} 0 {time.time() - start:.3f}\n')
        conn.close()
        conn = None
    time.sleep(0.05)
if conn is not None:
    conn.close()
