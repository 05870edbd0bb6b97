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

urllib3's HTTPConnection is wrapped (reuse_lanes.track_urllib3_requests) to learn each request's
local port and whether it went on a connection that was already open (reused). One JSON line per
event in FILE (t: wall clock, epoch s): "response" (status, port, reused) and "error" (exception
class and message, port, reused).
"""
import argparse
import functools
import json
import sys
import threading
import time

import requests
import urllib3

import reuse_lanes

LOG = None
LOCK = threading.Lock()
TL = reuse_lanes.track_urllib3_requests()


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
        reuse_lanes.run_lane(functools.partial(request, s, base), l, gaps, tag)
    log(event="lane-done", lane=l)


def main():
    global LOG
    ap = argparse.ArgumentParser()
    reuse_lanes.add_lane_arguments(ap, lanes=4, rounds=7, stagger=0.13, max_seconds=40)
    ap.add_argument("--tag", default="p")
    a = ap.parse_args()
    LOG = open(a.log, "a")
    lanes = reuse_lanes.deal(a.gaps, a.lanes, a.rounds)
    log(event="start", lanes=a.lanes, rounds=a.rounds, python=sys.version.split()[0])
    if not reuse_lanes.run_threads(lambda i, start_delay: lane(i, lanes[i], a.base, a.tag, start_delay),
                                   a.lanes, a.stagger, a.max_seconds):
        log(event="max-seconds")
        sys.exit(4)
    log(event="done")


if __name__ == "__main__":
    main()
