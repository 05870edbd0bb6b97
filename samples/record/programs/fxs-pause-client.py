#!/usr/bin/env python3
"""A keep-alive client for server-paused-sigstop.sh: GET PATH-PREFIX/rN every GAP seconds for
DURATION seconds on one connection, with a TIMEOUT (socket timeout: a request not answered in
time is given up, the connection closed and a new one opened for the next request). Logs each
request's outcome. Usage: fxs-pause-client.py PORT TIMEOUT GAP DURATION PREFIX"""
import http.client
import socket
import sys
import time

port, timeout, gap, duration, prefix = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
end = time.time() + duration
conn = None
n = 0
while time.time() < end and n < 1000:
    n += 1
    if conn is None:
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    start = time.time()
    try:
        conn.request('GET', '%s/r%d' % (prefix, n), headers={'User-Agent': 'fxs-pause-client/%s' % prefix.strip('/')})
        resp = conn.getresponse()
        resp.read()
        print('%.6f %s/r%d %d after %.3f' % (start, prefix, n, resp.status, time.time() - start), flush=True)
    except (socket.timeout, TimeoutError):
        print('%.6f %s/r%d TIMEOUT after %.3f' % (start, prefix, n, time.time() - start), flush=True)
        conn.close()
        conn = None
    time.sleep(gap)
if conn is not None:
    conn.close()
