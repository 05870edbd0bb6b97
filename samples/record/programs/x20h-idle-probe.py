#!/usr/bin/python3
"""Does a server close an idle keep-alive connection? (keepalive-race-hypercorn.sh: Hypercorn's default
asyncio worker.) Two connections at once: one that sends nothing, one that sends one GET and reads the
response (Content-Length). Each then waits up to --wait s for the server's close (EOF or reset).
Prints one JSON line: for each, the seconds from connect (silent) or from the response (after-request)
to the close, or null when the server had not closed it within --wait s.

Usage: x20h-idle-probe.py --host 10.99.0.2 --port 8080 --wait 4
"""
import argparse
import json
import socket
import threading
import time


def wait_close(s, since, wait):
    s.settimeout(max(0.01, since + wait - time.monotonic()))
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return round(time.monotonic() - since, 3)
            s.settimeout(max(0.01, since + wait - time.monotonic()))
    except socket.timeout:
        return None
    except ConnectionError:
        return round(time.monotonic() - since, 3)


def silent(a, out):
    s = socket.create_connection((a.host, a.port), timeout=5)
    out['silentClosedAfter'] = wait_close(s, time.monotonic(), a.wait)
    s.close()


def after_request(a, out):
    s = socket.create_connection((a.host, a.port), timeout=5)
    s.sendall(f'GET /probe/idle HTTP/1.1\r\nHost: {a.host}:{a.port}\r\n\r\n'.encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(4096)
        if not d:
            out['afterRequestClosedAfter'] = 'closed before the response ended'
            return
        buf += d
    head, body = buf.split(b'\r\n\r\n', 1)
    out['status'] = int(head.split(b' ')[1])
    n = next(int(h.split(b':')[1]) for h in head.split(b'\r\n') if h.lower().startswith(b'content-length:'))
    while len(body) < n:
        body += s.recv(4096)
    out['afterRequestClosedAfter'] = wait_close(s, time.monotonic(), a.wait)
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--wait', type=float, default=4)
    a = ap.parse_args()
    out = {'waitSeconds': a.wait}
    ts = [threading.Thread(target=f, args=(a, out)) for f in (silent, after_request)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(a.wait + 6)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
