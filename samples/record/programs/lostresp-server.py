#!/usr/bin/env python3
"""HTTP/1.1 keep-alive server for lost-response-client-timeout: answers /small (3 B), /near (1100 B)
and /lost (900 B) in one write each, so that the router can drop one answer by its size; logs each
answer it wrote (time, path, status, bytes) to argv[2]."""
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODIES = {'/small': b'ok\n', '/near': b'n' * 1100, '/lost': b'l' * 900}
LOG = open(sys.argv[2], 'a', buffering=1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'lostresp/1'
    sys_version = ''

    def do_GET(self):
        body = BODIES.get(self.path, b'')
        status = 200 if self.path in BODIES else 404
        head = f'HTTP/1.1 {status} OK\r\nContent-Length: {len(body)}\r\nContent-Type: text/plain\r\n\r\n'.encode()
        self.wfile.write(head + body)  # one write: one segment, whose size the router matches
        self.wfile.flush()
        LOG.write(f'{time.time():.6f} {self.client_address[1]} {self.path} {status} {len(body)}\n')

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('0.0.0.0', int(sys.argv[1])), Handler).serve_forever()
