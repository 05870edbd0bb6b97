#!/usr/bin/env python3
"""Idle keep-alive 408 (request-after-close-notice-idle-408): a raw Python HTTP/1.1 server whose
idle keep-alive timer announces the close with `408 Request Timeout` + `Connection: close`, then
closes without reading what is pending (the kernel resets). Its event loop ticks every TICK s and
runs its timers before reading (a ticking server), so a request that comes in the last tick before
the timer is still unread when the 408 goes. Clients, one connection each, in order:
  healthy   reuses after IDLE/2: answered (silent)
  crossed   reuses IDLE-0.05 s after its response: the 408 crosses it (request unread, RST)
  after     reuses 3 ms after the 408 left, without reading it: RST
  stale     reuses 0.2 s after the 408, without reading it: RST
  idle      never reuses: reads the 408 and EOF, closes (silent: the near miss)
Writes one JSON line per client to --log."""
import argparse, json, socket, threading, time

p = argparse.ArgumentParser()
p.add_argument('--port', type=int, default=8080)
p.add_argument('--idle', type=float, default=0.6)
p.add_argument('--tick', type=float, default=0.1)
p.add_argument('--log', required=True)
a = p.parse_args()
IDLE, TICK = a.idle, a.tick
NOTICE = b'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
server_events = []


def serve(c):
    last = time.time()  # idle since the accept, then since each response
    buf = b''
    while True:
        time.sleep(TICK)
        # Timers first: an idle connection gets its 408, whatever sits unread in its buffer.
        if time.time() - last >= IDLE - 0.001:
            try:
                pending = len(c.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT))
            except BlockingIOError:
                pending = 0
            server_events.append({'event': 'idle-408', 'port': c.getpeername()[1], 'pending': pending, 'ts': time.time()})
            try:
                c.sendall(NOTICE)
            except OSError:
                pass
            c.close()
            return
        try:
            d = c.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        if not d:
            c.close()
            return
        buf += d
        while b'\r\n\r\n' in buf:
            head, buf = buf.split(b'\r\n\r\n', 1)
            body = b'ok\n'
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
            last = time.time()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', a.port))
ls.listen(16)


def accept():
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()


def read_response(s, timeout=3.0):
    s.settimeout(timeout)
    data = b''
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return data, 'EOF'
            data += d
            if b'\r\n\r\n' in data:
                head, rest = data.split(b'\r\n\r\n', 1)
                length = 0
                for line in head.split(b'\r\n'):
                    if line.lower().startswith(b'content-length:'):
                        length = int(line.split(b':')[1])
                if len(rest) >= length:
                    return data, 'complete'
    except OSError as e:
        return data, type(e).__name__


def status(data):
    return data.split(b'\r\n', 1)[0].decode(errors='replace') if data else None


def client(name, reuse_after, after_notice):
    """reuse_after: s after the first response (None: never reuse); after_notice: wait for the 408 to leave first."""
    s = socket.create_connection(('127.0.0.1', a.port))
    port = s.getsockname()[1]
    rec = {'client': name, 'port': port}
    s.sendall(b'GET /%s/1 HTTP/1.1\r\nHost: x\r\n\r\n' % name.encode())
    d, st = read_response(s)
    rec['first'] = status(d)
    t0 = time.time()
    if reuse_after is None:
        d, st = read_response(s, 2 * IDLE + 1)
        rec['later'] = status(d)
        d2, st2 = read_response(s, 1)
        rec['end'] = st2
        s.close()
    else:
        if after_notice:
            # Wait (bounded) until the server's 408 left, without reading it, then the delay.
            for _ in range(int(3 * IDLE / 0.001)):
                if any(e['port'] == port for e in server_events):
                    break
                time.sleep(0.001)
        time.sleep(reuse_after)
        rec['reusedAfter'] = round(time.time() - t0, 4)
        try:
            s.sendall(b'GET /%s/2 HTTP/1.1\r\nHost: x\r\n\r\n' % name.encode())
            d, st = read_response(s)
            rec['second'] = status(d)
            rec['secondEnd'] = st
        except OSError as e:
            rec['second'] = type(e).__name__
        s.close()
    rec['serverEvents'] = [e for e in server_events if e['port'] == port]
    with open(a.log, 'a') as f:
        f.write(json.dumps(rec) + '\n')


for name, reuse_after, after_notice in [('healthy', IDLE / 2, False), ('crossed', IDLE - 0.05, False), ('after', 0.003, True), ('stale', 0.2, True), ('idle', None, False)]:
    client(name, reuse_after, after_notice)
    time.sleep(0.1)
