#!/usr/bin/python3
"""healthy-lossy-path-*'s python client: one thread per target URL, each with its own
requests.Session (Debian python3-requests; its default HTTPAdapter: no retries, so a failed request
shows as an error), sending REQUESTS requests one after the other with a seeded think time of
0.05-2 s after each response: GET /s/TAG or POST /o/TAG (small JSON body), unless the plan says
otherwise for that lane and index: big:N (GET /big/N.bin?r=TAG), up (POST /up/TAG with a 100 KB body),
close (GET /s/TAG with Connection: close). Each request gets timeout=20 (connect and each read): loss
must never make the client give up. At the end each session is closed (the client's FIN).

Usage: x28l-requests-lanes.py --targets URL,URL --log FILE [--requests 30] [--seed 1] [--tag p]
         [--plan "L:I:big:200000,L:I:up,L:I:close"] [--max-seconds 90]
Ground truth, one JSON line per request in FILE: client, lane, i, method, uri, port (local port of the
connection it went on), reused, start/end (epoch s), status, bytes (response body), error.
"""
import argparse
import json
import random
import sys
import threading
import time

import requests
import urllib3
import urllib3.connection

LOCK = threading.Lock()
TL = threading.local()
LOG = None
LIB = f"requests {requests.__version__} (urllib3 {urllib3.__version__})"
UPLOAD = (b"upload-data-0123456789\n" * 5000)[: 100 * 1024]


def log(**ev):
    with LOCK:
        LOG.write(json.dumps({"client": "python", "lib": LIB, **ev}) + "\n")
        LOG.flush()


def track_connections():
    """Remembers, per thread, the local port of the connection each request went on and whether
    that connection was already open."""
    conn = urllib3.connection.HTTPConnection
    orig_connect, orig_request = conn.connect, conn.request

    def connect(self):
        orig_connect(self)
        self._x28l_port = self.sock.getsockname()[1]
        self._x28l_fresh = True

    def request(self, *a, **k):
        TL.reused = self.sock is not None and not getattr(self, "_x28l_fresh", False)
        try:
            return orig_request(self, *a, **k)
        finally:
            TL.port = getattr(self, "_x28l_port", None)
            self._x28l_fresh = False

    conn.connect, conn.request = connect, request


def think(r):
    x = r.random()
    if x < 0.7:
        return r.uniform(0.05, 0.5)
    if x < 0.95:
        return r.uniform(0.5, 1.5)
    return r.uniform(1.5, 2.0)


def lane(l, base, a, plan):
    r = random.Random(a.seed * 1000 + l + 1)
    time.sleep(0.02 + l * 0.047)
    with requests.Session() as s:
        for i in range(a.requests):
            t = f"{a.tag}{l}-{i}"
            p = plan.get((l, i))
            x = r.random()
            method, uri, body, headers = "GET", f"/s/{t}", None, {}
            if p and p[0] == "big":
                uri = f"/big/{p[1]}.bin?r={t}"
            elif p and p[0] == "up":
                method, uri, body = "POST", f"/up/{t}", UPLOAD
                headers = {"Content-Type": "application/octet-stream"}
            elif p and p[0] == "close":
                headers = {"Connection": "close"}
            elif x < 0.35:
                method, uri = "POST", f"/o/{t}"
                body = json.dumps({"lane": l, "i": i, "item": "x" * 40}).encode()
                headers = {"Content-Type": "application/json"}
            TL.port, TL.reused = None, None
            start = time.time()
            try:
                resp = s.request(method, base + uri, data=body, headers=headers, timeout=20)
                out = {"status": resp.status_code, "bytes": len(resp.content), "connection": resp.headers.get("Connection")}
            except Exception as e:  # every client error is ground truth
                out = {"status": None, "error": f"{type(e).__module__}.{type(e).__name__}", "message": str(e)}
            log(lane=l, i=i, method=method, uri=uri, target=base, **out, port=TL.port, reused=TL.reused,
                start=round(start, 6), end=round(time.time(), 6))
            if i < a.requests - 1:
                time.sleep(think(r))


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tag", default="p")
    ap.add_argument("--plan", default="")
    ap.add_argument("--max-seconds", type=float, default=90)
    a = ap.parse_args()
    plan = {}
    for p in filter(None, a.plan.split(",")):
        f = p.split(":")
        plan[(int(f[0]), int(f[1]))] = (f[2], int(f[3]) if len(f) > 3 else 0)
    LOG = open(a.log, "a")
    track_connections()
    targets = [t for t in a.targets.split(",") if t]
    threads = [threading.Thread(target=lane, args=(l, t, a, plan), daemon=True) for l, t in enumerate(targets)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + a.max_seconds
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        log(event="max-seconds")
        sys.exit(4)


if __name__ == "__main__":
    main()
