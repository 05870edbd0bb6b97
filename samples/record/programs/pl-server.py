#!/usr/bin/env python3
# A Python ThreadingHTTPServer answering GET /l?n=N with N bytes at once (an idle, fast server).
# Logs one line per answered request: "<epoch> <client port> <path> 200 <bytes>".
# Usage: pl-server.py HOST PORT LOG
import sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs

LOG = open(sys.argv[3], 'a', buffering=1)

class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        n = int(parse_qs(urlparse(self.path).query).get('n', ['100'])[0])
        body = b'x' * n
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        LOG.write('%.6f %d %s 200 %d\n' % (time.time(), self.client_address[1], self.path, n))
    def log_message(self, *a):
        pass

ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
