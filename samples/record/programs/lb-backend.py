#!/usr/bin/env python3
"""A backend for the loopback-upstream recorders: ThreadingHTTPServer on HOST:PORT.

Usage: lb-backend.py HOST PORT HANG_SECONDS SLOW_SECONDS
/hang... waits HANG_SECONDS before answering (past the proxy's read timeout: it writes into a
socket the proxy has closed, and the kernel resets it), /slow... waits SLOW_SECONDS, anything
else answers at once. Each request is logged to stderr with its path and when it was answered.
"""
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = float(sys.argv[3])
SLOW = float(sys.argv[4])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        start = time.time()
        if self.path.startswith("/hang"):
            time.sleep(HANG)
        elif self.path.startswith("/slow"):
            time.sleep(SLOW)
        body = ("ok " + self.path + "\n").encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            outcome = "answered"
        except (BrokenPipeError, ConnectionResetError) as e:
            outcome = type(e).__name__
        sys.stderr.write("%.6f %s %s after %.3f from %s:%d\n" % (start, self.path, outcome, time.time() - start, *self.client_address))
        sys.stderr.flush()

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
