#!/usr/bin/env python3
"""An HTTP/1.1 keep-alive backend (ThreadingHTTPServer) for restart-reload-nginx: answers
/w?d=SECONDS after that delay with a small body; closes a connection idle IDLE seconds (its
socket timeout, as http.server's `timeout`). Logs each request and each idle close with its time.
Usage: fx5h-backend.py HOST PORT IDLE LOG"""
import sys, time, socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

HOST, PORT, IDLE, LOG = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
log = open(LOG, 'a', buffering=1)

class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    timeout = IDLE

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except socket.timeout:
            log.write(f'{time.time():.6f} idle-close {self.client_address[1]}\n')
            self.close_connection = True

    def serve(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n:
            self.rfile.read(n)
        q = parse_qs(urlparse(self.path).query)
        time.sleep(float(q.get('d', ['0'])[0]))
        body = f'{PORT} {self.path}\n'.encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        log.write(f'{time.time():.6f} {self.command} {self.path} {self.client_address[1]}\n')

    do_GET = serve
    do_POST = serve

    def log_message(self, *args):
        pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((HOST, PORT), H).serve_forever()
