#!/usr/bin/env python3
"""Server and client of samples/record/path-outage-keepalive.sh.

server: a keep-alive HTTP/1.1 server (one thread per connection) that answers every GET with
  200 and a small body, and closes a connection idle for --idle seconds (FIN).
client: one keep-alive connection; GET /p0 and /p1 0.3 s apart, then it writes "ready" to its
  log and waits (bounded) for --go to exist (the recorder cuts the path meanwhile), then sends
  GET /p2 and waits for its answer for --timeout seconds (socket timeout), with TCP_USER_TIMEOUT
  --user-timeout-ms when given. On a timeout it closes its socket and stops.
Every line it logs starts with the epoch time.
"""
import argparse
import errno
import os
import socket
import sys
import threading
import time

TCP_USER_TIMEOUT = getattr(socket, 'TCP_USER_TIMEOUT', 18)


def log(out, text):
    out.write(f'{time.time():.6f} {text}\n')
    out.flush()


def serve(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.host, args.port))
    ls.listen(16)
    log(sys.stdout, f'listening {args.host}:{args.port} idle {args.idle}')

    def handle(conn, peer):
        conn.settimeout(args.idle)
        buf = b''
        try:
            while True:
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    log(sys.stdout, f'{peer} idle {args.idle} s: closing')
                    break
                if not data:
                    log(sys.stdout, f'{peer} closed by client')
                    break
                buf += data
                while b'\r\n\r\n' in buf:
                    head, buf = buf.split(b'\r\n\r\n', 1)
                    line = head.split(b'\r\n', 1)[0].decode('latin-1')
                    body = b'x' * 200 + b'\n'
                    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
                    log(sys.stdout, f'{peer} answered {line}')
        except OSError as e:
            log(sys.stdout, f'{peer} error {e.__class__.__name__} {e}')
        finally:
            conn.close()

    deadline = time.time() + args.lifetime
    ls.settimeout(1.0)
    while time.time() < deadline:
        try:
            conn, peer = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn, peer), daemon=True).start()


def client(args):
    out = sys.stdout
    s = socket.create_connection((args.host, args.port), timeout=5, source_address=('', args.sport))
    if args.user_timeout_ms > 0:
        s.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, args.user_timeout_ms)
    log(out, f'connected {s.getsockname()[0]}:{s.getsockname()[1]} app timeout {args.timeout} user_timeout_ms {args.user_timeout_ms}')

    def get(path):
        start = time.time()
        s.settimeout(args.timeout)
        s.sendall(f'GET {path} HTTP/1.1\r\nHost: {args.host}\r\n\r\n'.encode())
        buf = b''
        try:
            while True:
                if b'\r\n\r\n' in buf:
                    head, rest = buf.split(b'\r\n\r\n', 1)
                    length = int([l for l in head.split(b'\r\n') if l.lower().startswith(b'content-length:')][0].split(b':')[1])
                    if len(rest) >= length:
                        log(out, f'{path} ok after {time.time() - start:.3f}')
                        return True
                data = s.recv(4096)
                if not data:
                    log(out, f'{path} closed by server after {time.time() - start:.3f}')
                    return False
                buf += data
        except socket.timeout as e:
            # socket.timeout is TimeoutError: the kernel's ETIMEDOUT (TCP_USER_TIMEOUT) comes as one too.
            what = 'ETIMEDOUT (kernel)' if e.errno == errno.ETIMEDOUT else 'timed out (socket timeout)'
            log(out, f'{path} ERROR {what} after {time.time() - start:.3f}')
        except OSError as e:
            log(out, f'{path} ERROR {e.__class__.__name__} {os.strerror(e.errno) if e.errno else e} after {time.time() - start:.3f}')
        return False

    get('/p0')
    time.sleep(0.3)
    get('/p1')
    log(out, 'ready')
    for _ in range(100):  # bounded: 5 s
        if os.path.exists(args.go):
            break
        time.sleep(0.05)
    answered = get('/p2')
    if answered:
        time.sleep(0.3)
        get('/p3')
    s.close()
    log(out, 'socket closed')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['server', 'client'])
    p.add_argument('--host', required=True)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--idle', type=float, default=6.0)
    p.add_argument('--lifetime', type=float, default=60.0)
    p.add_argument('--timeout', type=float, default=30.0)
    p.add_argument('--user-timeout-ms', type=int, default=0)
    p.add_argument('--go', default='')
    p.add_argument('--sport', type=int, default=0)
    args = p.parse_args()
    serve(args) if args.mode == 'server' else client(args)


if __name__ == '__main__':
    main()
