#!/usr/bin/python3
"""Client of keepalive-race-waitress-lazy-check.sh: raw keep-alive connections on a fixed schedule
against a server that checks its idle connections on a periodic pass (waitress: maintenance every
cleanup_interval), so that one pass closes connections of different idle ages.

  lazycheck-client.py --host H --port P --log FILE

Schedule (seconds from the start; every wait bounded):
  K   near miss: GET /k1 at 0, GET /k2 reused after 1.5 s idle (answered), GET /k3 after 1.5 s
      more, then the client closes K itself (FIN first).
  G, R  at T0 = 4.5: GET /g and GET /r on two new connections at once (they idle alike).
  S   at T0 + 0.45: GET /s on a new connection (it idles 0.45 s less than G and R).
  H   at T0 + 0.7: GET /h with `Connection: close` (the last activity before the pass that closes
      G, R and S; the server closes H after its response, no idle close).
  Then the client waits (at most 6 s) for each idle connection's FIN: G and S are closed by the
  client as soon as their FIN is read (a pool that watches its sockets), R is reused 0.9 s after
  its FIN was read (a pool that does not: Python's http.client) with POST /r2, which meets the
  server's RST: the race.
Each step is one JSON line in FILE: wall-clock t, name, local port, what happened.
"""
import argparse
import json
import select
import socket
import time

OUT = None


def log(**ev):
    ev = {'t': round(time.time(), 6), **ev}
    OUT.write(json.dumps(ev) + '\n')
    OUT.flush()


def read_response(sock, timeout=3.0):
    """One response with Content-Length (the server's are), or b'' at EOF; bounded by `timeout`."""
    sock.settimeout(timeout)
    buf = b''
    while b'\r\n\r\n' not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return buf
        buf += chunk
    head, _, body = buf.partition(b'\r\n\r\n')
    length = 0
    for line in head.split(b'\r\n')[1:]:
        k, _, v = line.partition(b':')
        if k.strip().lower() == b'content-length':
            length = int(v.strip())
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return head.split(b'\r\n')[0]


class Conn:
    def __init__(self, name, host, port):
        self.name = name
        self.sock = socket.create_connection((host, port), timeout=3)
        self.port = self.sock.getsockname()[1]
        self.host = host
        log(name=name, port=self.port, event='connect')

    def get(self, uri, close=False):
        req = f'GET {uri} HTTP/1.1\r\nHost: {self.host}\r\n' + ('Connection: close\r\n' if close else '') + '\r\n'
        self.sock.sendall(req.encode())
        status = read_response(self.sock)
        log(name=self.name, port=self.port, event='response', uri=uri, status=status.decode(errors='replace'))

    def post(self, uri, body=b'{"n":2}'):
        req = (f'POST {uri} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n'
               f'Content-Length: {len(body)}\r\n\r\n').encode() + body
        try:
            self.sock.sendall(req)
            status = read_response(self.sock)
            if status:
                log(name=self.name, port=self.port, event='response', uri=uri, status=status.decode(errors='replace'))
            else:
                log(name=self.name, port=self.port, event='error', uri=uri, error='EOF (RemoteDisconnected)')
        except (BrokenPipeError, ConnectionResetError) as e:
            log(name=self.name, port=self.port, event='error', uri=uri, error=type(e).__name__)

    def close(self, why):
        self.sock.close()
        log(name=self.name, port=self.port, event='client-close', why=why)


def sleep_until(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--log', required=True)
    a = ap.parse_args()
    OUT = open(a.log, 'a')
    start = time.time()
    log(event='start')

    k = Conn('K', a.host, a.port)
    k.get('/k1')
    sleep_until(start + 1.5)
    k.get('/k2')
    sleep_until(start + 3.0)
    k.get('/k3')
    sleep_until(start + 3.1)
    k.close('done (near miss: reused after 1.5 s idle, below the server\'s idle timeout)')

    t0 = start + 4.5
    sleep_until(t0)
    g = Conn('G', a.host, a.port)
    r = Conn('R', a.host, a.port)
    g.sock.sendall(f'GET /g HTTP/1.1\r\nHost: {a.host}\r\n\r\n'.encode())
    r.sock.sendall(f'GET /r HTTP/1.1\r\nHost: {a.host}\r\n\r\n'.encode())
    for c, uri in ((g, '/g'), (r, '/r')):
        log(name=c.name, port=c.port, event='response', uri=uri, status=read_response(c.sock).decode(errors='replace'))
    sleep_until(t0 + 0.45)
    s = Conn('S', a.host, a.port)
    s.get('/s')
    sleep_until(t0 + 0.7)
    h = Conn('H', a.host, a.port)
    h.get('/h', close=True)
    h.close('after its Connection: close response')

    # Wait (bounded) for the server's idle FINs on G, R and S.
    pending = {g.sock: g, r.sock: r, s.sock: s}
    fin_at = {}
    deadline = time.time() + 6.0
    while pending and time.time() < deadline:
        ready, _, _ = select.select(list(pending), [], [], max(0.0, deadline - time.time()))
        for sock in ready:
            c = pending.pop(sock)
            data = sock.recv(4096)
            fin_at[c.name] = time.time()
            log(name=c.name, port=c.port, event='server-fin' if not data else 'unexpected-data')
            if c is not r:
                c.close('noticed the server\'s FIN')
    for c in pending.values():
        log(name=c.name, port=c.port, event='no-fin-in-time')
        c.close('no FIN within 6 s')
    if 'R' in fin_at:
        sleep_until(fin_at['R'] + 0.9)
        r.post('/r2')
        r.close('after the failed POST')
    log(event='end')


if __name__ == '__main__':
    main()
