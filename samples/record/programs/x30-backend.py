"""The x30 recorders' backend (response-abandoned-client-timeouts, healthy-client-cancels): Python stdlib
http.server ThreadingHTTPServer, HTTP/1.1 keep-alive, one thread per connection, every write one send().

  /slow?total=B&chunk=N&every=MS&cl=1|0   a body of B bytes written N bytes at a time, the first part at
                                          once, then one part every MS ms; Content-Length (cl=1) or chunked
                                          (cl=0, one chunk per part, then the last chunk)
  /stall?first=B&pre=MS&stall=MS&rest=B&cl=1|0
                                          the head at once, then FIRST bytes in 1 KB parts spread evenly so
                                          that the last of them goes out PRE ms after the head, then nothing
                                          for STALL ms, then REST more bytes (default 4096) and the end
  /ok?size=B                              B bytes (default 200) at once, Content-Length
  HEAD on any of them: the GET's headers, no body.
Every request is logged on stdout as JSON lines: "start" (peer address and port, method, path, time) and
"end" (status, body bytes handed to the kernel, the time of the last write, and the result: "done", or "peer-gone"
with the error (BrokenPipeError / ConnectionResetError) when a write failed because the peer had gone).
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()


def log(**kw):
    kw['t'] = round(time.time(), 6)
    with LOCK:
        sys.stdout.write(json.dumps(kw) + '\n')
        sys.stdout.flush()


def filler(n, i):
    s = (f'<{i:04d}>' + 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ' * (n // 62 + 2))
    return s[:n - 1].encode() + b'\n' if n > 0 else b''


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'x30-backend'

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.serve(False)

    def do_HEAD(self):
        self.serve(True)

    def serve(self, head):
        u = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        peer = f'{self.client_address[0]}:{self.client_address[1]}'
        log(event='start', peer=peer, method=self.command, path=self.path)
        self.written = 0
        self.last_write = None
        self.part = 0
        status = 200
        try:
            if u.path == '/slow':
                total, chunk, every = int(q.get('total', 20480)), int(q.get('chunk', 1024)), int(q.get('every', 250))
                self.head(total, q.get('cl', '1') == '1', head)
                if not head:
                    sent = 0
                    while sent < total:
                        if sent:
                            time.sleep(every / 1000)
                        n = min(chunk, total - sent)
                        self.put(n)
                        sent += n
                    self.finish_body()
            elif u.path == '/stall':
                first, pre, stall = int(q.get('first', 4096)), int(q.get('pre', 500)), int(q.get('stall', 4000))
                rest = int(q.get('rest', 4096))
                self.head(first + rest, q.get('cl', '1') == '1', head)
                if not head:
                    t0 = time.monotonic()
                    parts = [1024] * (first // 1024) + ([first % 1024] if first % 1024 else [])
                    for i, n in enumerate(parts):
                        due = t0 + pre / 1000 * (i + 1) / len(parts)
                        time.sleep(max(0.0, due - time.monotonic()))
                        self.put(n)
                    time.sleep(stall / 1000)
                    while rest > 0:
                        n = min(1024, rest)
                        self.put(n)
                        rest -= n
                    self.finish_body()
            elif u.path == '/ok':
                size = int(q.get('size', 200))
                self.head(size, True, head)
                if not head:
                    self.put(size)
            else:
                status = 404
                self.send_response(404)
                self.send_header('Content-Length', '0')
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError) as e:
            log(event='end', peer=peer, method=self.command, path=self.path, status=status, bodyBytes=self.written,
                lastWrite=self.last_write, result='peer-gone', error=f'{type(e).__name__}: {e}')
            self.close_connection = True
            return
        log(event='end', peer=peer, method=self.command, path=self.path, status=status, bodyBytes=self.written,
            lastWrite=self.last_write, result='done')

    def head(self, length, cl, head):
        self.chunked = not cl
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        if cl:
            self.send_header('Content-Length', str(length))
        elif not head:
            self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        self.wfile.flush()
        self.last_write = round(time.time(), 6)

    def put(self, n):
        data = filler(n, self.part)
        self.part += 1
        if self.chunked:
            self.wfile.write(b'%x\r\n%s\r\n' % (n, data))
            self.written += n
        else:
            # in 64 KB slices, so that a big body's count stops where the peer went away
            for i in range(0, n, 65536):
                self.wfile.write(data[i:i + 65536])
                self.written += len(data[i:i + 65536])
        self.last_write = round(time.time(), 6)

    def finish_body(self):
        if self.chunked:
            self.wfile.write(b'0\r\n\r\n')
            self.last_write = round(time.time(), 6)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.3')
    ap.add_argument('--port', type=int, default=9001)
    ap.add_argument('--max-seconds', type=float, default=120)
    a = ap.parse_args()
    s = Server((a.host, a.port), Handler)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    log(event='listening', port=a.port)
    time.sleep(a.max_seconds)


if __name__ == '__main__':
    main()
