#!/usr/bin/env python3
"""An HTTP/1.1 keep-alive server that runs out of file descriptors: GET /exhaust opens
/dev/null until open() fails with EMFILE (RLIMIT_NOFILE lowered to --nofile first), so every
accept() after it fails with EMFILE too; GET /release closes those files again. The accept
loop retries every 50 ms on EMFILE (as Go's net/http and nginx do), logging each first failure
("accept: [Errno 24] Too many open files"). Connections accepted before keep being served.
Every request is answered 200 at once. One JSON line per event on stdout (wall-clock time).
Ends after --lifetime seconds.

Options: --addr A (127.0.0.1), --port P (8080), --nofile N (64), --lifetime S (12)
"""
import argparse
import errno
import json
import os
import resource
import socket
import threading
import time

LOCK = threading.Lock()


def log(event, **extra):
    with LOCK:
        print(json.dumps({"t": round(time.time(), 6), "event": event, **extra}), flush=True)


HELD = []


def serve(conn, peer):
    buf = b""
    port = peer[1]
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(4096)
                if not chunk:
                    log("eof", port=port)
                    return
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            line = head.split(b"\r\n", 1)[0].decode()
            uri = line.split()[1]
            if uri == "/exhaust":
                try:
                    while True:
                        HELD.append(os.open("/dev/null", os.O_RDONLY))
                except OSError as e:
                    log("exhausted", held=len(HELD), errno=e.errno)
            elif uri == "/release":
                while HELD:
                    os.close(HELD.pop())
                log("released")
            body = b"ok\n"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            log("answered", port=port, uri=uri)
    except OSError as e:
        log("conn-error", port=port, error=str(e))
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--nofile", type=int, default=64)
    ap.add_argument("--lifetime", type=float, default=12.0)
    args = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.addr, args.port))
    s.listen(16)
    s.settimeout(0.05)
    end = time.time() + args.lifetime
    failing = False
    while time.time() < end:
        try:
            conn, peer = s.accept()
        except socket.timeout:
            continue
        except OSError as e:
            if e.errno != errno.EMFILE:
                raise
            if not failing:
                log("accept-failed", error=str(e))
                failing = True
            time.sleep(0.05)
            continue
        conn.settimeout(None)
        failing = False
        log("accepted", port=peer[1])
        threading.Thread(target=serve, args=(conn, peer), daemon=True).start()


if __name__ == "__main__":
    main()
