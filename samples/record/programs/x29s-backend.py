"""healthy-streaming-responses' backend servers (Python stdlib http.server, one thread per connection).

--port (default 9001): HTTP/1.1 keep-alive, slow but complete answers:
  /slow-cl?parts=N&size=B&gap=MS   Content-Length N*B, the body written in N parts, MS ms apart
  /sse?events=N&gap=MS[,MS...]     text/event-stream, Transfer-Encoding: chunked, one chunk per event,
                                   MS ms before each event after the first (a list: one gap per event),
                                   then the last chunk (0 CRLF CRLF)
  /etag                            200 with ETag "x29s-v1" (Content-Length), 304 when If-None-Match matches
  /nocontent                       204
  HEAD on any of them: the GET's headers (Content-Length where the GET has one), no body.
--close-port (default 9002): bodies delimited by the server's close (no Content-Length, no chunking):
  /h10?parts=N&size=B&gap=MS       answered HTTP/1.0 (the server's own protocol_version), then closed
  /h11close?parts=N&size=B&gap=MS  answered HTTP/1.1 with Connection: close, then closed
Every request is logged on stdout as one JSON line: the peer's port, method, path, status, the body
bytes written and whether the answer was written completely ("done") or the peer went away ("error").
"""
import argparse
import json
import socketserver
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


def body_part(i, size):
    # printable, recognisable bytes: part index repeated
    s = (f'[part {i}]' + 'abcdefghijklmnopqrstuvwxyz0123456789' * (size // 36 + 1))[:size - 1] + '\n'
    return s.encode()


class Base(BaseHTTPRequestHandler):
    server_version = 'x29s-backend'

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass

    def q(self):
        u = urlsplit(self.path)
        return u.path, {k: v[-1] for k, v in parse_qs(u.query).items()}

    def record(self, status, written, result, **extra):
        log(server=f'{self.server.server_address[0]}:{self.server.server_address[1]}', peerPort=self.client_address[1],
            method=self.command, path=self.path, version=self.request_version, status=status, bodyBytes=written,
            result=result, **extra)


class Streaming(Base):
    protocol_version = 'HTTP/1.1'

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def serve(self, head):
        path, q = self.q()
        written = 0
        status = None
        try:
            if path == '/slow-cl':
                parts, size, gap = int(q.get('parts', 4)), int(q.get('size', 1000)), int(q.get('gap', 1000))
                status = 200
                self.send_response(200)
                self.send_header('Content-Type', 'text/plain')
                self.send_header('Content-Length', str(parts * size))
                self.end_headers()
                self.wfile.flush()
                if not head:
                    for i in range(parts):
                        if i:
                            time.sleep(gap / 1000)
                        b = body_part(i, size)
                        self.wfile.write(b)
                        self.wfile.flush()
                        written += len(b)
            elif path == '/sse':
                events = int(q.get('events', 5))
                gaps = [int(g) for g in q.get('gap', '1000').split(',')]
                status = 200
                self.send_response(200)
                self.send_header('Content-Type', 'text/event-stream')
                self.send_header('Cache-Control', 'no-cache')
                if head:
                    self.end_headers()
                else:
                    self.send_header('Transfer-Encoding', 'chunked')
                    self.end_headers()
                    self.wfile.flush()
                    for i in range(events):
                        if i:
                            time.sleep(gaps[min(i - 1, len(gaps) - 1)] / 1000)
                        ev = f'id: {i}\nevent: tick\ndata: {{"n": {i}, "t": {time.time():.3f}}}\n\n'.encode()
                        self.wfile.write(b'%x\r\n%s\r\n' % (len(ev), ev))
                        self.wfile.flush()
                        written += len(ev)
                    self.wfile.write(b'0\r\n\r\n')
                    self.wfile.flush()
            elif path == '/etag':
                etag = '"x29s-v1"'
                body = b'resource version 1\n' * 20
                if self.headers.get('If-None-Match') == etag:
                    status = 304
                    self.send_response(304)
                    self.send_header('ETag', etag)
                    self.end_headers()
                else:
                    status = 200
                    self.send_response(200)
                    self.send_header('ETag', etag)
                    self.send_header('Content-Type', 'text/plain')
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(body)
                        written = len(body)
                self.wfile.flush()
            elif path == '/nocontent':
                status = 204
                self.send_response(204)
                self.end_headers()
                self.wfile.flush()
            else:
                status = 404
                body = b'not found\n'
                self.send_response(404)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)
                    written = len(body)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as e:
            self.record(status, written, 'error', error=type(e).__name__)
            self.close_connection = True
            return
        self.record(status, written, 'done')


class CloseDelimited(Base):
    def do_GET(self):
        path, q = self.q()
        parts, size, gap = int(q.get('parts', 3)), int(q.get('size', 2000)), int(q.get('gap', 300))
        written = 0
        if path == '/h10':
            self.protocol_version = 'HTTP/1.0'
        elif path == '/h11close':
            self.protocol_version = 'HTTP/1.1'
        else:
            self.send_error(404)
            self.record(404, 0, 'done')
            return
        try:
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain')
            if self.protocol_version == 'HTTP/1.1':
                self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.flush()
            for i in range(parts):
                if i:
                    time.sleep(gap / 1000)
                b = body_part(i, size)
                self.wfile.write(b)
                self.wfile.flush()
                written += len(b)
        except (BrokenPipeError, ConnectionResetError) as e:
            self.record(200, written, 'error', error=type(e).__name__)
            self.close_connection = True
            return
        self.close_connection = True
        self.record(200, written, 'done', closeDelimited=True, responseVersion=self.protocol_version)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.3')
    ap.add_argument('--port', type=int, default=9001)
    ap.add_argument('--close-port', type=int, default=9002)
    ap.add_argument('--max-seconds', type=float, default=120)
    a = ap.parse_args()
    servers = [Server((a.host, a.port), Streaming), Server((a.host, a.close_port), CloseDelimited)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    log(event='listening', ports=[a.port, a.close_port])
    time.sleep(a.max_seconds)


if __name__ == '__main__':
    main()
