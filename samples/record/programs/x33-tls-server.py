"""x33-tls-server: the HTTPS server of reset-before-response-tls-killed.sh, Python stdlib only (ssl, socket,
threads; Debian's /usr/bin/python3 with its OpenSSL 3.0). One process, one thread per connection, any number
of TLS listeners:

  --listen HOST:PORT:1.3   TLS 1.2-1.3 (1.3 negotiated by every client here)
  --listen HOST:PORT:1.2   TLS 1.2 only (maximum_version TLSv1_2)

Certificate and key from --cert / --key (the recorder's throwaway self-signed one); ALPN: http/1.1 is selected
when the client offers it (set_alpn_protocols(['http/1.1'])), nothing is sent otherwise; session tickets left at
OpenSSL's default (TLS 1.3: two NewSessionTicket records right after the handshake; TLS 1.2: a ticket in the
handshake when the client asks). The TLS secrets go to --keylog (SSLContext.keylog_filename: for the meta
writer's check only, never committed).

HTTP/1.1 keep-alive, requests read with SSLSocket.recv up to the blank line (no bodies):
  /ok...           answered at once: 200, Content-Length, Connection: keep-alive.
                   If its query has then=hang, the connection's thread then sleeps --hang seconds BEFORE reading
                   the next request: the next request the client sends sits unread in the socket's receive buffer
                   (OpenSSL reads records from the socket only when asked; no read-ahead).
  anything else    answered at once too (it only happens when a request was read).
A fresh connection whose peer port is in --hang-fresh-ports LO-HI (the recorder's curl --local-port) completes
the TLS handshake and then sleeps --hang seconds before reading anything: its first request sits unread.

One JSON line per event (--log, flushed each time, so the log survives a SIGKILL): listening (with the pid),
accept, handshake (TLS version, ALPN, cipher), request (path, id), answered, sleep (why; SSLSocket.pending():
decrypted bytes OpenSSL already holds, always 0 here), close / error. --max-seconds ends the process.
"""
import argparse
import json
import os
import re
import socket
import ssl
import sys
import threading
import time

LOCK = threading.Lock()
OUT = None


def log(**m):
    m = {'t': round(time.time(), 6), **m}
    with LOCK:
        OUT.write(json.dumps(m) + '\n')
        OUT.flush()


def read_request(s, buf):
    """Read up to the end of one request head; returns (head, rest) or (None, buf) at EOF."""
    while b'\r\n\r\n' not in buf:
        d = s.recv(65536)
        if not d:
            return None, buf
        buf += d
    head, rest = buf.split(b'\r\n\r\n', 1)
    return head.decode('latin-1'), rest


def handle(a, raw, peer, listener, ctx):
    port = peer[1]
    lname = f'{listener[0]}:{listener[1]}'
    log(event='accept', peer=f'{peer[0]}:{port}', listener=lname)
    try:
        raw.settimeout(10)
        s = ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        s.do_handshake()
        s.settimeout(None)
        log(event='handshake', peer=f'{peer[0]}:{port}', listener=lname, tls=s.version(),
            alpn=s.selected_alpn_protocol(), cipher=s.cipher()[0])
        if a.hang_fresh[0] <= port <= a.hang_fresh[1]:
            log(event='sleep', peer=f'{peer[0]}:{port}', listener=lname, why='fresh connection: nothing read after the handshake',
                seconds=a.hang, pending=s.pending())
            time.sleep(a.hang)
        buf = b''
        n = 0
        while True:
            head, buf = read_request(s, buf)
            if head is None:
                log(event='close', peer=f'{peer[0]}:{port}', listener=lname, why='client closed', requests=n)
                break
            n += 1
            line = head.split('\r\n', 1)[0]
            path = line.split(' ')[1] if ' ' in line else line
            m = re.search(r'[?&]id=([^&]+)', path)
            log(event='request', peer=f'{peer[0]}:{port}', listener=lname, n=n, path=path, id=m.group(1) if m else None)
            body = json.dumps({'ok': True, 'path': path, 'n': n}).encode() + b'\n'
            s.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n'
                      b'Connection: keep-alive\r\n\r\n' % len(body) + body)
            log(event='answered', peer=f'{peer[0]}:{port}', listener=lname, n=n, status=200, bytes=len(body))
            if re.search(r'[?&]then=hang(&|$)', path):
                log(event='sleep', peer=f'{peer[0]}:{port}', listener=lname,
                    why='then=hang: the next request is not read', seconds=a.hang, pending=s.pending(), buffered=len(buf))
                time.sleep(a.hang)
        s.close()
    except Exception as e:  # noqa: BLE001 - logged
        log(event='error', peer=f'{peer[0]}:{port}', listener=lname, error=f'{type(e).__name__}: {e}')
        try:
            raw.close()
        except OSError:
            pass


def serve(a, lsock, addr, ctx):
    while True:
        try:
            raw, peer = lsock.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(a, raw, peer, addr, ctx), daemon=True).start()


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument('--listen', action='append', required=True)
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--keylog', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--hang', type=float, default=30)
    ap.add_argument('--hang-fresh-ports', default='0-0')
    ap.add_argument('--max-seconds', type=float, default=90)
    a = ap.parse_args()
    lo, hi = a.hang_fresh_ports.split('-')
    a.hang_fresh = (int(lo), int(hi))
    OUT = open(a.log, 'a')
    for spec in a.listen:
        host, port, ver = spec.rsplit(':', 2)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        ctx.keylog_filename = a.keylog
        ctx.set_alpn_protocols(['http/1.1'])
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if ver == '1.3' else ssl.TLSVersion.TLSv1_2
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, int(port)))
        ls.listen(64)
        log(event='listening', listener=f'{host}:{port}', tls=ver, pid=os.getpid(), python=sys.version.split()[0],
            openssl=ssl.OPENSSL_VERSION, numTickets=ctx.num_tickets)
        threading.Thread(target=serve, args=(a, ls, (host, int(port)), ctx), daemon=True).start()
    time.sleep(a.max_seconds)
    log(event='max-seconds')


if __name__ == '__main__':
    sys.exit(main())
