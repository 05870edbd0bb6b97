#!/usr/bin/env python3
"""Backend for response-truncated-keepalive-idle-apache's near miss: on 127.0.0.1:PORT, every request
gets a chunked 200 whose first chunk comes at once and whose last comes STALL seconds later (a
backend stalled mid-body; nginx's proxy_read_timeout cuts it first). Logs one JSON line per request.

Usage: cutidle-stall-backend.py PORT STALL_SECONDS
"""
import json
import socketserver
import sys
import time

PORT, STALL = int(sys.argv[1]), float(sys.argv[2])


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(4096)
        while True:
            h = self.rfile.readline(4096)
            if h in (b"\r\n", b"\n", b""):
                break
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nok\n\r\n")
        self.wfile.flush()
        t = time.time()
        time.sleep(STALL)
        try:
            self.wfile.write(b"4\r\nend\n\r\n0\r\n\r\n")
            outcome = "finished"
        except OSError as e:
            outcome = type(e).__name__
        print(json.dumps({"t": round(t, 6), "request": line.decode("latin1").strip(), "outcome": outcome}), flush=True)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


with Server(("127.0.0.1", PORT), Handler) as srv:
    srv.serve_forever()
