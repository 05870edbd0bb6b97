#!/usr/bin/env python3
"""Asks one backend for a slow URL directly and through a proxy at the same moment, in a fixed order.

Usage: direct-and-proxied.py --proxy HOST:PORT --backend HOST:PORT --prefix /g --path /slow/N?sleep=MS
                             --order direct-first|direct-between --log FILE

Two sockets: A to the proxy, B to the backend, both connected first. `direct-first` sends B's
request (PATH) and then A's (PREFIX + PATH): the direct request reaches the backend before the proxy
even has its own (blind round 11, s3: curl's direct GET /gslow and nginx's GET /g/gslow). And
`direct-between` sends A's request but its last CRLF, then B's, then the CRLF: B's reaches the
backend after A's began and before the proxy's copy. Each socket is read until the peer closes (bounded by 10 s);
one JSON line per socket goes to the log: which, local port, status line (or "" for an empty
reply), seconds from its request to the answer's first byte (or to the close of an empty reply).
The proxied request says Connection: close, so that the proxy closes after its answer.
"""
import argparse
import json
import socket
import threading
import time


def addr(s):
    host, port = s.rsplit(':', 1)
    return host, int(port)


def read_all(sock, sent_at, which, out):
    sock.settimeout(10)
    data = b''
    first = None
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            if first is None:
                first = time.time()
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    status = data.split(b'\r\n', 1)[0].decode('latin-1') if data else ''
    # To the answer's first byte, or to the close of an empty reply.
    out.append({'which': which, 'port': sock.getsockname()[1], 'status': status, 'seconds': round((first or time.time()) - sent_at, 3)})
    sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--proxy', required=True)
    ap.add_argument('--backend', required=True)
    ap.add_argument('--prefix', required=True)
    ap.add_argument('--path', required=True)
    ap.add_argument('--order', choices=['direct-first', 'direct-between'], required=True)
    ap.add_argument('--log', required=True)
    a = ap.parse_args()
    px, bk = addr(a.proxy), addr(a.backend)
    front = socket.create_connection(px)
    direct = socket.create_connection(bk)
    front_req = f'GET {a.prefix}{a.path} HTTP/1.1\r\nHost: {a.proxy}\r\nUser-Agent: direct-and-proxied/1\r\nAccept: */*\r\nConnection: close\r\n\r\n'.encode()
    direct_req = f'GET {a.path} HTTP/1.1\r\nHost: {a.backend}\r\nUser-Agent: direct-and-proxied/1\r\nAccept: */*\r\n\r\n'.encode()
    out = []
    if a.order == 'direct-first':
        direct.sendall(direct_req)
        t_direct = time.time()
        time.sleep(0.0002)
        front.sendall(front_req)
        t_front = time.time()
    else:
        # The proxied head but its last CRLF, the direct request, then the CRLF: the proxy forwards
        # only a whole head, so the direct request is surely in before the proxy's copy.
        front.sendall(front_req[:-2])
        t_front = time.time()
        time.sleep(0.0005)
        direct.sendall(direct_req)
        t_direct = time.time()
        time.sleep(0.0005)
        front.sendall(front_req[-2:])
    threads = [threading.Thread(target=read_all, args=(front, t_front, 'proxied', out)),
               threading.Thread(target=read_all, args=(direct, t_direct, 'direct', out))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(a.log, 'a') as f:
        for o in out:
            f.write(json.dumps({**o, 'order': a.order, 'path': a.path}) + '\n')


if __name__ == '__main__':
    main()
