#!/usr/bin/env python3
"""The clients of slow-clients-server-timeouts.sh, raw sockets, all started at once against one server:
  slow-head  sends a request head a few bytes at a time (CHUNK bytes every GAP s) and never ends it
             (an endless X-Slow header)
  slow-body  sends a whole PUT head with Content-Length: 100000, then BODY_CHUNKS chunks of 1000 body
             bytes GAP s apart, then stalls (sends nothing more)
  silent     connects and sends nothing
  keepalive  normal requests on one kept-alive connection (GETs and a small PUT), KA_GAP s apart,
             then closes it itself (FIN)
Each slow client waits at most LIMIT s; it stops sending as soon as the server sends anything or
closes, reads until the server's close, then closes its socket. One JSON line per client (epoch s):
  {"server", "client", "port", "tConnect", "sent": [[t, bytes], ...], "sentBytes", "got" (status line
  or null), "gotBytes", "tGot", "end": "fin"|"rst"|"limit", "tEnd", "tClose"}; keepalive adds
  "responses": [[t, status line], ...].
Usage: x25s-slow-clients.py --server NAME --port P --log FILE [--host 127.0.0.1] [--only KIND,...]
"""
import argparse
import json
import re
import select
import socket
import threading
import time

GAP = 0.3
CHUNK = 4
BODY_CHUNKS = 4
KA_REQUESTS = 8
KA_GAP = 0.6
LIMIT = 8.0

lock = threading.Lock()


def write(args, rec):
    with lock, open(args.log, 'a') as f:
        f.write(json.dumps(rec) + '\n')


class Client:
    def __init__(self, args, kind):
        self.args, self.kind = args, kind
        self.sock = socket.create_connection((args.host, args.port), timeout=LIMIT)
        self.rec = {'server': args.server, 'client': kind, 'port': self.sock.getsockname()[1],
                    'tConnect': round(time.time(), 6), 'sent': [], 'sentBytes': 0, 'got': None,
                    'gotBytes': 0, 'tGot': None, 'end': None, 'tEnd': None}
        self.buf = b''

    def send(self, data):
        self.sock.sendall(data)
        self.rec['sent'].append([round(time.time(), 6), len(data)])
        self.rec['sentBytes'] += len(data)

    def wait(self, seconds):
        """Read for up to SECONDS; True as soon as the server has sent something or closed."""
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return False
            try:
                d = self.sock.recv(65536)
            except ConnectionResetError:
                self.rec['end'], self.rec['tEnd'] = 'rst', round(time.time(), 6)
                return True
            if not d:
                self.rec['end'], self.rec['tEnd'] = 'fin', round(time.time(), 6)
                return True
            if self.rec['tGot'] is None:
                self.rec['tGot'] = round(time.time(), 6)
            self.buf += d
            self.rec['gotBytes'] += len(d)
            self.rec['got'] = self.buf.split(b'\r\n', 1)[0].decode('latin-1')
            return True

    def finish(self, t0):
        """After the server answered or closed: read on until its close (bounded), then close."""
        while self.rec['end'] is None and time.time() - t0 < LIMIT:
            self.wait(min(0.5, LIMIT - (time.time() - t0)))
        if self.rec['end'] is None:
            self.rec['end'], self.rec['tEnd'] = 'limit', round(time.time(), 6)
        self.sock.close()
        self.rec['tClose'] = round(time.time(), 6)
        write(self.args, self.rec)


def slow_head(args):
    c, t0 = Client(args, 'slow-head'), time.time()
    head = (f'GET /slow-head/{args.server} HTTP/1.1\r\nHost: {args.host}\r\nUser-Agent: x25s-slow-head\r\nX-Slow: '
            + 'a' * 4000).encode()
    i = 0
    while time.time() - t0 < LIMIT and i < len(head):
        c.send(head[i:i + CHUNK])
        i += CHUNK
        if c.wait(GAP):
            break
    c.finish(t0)


def slow_body(args):
    c, t0 = Client(args, 'slow-body'), time.time()
    c.send((f'PUT /upload/slow-body-{args.server} HTTP/1.1\r\nHost: {args.host}\r\nUser-Agent: x25s-slow-body\r\n'
            'Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n').encode())
    answered = False
    for _ in range(BODY_CHUNKS):
        if c.wait(GAP):
            answered = True
            break
        c.send(b'b' * 1000)
    if not answered:
        c.wait(LIMIT - (time.time() - t0))
    c.finish(t0)


def silent(args):
    c, t0 = Client(args, 'silent'), time.time()
    c.wait(LIMIT)
    c.finish(t0)


def complete(buf):
    """A whole response with a Content-Length in BUF."""
    head, sep, body = buf.partition(b'\r\n\r\n')
    m = re.search(rb'(?i)\r\ncontent-length: *(\d+)', head)
    return bool(sep) and m is not None and len(body) >= int(m.group(1))


def keepalive(args):
    c, t0 = Client(args, 'keepalive'), time.time()
    c.rec['responses'] = []
    for i in range(1, KA_REQUESTS + 1):
        c.buf = b''
        if i == 3:
            body = b'p' * 100
            c.send((f'PUT /upload/ka-{args.server}-{i} HTTP/1.1\r\nHost: {args.host}\r\nContent-Length: {len(body)}\r\n\r\n').encode() + body)
        else:
            c.send(f'GET /ok/{args.server}/{i} HTTP/1.1\r\nHost: {args.host}\r\n\r\n'.encode())
        deadline = time.time() + 2
        while c.rec['end'] is None and time.time() < deadline and not complete(c.buf):
            c.wait(0.1)
        c.rec['responses'].append([round(time.time(), 6), c.buf.split(b'\r\n', 1)[0].decode('latin-1')])
        if c.rec['end'] is not None or not complete(c.buf):
            break
        time.sleep(KA_GAP)
    c.sock.shutdown(socket.SHUT_WR)
    c.rec['tClose'] = round(time.time(), 6)
    c.wait(1.0)
    c.sock.close()
    c.rec['end'] = c.rec['end'] or 'client-closed'
    write(args, c.rec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--server', required=True)
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--only', default='slow-head,slow-body,silent,keepalive')
    args = ap.parse_args()
    kinds = {'slow-head': slow_head, 'slow-body': slow_body, 'silent': silent, 'keepalive': keepalive}
    threads = [threading.Thread(target=kinds[k], args=(args,)) for k in args.only.split(',')]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LIMIT + 5)


if __name__ == '__main__':
    main()
