#!/usr/bin/env python3
"""One keep-alive connection (http.client) for middlebox-idle-fin-nat-any: GET /a, a reuse after
PAUSE1 s (answered), then a reuse after PAUSE2 s with a TIMEOUT s socket timeout. One JSON line per
request in LOG: local port, uri, status or error, send time. Bounded: three requests."""
import argparse
import http.client
import json
import time

ap = argparse.ArgumentParser()
ap.add_argument("--host", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--pause1", type=float, required=True)
ap.add_argument("--pause2", type=float, required=True)
ap.add_argument("--timeout", type=float, required=True)
ap.add_argument("--log", required=True)
args = ap.parse_args()

conn = http.client.HTTPConnection(args.host, args.port, timeout=args.timeout)
log = open(args.log, "a")


def request(uri: str) -> None:
    sent = time.time()
    row = {"t": sent, "uri": uri}
    try:
        conn.request("GET", uri)
        resp = conn.getresponse()
        resp.read()
        row["status"] = resp.status
    except Exception as e:  # the stale reuse's timeout is the point of the scenario
        row["error"] = type(e).__name__
    row["port"] = conn.sock.getsockname()[1] if conn.sock is not None else row.get("port")
    row["elapsed"] = round(time.time() - sent, 3)
    log.write(json.dumps(row) + "\n")
    log.flush()


request("/a")
port = conn.sock.getsockname()[1]
time.sleep(args.pause1)
request("/b")
time.sleep(args.pause2)
request("/c")
log.write(json.dumps({"port": port, "event": "done"}) + "\n")
conn.close()
