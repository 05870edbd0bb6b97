#!/usr/bin/env python3
"""One request at a time: a single-threaded HTTP/1.0 server that answers each request after a fixed
delay, so concurrent clients queue in its accept queue and their requests reach different ages.
Usage: serial-slow-server.py HOST PORT DELAY_S. Each request is logged to stderr as one JSON line."""
import http.server
import json
import sys
import time

HOST, PORT, DELAY = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        t0 = time.time()
        time.sleep(DELAY)
        body = b"slow done\n"
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            ok = True
        except OSError:
            ok = False
        sys.stderr.write(json.dumps({"t": t0, "port": self.client_address[1], "url": self.path, "written": ok}) + "\n")
        sys.stderr.flush()

    def log_message(self, *args):
        pass


http.server.HTTPServer((HOST, PORT), Handler).serve_forever()
