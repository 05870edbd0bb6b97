"""healthy-streaming-responses' Python clients; each request is logged as one JSON line (--log, appended):
tag, client, local port, server, method, path, status, the body bytes received, what framed the body
(content-length / chunked / close / none) and the outcome: "complete" (the body as framed) or
"client-abort" (this client closed its socket before the end of the body, on purpose).

--mode keepalive --requests JSON   http.client.HTTPConnection, the requests one after the other on one
                                   connection ([{"method", "path", "headers"}]); then close.
--mode requests-close --path P     python requests, GET with "Connection: close" (the server closes after
                                   the response).
--mode partial --path P --read N   a raw socket: GET P, read the head and N bytes of body, then close the
                                   socket (with --drain, only after the data already received is read,
                                   so that the close is a FIN; without, the unread bytes make it a RST)
"""
import argparse
import fcntl
import http.client
import json
import socket
import struct
import sys
import termios
import time


def log(logpath, **kw):
    kw['t'] = round(time.time(), 6)
    with open(logpath, 'a') as f:
        f.write(json.dumps(kw) + '\n')


def pending(sock):
    return struct.unpack('i', fcntl.ioctl(sock.fileno(), termios.FIONREAD, b'\0\0\0\0'))[0]


def framing(headers_get, method, status):
    if method == 'HEAD' or status in (204, 304) or 100 <= status < 200:
        return 'none'
    if (headers_get('Transfer-Encoding') or '').lower() == 'chunked':
        return 'chunked'
    if headers_get('Content-Length') is not None:
        return 'content-length'
    return 'close'


def keepalive(a):
    reqs = json.loads(a.requests)
    conn = http.client.HTTPConnection(a.host, a.port, timeout=15)
    for r in reqs:
        t0 = time.time()
        conn.request(r['method'], r['path'], headers=r.get('headers', {}))
        port = conn.sock.getsockname()[1]
        resp = conn.getresponse()
        body = resp.read()
        fr = framing(resp.getheader, r['method'], resp.status)
        cl = resp.getheader('Content-Length')
        ok = fr != 'content-length' or r['method'] == 'HEAD' or int(cl) == len(body)
        log(a.log, tag=a.tag, client='python http.client', localPort=port, server=f'{a.host}:{a.port}', method=r['method'],
            path=r['path'], status=resp.status, contentLength=int(cl) if cl is not None else None, framing=fr,
            bodyBytes=len(body), outcome='complete' if ok else 'short', seconds=round(time.time() - t0, 3),
            version=resp.version)
        if resp.will_close:
            conn.close()
    conn.close()


def requests_close(a):
    import requests
    t0 = time.time()
    s = requests.Session()
    resp = s.get(f'http://{a.host}:{a.port}{a.path}', headers={'Connection': 'close'}, stream=True, timeout=15)
    # the socket under urllib3's response (still open: the body is not read yet)
    port = resp.raw._fp.fp.raw._sock.getsockname()[1]
    body = resp.content
    fr = framing(resp.headers.get, 'GET', resp.status_code)
    cl = resp.headers.get('Content-Length')
    ok = fr != 'content-length' or int(cl) == len(body)
    log(a.log, tag=a.tag, client=f'python requests {requests.__version__}', localPort=port, server=f'{a.host}:{a.port}',
        method='GET', path=a.path, status=resp.status_code, contentLength=int(cl) if cl is not None else None,
        framing=fr, bodyBytes=len(body), outcome='complete' if ok else 'short', seconds=round(time.time() - t0, 3),
        responseConnection=resp.headers.get('Connection'))
    s.close()


def partial(a):
    t0 = time.time()
    sock = socket.create_connection((a.host, a.port), timeout=15)
    port = sock.getsockname()[1]
    sock.sendall(f'GET {a.path} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\nUser-Agent: x29s-partial\r\nAccept: */*\r\n\r\n'.encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = sock.recv(65536)
        if not d:
            break
        buf += d
    head, _, body = buf.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, v in (l.split(':', 1) for l in lines[1:] if ':' in l)}
    while len(body) < a.read:
        d = sock.recv(a.read - len(body))
        if not d:
            break
        body += d
    # what the kernel holds that this client never reads: 0 means its close is a FIN, more a RST
    if a.drain:
        time.sleep(0.05)
        while pending(sock):
            body += sock.recv(65536)
    left = pending(sock)
    fr = framing(lambda k: hdrs.get(k.lower()), 'GET', status)
    cl = hdrs.get('content-length')
    sock.close()
    log(a.log, tag=a.tag, client='python socket (partial reader)', localPort=port, server=f'{a.host}:{a.port}', method='GET',
        path=a.path, status=status, contentLength=int(cl) if cl else None, framing=fr, bodyBytes=len(body),
        unreadAtClose=left, outcome='client-abort', seconds=round(time.time() - t0, 3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', choices=['keepalive', 'requests-close', 'partial'], required=True)
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--tag', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--requests')
    ap.add_argument('--path')
    ap.add_argument('--read', type=int, default=100)
    ap.add_argument('--drain', action='store_true')
    a = ap.parse_args()
    try:
        {'keepalive': keepalive, 'requests-close': requests_close, 'partial': partial}[a.mode](a)
    except Exception as e:
        log(a.log, tag=a.tag, outcome='error', error=f'{type(e).__name__}: {e}')
        sys.exit(1)


if __name__ == '__main__':
    main()
