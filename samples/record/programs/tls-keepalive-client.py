#!/usr/bin/env python3
"""A TLS 1.2 keep-alive client that never checks its connection before reusing it (a raw
http.client-less socket, as the blind scene's client): on one connection, GET FIRST, wait IDLE
seconds after its response, GET SECOND. One JSON line: its local port, each request's outcome
('200', 'EOF', 'reset', 'timeout') and when it was sent. Bounded by --timeout per read.

usage: tls-keepalive-client.py HOST PORT FIRST IDLE SECOND [--timeout S]
"""
import json
import socket
import ssl
import sys
import time

host, port, first, idle, second = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
timeout = float(sys.argv[7]) if len(sys.argv) > 7 and sys.argv[6] == '--timeout' else 10.0
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2


def exchange(s, path):
    sent = time.time()
    try:
        s.sendall(f'GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n'.encode())
        buf = b''
        while True:
            d = s.recv(65536)
            if not d:
                return {'path': path, 'sent': sent, 'outcome': 'EOF' if not buf else 'cut', 'at': time.time()}
            buf += d
            head, sep, body = buf.partition(b'\r\n\r\n')
            if sep:
                lines = head.lower().split(b'\r\n')
                lengths = [int(l.split(b':')[1]) for l in lines if l.startswith(b'content-length')]
                chunked = any(l.startswith(b'transfer-encoding') and b'chunked' in l for l in lines)
                if (lengths and len(body) >= lengths[0]) or (chunked and body.endswith(b'0\r\n\r\n')):
                    return {'path': path, 'sent': sent, 'outcome': head.split(b' ')[1].decode(), 'at': time.time()}
    except socket.timeout:
        return {'path': path, 'sent': sent, 'outcome': 'timeout', 'at': time.time()}
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError) as e:
        return {'path': path, 'sent': sent, 'outcome': 'reset', 'error': repr(e), 'at': time.time()}


raw = socket.create_connection((host, port), timeout=timeout)
s = ctx.wrap_socket(raw)
line = {'port': s.getsockname()[1], 'tls': s.version()}
line['first'] = exchange(s, first)
if line['first']['outcome'] == '200':
    time.sleep(idle)
    line['idle'] = idle
    line['second'] = exchange(s, second)
s.close()
print(json.dumps(line), flush=True)
