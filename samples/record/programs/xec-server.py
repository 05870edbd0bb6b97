# expect-continue-rejected: Python's http.server (HTTP/1.1, keep-alive) refusing `Expect: 100-continue`
# uploads at their head without reading the body (handle_expect_100 answers and returns False: the
# server then reads the next request from the connection, as http.server does).
#   /r417..., /r413..., /r401...: 417, 413 or 401 on the kept connection;
#   /r417once: 417 the first time only (curl repeats a request refused 417 on the same connection);
#   ...-close: with Connection: close (the server closes after it);
#   ...-abort: Connection: close and SO_LINGER 0, so its close is a RST with nothing unread;
#   anything else: 100 Continue, the body read whole, 200.
# Logs one JSON line per answer: client port, path, status, body bytes read, how the connection went on.
# Usage: python3 xec-server.py PORT LIFETIME_SECONDS
import json, socket, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def log(**kv):
    print(json.dumps({'t': round(time.time(), 6), **kv}), flush=True)

class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    refused_once = set()

    def handle_expect_100(self):
        code = {'/r417': 417, '/r413': 413, '/r401': 401}.get(self.path[:5])
        if self.path.startswith('/r417once'):
            if self.path in Handler.refused_once:
                code = None
            Handler.refused_once.add(self.path)
        if code is None:
            return super().handle_expect_100()
        body = b'refused before the body\n'
        self.send_response(code)
        ending = 'kept'
        if self.path.endswith('-close') or self.path.endswith('-abort'):
            self.send_header('Connection', 'close')
            self.close_connection = True
            ending = 'close'
        if code == 401:
            self.send_header('WWW-Authenticate', 'Basic realm="uploads"')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.path.endswith('-abort'):
            # An abortive close: close() sends RST whatever the receive buffer holds (here nothing).
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            ending = 'abort'
        log(port=self.client_address[1], method=self.command, path=self.path, status=code, bodyRead=0, connection=ending)
        return False

    def do_POST(self):
        n = int(self.headers.get('Content-Length') or 0)
        got = len(self.rfile.read(n))
        body = b'stored %d\n' % got
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        log(port=self.client_address[1], method=self.command, path=self.path, status=200, bodyRead=got, connection='kept')

    def do_GET(self):
        body = b'ok\n'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        log(port=self.client_address[1], method=self.command, path=self.path, status=200, bodyRead=0, connection='kept')

server = ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Handler)
threading.Timer(float(sys.argv[2]), server.shutdown).start()  # bounded lifetime
server.serve_forever()
