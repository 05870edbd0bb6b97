#!/usr/bin/env python3
"""A client of reset-before-response-firewall: python http.client, one connection (keep-alive),
optionally from a fixed local port, sending GET for each path 0.2 s apart; a failed request closes
the connection and the next goes on a new one. Logs each outcome (JSON lines to LOG) with the
local port. Usage: fwr-client.py HOST PORT LOG LANE PATH,PATH,... [LOCAL_PORT]"""
import http.client
import json
import sys
import time

host, port, log, lane, paths = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], 'a', buffering=1), sys.argv[4], sys.argv[5].split(',')
local = int(sys.argv[6]) if len(sys.argv) > 6 else None
conn = http.client.HTTPConnection(host, port, timeout=3, source_address=('0.0.0.0', local) if local else None)
for i, path in enumerate(paths):
    if i > 0:
        time.sleep(0.2)
    t = time.time()
    try:
        if conn.sock is None:
            conn.connect()
        lport = conn.sock.getsockname()[1]
        conn.request('GET', path)
        r = conn.getresponse()
        r.read()
        log.write(json.dumps({'t': t, 'lane': lane, 'port': lport, 'uri': path, 'status': r.status}) + '\n')
    except Exception as e:  # the outcome is the point: logged, then a new connection for the next
        log.write(json.dumps({'t': t, 'lane': lane, 'port': lport, 'uri': path, 'error': type(e).__name__, 'message': str(e)}) + '\n')
        conn.close()
