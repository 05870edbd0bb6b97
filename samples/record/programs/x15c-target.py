#!/usr/bin/env python3
"""The CONNECT target of connect-tunnel-stale-reuse.sh: an HTTP/1.1 server that keeps connections
alive with no idle timeout of its own (so only the proxy ends an idle tunnel) and logs each request
(client port, method, path) as one JSON line. Exits by itself after 2 minutes.
Usage: x15c-target.py ADDR PORT LOG"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADDR, PORT, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        body = f'ok {self.path}\n'.encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with lock, open(LOG, 'a') as f:
            f.write(json.dumps({'ts': time.time(), 'port': self.client_address[1], 'method': 'GET', 'path': self.path}) + '\n')

    def log_message(self, *args):
        pass


threading.Timer(120, lambda: __import__('os')._exit(0)).start()
ThreadingHTTPServer((ADDR, PORT), Handler).serve_forever()
