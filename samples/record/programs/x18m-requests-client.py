#!/usr/bin/python3
"""python requests clients of the middlebox-idle-* recordings (round 18m), with their ground truth.

Usage: x18m-requests-client.py --base http://10.77.2.2:8080 --log FILE [--pause 5] [--timeout 4] [--tag p]

Three lanes at once (threads), each with its own requests.Session (one pooled connection per lane;
urllib3 does not turn on TCP keep-alive). Each lane sends three warm GETs (/warm/<tag>-<lane>-<i>,
0.2 s apart: the first opens the connection), then:
  stale-get   sleeps PAUSE s (longer than the middlebox's idle timeout), GET /items/<tag>-stale-get,
              then GET /after/<tag>-stale-get (a new connection when it failed);
  stale-post  the same with POST /orders?attempt=<tag>-stale-post (a small JSON body);
  control     sleeps 1 s, GET /items/<tag>-control-1, sleeps 2 s, GET /items/<tag>-control-2.
With an https:// base the sessions use verify=False (the server's certificate is a self-signed one
made for the recording; urllib3's InsecureRequestWarning is silenced) and each pooled connection is a
TLS session. Every request: timeout=(3, TIMEOUT) (connect, read). Before reusing a pooled connection urllib3 checks
it (is_connection_dropped: readable means the peer's FIN arrived); requests' default adapter does not
retry (max_retries 0), nor does this program.
urllib3's HTTPConnection is wrapped (reuse_lanes.track_urllib3_requests) to learn each request's
local port and whether it went on an already open connection. One JSON line per request in FILE:
event "response" (status, port, reused) or "error" (exception class, message, port, reused), sentAt,
elapsedMs.
"""
import argparse
import json
import threading
import time

import requests
import urllib3

import reuse_lanes

LOCK = threading.Lock()
TL = reuse_lanes.track_urllib3_requests()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pause", type=float, default=5)
    ap.add_argument("--timeout", type=float, default=4)
    ap.add_argument("--tag", default="p")
    a = ap.parse_args()
    lib = f"python requests {requests.__version__} (urllib3 {urllib3.__version__})"
    tls = a.base.startswith("https:")
    if tls:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def log(ev):
        with LOCK, open(a.log, "a") as f:
            f.write(json.dumps({"t": time.time(), "client": "requests", "lib": lib, **ev}) + "\n")

    def request(session, lane, method, uri, body=None):
        TL.port = None
        TL.reused = None
        t0 = time.time()
        # verify=False on each request: a Session's verify is overridden by REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE.
        kw = {"verify": False} if tls else {}
        try:
            if body is None:
                r = session.request(method, a.base + uri, timeout=(3, a.timeout), **kw)
            else:
                r = session.request(method, a.base + uri, json=body, timeout=(3, a.timeout), **kw)
            log({"lane": lane, "event": "response", "method": method, "uri": uri, "status": r.status_code,
                 "port": TL.port, "reused": TL.reused, "sentAt": t0, "elapsedMs": round((time.time() - t0) * 1e3, 3)})
            return True
        except Exception as e:  # noqa: BLE001 - every failure is ground truth
            cause = e
            while cause.__context__ is not None and not isinstance(cause, (ConnectionResetError, TimeoutError)):
                cause = cause.__context__
            log({"lane": lane, "event": "error", "method": method, "uri": uri,
                 "error": f"{type(e).__module__}.{type(e).__name__}", "cause": type(cause).__name__,
                 "message": str(e)[:300], "port": TL.port, "reused": TL.reused, "sentAt": t0,
                 "elapsedMs": round((time.time() - t0) * 1e3, 3)})
            return False

    def lane(name):
        with requests.Session() as s:
            for i in range(1, 4):
                if i > 1:
                    time.sleep(0.2)
                request(s, name, "GET", f"/warm/{a.tag}-{name}-{i}")
            if name == "control":
                time.sleep(1)
                request(s, name, "GET", f"/items/{a.tag}-control-1")
                time.sleep(2)
                request(s, name, "GET", f"/items/{a.tag}-control-2")
            else:
                time.sleep(a.pause)
                if name == "stale-post":
                    request(s, name, "POST", f"/orders?attempt={a.tag}-stale-post", {"sku": "x18m", "qty": 1})
                else:
                    request(s, name, "GET", f"/items/{a.tag}-{name}")
                request(s, name, "GET", f"/after/{a.tag}-{name}")

    threads = [threading.Thread(target=lane, args=(n,)) for n in ("stale-get", "stale-post", "control")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)


if __name__ == "__main__":
    main()
