#!/usr/bin/env python3
"""Server and client for port-reuse-unseen-handshake.sh (one process each, bounded in time).

server: HTTP/1.1 on PORT; `GET /close` answers with Connection: close and closes first (the
server holds TIME_WAIT); `GET /big` sends 3 MiB, pauses PAUSE s, sends 3 MiB more, then closes.
client: from local port REUSE_PORT, GET /close, wait PAUSE s, the same port again, GET /close;
then from local port BIG_PORT one GET /big, read to the end.
"""
import socket, sys, threading, time

PORT, REUSE_PORT, BIG_PORT, PAUSE = 8080, 40001, 40002, 1.5
HALF = 3 * 1024 * 1024


def read_request(c):
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = c.recv(4096)
        if not d:
            return None
        buf += d
    return buf.split(b' ')[1].decode()


def handle(c):
    with c:
        path = read_request(c)
        if path == '/close':
            body = b'closed by the server\n'
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' % len(body) + body)
        elif path == '/big':
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' % (2 * HALF))
            c.sendall(b'a' * HALF)
            time.sleep(PAUSE)
            c.sendall(b'b' * HALF)


def server(lifetime):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', PORT))
    s.listen(16)
    s.settimeout(0.5)
    end = time.time() + lifetime
    while time.time() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def get(local_port, path):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(('127.0.0.1', local_port))
    c.settimeout(10)
    c.connect(('127.0.0.1', PORT))
    c.sendall(b'GET %s HTTP/1.1\r\nHost: reuse\r\n\r\n' % path.encode())
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.close()
    print(f'{path} from port {local_port}: {n} bytes', file=sys.stderr)


if __name__ == '__main__':
    if sys.argv[1] == 'server':
        server(float(sys.argv[2]))
    else:
        get(REUSE_PORT, '/close')
        time.sleep(PAUSE)
        get(REUSE_PORT, '/close')
        time.sleep(0.2)
        get(BIG_PORT, '/big')
