#!/usr/bin/python3
"""aiohttp (Debian python3-aiohttp 3.8.x) clients reusing pooled keep-alive connections after idle
pauses around a server's idle timeout: the keep-alive race, recorded with its ground truth.

Usage: x16-aiohttp-client.py --base http://10.99.0.2:8000 --log FILE
         [--lanes 8] [--rounds 6] [--gaps 1.95,1.985,...] [--stagger 0.11] [--max-seconds 25]

LANES lanes run at once in one asyncio loop, each with its own aiohttp.ClientSession on a
TCPConnector(limit=1) (keepalive_timeout left at its default, 15 s: the pool keeps an idle
connection 15 s), so each lane has exactly one pooled connection. A lane makes one request (a
"warm" GET on a new connection), then for each round: sleeps GAP (measured from the moment the
previous response was fully read, i.e. released to the pool) and sends the round's request (GET
/items/..., or POST /orders?... with a JSON body on alternate rounds) on the pooled connection. A
request that fails is not retried by aiohttp 3.8 (nor by this program): the lane sends a new
"warm" GET (a different URI) on a new connection before the next round's pause.
The GAPS (seconds) are dealt to the lanes round-robin in the order given.

Every event is one JSON line in FILE, wall-clock time t (epoch s, µs): "response" (status,
local port), "error" (exception class and message, the local port of the pooled connection it
was sent on), with for each reuse attempt: gap asked, idle measured, the pooled connection's port
and whether aiohttp had already seen its close (pooledConnected false: the pool discards it and
opens a new connection, no race possible).
"""
import argparse
import asyncio
import json
import sys
import time

import aiohttp

import reuse_lanes

LOG = None


def log(**ev):
    ev = {"t": round(time.time(), 6), "lib": "aiohttp", **ev}
    LOG.write(json.dumps(ev) + "\n")
    LOG.flush()


def pooled(session):
    """(port, connected) of the lane's pooled idle connection, or None."""
    conns = getattr(session.connector, "_conns", {})
    for key, entries in conns.items():
        for proto, _t in entries:
            tr = proto.transport
            port = tr.get_extra_info("sockname")[1] if tr is not None else None
            return port, proto.is_connected()
    return None


async def request(session, base, lane, rnd, kind, method, path, body, extra):
    pool = pooled(session)
    t0 = time.time()
    ev = {"lane": lane, "round": rnd, "kind": kind, "method": method, "uri": path, **extra}
    if pool is not None:
        ev["pooledConnected"] = pool[1]
    try:
        async with session.request(method, base + path, data=body,
                                   headers={"Content-Type": "application/json"} if body else None) as resp:
            # resp.connection is already released for a small body read at once; the protocol stays
            tr = resp._protocol.transport if resp._protocol is not None else None
            port = tr.get_extra_info("sockname")[1] if tr is not None else None
            await resp.read()
            ev.update(event="response", status=resp.status, port=port,
                      reused=bool(pool is not None and pool[1] and extra.get("prevPort") == port),
                      elapsedMs=round((time.time() - t0) * 1000, 3))
            log(**ev)
            return port, time.monotonic()
    except Exception as e:  # every client error is ground truth
        ev.update(event="error", error=type(e).__module__ + "." + type(e).__name__, message=str(e),
                  port=extra.get("prevPort") if pool is not None and pool[1] else None,
                  sentAt=round(t0, 6), elapsedMs=round((time.time() - t0) * 1000, 3))
        log(**ev)
        return None, time.monotonic()


async def lane_run(lane, gaps, base, start_delay):
    await asyncio.sleep(start_delay)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        port, released = None, None
        for rnd, gap in enumerate(gaps):
            if port is None:
                port, released = await request(session, base, lane, rnd, "warm", "GET", reuse_lanes.warm_path(lane, rnd), None, {})
                if port is None:
                    continue
            await asyncio.sleep(max(0.0, gap - (time.monotonic() - released)))
            idle = time.monotonic() - released
            method, path, body = reuse_lanes.round_request(lane, rnd)
            port, released = await request(session, base, lane, rnd, "reuse", method, path, body,
                                           {"gapAsked": gap, "idleMeasured": round(idle, 6), "prevPort": port})
        log(event="lane-done", lane=lane)


async def main_async(a):
    lanes = reuse_lanes.deal(a.gaps, a.lanes, a.rounds)
    await asyncio.wait_for(asyncio.gather(*(lane_run(i, lanes[i], a.base, i * a.stagger) for i in range(a.lanes))),
                           a.max_seconds)


def main():
    global LOG
    ap = argparse.ArgumentParser()
    reuse_lanes.add_lane_arguments(ap, lanes=8, rounds=6, stagger=0.11, max_seconds=25)
    a = ap.parse_args()
    LOG = open(a.log, "a")
    log(event="start", versions={"aiohttp": aiohttp.__version__, "python": sys.version.split()[0]})
    asyncio.run(main_async(a))
    log(event="done")


if __name__ == "__main__":
    main()
