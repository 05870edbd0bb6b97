#!/usr/bin/env python3
"""HTTP/1.1 server whose application drops the second request of every connection: it answers the
first (keep-alive, Content-Length), reads the second whole (head and body) and closes the socket
without answering: a clean FIN that acknowledges the request, no RST (blind round 12, S8's
dropserver.py). Its idle timeout is 30 s: no idle close within a recording. Logs one JSON line per
request: {"ts", "port", "n", "line", "action": "answer" | "drop"}."""
import json, socket, sys, threading, time

host, port, log_path, run_for = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
IDLE_TIMEOUT = 30.0
lock = threading.Lock()
log = open(log_path, 'a')


def note(**fields):
    with lock:
        log.write(json.dumps({'ts': round(time.time(), 6), **fields}) + '\n')
        log.flush()


def handle(conn, addr):
    conn.settimeout(IDLE_TIMEOUT)
    buf = b''
    n = 0
    try:
        while True:
            while b'\r\n\r\n' not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, buf = buf.split(b'\r\n\r\n', 1)
            length = 0
            for line in head.split(b'\r\n')[1:]:
                name, _, value = line.partition(b':')
                if name.strip().lower() == b'content-length':
                    length = int(value.strip())
            while len(buf) < length:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            buf = buf[length:]
            n += 1
            line = head.split(b'\r\n', 1)[0].decode()
            if n == 2:
                note(port=addr[1], n=n, line=line, action='drop')
                return  # close() below: nothing unread, so a FIN
            conn.sendall(b'HTTP/1.1 200 OK\r\nServer: dropserver\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n')
            note(port=addr[1], n=n, line=line, action='answer')
    except OSError as e:
        note(port=addr[1], n=n, error=str(e))
    finally:
        conn.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(16)
srv.settimeout(0.5)
end = time.time() + run_for
while time.time() < end:
    try:
        c, a = srv.accept()
    except socket.timeout:
        continue
    threading.Thread(target=handle, args=(c, a), daemon=True).start()
