#!/usr/bin/python3
"""reload-nginx's python client: LANES threads, each with its own requests.Session (Debian
python3-requests, urllib3 1.26; one pooled connection per lane: its requests are sequential), with
an HTTPAdapter whose max_retries is urllib3's Retry(total=1, backoff_factor=0): a request whose
connection broke is sent again once on a new connection when its method is idempotent (GET), never a
POST (urllib3's default allowed methods). Each lane sends requests for SECONDS with a pause of 50-200 ms
(seeded) after each response: GET /items/..., POST /orders?o=... (JSON body) and now and then
GET /slow?ms=SLOW_MS&r=... (a request in flight at a reload). Before reusing a pooled connection
urllib3 checks it (is_connection_dropped): one whose FIN has arrived is dropped and a new one opened.

Usage: x26n-requests-lanes.py --base URL --log FILE [--lanes 4] [--seconds 10] [--seed 1] [--tag p]
         [--slow-ms 500] [--max-seconds 30]

Ground truth, one JSON line per request in FILE: lane, i, method, uri, start/end (epoch s), attempts
(each time urllib3 sent it: local port, reused = on a connection already open, sentAt), status or
error (exception class, message, root cause), retried (more than one attempt), retryErrors (what
urllib3's Retry history recorded for the attempts it retried).
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
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

LOCK = threading.Lock()
TL = threading.local()
LOG = None
LIB = f"requests {requests.__version__} (urllib3 {urllib3.__version__}, Retry(total=1))"


def log(**ev):
    with LOCK:
        LOG.write(json.dumps({"t": round(time.time(), 6), "lib": LIB, **ev}) + "\n")
        LOG.flush()


def track_attempts():
    """Wraps urllib3's HTTPConnection: every request it sends appends {port, reused, sentAt} to
    TL.attempts (the port is known after the send: a new connection connects inside it)."""
    conn = urllib3.connection.HTTPConnection
    orig_connect, orig_request = conn.connect, conn.request

    def connect(self):
        orig_connect(self)
        self._x26n_port = self.sock.getsockname()[1]
        self._x26n_fresh = True

    def request(self, *a, **k):
        att = {"port": getattr(self, "_x26n_port", None), "reused": self.sock is not None and not getattr(self, "_x26n_fresh", False),
               "sentAt": round(time.time(), 6)}
        TL.attempts.append(att)
        try:
            return orig_request(self, *a, **k)
        finally:
            att["port"] = getattr(self, "_x26n_port", None)
            self._x26n_fresh = False

    conn.connect, conn.request = connect, request


def root_cause(e):
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        nxt = e.__cause__ or e.__context__
        if nxt is None and e.args and isinstance(e.args[-1], BaseException):
            nxt = e.args[-1]
        if nxt is None:
            break
        e = nxt
    return f"{type(e).__module__}.{type(e).__name__}: {e}"


def lane(l, a):
    r = random.Random(a.seed * 1000 + l + 1)
    time.sleep(0.02 + l * 0.041)
    until = time.monotonic() + a.seconds
    with requests.Session() as s:
        s.mount("http://", HTTPAdapter(max_retries=Retry(total=1, backoff_factor=0, raise_on_status=False)))
        i = 0
        while time.monotonic() < until:
            x = r.random()
            method, body, headers = "GET", None, None
            if x < 0.15:
                uri = f"/slow?ms={a.slow_ms}&r={a.tag}l{l}-{i}"
            elif x < 0.5:
                method, uri = "POST", f"/orders?o={a.tag}l{l}-{i}"
                body = json.dumps({"lane": l, "i": i, "item": "x" * 40}).encode()
                headers = {"Content-Type": "application/json"}
            else:
                uri = f"/items/{a.tag}l{l}-{i}"
            TL.attempts = []
            start = time.time()
            ev = {"lane": l, "i": i, "method": method, "uri": uri}
            try:
                resp = s.request(method, a.base + uri, data=body, headers=headers, timeout=10)
                hist = [str(h.error) for h in (resp.raw.retries.history if resp.raw.retries else ())]
                out = {"status": resp.status_code, "connection": resp.headers.get("Connection"), "retryErrors": hist}
            except Exception as e:  # every client error is ground truth
                out = {"status": None, "error": f"{type(e).__module__}.{type(e).__name__}", "message": str(e), "rootCause": root_cause(e)}
            end = time.time()
            att = TL.attempts
            log(**ev, **out, port=att[-1]["port"] if att else None, reused=att[-1]["reused"] if att else None,
                attempts=att, retried=len(att) > 1, start=round(start, 6), end=round(end, 6))
            i += 1
            time.sleep(r.uniform(0.05, 0.2))


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lanes", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tag", default="p")
    ap.add_argument("--slow-ms", type=int, default=500)
    ap.add_argument("--max-seconds", type=float, default=30)
    a = ap.parse_args()
    LOG = open(a.log, "a")
    track_attempts()
    threads = [threading.Thread(target=lane, args=(l, a), daemon=True) for l in range(a.lanes)]
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
