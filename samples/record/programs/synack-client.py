#!/usr/bin/env python3
"""synack-lost's client: N connects one after another to HOST:PORT, each a GET with Connection:
close read to the end; one JSON line per connect on stdout with its local address, when the connect
began (wall clock, to match the capture), how long connect() took and the response status. Every
connect is bounded (--timeout s), and so is the whole run (N connects)."""
import argparse
import json
import socket
import time

ap = argparse.ArgumentParser()
ap.add_argument('--host', required=True)
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--count', type=int, required=True)
ap.add_argument('--gap', type=float, default=0.05, help='seconds between one connect\'s close and the next connect')
ap.add_argument('--timeout', type=float, default=10)
a = ap.parse_args()

for i in range(1, a.count + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    began = time.time()
    t0 = time.monotonic()
    line = {'i': i, 'connectStart': round(began, 6)}
    try:
        s.connect((a.host, a.port))
        line['connectSeconds'] = round(time.monotonic() - t0, 6)
        line['local'] = '%s:%d' % s.getsockname()
        s.sendall(f'GET /index.html?i={i} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\nConnection: close\r\n\r\n'.encode())
        data = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        line['status'] = int(data.split(b' ', 2)[1]) if data.startswith(b'HTTP/') else None
        line['bytes'] = len(data)
    except OSError as e:
        line['error'] = repr(e)
    finally:
        s.close()
    line['totalSeconds'] = round(time.monotonic() - t0, 6)
    print(json.dumps(line), flush=True)
    time.sleep(a.gap)
