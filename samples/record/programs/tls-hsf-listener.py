#!/usr/bin/env python3
"""A TCP listener for tls-handshake-failed.sh that never speaks TLS.

--mode close: reads the client's first bytes (its ClientHello) and closes at once without a byte
(a TLS passthrough with no route for the name, a listener that does not speak TLS).
--mode silent: reads and never answers, holding each connection until the client closes it (a
server whose TLS stack hangs). Logs one line per connection: the peer, the bytes read, what it did.
Bounded: serves --count connections, then exits."""
import argparse
import socket
import threading

ap = argparse.ArgumentParser()
ap.add_argument('--addr', default='127.0.0.2')
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--mode', choices=['close', 'silent'], required=True)
ap.add_argument('--count', type=int, default=4)
ap.add_argument('--log', required=True)
args = ap.parse_args()

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((args.addr, args.port))
srv.listen(16)
lock = threading.Lock()


def log(line):
    with lock, open(args.log, 'a') as f:
        f.write(line + '\n')


def serve(conn, peer):
    conn.settimeout(10)
    try:
        data = conn.recv(65536)
        if args.mode == 'close':
            log(f'{peer[0]}:{peer[1]}\tread {len(data)} bytes (first {data[:3].hex()})\tclosed without a byte')
            conn.close()
            return
        log(f'{peer[0]}:{peer[1]}\tread {len(data)} bytes (first {data[:3].hex()})\tsilent')
        while conn.recv(65536):
            pass
        log(f'{peer[0]}:{peer[1]}\tclient closed')
    except OSError as e:
        log(f'{peer[0]}:{peer[1]}\t{e}')
    finally:
        conn.close()


threads = []
for _ in range(args.count):
    conn, peer = srv.accept()
    t = threading.Thread(target=serve, args=(conn, peer), daemon=True)
    t.start()
    threads.append(t)
for t in threads:
    t.join(12)
