#!/usr/bin/env python3
"""One keep-alive client: sends PLAN (think:METHOD:path,...) to HOST:PORT on one connection (a new
one when the proxy closed it), logging each status. Usage: lazy-race-client.py HOST PORT PLAN NAME"""
import http.client, sys, time

HOST, PORT, PLAN, NAME = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
for i, step in enumerate(PLAN.split(',')):
    think, method, path = step.split(':')
    time.sleep(float(think))
    t = time.time()
    try:
        conn.request(method, path, body=b'x' * 64 if method == 'POST' else None)
        r = conn.getresponse()
        r.read()
        status = r.status
    except Exception as e:  # the proxy closed without an answer
        status = type(e).__name__
        conn.close()
        conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
    print('%.6f %s i=%d %s %s status=%s t=%.3f' % (t, NAME, i, method, path, status, time.time() - t), flush=True)
