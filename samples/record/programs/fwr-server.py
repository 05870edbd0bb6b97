#!/usr/bin/env python3
"""The server of reset-before-response-firewall: a python http.server (HTTP/1.1 keep-alive) on
HOST PORT that logs every request it receives (JSON lines to LOG). GET /crash/... is read, worked
on for 0.3 s, and then the handler aborts the connection (SO_LINGER 0): the server's own kernel
resets it (the near miss: a reset that does come from the server's host). GET /dl/N answers N
bytes (reset-before-response-firewall-merged: a download a firewall cuts mid-body); the end of its
write is logged."""
import json
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = open(sys.argv[3], 'a', buffering=1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):
        LOG.write(json.dumps({'t': time.time(), 'client': '%s:%d' % self.client_address, 'method': 'GET', 'uri': self.path}) + '\n')
        if self.path.startswith('/crash'):
            time.sleep(0.3)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.connection.close()
            self.close_connection = True
            LOG.write(json.dumps({'t': time.time(), 'client': '%s:%d' % self.client_address, 'event': 'aborted', 'uri': self.path}) + '\n')
            return
        if self.path.startswith('/dl/'):
            n = int(self.path[4:])
            self.send_response(200)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Content-Length', str(n))
            self.end_headers()
            try:
                self.wfile.write(b'x' * n)
                LOG.write(json.dumps({'t': time.time(), 'client': '%s:%d' % self.client_address, 'event': 'written', 'uri': self.path}) + '\n')
            except OSError as e:
                LOG.write(json.dumps({'t': time.time(), 'client': '%s:%d' % self.client_address, 'event': 'writeFailed', 'uri': self.path, 'error': type(e).__name__}) + '\n')
            return
        body = b'ok ' + self.path.encode() + b'\n'
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
