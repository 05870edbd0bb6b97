#!/usr/bin/env python3
"""HTTP/1.1 keep-alive backend whose idle close is lazy: after IDLE s without a request its timer
fires, and it closes LAG s later (a loop that checks, a thread that wakes) without reading what
arrived meanwhile. /slow answers after 3 s. Usage: lazy-idle-backend.py ADDR PORT IDLE LAG"""
import select, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADDR, PORT, IDLE, LAG = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])


class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def handle(self):
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            r, _, _ = select.select([self.connection], [], [], IDLE)
            if not r:
                time.sleep(LAG)
                print('%.6f idle-close %s:%d' % (time.time(), *self.client_address), flush=True)
                return
            self.handle_one_request()

    def answer(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n:
            self.rfile.read(n)
        if self.path.startswith('/slow'):
            time.sleep(3)
        body = b'ok\n'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = answer
    do_POST = answer


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((ADDR, PORT), H).serve_forever()
