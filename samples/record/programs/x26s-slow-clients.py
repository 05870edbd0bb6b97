#!/usr/bin/env python3
"""The clients of slow-clients-more-servers.sh: programs/x25s-slow-clients.py's (loaded through
sibling.py, not copied: its Client, slow-head, slow-body, silent and keepalive clients, its GAP,
CHUNK and LIMIT) plus one more kind:
  slow-headers  the request line and a Host header in one write
                (`GET /slow-headers/SERVER HTTP/1.1\\r\\nHost: HOST\\r\\n`), then the rest of the head
                (a User-Agent, then an endless X-Slow header) CHUNK bytes every GAP s, never finished
Like x25s's slow clients it waits at most LIMIT s, stops sending as soon as the server sends anything
or closes, reads until the server's close, then closes. Same JSON lines as x25s (one per client), in
the same log file. The keepalive client also takes a chunked response (x25s's needs a Content-Length).
Usage: x26s-slow-clients.py --server NAME --port P --log FILE [--host 127.0.0.1] [--only KIND,...]
"""
import argparse
import re
import threading
import time

import sibling

x25s = sibling.load('x25s_slow_clients', 'x25s-slow-clients.py')


def slow_headers(args):
    c, t0 = x25s.Client(args, 'slow-headers'), time.time()
    c.send(f'GET /slow-headers/{args.server} HTTP/1.1\r\nHost: {args.host}\r\n'.encode())
    rest = ('User-Agent: x26s-slow-headers\r\nX-Slow: ' + 'a' * 4000).encode()
    i = 0
    while time.time() - t0 < x25s.LIMIT and i < len(rest):
        if c.wait(x25s.GAP):
            break
        c.send(rest[i:i + x25s.CHUNK])
        i += x25s.CHUNK
    c.finish(t0)


def complete(buf):
    """x25s's complete() (a whole response with a Content-Length in BUF), or a whole chunked one: Apache 2.4
    sends a CGI's answer chunked, dropping the script's Content-Length."""
    head, sep, body = buf.partition(b'\r\n\r\n')
    if sep and re.search(rb'(?i)\r\ntransfer-encoding: *chunked', head):
        return body.endswith(b'0\r\n\r\n')
    return x25s_complete(buf)


# x25s's keepalive client finds each response's end with its module's complete().
x25s_complete, x25s.complete = x25s.complete, complete

KINDS = {'slow-head': x25s.slow_head, 'slow-headers': slow_headers, 'slow-body': x25s.slow_body,
         'silent': x25s.silent, 'keepalive': x25s.keepalive}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--server', required=True)
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--only', default=','.join(KINDS))
    args = ap.parse_args()
    threads = [threading.Thread(target=KINDS[k], args=(args,)) for k in args.only.split(',')]
    for t in threads:
        t.start()
    for t in threads:
        t.join(x25s.LIMIT + 5)


if __name__ == '__main__':
    main()
