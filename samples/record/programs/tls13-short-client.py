#!/usr/bin/env python3
"""An HTTP/1.1 client over TLS 1.3 (Python ssl, no ALPN) that sends short requests (a 35-byte GET:
a 52-byte record, 57 bytes on the wire) and, per server, on one connection each:
  stale:  GET, then wait until the server's close arrives (the socket turns readable: its FIN, with
          or without a close_notify before it), wait --stale-delay ms, and send the next GET anyway
          (a pool that did not notice the close); logs what came back (EOF or a reset).
  answer: GET, wait for the server's close, then close like a well-behaved client (its own
          close_notify, then FIN): no request.
  reuse:  GET, idle --reuse-idle s (under the server's timeout), GET again (answered), then close.
Each connection is logged as one JSON line (local port, role, server port, times). Every wait is
bounded (--close-wait s)."""
import argparse, json, select, socket, ssl, time

ap = argparse.ArgumentParser()
ap.add_argument('--ports', required=True, help='server ports, comma-separated')
ap.add_argument('--stale-delay', type=float, default=30)
ap.add_argument('--reuse-idle', type=float, default=0.3)
ap.add_argument('--close-wait', type=float, default=5)
ap.add_argument('--log', required=True)
a = ap.parse_args()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.maximum_version = ssl.TLSVersion.TLSv1_3


def request(path):
    return f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.encode()


def read_response(s):
    """Reads one small response (headers and a Content-Length body) or returns what ended it."""
    buf = b''
    s.settimeout(a.close_wait)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return None, 'EOF'
            buf += d
            head, sep, body = buf.partition(b'\r\n\r\n')
            if sep:
                length = 0
                for line in head.split(b'\r\n')[1:]:
                    k, _, v = line.partition(b':')
                    if k.strip().lower() == b'content-length':
                        length = int(v)
                if len(body) >= length:
                    return head.split(b'\r\n')[0].decode(), None
    except (ssl.SSLError, OSError) as e:
        return None, type(e).__name__ + ': ' + str(e)


def wait_close(s):
    """Until the server's close arrives (readable: its close_notify or FIN), bounded; returns the time."""
    r, _, _ = select.select([s], [], [], a.close_wait)
    return time.time() if r else None


with open(a.log, 'w') as log:
    def out(o):
        log.write(json.dumps(o) + '\n')
        log.flush()

    for port in [int(p) for p in a.ports.split(',')]:
        for role in ('stale', 'answer', 'reuse'):
            s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port)))
            rec = {'role': role, 'serverPort': port, 'port': s.getsockname()[1], 'tls': s.version(), 'alpn': s.selected_alpn_protocol()}
            s.sendall(request('/a'))
            rec['first'], rec['firstError'] = read_response(s)
            rec['answeredAt'] = time.time()
            if role == 'stale':
                rec['closeSeenAt'] = wait_close(s)
                time.sleep(a.stale_delay / 1000)
                req = request('/b')
                rec['requestBytes'] = len(req)
                rec['sentAt'] = time.time()
                try:
                    s.sendall(req)
                    rec['second'], rec['secondError'] = read_response(s)
                except (ssl.SSLError, OSError) as e:
                    rec['second'], rec['secondError'] = None, type(e).__name__ + ': ' + str(e)
                s.close()
            elif role == 'answer':
                rec['closeSeenAt'] = wait_close(s)
                try:
                    s.settimeout(1)
                    s.unwrap()  # its own close_notify
                    rec['closedWith'] = 'close_notify'
                except (ssl.SSLError, OSError) as e:
                    rec['closedWith'] = 'close_notify (then ' + type(e).__name__ + ')'
                s.close()
            else:
                time.sleep(a.reuse_idle)
                rec['sentAt'] = time.time()
                s.sendall(request('/c'))
                rec['second'], rec['secondError'] = read_response(s)
                try:
                    s.settimeout(1)
                    s.unwrap()
                except (ssl.SSLError, OSError):
                    pass
                s.close()
            rec['endedAt'] = time.time()
            out(rec)
            time.sleep(0.05)
