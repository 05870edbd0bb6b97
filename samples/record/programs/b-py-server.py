#!/usr/bin/env python3
"""python3 http.server as a keep-alive HTTP/1.1 server with a read timeout.

ThreadingHTTPServer + protocol_version "HTTP/1.1" keeps connections open between
requests; StreamRequestHandler.timeout (a socket timeout) makes the wait for the next
request line give up after TIMEOUT seconds, after which the server shuts the connection
down (FIN): that is its idle timeout. No Keep-Alive header is sent.

Usage: b-py-server.py HOST PORT TIMEOUT_SECONDS
GET answers 200, POST reads its Content-Length body and answers 201; small JSON bodies.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self, status, got):
        body = (json.dumps({"ok": True, "path": self.path, "got": got}) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._reply(200, 0)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n) if n else b""
        self._reply(201, len(data))


def main():
    host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    Handler.timeout = timeout
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer((host, port), Handler)
    print(f"listening {host}:{port} timeout={timeout}", file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
