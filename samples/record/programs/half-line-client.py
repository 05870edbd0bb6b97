#!/usr/bin/env python3
"""Raw-socket HTTP/1.1 client for slow-client-timeout-go-half-line.sh: one connection, one request.

--mode trickle:  the request line one byte every --step s, until the server answers or closes;
                 reads the answer (a header timer meets the line inside itself: `GET `).
--mode midline:  `GET /midline HT` at once, then waits: the head stops inside its request line.
--mode shutdown: `GET /shutdown HT`, then half-closes its socket (shutdown(SHUT_WR)) after --pause s
                 and reads what comes: the server answers the client's close, not a timer of its own
                 (near miss).
--mode whole:    the whole head at once, reads the answer (must stay clean).
Prints one JSON line: name, local port, times (epoch s) and what happened.
"""
import argparse, json, select, socket, time

ap = argparse.ArgumentParser()
ap.add_argument('--host', default='127.0.0.1')
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--name', required=True)
ap.add_argument('--mode', choices=['trickle', 'midline', 'shutdown', 'whole'], required=True)
ap.add_argument('--step', type=float, default=0.3)
ap.add_argument('--pause', type=float, default=0.3)
a = ap.parse_args()

rec = {'name': a.name, 'mode': a.mode, 'answer': None, 'error': None}
s = socket.create_connection((a.host, a.port), timeout=5)
rec['port'] = s.getsockname()[1]
rec['connected'] = time.time()
data = b''
try:
    if a.mode == 'trickle':
        line = ('GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n' % (a.name, a.host)).encode()
        sent = 0
        # Bounded: one byte per step, at most the whole head.
        while sent < len(line):
            s.sendall(line[sent:sent + 1])
            sent += 1
            r, _, _ = select.select([s], [], [], a.step)
            if r:
                break
        rec['sentBytes'] = sent
        rec['sentText'] = line[:sent].decode()
        rec['lastSent'] = time.time()
    elif a.mode in ('midline', 'shutdown'):
        part = 'GET /%s HT' % a.name
        s.sendall(part.encode())
        rec['sentText'] = part
        rec['lastSent'] = time.time()
        if a.mode == 'shutdown':
            time.sleep(a.pause)
            s.shutdown(socket.SHUT_WR)
            rec['shutdown'] = time.time()
    else:
        s.sendall(('GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n' % (a.name, a.host)).encode())
        rec['lastSent'] = time.time()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        if not data:
            rec['answeredAt'] = time.time()
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
