#!/usr/bin/env python3
"""HTTP/1.1 keep-alive server (one thread per connection) for server-paused-sigstop.sh.
GET /slow... sleeps SLOW seconds before answering (a server slow per request); anything else is
answered at once. BACKLOG (default 64): the listen backlog (server-paused-backlog.sh fills a small one).
Usage: fxs-pause-server.py PORT SLOW [BACKLOG]"""
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
SLOW = float(sys.argv[2])
BACKLOG = int(sys.argv[3]) if len(sys.argv) > 3 else 64


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        if self.path.startswith('/slow'):
            time.sleep(SLOW)
        body = b'ok\n'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write('%.6f %s\n' % (time.time(), fmt % args))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = BACKLOG


Server(('127.0.0.1', PORT), Handler).serve_forever()
