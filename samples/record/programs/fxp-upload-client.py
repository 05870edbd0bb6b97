#!/usr/bin/env python3
"""POST uploads for the gateway-timeout-haproxy-{unfinished-body,slow-upload} recorders.

Usage: fxp-upload-client.py HOST PORT PATH DECLARED SENT [COUNT]
Opens COUNT connections at once (default 3); on each sends `POST PATH?i=N` with Content-Length
DECLARED and only SENT body bytes (SENT < DECLARED: an upload the client never finishes), then
reads until the server closes or 6 s pass, and closes. Prints one JSON line per request:
{"port": client port, "path": ..., "status": first status code or null, "seconds": ...}.
"""
import json
import socket
import sys
import threading
import time

host, port, path, declared, sent = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
count = int(sys.argv[6]) if len(sys.argv) > 6 else 3
lock = threading.Lock()


def whole(got):
    """A response head and its Content-Length of body have come (HAProxy keeps the connection after a 504 to a whole request)."""
    head, sep, body = got.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def one(i):
    target = f"{path}{'&' if '?' in path else '?'}i={i}"
    s = socket.create_connection((host, port), timeout=6)
    head = f"POST {target} HTTP/1.1\r\nHost: x\r\nUser-Agent: fxp-upload\r\nContent-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n"
    t0 = time.monotonic()
    s.sendall(head.encode() + b"u" * sent)
    got = b""
    try:
        while not whole(got):           # bounded by the socket's 6 s timeout
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    took = time.monotonic() - t0
    line = got.split(b"\r\n", 1)[0].decode("latin-1")
    status = int(line.split()[1]) if line.startswith("HTTP/") else None
    with lock:
        print(json.dumps({"port": s.getsockname()[1], "path": target, "status": status, "seconds": round(took, 3)}), flush=True)
    s.close()


threads = [threading.Thread(target=one, args=(i + 1,)) for i in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join()
