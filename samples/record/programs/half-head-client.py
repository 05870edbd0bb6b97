#!/usr/bin/env python3
"""Raw-socket HTTP/1.1 client for slow-client-timeout-go-header.sh: one connection, one request.

--mode whole:   the whole head at once, reads the answer (must stay clean).
--mode stall:   the request line and Host, then a pause of --pause s inside the head, then the rest;
                reads what comes (a server's header timer closes on it first: EOF, or a reset).
--mode abandon: the request line and Host, then closes its own socket after --pause s (the client
                gives up on its own head: no server timer).
Prints one JSON line: name, local port, times (epoch s) and what happened.
"""
import argparse, json, socket, time

ap = argparse.ArgumentParser()
ap.add_argument('--host', default='127.0.0.1')
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--name', required=True)
ap.add_argument('--mode', choices=['whole', 'stall', 'abandon'], required=True)
ap.add_argument('--pause', type=float, default=2.0)
a = ap.parse_args()

rec = {'name': a.name, 'mode': a.mode, 'pause': a.pause, 'answer': None, 'error': None}
s = socket.create_connection((a.host, a.port), timeout=5)
rec['port'] = s.getsockname()[1]
rec['connected'] = time.time()
first = 'GET /%s HTTP/1.1\r\nHost: %s\r\n' % (a.name, a.host)
rest = 'User-Agent: half-head-client\r\n\r\n'
try:
    if a.mode == 'whole':
        s.sendall((first + rest).encode())
        rec['sent'] = time.time()
    else:
        s.sendall(first.encode())
        rec['sentPart'] = time.time()
        time.sleep(a.pause)
        if a.mode == 'abandon':
            s.close()
            rec['closed'] = time.time()
            print(json.dumps(rec), flush=True)
            raise SystemExit(0)
        s.sendall(rest.encode())
        rec['sentRest'] = time.time()
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if a.mode == 'whole' and b'\r\n\r\n' in data:
            break
    rec['answer'] = data.split(b'\r\n', 1)[0].decode(errors='replace') if data else None
    rec['read'] = repr(data[:40])
except OSError as e:
    rec['error'] = repr(e)
rec['end'] = time.time()
s.close()
print(json.dumps(rec), flush=True)
