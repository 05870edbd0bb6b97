#!/usr/bin/python3
"""The origin of unanswered-request-client-timeouts.sh: an HTTP/1.1 server (http.server,
ThreadingHTTPServer, keep-alive) whose /slow?s=SECONDS handler sleeps SECONDS before answering, so a
client with a shorter fixed timeout gives up first; every other path is answered at once (200).
The kernel ACKs each request as usual: the client's timeout fires on a request that was delivered.
Usage: x19l-hang-server.py --host H --port P --log FILE
One JSON line per event in FILE (t: wall clock, epoch s): "request" (client port, method, uri) when
the handler starts, "answered" (status) after the response was written, or "write-failed" (the
error: the client had gone when the slow handler finally answered).
"""
import argparse
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument('--host', required=True)
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--log', required=True)
a = ap.parse_args()
LOCK = threading.Lock()


def log(**ev):
    with LOCK, open(a.log, 'a') as f:
        f.write(json.dumps({'t': round(time.time(), 6), **ev}) + '\n')


class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'x19l-hang/1'

    def log_message(self, *args):
        pass

    def handle_one(self):
        port = self.client_address[1]
        n = int(self.headers.get('Content-Length') or 0)
        if n:
            self.rfile.read(n)
        log(event='request', port=port, method=self.command, uri=self.path)
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        if self.path.startswith('/slow'):
            time.sleep(min(float(q.get('s', ['6'])[0]), 20.0))   # bounded
        body = f'ok {self.path}\n'.encode()
        try:
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            log(event='answered', port=port, method=self.command, uri=self.path, status=200)
        except OSError as e:
            log(event='write-failed', port=port, method=self.command, uri=self.path, error=f'{type(e).__name__}: {e}')
            self.close_connection = True

    do_GET = do_POST = handle_one


ThreadingHTTPServer.daemon_threads = True
srv = ThreadingHTTPServer((a.host, a.port), H)
log(event='start', host=a.host, port=a.port)
srv.serve_forever()
