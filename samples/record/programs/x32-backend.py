"""The x32 recorders' backend (unanswered-request-tls-client-timeouts, healthy-tls-idle-closes): Python
stdlib http.server ThreadingHTTPServer, HTTP/1.1 keep-alive, one thread per connection; nginx's TLS
listeners proxy everything to it.

  /ok?size=B        B bytes (default 200) at once, Content-Length
  /slow?ms=N        the answer (200 bytes) after N ms
  /slow             (no ms) the request is read and then never answered: the handler holds the connection
                    for up to --hold seconds (20 by default), watching it; when the peer (nginx's upstream
                    leg) goes away it logs "peer-gone" and closes; if the hold runs out it closes without
                    an answer ("hold-expired")
Every request is logged on stdout as JSON lines: "start" (peer, method, path, time) and "end" (status or
null, result "done" / "peer-gone" / "hold-expired", time).
"""
import argparse
import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
HOLD = 20.0


def log(**kw):
    kw['t'] = round(time.time(), 6)
    with LOCK:
        sys.stdout.write(json.dumps(kw) + '\n')
        sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'x32-backend'

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        u = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        peer = f'{self.client_address[0]}:{self.client_address[1]}'
        log(event='start', peer=peer, method=self.command, path=self.path)
        status = 200
        try:
            if u.path == '/ok':
                self.answer(int(q.get('size', 200)))
            elif u.path == '/slow' and 'ms' in q:
                time.sleep(int(q['ms']) / 1000)
                self.answer(200)
            elif u.path == '/slow':
                result = self.hold()
                log(event='end', peer=peer, method=self.command, path=self.path, status=None, result=result)
                self.close_connection = True
                return
            else:
                status = 404
                self.send_response(404)
                self.send_header('Content-Length', '0')
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError) as e:
            log(event='end', peer=peer, method=self.command, path=self.path, status=None, result='peer-gone',
                error=f'{type(e).__name__}: {e}')
            self.close_connection = True
            return
        log(event='end', peer=peer, method=self.command, path=self.path, status=status,
            result='done')

    def answer(self, size):
        body = (b'x32 ' + b'abcdefghijklmnopqrstuvwxyz0123456789' * (size // 36 + 1))[:max(size - 1, 0)] + b'\n'
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def hold(self):
        """Never answer: wait until the peer closes (EOF or reset) or HOLD seconds pass."""
        sock = self.connection
        deadline = time.monotonic() + HOLD
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return 'hold-expired'
            r, _, _ = select.select([sock], [], [], min(left, 1.0))
            if r:
                try:
                    data = sock.recv(4096, socket.MSG_PEEK)
                except (ConnectionResetError, BrokenPipeError):
                    return 'peer-gone'
                if not data:
                    return 'peer-gone'
                # bytes of a next (pipelined) request: not expected here; consume them and go on waiting
                sock.recv(len(data))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global HOLD
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.3')
    ap.add_argument('--port', type=int, default=9001)
    ap.add_argument('--hold', type=float, default=20.0)
    ap.add_argument('--max-seconds', type=float, default=120)
    a = ap.parse_args()
    HOLD = a.hold
    s = Server((a.host, a.port), Handler)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    log(event='listening', port=a.port)
    time.sleep(a.max_seconds)


if __name__ == '__main__':
    main()
