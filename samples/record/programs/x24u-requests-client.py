#!/usr/bin/python3
"""The python requests client of uploads-expect-continue-nginx, with its ground truth.

Usage: x24u-requests-client.py --base http://127.0.0.1:8080 --log FILE [--timeout 5]

One requests.Session (one pooled connection at a time), in order:
  GET  /py/get-1
  POST /up/py-200k         a 204800-byte bytes body (Content-Length, no Expect: requests never sends it)
  GET  /py/get-2
  POST /up/py-chunked-48k  a generator body: requests sends it chunked (Transfer-Encoding: chunked),
                           12 chunks of 4096 bytes, 49152 bytes in all
  GET  /py/get-3
urllib3's HTTPConnection.connect is wrapped to learn each request's local port (its send() too, so a
chunked body, which requests writes through the connection's own putrequest/send, is tracked as
well). One JSON line per request in FILE: event "response" (status, port, newConnection, reason) or
"error" (exception class, its innermost cause, port), sentAt, elapsedMs.
"""
import argparse
import json
import time

import requests
import urllib3
import urllib3.connection

CURRENT = {"port": None, "fresh": False}


def track_ports():
    conn = urllib3.connection.HTTPConnection
    orig_connect, orig_send = conn.connect, conn.send

    def connect(self):
        orig_connect(self)
        self._x24u_port = self.sock.getsockname()[1]
        CURRENT["fresh"] = True

    def send(self, data):
        try:
            return orig_send(self, data)
        finally:
            CURRENT["port"] = getattr(self, "_x24u_port", CURRENT["port"])

    conn.connect, conn.send = connect, send


def chunks(n, size):
    for i in range(n):
        yield bytes([0x61 + i % 26]) * size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--timeout", type=float, default=5)
    a = ap.parse_args()
    track_ports()
    lib = f"python requests {requests.__version__} (urllib3 {urllib3.__version__})"

    def log(ev):
        with open(a.log, "a") as f:
            f.write(json.dumps({"t": time.time(), "client": "requests", "lib": lib, **ev}) + "\n")

    plan = [
        ("GET", "/py/get-1", None, None),
        ("POST", "/up/py-200k", b"p" * 204800, 204800),
        ("GET", "/py/get-2", None, None),
        ("POST", "/up/py-chunked-48k", "generator", 49152),
        ("GET", "/py/get-3", None, None),
    ]
    with requests.Session() as s:
        for method, uri, body, size in plan:
            CURRENT["port"], CURRENT["fresh"] = None, False
            data = chunks(12, 4096) if body == "generator" else body
            t0 = time.time()
            base = {"method": method, "uri": uri, "bodyBytes": size, "chunked": body == "generator", "sentAt": t0}
            try:
                r = s.request(method, a.base + uri, data=data, timeout=(3, a.timeout))
                log({**base, "event": "response", "status": r.status_code, "reason": r.reason,
                     "connection": r.headers.get("Connection"), "port": CURRENT["port"],
                     "newConnection": CURRENT["fresh"], "elapsedMs": round((time.time() - t0) * 1e3, 3)})
            except Exception as e:  # noqa: BLE001 - every failure is ground truth
                cause = e
                while cause.__context__ is not None:
                    cause = cause.__context__
                log({**base, "event": "error", "error": f"{type(e).__module__}.{type(e).__name__}",
                     "cause": type(cause).__name__, "message": str(e)[:300], "port": CURRENT["port"],
                     "newConnection": CURRENT["fresh"], "elapsedMs": round((time.time() - t0) * 1e3, 3)})
            time.sleep(0.05)


if __name__ == "__main__":
    main()
