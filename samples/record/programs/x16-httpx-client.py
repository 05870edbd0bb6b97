#!/usr/bin/python3
"""httpx (Debian python3-httpx 0.23.x, httpcore 0.16.x) clients for the uvicorn samples.

Usage:
  x16-httpx-client.py healthy --base URL --log FILE --steps GET:/a,0.3,POST:/b,1.2,...
      one httpx.Client per --steps list (repeat --steps for several clients, one after the
      other): the requests in order, sleeping the numbers (seconds) in between, then
      client.close() (the client closes its pooled connection: FIN from the client).
  x16-httpx-client.py race --base URL --log FILE --gaps G,G,... [--lanes 8] [--rounds 6]
      [--stagger 0.11] [--max-seconds 25]
      LANES threads, each with its own httpx.Client (default limits: keepalive_expiry 5 s);
      like x16-aiohttp-client.py: a warm GET, then per round: sleep GAP after the previous
      response was read, then GET /items/... or POST /orders?... (alternating) on the pooled
      connection; after a failure a new warm GET (another URI) on a new connection. httpx does not
      retry a request that failed on a reused connection (httpcore retries only
      ConnectionNotAvailable, and connects with transport retries=0).

Every event is one JSON line in FILE (t: epoch s, µs): "response" (status, local port) or
"error" (exception class and message, local port of the pooled connection). Before each reuse
the pooled connection's state is logged: pooledExpired true means httpcore saw the socket
readable (the server's FIN arrived) and will open a new connection instead.
"""
import argparse
import functools
import json
import sys
import threading
import time

import httpcore
import httpx

import reuse_lanes

LOG = None
LOCK = threading.Lock()


def log(**ev):
    ev = {"t": round(time.time(), 6), "lib": "httpx", **ev}
    with LOCK:
        LOG.write(json.dumps(ev) + "\n")
        LOG.flush()


def port_of(resp):
    stream = resp.extensions.get("network_stream")
    if stream is None:
        return None
    addr = stream.get_extra_info("client_addr")
    return addr[1] if addr else None


def pool_state(client):
    pool = client._transport._pool
    conns = list(pool.connections)
    if not conns:
        return None
    c = conns[0]
    return {"pooledIdle": c.is_idle(), "pooledExpired": c.has_expired()}


def request(client, base, ev, method, path, body):
    t0 = time.time()
    ev = {**ev, "method": method, "uri": path}
    state = pool_state(client)
    if state:
        ev.update(state)
    try:
        resp = client.request(method, base + path, content=body,
                              headers={"Content-Type": "application/json"} if body else None)
        ev.update(event="response", status=resp.status_code, port=port_of(resp),
                  elapsedMs=round((time.time() - t0) * 1000, 3))
        log(**ev)
        return ev["port"], time.monotonic()
    except Exception as e:
        ev.update(event="error", error=type(e).__module__ + "." + type(e).__name__, message=str(e),
                  cause=repr(e.__cause__ or e.__context__), port=ev.get("prevPort") if state and not state["pooledExpired"] else None,
                  sentAt=round(t0, 6), elapsedMs=round((time.time() - t0) * 1000, 3))
        log(**ev)
        return None, time.monotonic()


def healthy(a):
    for ci, steps in enumerate(a.steps):
        with httpx.Client() as client:
            for s in steps.split(","):
                if ":" in s:
                    method, path = s.split(":", 1)
                    body = json.dumps({"client": ci, "path": path, "note": "y" * 30}).encode() if method == "POST" else None
                    request(client, a.base, {"client": ci}, method, path, body)
                else:
                    time.sleep(float(s))
        log(event="client-closed", client=ci)


def race(a):
    lanes = reuse_lanes.deal(a.gaps, a.lanes, a.rounds)

    def lane_run(lane, start_delay):
        time.sleep(start_delay)
        with httpx.Client() as client:
            reuse_lanes.run_lane(functools.partial(request, client, a.base), lane, lanes[lane])
        log(event="lane-done", lane=lane)

    reuse_lanes.run_threads(lane_run, a.lanes, a.stagger, a.max_seconds)


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["healthy", "race"])
    ap.add_argument("--steps", action="append", default=[])
    reuse_lanes.add_lane_arguments(ap, lanes=8, rounds=6, stagger=0.11, max_seconds=25, gaps_required=False)
    a = ap.parse_args()
    LOG = open(a.log, "a")
    log(event="start", versions={"httpx": httpx.__version__, "httpcore": httpcore.__version__, "python": sys.version.split()[0]})
    healthy(a) if a.mode == "healthy" else race(a)
    log(event="done")


if __name__ == "__main__":
    main()
