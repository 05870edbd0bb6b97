#!/usr/bin/env python3
"""A client of reset-before-response-firewall-bytes that cancels a download itself: GET PATH from
HOST PORT on local port LPORT, read the head and READ body bytes, then abort the connection
(SO_LINGER 0): its own kernel resets it mid-response (the near miss: a reset that does come from
the client's host). Logs one JSON line to LOG."""
import json
import socket
import struct
import sys
import time

host, port, lport, path, read, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
s = socket.socket()
s.bind(('', lport))
s.settimeout(5)
s.connect((host, port))
s.sendall(f'GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: fwb-client\r\n\r\n'.encode())
buf = b''
while b'\r\n\r\n' not in buf or len(buf) - buf.index(b'\r\n\r\n') - 4 < read:  # bounded by the 5 s timeout
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
body = len(buf) - buf.index(b'\r\n\r\n') - 4 if b'\r\n\r\n' in buf else 0
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
s.close()
with open(log, 'a') as f:
    f.write(json.dumps({'t': time.time(), 'lane': 'cancel', 'client': 'python', 'port': lport, 'uri': path, 'status': buf.split(b' ', 2)[1].decode() if buf else None, 'bodyBytesRead': body, 'aborted': True}) + '\n')
