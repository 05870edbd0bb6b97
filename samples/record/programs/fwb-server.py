#!/usr/bin/env python3
"""The server of reset-before-response-firewall-bytes: a python http.server (HTTP/1.1 keep-alive)
on HOST PORT that logs every request and how each response's write ended (JSON lines to LOG).
GET /dl/N answers N bytes at once; GET /paced/N answers N bytes in 5000-byte writes 50 ms apart
(so a client's reset lands while the response is still being sent); GET /crash/... is read,
worked on for 0.3 s, then aborted with SO_LINGER 0 (the server's own reset)."""
import json
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = open(sys.argv[3], 'a', buffering=1)


def log(handler, **kw):
    LOG.write(json.dumps({'t': time.time(), 'client': '%s:%d' % handler.client_address, **kw}) + '\n')


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):
        log(self, method='GET', uri=self.path)
        if self.path.startswith('/crash'):
            time.sleep(0.3)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.connection.close()
            self.close_connection = True
            log(self, event='aborted', uri=self.path)
            return
        paced = self.path.startswith('/paced/')
        n = int(self.path.rsplit('/', 1)[1])
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(n))
        self.end_headers()
        try:
            if paced:
                for i in range(0, n, 5000):  # bounded: n / 5000 writes
                    self.wfile.write(b'x' * min(5000, n - i))
                    self.wfile.flush()
                    time.sleep(0.05)
            else:
                self.wfile.write(b'x' * n)
            log(self, event='written', uri=self.path)
        except OSError as e:
            log(self, event='writeFailed', uri=self.path, error=type(e).__name__)
            self.close_connection = True


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
