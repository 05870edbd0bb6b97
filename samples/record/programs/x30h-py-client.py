"""healthy-client-cancels' Python clients (stdlib only), one JSON line per request in --log (appended):
tag, mode, id, url, local port, status, declared length, body bytes read, outcome, times.

--mode partial --read N URL      a raw socket: sends the GET (User-Agent x30-partial-reader), reads the head
                                 and N body bytes, then closes the socket at once (with unread data in its
                                 receive buffer the kernel sends a RST instead of a FIN); logs unreadAtClose
                                 (bytes waiting in the socket, FIONREAD) and outcome "client-closed"
--mode halfclose URL             a raw socket: sends the GET, then shutdown(SHUT_WR) (its FIN), then reads the
                                 whole response (Content-Length or chunked) and closes after the server's FIN;
                                 outcome "complete"
--mode keepalive URL...          http.client.HTTPConnection, the URLs (METHOD:URL, GET by default) one after the
                                 other on one connection, bodies read whole; outcome "complete"
"""
import argparse
import fcntl
import http.client
import json
import socket
import struct
import termios
import time
from urllib.parse import parse_qs, urlsplit

UA = 'x30-partial-reader/1'


def qid(url):
    return parse_qs(urlsplit(url).query).get('id', ['?'])[-1]


def target(url):
    u = urlsplit(url)
    return u.hostname, u.port, u.path + ('?' + u.query if u.query else '')


def read_head(sock, buf):
    while b'\r\n\r\n' not in buf:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError('closed before the head')
        buf += d
    head, _, rest = buf.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (h.partition(':') for h in lines[1:])}
    return int(lines[0].split(' ')[1]), hdrs, rest


def dechunk(data):
    """(body bytes, complete) of chunked DATA."""
    body, p = 0, 0
    while True:
        le = data.find(b'\r\n', p)
        if le < 0:
            return body, False
        size = int(data[p:le].split(b';')[0], 16)
        if size == 0:
            return body, data[le + 2:le + 4] == b'\r\n'
        if len(data) < le + 2 + size + 2:
            return body + max(0, len(data) - le - 2), False
        body += size
        p = le + 2 + size + 2


def partial(a, url, log):
    host, port, path = target(url)
    m = {'mode': 'partial', 'id': qid(url), 'url': url, 'tStart': time.time(), 'read': a.read}
    s = socket.create_connection((host, port), timeout=10)
    m['localPort'] = s.getsockname()[1]
    s.sendall(f'GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {UA}\r\nAccept: */*\r\n\r\n'.encode())
    status, hdrs, body = read_head(s, b'')
    m['status'], m['contentLength'] = status, hdrs.get('content-length')
    m['chunked'] = hdrs.get('transfer-encoding') == 'chunked'
    while len(body) < a.read:
        d = s.recv(a.read - len(body))
        if not d:
            break
        body += d
    m['bodyBytes'] = len(body)  # raw bytes after the head (chunk framing included when chunked)
    m['unreadAtClose'] = struct.unpack('i', fcntl.ioctl(s.fileno(), termios.FIONREAD, b'\0\0\0\0'))[0]
    m['tClose'] = time.time()
    s.close()
    m['outcome'] = 'client-closed'
    m['tEnd'] = time.time()
    log(m)


def halfclose(a, url, log):
    host, port, path = target(url)
    m = {'mode': 'halfclose', 'id': qid(url), 'url': url, 'tStart': time.time()}
    s = socket.create_connection((host, port), timeout=10)
    m['localPort'] = s.getsockname()[1]
    s.sendall(f'GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: x30-half-close/1\r\n\r\n'.encode())
    s.shutdown(socket.SHUT_WR)
    m['tShutdown'] = time.time()
    status, hdrs, rest = read_head(s, b'')
    while True:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    m['tServerClosed'] = time.time()
    s.close()
    m['status'] = status
    if hdrs.get('transfer-encoding') == 'chunked':
        m['bodyBytes'], ok = dechunk(rest)
    else:
        m['contentLength'] = int(hdrs['content-length'])
        m['bodyBytes'] = len(rest)
        ok = len(rest) == m['contentLength']
    m['outcome'] = 'complete' if ok else 'short'
    m['tEnd'] = time.time()
    log(m)


def keepalive(a, urls, log):
    host, port, _ = target(urls[0].split(':', 1)[1] if urls[0].startswith(('GET:', 'HEAD:')) else urls[0])
    conn = http.client.HTTPConnection(host, port, timeout=10)
    for spec in urls:
        method, url = spec.split(':', 1) if spec.startswith(('GET:', 'HEAD:')) else ('GET', spec)
        _, _, path = target(url)
        m = {'mode': 'keepalive', 'method': method, 'id': qid(url), 'url': url, 'tStart': time.time()}
        conn.request(method, path, headers={'User-Agent': 'x30-keepalive/1'})
        m['localPort'] = conn.sock.getsockname()[1]
        r = conn.getresponse()
        body = r.read()
        m.update({'status': r.status, 'contentLength': r.getheader('Content-Length'), 'bodyBytes': len(body),
                  'outcome': 'complete', 'tEnd': time.time()})
        log(m)
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', required=True, choices=['partial', 'halfclose', 'keepalive'])
    ap.add_argument('--tag', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--read', type=int, default=1024)
    ap.add_argument('urls', nargs='+')
    a = ap.parse_args()

    def log(m):
        m['tag'] = a.tag
        with open(a.log, 'a') as f:
            f.write(json.dumps(m) + '\n')

    if a.mode == 'partial':
        partial(a, a.urls[0], log)
    elif a.mode == 'halfclose':
        halfclose(a, a.urls[0], log)
    else:
        keepalive(a, a.urls, log)


if __name__ == '__main__':
    main()
