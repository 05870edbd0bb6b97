#!/usr/bin/env python3
"""A small HTTP/1.1 server on Python's http.server (ThreadingHTTPServer), for the
handshake/reset recorders.

It keeps connections alive the way http.server does (HTTP/1.1 requests, and
HTTP/1.0 requests that ask for `Connection: keep-alive`); when the connection is
going to close anyway it writes the body without Content-Length, so the body is
delimited by the close (what an HTTP/1.0 server does).

Options:
  --port P            listen port (127.0.0.1)
  --status N          status of every response (200)
  --delay S           seconds to wait before answering (0)
  --reuseport         bind with SO_REUSEPORT, so several processes share the port
  --name NAME         put into an X-Server header and the body (tells processes apart)
  --lifetime S        exit after S seconds (bound for a forgotten process; 60)
"""
import argparse
import http.server
import socket
import threading
import time


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--reuseport", action="store_true")
    p.add_argument("--name", default="py")
    p.add_argument("--lifetime", type=float, default=60.0)
    return p.parse_args()


ARGS = parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "c-py-http"

    def log_message(self, fmt, *args):  # keep the recorder's output quiet
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if ARGS.delay:
            time.sleep(ARGS.delay)
        body = f"{ARGS.name} {ARGS.status} {self.command} {self.path}\n".encode()
        self.send_response(ARGS.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("X-Server", ARGS.name)
        if self.close_connection:
            # No length: the close delimits the body (RFC 9112 section 6.3, rule 8).
            self.end_headers()
        else:
            self.send_header("Content-Length", str(len(body)))
            if self.request_version == "HTTP/1.0":
                self.send_header("Connection", "keep-alive")
            self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        if ARGS.reuseport:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def main():
    server = Server(("127.0.0.1", ARGS.port), Handler)
    threading.Timer(ARGS.lifetime, server.shutdown).start()
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
