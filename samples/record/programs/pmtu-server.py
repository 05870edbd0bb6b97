#!/usr/bin/env python3
"""The pmtu-blackhole recorder's server: Python's ThreadingHTTPServer (HTTP/1.1, keep-alive) that
answers GET /small with a 200-byte body and GET /big?n=N with N bytes, the head and the body in two
writes (the head alone fits any MTU; the body leaves in full-size segments). One JSON line per
request on stdout: its client, path, bytes and whether the write returned or failed (and how).

Usage: pmtu-server.py --host ADDR --port PORT
"""
import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'pmtu-server/1'

    def log_message(self, *args):
        pass

    def log(self, **kv):
        kv.update(ts=round(time.time(), 6), client=f'{self.client_address[0]}:{self.client_address[1]}')
        sys.stdout.write(json.dumps(kv) + '\n')
        sys.stdout.flush()

    def do_GET(self):
        url = urlparse(self.path)
        n = 200 if url.path == '/small' else int(parse_qs(url.query).get('n', ['20000'])[0])
        body = bytes((48 + i % 10) for i in range(n))
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(n))
        self.end_headers()
        try:
            self.wfile.write(body)
            self.log(event='written', path=self.path, bytes=n)
        except OSError as e:
            self.log(event='write-failed', path=self.path, bytes=n, error=repr(e))
            self.close_connection = True


ap = argparse.ArgumentParser()
ap.add_argument('--host', required=True)
ap.add_argument('--port', type=int, required=True)
a = ap.parse_args()
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((a.host, a.port), Handler).serve_forever()
