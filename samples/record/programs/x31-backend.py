"""x31 backend: a raw HTTP/1.1 server (Python stdlib sockets, one thread per connection, keep-alive,
TCP_NODELAY) behind the URI-rewriting proxies of samples/record/proxy-uri-rewrite.sh, on 127.0.0.3:9001.
nginx strips /api (location /api/ { proxy_pass http://backend/; }) and HAProxy adds /v1
(http-request set-path /v1%[path]): the server takes its endpoint from the path with an optional
leading /v1 removed, and logs the request target exactly as it arrived.

Endpoints (query parameters; id=TAG-N is only logged):
  /ok                          200, Content-Length 2000, at once
  /slow-head?ms=N              the head (and a 2000-byte body) after N ms of silence
  /stall-body?first=B&stall=MS 200, Content-Length 24000: the head and B body bytes, MS ms of silence, the rest
  /flow?total=T&chunk=C&every=MS  200, Content-Length T: C bytes every MS ms (the first with the head)
While silent (slow head, stall) the server watches its socket: when the peer closes (EOF) or resets it
logs peer-closed / peer-reset with how long after the request / its last write, and ends the connection.
A write that fails (the peer gone during a flowing body) is logged as write-error.
Log (--log): one JSON object a line: accept, request (peer, target, endpoint, id), head, write (bytes,
total), silent-begin/silent-end, peer-closed/peer-reset, write-error, done, conn-close.
"""
import argparse
import json
import select
import socket
import threading
import time
from urllib.parse import parse_qs

LOCK = threading.Lock()
LOG = None


def log(**kv):
    kv = {'t': round(time.time(), 6), **kv}
    with LOCK:
        LOG.write(json.dumps(kv) + '\n')
        LOG.flush()


def body_bytes(n, seed):
    line = f'x31 body {seed} '.encode()
    out = bytearray()
    i = 0
    while len(out) < n:
        out += line + f'{i:06d}'.encode() + b'.' * 40 + b'\n'
        i += 1
    return bytes(out[:n])


class PeerGone(Exception):
    pass


class Conn:
    def __init__(self, sock, peer):
        self.sock, self.peer = sock, peer
        self.buf = b''
        self.last_write = None
        self.t_request = None
        self.written = 0
        self.rid = None

    def write(self, data, what):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            log(event='write-error', peer=self.peer, id=self.rid, what=what, error=type(e).__name__,
                afterRequest=round(time.time() - self.t_request, 6))
            raise PeerGone()
        self.last_write = time.time()
        self.written += len(data)
        log(event='write', peer=self.peer, id=self.rid, what=what, bytes=len(data), total=self.written)

    def silent(self, seconds, what):
        """Stay silent for `seconds` watching the socket; raise PeerGone when the peer closes or resets."""
        log(event='silent-begin', peer=self.peer, id=self.rid, what=what, seconds=seconds)
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                log(event='silent-end', peer=self.peer, id=self.rid, what=what)
                return
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = None
            if not data:
                now = time.time()
                log(event='peer-reset' if data is None else 'peer-closed', peer=self.peer, id=self.rid, what=what,
                    afterRequest=round(now - self.t_request, 6),
                    afterLastWrite=round(now - self.last_write, 6) if self.last_write else None)
                raise PeerGone()
            self.buf += data

    def read_head(self):
        while b'\r\n\r\n' not in self.buf:
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None
            if not data:
                return None
            self.buf += data
            if len(self.buf) > 65536:
                return None
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        return head.decode('latin-1')

    def serve(self):
        while True:
            head = self.read_head()
            if head is None:
                log(event='conn-close', peer=self.peer, why='eof or idle')
                return
            self.t_request = time.time()
            self.last_write = None
            lines = head.split('\r\n')
            method, target, version = lines[0].split(' ', 2)
            headers = {}
            for ln in lines[1:]:
                if ':' in ln:
                    k, v = ln.split(':', 1)
                    headers[k.strip().lower()] = v.strip()
            path, _, query = target.partition('?')
            q = {k: v[-1] for k, v in parse_qs(query).items()}
            endpoint = path[3:] if path.startswith('/v1/') else path
            self.rid = q.get('id')
            log(event='request', peer=self.peer, method=method, target=target, endpoint=endpoint, id=self.rid,
                version=version, connection=headers.get('connection'))
            keep = version == 'HTTP/1.1' and headers.get('connection', '').lower() != 'close'
            conn_hdr = '' if keep else 'Connection: close\r\n'
            self.written = 0
            try:
                self.respond(endpoint, q, conn_hdr)
            except PeerGone:
                log(event='conn-close', peer=self.peer, why='peer gone mid-response', id=self.rid)
                return
            log(event='done', peer=self.peer, id=self.rid, total=self.written)
            if not keep:
                log(event='conn-close', peer=self.peer, why='Connection: close')
                return

    def head(self, n, conn_hdr):
        return f'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {n}\r\n{conn_hdr}\r\n'.encode()

    def respond(self, endpoint, q, conn_hdr):
        rid = self.rid or '-'
        if endpoint == '/ok':
            self.write(self.head(2000, conn_hdr) + body_bytes(2000, rid), 'head+body')
        elif endpoint == '/slow-head':
            self.silent(int(q.get('ms', '4000')) / 1000, 'before-head')
            self.write(self.head(2000, conn_hdr) + body_bytes(2000, rid), 'head+body')
        elif endpoint == '/stall-body':
            first = int(q.get('first', '6000'))
            body = body_bytes(24000, rid)
            self.write(self.head(24000, conn_hdr) + body[:first], 'head+body')
            self.silent(int(q.get('stall', '4000')) / 1000, 'mid-body')
            self.write(body[first:], 'body')
        elif endpoint == '/flow':
            total, chunk, every = int(q.get('total', '17408')), int(q.get('chunk', '1024')), int(q.get('every', '300'))
            body = body_bytes(total, rid)
            self.write(self.head(total, conn_hdr) + body[:chunk], 'head+body')
            off = chunk
            while off < total:
                time.sleep(every / 1000)
                self.write(body[off:off + chunk], 'body')
                off += chunk
        else:
            msg = b'not found\n'
            self.write(f'HTTP/1.1 404 Not Found\r\nContent-Length: {len(msg)}\r\n{conn_hdr}\r\n'.encode() + msg, 'head+body')


def handle(sock, addr):
    peer = f'{addr[0]}:{addr[1]}'
    log(event='accept', peer=peer)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(40)
    try:
        Conn(sock, peer).serve()
    except Exception as e:  # logged, never fatal for the server
        log(event='exception', peer=peer, error=repr(e))
    finally:
        sock.close()


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.3')
    ap.add_argument('--port', type=int, default=9001)
    ap.add_argument('--log', required=True)
    ap.add_argument('--max-seconds', type=float, default=120)
    a = ap.parse_args()
    LOG = open(a.log, 'a')
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.host, a.port))
    srv.listen(64)
    srv.settimeout(1)
    end = time.time() + a.max_seconds
    log(event='listening', addr=f'{a.host}:{a.port}')
    while time.time() < end:
        try:
            s, addr = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(s, addr), daemon=True).start()


if __name__ == '__main__':
    main()
