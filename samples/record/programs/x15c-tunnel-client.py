#!/usr/bin/env python3
"""A client that keeps a CONNECT tunnel as a pooled connection to its target and reuses it without
checking it first (as a pool that does not look for a FIN does): CONNECT TARGET through PROXY,
GET /a, wait IDLE seconds, GET /b on the same tunnel, then close it. Logs one JSON line per step
(the tunnel's local port, what was sent, the status or the error).
Usage: x15c-tunnel-client.py PROXY_HOST PROXY_PORT TARGET IDLE NAME LOG"""
import json, socket, sys, time

host, port, target, idle, name, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5], sys.argv[6]


def note(**kv):
    with open(log, 'a') as f:
        f.write(json.dumps({'name': name, 'ts': time.time(), **kv}) + '\n')


def read_head(s):
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = s.recv(4096)
        if not chunk:
            return None, b'', data
        data += chunk
    head, _, rest = data.partition(b'\r\n\r\n')
    return head.split(b'\r\n')[0].decode('latin-1'), head, rest


def get(s, path):
    s.sendall(f'GET {path} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: x15c-tunnel-client\r\n\r\n'.encode())
    status, head, body = read_head(s)
    if status is None:
        return None
    length = 0
    for line in head.split(b'\r\n')[1:]:
        k, _, v = line.partition(b':')
        if k.strip().lower() == b'content-length':
            length = int(v.strip())
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            break
        body += chunk
    return status


s = socket.create_connection((host, port), timeout=10)
local = s.getsockname()[1]
s.sendall(f'CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n'.encode())
status, _, _ = read_head(s)
note(port=local, step='CONNECT', status=status)
for i, path in enumerate(['/a', '/b']):
    if i > 0:
        time.sleep(idle)
    try:
        st = get(s, path)
        note(port=local, step=f'GET {path}', status=st, error=None if st else 'EOF: no response')
    except OSError as e:
        note(port=local, step=f'GET {path}', status=None, error=f'{type(e).__name__}: {e}')
        break
    time.sleep(0.05)
s.close()
note(port=local, step='closed')
