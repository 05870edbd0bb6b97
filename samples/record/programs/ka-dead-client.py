#!/usr/bin/env python3
"""Client of tcp-keepalive-dead-peer (record/tcp-keepalive-dead-peer.sh): three idle pooled
connections, each after one GET, then one more use 6 s later.

  dead     port 8080 from 40001, SO_KEEPALIVE with TCP_KEEPIDLE=1 TCP_KEEPINTVL=1 TCP_KEEPCNT=3;
           the recorder drops its packets on the path: the kernel's probes go unanswered, it resets
           the connection, and the next request fails with ETIMEDOUT.
  healthy  the same settings from 40002, path intact: probes answered, the next request works.
  held     port 8081 from 40003, no keep-alive of its own; the server probes it (the recorder drops
           the server's packets before they reach this client): the client never learns.

Writes one JSON object a line to --log: what each lane did and the errno it got.
"""
import argparse
import errno
import json
import os
import socket
import time

ap = argparse.ArgumentParser()
ap.add_argument("--server", required=True)
ap.add_argument("--ready", required=True)
ap.add_argument("--go", required=True)
ap.add_argument("--done", required=True)
ap.add_argument("--stop", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--idle", type=float, default=6.0)
args = ap.parse_args()
logf = open(args.log, "a")


def log(**kw):
    kw["t"] = round(time.time(), 6)
    logf.write(json.dumps(kw) + "\n")
    logf.flush()


def wait_file(path, limit):
    end = time.time() + limit
    while not os.path.exists(path) and time.time() < end:
        time.sleep(0.02)
    return os.path.exists(path)


def connect(port, sport, keepalive):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", sport))
    if keepalive:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    s.settimeout(5)
    s.connect((args.server, port))
    return s


def get(s, path):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: ka\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("EOF before the response head")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("EOF in the body")
        body += chunk
    return int(head.split(b" ")[1])


lanes = {"dead": (8080, 40001, True), "healthy": (8080, 40002, True), "held": (8081, 40003, False)}
socks = {}
for name, (port, sport, ka) in lanes.items():
    s = connect(port, sport, ka)
    socks[name] = s
    log(lane=name, event="response", path=f"/{name}/1", status=get(s, f"/{name}/1"), local=f"{args.server.rsplit('.', 1)[0]}:{sport}", port=port, keepalive=ka)
open(args.ready, "w").close()
if not wait_file(args.go, 5):
    log(event="no-go")
    raise SystemExit(1)
log(event="idle-start")
time.sleep(args.idle)

for name in ("dead", "healthy"):
    s = socks[name]
    try:
        log(lane=name, event="response", path=f"/{name}/2", status=get(s, f"/{name}/2"))
    except OSError as e:
        log(lane=name, event="error", path=f"/{name}/2", error=type(e).__name__, errno=errno.errorcode.get(e.errno or 0), message=str(e))
socks["healthy"].close()
log(lane="healthy", event="closed")
# The held lane: the client never learned that the server gave up on it (no packet reached it).
held = socks["held"]
held.setblocking(False)
try:
    data = held.recv(1)
    state = "eof" if data == b"" else "data"
except BlockingIOError:
    state = "open, nothing to read"
except OSError as e:
    state = errno.errorcode.get(e.errno or 0, str(e))
log(lane="held", event="state", state=state)
open(args.done, "w").close()
wait_file(args.stop, 5)
