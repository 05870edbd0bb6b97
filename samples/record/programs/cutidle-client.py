#!/usr/bin/env python3
"""Keep-alive client for response-truncated-keepalive-idle-apache: one python http.client connection
per `conn:` group, running ops in order, each result one JSON line on stdout.

Usage: cutidle-client.py HOST PORT OP...   OP: GET:/path | POST:/path (100-byte body) | sleep:SECONDS
       | close (close this connection and open the next one on the following request)
Every wait is bounded (socket timeout 10 s); nothing loops.
"""
import http.client
import json
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection(host, port, timeout=10)


def log(**kv):
    kv["t"] = round(time.time(), 6)
    print(json.dumps(kv), flush=True)


for op in sys.argv[3:]:
    if op == "close":
        conn.close()
        conn = http.client.HTTPConnection(host, port, timeout=10)
        continue
    kind, arg = op.split(":", 1)
    if kind == "sleep":
        time.sleep(float(arg))
        continue
    lport = None
    try:
        conn.request(kind, arg, body=b"x" * 100 if kind == "POST" else None)
        lport = conn.sock.getsockname()[1]
        r = conn.getresponse()
        body = r.read()
        log(method=kind, uri=arg, port=port, clientPort=lport, status=r.status, bytes=len(body))
    except Exception as e:  # the cut: http.client.IncompleteRead after the server's FIN
        log(method=kind, uri=arg, port=port, clientPort=lport, error=type(e).__name__)
        conn.close()
        conn = http.client.HTTPConnection(host, port, timeout=10)
conn.close()
