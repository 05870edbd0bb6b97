"""x29p backend: a raw HTTP/1.1 server (Python stdlib sockets, one thread per connection, keep-alive)
whose responses are written piece by piece, so that a body can stall midway. Used by
samples/record/response-truncated-proxy-stall.sh at 127.0.0.3:9001 behind nginx, HAProxy and Apache.

Paths (the query string, e.g. ?id=TAG, is only logged):
  /ok             200, Content-Length 8000, the whole body at once
  /slow-ok        200, Content-Length 8000: 3000 bytes, a 1 s pause (below the proxies' 2 s timeout), the rest
  /stall-len      200, Content-Length 24000: 6000 bytes, then silence for --stall seconds, then the rest
  /stall-chunked  200, chunked: three 2000-byte chunks 0.4 s apart (more than nginx's 300 ms
                  lazy timer update, so that each chunk restarts its read timer), then silence for --stall seconds,
                  then three more and the last chunk
During a stall the server watches its socket: when the proxy closes the connection (EOF or reset) it
logs when, stops and closes; otherwise it writes the rest after --stall seconds.
Log (--log): one JSON object a line: request (peer, method, path, id), head (status, framing), body
writes (bytes, total), stall begin/end, peer-closed / peer-reset (with how long after the last byte
written), done, conn-close.
"""
import argparse
import json
import select
import socket
import threading
import time

LOCK = threading.Lock()
LOG = None


def log(**kv):
    kv = {'t': round(time.time(), 6), **kv}
    with LOCK:
        LOG.write(json.dumps(kv) + '\n')
        LOG.flush()


def body_bytes(n, seed):
    line = f'x29p body {seed} '.encode()
    out = bytearray()
    i = 0
    while len(out) < n:
        out += line + f'{i:06d}'.encode() + b'.' * 40 + b'\n'
        i += 1
    return bytes(out[:n])


class Conn:
    def __init__(self, sock, peer, stall):
        self.sock, self.peer, self.stall = sock, peer, stall
        self.buf = b''
        self.last_write = None
        self.written = 0

    def write(self, data, what):
        self.sock.sendall(data)
        self.last_write = time.time()
        self.written += len(data)
        log(event='write', peer=self.peer, what=what, bytes=len(data), total=self.written)

    def wait_silent(self, seconds):
        """Stay silent for `seconds`; True if the peer is still there, False if it closed or reset."""
        log(event='stall-begin', peer=self.peer, seconds=seconds)
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                log(event='stall-end', peer=self.peer)
                return True
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                log(event='peer-reset', peer=self.peer, afterLastWrite=round(time.time() - self.last_write, 6))
                return False
            if not data:
                log(event='peer-closed', peer=self.peer, afterLastWrite=round(time.time() - self.last_write, 6))
                return False
            self.buf += data  # a pipelined request would wait here

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
            lines = head.split('\r\n')
            method, target, version = lines[0].split(' ', 2)
            headers = {}
            for ln in lines[1:]:
                if ':' in ln:
                    k, v = ln.split(':', 1)
                    headers[k.strip().lower()] = v.strip()
            path, _, query = target.partition('?')
            rid = dict(p.split('=', 1) for p in query.split('&') if '=' in p).get('id')
            log(event='request', peer=self.peer, method=method, path=path, id=rid, version=version,
                connection=headers.get('connection'))
            keep = version == 'HTTP/1.1' and headers.get('connection', '').lower() != 'close'
            conn_hdr = '' if keep else 'Connection: close\r\n'
            try:
                ok = self.respond(path, rid or '-', conn_hdr)
            except (BrokenPipeError, ConnectionResetError) as e:
                log(event='write-error', peer=self.peer, id=rid, error=type(e).__name__)
                return
            if not ok:
                log(event='conn-close', peer=self.peer, why='peer closed mid-response', id=rid)
                return
            log(event='done', peer=self.peer, id=rid, total=self.written)
            if not keep:
                log(event='conn-close', peer=self.peer, why='Connection: close')
                return

    def respond(self, path, rid, conn_hdr):
        self.written = 0
        if path in ('/ok', '/slow-ok'):
            body = body_bytes(8000, rid)
            self.write(f'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8000\r\n{conn_hdr}\r\n'.encode(), 'head')
            if path == '/ok':
                self.write(body, 'body')
                return True
            self.write(body[:3000], 'body')
            time.sleep(1.0)
            self.write(body[3000:], 'body')
            return True
        if path == '/stall-len':
            body = body_bytes(24000, rid)
            self.write(f'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 24000\r\n{conn_hdr}\r\n'.encode(), 'head')
            self.write(body[:6000], 'body')
            if not self.wait_silent(self.stall):
                return False
            self.write(body[6000:], 'body')
            return True
        if path == '/stall-chunked':
            self.write(f'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n{conn_hdr}\r\n'.encode(), 'head')
            for i in range(6):
                if i == 3 and not self.wait_silent(self.stall):
                    return False
                if i:
                    time.sleep(0.4)
                self.write(b'7d0\r\n' + body_bytes(2000, f'{rid}-{i}') + b'\r\n', 'chunk')
            self.write(b'0\r\n\r\n', 'last-chunk')
            return True
        msg = b'not found\n'
        self.write(f'HTTP/1.1 404 Not Found\r\nContent-Length: {len(msg)}\r\n{conn_hdr}\r\n'.encode() + msg, 'head+body')
        return True


def handle(sock, addr, stall):
    peer = f'{addr[0]}:{addr[1]}'
    log(event='accept', peer=peer)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each write goes out at once (no Nagle wait for an ACK)
    sock.settimeout(30)
    try:
        Conn(sock, peer, stall).serve()
    except Exception as e:  # logged, never fatal for the server
        log(event='exception', peer=peer, error=repr(e))
    finally:
        sock.close()


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.3')
    ap.add_argument('--port', type=int, default=9001)
    ap.add_argument('--stall', type=float, default=6.0)
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
    log(event='listening', addr=f'{a.host}:{a.port}', stall=a.stall)
    while time.time() < end:
        try:
            s, addr = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(s, addr, a.stall), daemon=True).start()


if __name__ == '__main__':
    main()
