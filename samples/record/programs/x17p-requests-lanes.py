#!/usr/bin/python3
"""python requests (Debian python3-requests, urllib3 1.26) clients reusing pooled keep-alive
connections after idle pauses around a proxy's idle timeout (round 17p, layer-4 proxies), with their
ground truth.

Usage: x17p-requests-lanes.py --base http://10.99.0.2:8080 --log FILE --lanes 4 --rounds 7
         --gaps 1.95,1.985,... [--stagger 0.13] [--tag p] [--max-seconds 40]

LANES threads run at once, each with its own requests.Session (one pooled connection per lane:
the lane's requests are sequential). A lane sends a "warm" GET (a new connection), then for each
round sleeps GAP seconds (measured from the moment the previous response was fully read) and sends
the round's request: POST /orders?attempt=<tag>l<lane>-r<round> (JSON body) on alternate rounds,
else GET /items/<tag>l<lane>-r<round>. Before handing out a pooled connection, urllib3 checks it
(is_connection_dropped: a readable socket, i.e. the peer's FIN already arrived, is dropped and a new
connection opened). requests' default adapter does not retry (max_retries 0), nor does this
program: after a failure the lane sends a new warm GET before the next pause.
The GAPS are dealt to the lanes round-robin in the order given.

urllib3's HTTPConnection is wrapped to learn each request's local port and whether it went on a
connection that was already open (reused). One JSON line per event in FILE (t: wall clock, epoch
s): "response" (status, port, reused) and "error" (exception class and message, port, reused).
"""
import argparse
import json
import sys
import threading
import time

import requests
import urllib3
import urllib3.connection

LOG = None
LOCK = threading.Lock()
TL = threading.local()

_orig_connect = urllib3.connection.HTTPConnection.connect
_orig_request = urllib3.connection.HTTPConnection.request


def _connect(self):
    _orig_connect(self)
    self._x17p_port = self.sock.getsockname()[1]


def _request(self, *a, **k):
    TL.reused = self.sock is not None
    TL.port = getattr(self, "_x17p_port", None) if TL.reused else None
    try:
        return _orig_request(self, *a, **k)
    finally:
        TL.port = getattr(self, "_x17p_port", None)


urllib3.connection.HTTPConnection.connect = _connect
urllib3.connection.HTTPConnection.request = _request


def log(**ev):
    ev = {"t": round(time.time(), 6), "lib": f"requests {requests.__version__} (urllib3 {urllib3.__version__})", **ev}
    with LOCK:
        LOG.write(json.dumps(ev) + "\n")
        LOG.flush()


def request(session, base, ev, method, path, body):
    TL.port, TL.reused = None, None
    t0 = time.time()
    try:
        r = session.request(method, base + path, data=body,
                            headers={"Content-Type": "application/json"} if body else None, timeout=10)
        log(**ev, event="response", method=method, uri=path, status=r.status_code, port=TL.port, reused=TL.reused,
            keepAlive=r.headers.get("Keep-Alive"), elapsedMs=round((time.time() - t0) * 1000, 3))
        return TL.port, time.monotonic()
    except Exception as e:  # every client error is ground truth
        cause = e
        while cause.__context__ is not None and not isinstance(cause, (ConnectionError, OSError)) and cause is not cause.__context__:
            cause = cause.__context__
        log(**ev, event="error", method=method, uri=path, error=type(e).__module__ + "." + type(e).__name__, message=str(e),
            rootCause=type(cause).__module__ + "." + type(cause).__name__, port=TL.port, reused=TL.reused, sentAt=round(t0, 6),
            elapsedMs=round((time.time() - t0) * 1000, 3))
        return None, time.monotonic()


def lane(l, gaps, base, tag, start_delay):
    time.sleep(start_delay)
    with requests.Session() as s:
        port, released = None, None
        for r, gap in enumerate(gaps):
            if port is None:
                port, released = request(s, base, {"lane": l, "round": r, "kind": "warm"}, "GET", f"/warm/{tag}l{l}-r{r}", None)
                if port is None:
                    continue
            time.sleep(max(0.0, gap - (time.monotonic() - released)))
            idle = time.monotonic() - released
            if (l + r) % 2 == 0:
                method, path = "POST", f"/orders?attempt={tag}l{l}-r{r}"
                body = json.dumps({"lane": l, "round": r, "item": "x" * 40}).encode()
            else:
                method, path, body = "GET", f"/items/{tag}l{l}-r{r}", None
            port, released = request(s, base, {"lane": l, "round": r, "kind": "reuse", "gapAsked": gap,
                                               "idleMeasured": round(idle, 6), "prevPort": port}, method, path, body)
    log(event="lane-done", lane=l)


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lanes", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--gaps", required=True)
    ap.add_argument("--stagger", type=float, default=0.13)
    ap.add_argument("--tag", default="p")
    ap.add_argument("--max-seconds", type=float, default=40)
    a = ap.parse_args()
    LOG = open(a.log, "a")
    gaps = [float(g) for g in a.gaps.split(",")]
    lanes = [gaps[i::a.lanes][: a.rounds] for i in range(a.lanes)]
    log(event="start", lanes=a.lanes, rounds=a.rounds, python=sys.version.split()[0])
    threads = [threading.Thread(target=lane, args=(i, lanes[i], a.base, a.tag, i * a.stagger), daemon=True) for i in range(a.lanes)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + a.max_seconds
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        log(event="max-seconds")
        sys.exit(4)
    log(event="done")


if __name__ == "__main__":
    main()
