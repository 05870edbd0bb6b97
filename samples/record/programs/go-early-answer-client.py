#!/usr/bin/env python3
"""Raw-socket HTTP/1.1 clients for rst-on-close-go-early-answer.sh.

upload: one connection; sends `POST /upload` announcing --body-bytes (20 MiB) with the
        request head alone, then streams the body in --chunk (64 KiB) writes, one every
        --pace-ms (an uploader fed by a slower source, as on a real uplink), until a send
        fails (ECONNRESET / EPIPE), the body is complete or --max-seconds pass. A reader
        thread reads whatever comes back at the same time (the early 413, the FIN, the RST).
small:  one keep-alive connection; --count POSTs to /small with a --small-bytes body each,
        every response read completely (Content-Length), then the client closes (FIN).

One JSON line on stdout per connection (the ground truth the meta script checks against the
capture): mode, port (the client's local port), statusLine (the first response line received,
or null), responseBytes, gotEof (the server's FIN was read), readError, sendError (exception
class and errno name), headBytes (the request head, sent alone), bytesWritten (bytes the kernel
accepted from send(): head + body), bodyBytesWritten, chunks, t0/tEnd (wall clock), and for
small: statuses.

Bounded: every socket operation has a --timeout, the body loop a chunk count and a deadline.
"""
import argparse
import errno
import json
import socket
import threading
import time


def err_name(e):
    if e is None:
        return None
    code = getattr(e, "errno", None)
    name = errno.errorcode.get(code) if code else None
    return f"{type(e).__name__}" + (f" ({name})" if name else "") + f": {e}"


def upload(args):
    s = socket.create_connection((args.host, args.port), timeout=args.timeout)
    port = s.getsockname()[1]
    res = {"mode": "upload", "port": port, "t0": time.time(), "statusLine": None, "statusAt": None,
           "responseBytes": 0, "gotEof": False, "eofAt": None, "readError": None, "sendError": None,
           "sendErrorAt": None, "bytesWritten": 0, "bodyBytesWritten": 0, "chunks": 0}
    received = bytearray()
    stop = threading.Event()

    def reader():
        deadline = time.monotonic() + args.max_seconds + 2
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                res["readError"] = err_name(e)
                return
            if not data:
                res["gotEof"] = True
                res["eofAt"] = time.time()
                return
            received.extend(data)
            res["responseBytes"] = len(received)
            if res["statusLine"] is None and b"\r\n" in received:
                res["statusLine"] = bytes(received).split(b"\r\n", 1)[0].decode("latin-1")
                res["statusAt"] = time.time()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    head = (f"POST /upload HTTP/1.1\r\nHost: {args.host}:{args.port}\r\nUser-Agent: go-early-answer-client.py\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {args.body_bytes}\r\n\r\n").encode()
    res["headBytes"] = len(head)
    chunk = b"u" * args.chunk
    deadline = time.monotonic() + args.max_seconds
    max_chunks = (args.body_bytes + args.chunk - 1) // args.chunk
    try:
        view = memoryview(head)
        while view:
            n = s.send(view)
            view = view[n:]
            res["bytesWritten"] += n
        while res["chunks"] < max_chunks and res["bodyBytesWritten"] < args.body_bytes and time.monotonic() < deadline:
            time.sleep(args.pace_ms / 1000.0)
            want = min(args.chunk, args.body_bytes - res["bodyBytesWritten"])
            view = memoryview(chunk)[:want]
            while view:
                n = s.send(view)  # send(), not sendall(): count exactly what the kernel took
                view = view[n:]
                res["bytesWritten"] += n
                res["bodyBytesWritten"] += n
            res["chunks"] += 1
    except OSError as e:
        res["sendError"] = err_name(e)
        res["sendErrorAt"] = time.time()
    # Let the reader collect what is still in flight (bounded), then close.
    th.join(timeout=1.0)
    stop.set()
    th.join(timeout=args.timeout + 0.5)
    s.close()
    res["tEnd"] = time.time()
    return res


def read_response(s, buf):
    """Read one response with Content-Length; returns (status, rest-of-buffer)."""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise ConnectionError("EOF before response head")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = lines[0].decode("latin-1")
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        data = s.recv(65536)
        if not data:
            raise ConnectionError("EOF inside response body")
        rest += data
    return status, rest[length:]


def small(args):
    s = socket.create_connection((args.host, args.port), timeout=args.timeout)
    port = s.getsockname()[1]
    res = {"mode": "small", "port": port, "t0": time.time(), "statuses": [], "bytesWritten": 0,
           "sendError": None, "readError": None}
    body = b"s" * args.small_bytes
    buf = b""
    try:
        for i in range(args.count):
            req = (f"POST /small HTTP/1.1\r\nHost: {args.host}:{args.port}\r\nUser-Agent: go-early-answer-client.py\r\n"
                   f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
            s.sendall(req)
            res["bytesWritten"] += len(req)
            status, buf = read_response(s, buf)
            res["statuses"].append(status)
            if i + 1 < args.count:
                time.sleep(args.pace_ms / 1000.0)
    except OSError as e:
        res["readError"] = err_name(e)
    s.close()
    res["tEnd"] = time.time()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["upload", "small"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--body-bytes", type=int, default=20 * 1024 * 1024)
    ap.add_argument("--chunk", type=int, default=64 * 1024)
    ap.add_argument("--pace-ms", type=float, default=20.0)
    ap.add_argument("--small-bytes", type=int, default=2048)
    ap.add_argument("--count", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--max-seconds", type=float, default=8.0)
    args = ap.parse_args()
    res = upload(args) if args.mode == "upload" else small(args)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
