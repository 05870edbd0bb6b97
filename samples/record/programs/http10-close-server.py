#!/usr/bin/env python3
"""A tiny HTTP/1.0 server whose response body is close-delimited: no
Content-Length, no chunking; the end of the body is the server's FIN.

Usage: http10-close-server.py --host 127.0.0.1 --port 8081
Every GET gets a small text body written in two parts 50 ms apart (so the body
spans segments and only the close tells where it ends); then the connection closes.
"""
import argparse
import http.server
import signal
import sys
import time


class CloseDelimitedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection; close after the response

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()  # deliberately no Content-Length: the body runs until close
        self.wfile.write(b"first part of a close-delimited body\n")
        self.wfile.flush()
        time.sleep(0.05)
        self.wfile.write(b"second part; the server's FIN ends it\n")
        self.wfile.flush()

    def log_message(self, fmt, *args):
        sys.stdout.write("http10-close-server: " + (fmt % args) + "\n")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    args = ap.parse_args()
    server = http.server.HTTPServer((args.host, args.port), CloseDelimitedHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
