#!/usr/bin/env python3
"""One POST upload for slow-client-timeout-proxy-upload-cut.

Usage: fut-upload-client.py HOST PORT PATH NAME DECLARED SENT CHUNK PACE THEN [WAIT]
Sends `POST PATH?NAME` with Content-Length DECLARED, then SENT body bytes in CHUNK-byte writes
PACE seconds apart. THEN says what it does after: `fin` shuts its write side down (a half-close,
its FIN) at once, `stall` sends nothing more and keeps the connection open, `done` (SENT ==
DECLARED) just waits. Then it reads the answer until the server closes or WAIT seconds (default 8)
pass. Prints one JSON line: name, port, sent, declared, then, answer (status line or null),
seconds from the first byte to the answer (or the close), closed_by_server, error.
"""
import json
import socket
import sys
import time

host, port, path, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
declared, sent, chunk, pace, then = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8]), sys.argv[9]
wait = float(sys.argv[10]) if len(sys.argv) > 10 else 8.0
s = socket.create_connection((host, port), timeout=wait)
head = (f"POST {path}?{name} HTTP/1.1\r\nHost: upload.test\r\nUser-Agent: fut-upload\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n").encode()
t0 = time.monotonic()
error = None
done = 0
try:
    s.sendall(head)
    while done < sent:                       # bounded: SENT / CHUNK writes
        n = min(chunk, sent - done)
        s.sendall(b"u" * n)
        done += n
        if done < sent:
            time.sleep(pace)
    if then == "fin":
        s.shutdown(socket.SHUT_WR)
except OSError as e:
    error = repr(e)
got = b""
answer_at = None
closed = False
try:
    while True:                              # bounded by the socket timeout (WAIT)
        c = s.recv(65536)
        if not c:
            closed = True
            break
        if answer_at is None:
            answer_at = time.monotonic()
        got += c
except OSError as e:
    error = error or repr(e)
line = got.split(b"\r\n", 1)[0].decode("latin-1") if got else None
print(json.dumps({"name": name, "path": path, "port": s.getsockname()[1], "sent": done, "declared": declared, "then": then,
                  "answer": line, "seconds": round((answer_at or time.monotonic()) - t0, 3),
                  "closed_by_server": closed, "error": error}), flush=True)
s.close()
