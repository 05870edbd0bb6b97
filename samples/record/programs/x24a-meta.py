#!/usr/bin/env python3
"""Check the no-upstream-connect-apache-acquire sample against Apache's, the backend's and curl's logs
and write its meta.json.

Usage: x24a-meta.py SCENARIO --capture FILE --meta OUT --error-log FILE --access-log FILE
                    --backend-log FILE --curl-log FILE [--acquire-ms MS] [--software S ...]

Apache (one child, ProxyPass ... max=1 acquire=MS) logs each request's thread with its client port
(AH01143, debug), and on the same thread when the pool gave it the backend connection (AH00942,
debug) or AH00941 "(70007) ... failed to acquire connection" (error). The capture is rebuilt with
b-meta.py's tshark reader (through apache-proxy-meta.py, whose access/error log readers are used
too); every 503 must be an AH00941 on its client's thread, with no SYN and no request to the backend
during its wait, and every 200 must have waited for the one pooled connection. Any failing check
prints why and exits 1 without writing the meta.
"""
import argparse
import importlib.util
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("apache_proxy_meta", os.path.join(HERE, "apache-proxy-meta.py"))
apm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(apm)
bm = apm.bm
check = bm.check

LINE = re.compile(r"^\[\w{3} (\w{3} +\d+ [\d:]+)\.(\d{6}) (\d{4})\] \[(\w+):(\w+)\] \[pid (\d+):tid (\d+)\] (.*)$")


def thread_events(path):
    """Apache's error log as dicts: t (epoch s), module, level, pid, tid, code (AH.....), client port, text."""
    out = []
    for line in open(path):
        m = LINE.match(line.strip())
        if not m:
            continue
        t = time.mktime(time.strptime(f"{m.group(1)} {m.group(3)}", "%b %d %H:%M:%S %Y")) + int(m.group(2)) / 1e6
        rest = m.group(8)
        code = re.search(r"AH\d{5}", rest)
        client = re.search(r"\[client [\d.]+:(\d+)\]", rest)
        out.append({"t": t, "module": m.group(4), "level": m.group(5), "pid": int(m.group(6)), "tid": int(m.group(7)),
                    "code": code.group(0) if code else None, "port": int(client.group(1)) if client else None,
                    "text": re.sub(r"^\S+\(\d+\): ", "", rest)})
    return out


def read_curl(path):
    """curl -w '%{local_port} %{http_code} %{time_total} %{url}' lines, by local port."""
    out = {}
    for line in open(path):
        port, status, total, url = line.split()
        out[int(port)] = {"status": int(status), "seconds": float(total), "url": url}
    return out


def scenario(conns, access, events, backend_log, curl, opt):
    acquire = opt.acquire_ms / 1000.0
    front = [c for c in conns if c.server[1] == 8080]
    back = [c for c in conns if c.server[1] == 9001]
    check(front and back, "the capture lacks one of the proxy's legs")
    # Apache's pool: one child process, max=1.
    pools = [e for e in events if e["code"] == "AH00930" and "(127.0.0.3:9001)" in e["text"]]
    check(len(pools) == 1 and "max=1 " in pools[0]["text"], f"pool lines: {[e['text'] for e in pools]}")
    child = pools[0]["pid"]
    check(all(e["pid"] == child for e in events if e["module"] == "proxy" and e["tid"] != e["pid"]), "proxy work in more than one child")
    errors = [e for e in events if e["level"] in ("error", "crit", "alert", "emerg", "warn")]
    check(all(e["code"] == "AH00941" and "(70007)" in e["text"] for e in errors),
          f"other errors (worker put in error state?): {[e['text'] for e in errors if e['code'] != 'AH00941']}")
    port_of_tid = {}
    for e in events:
        if e["code"] == "AH01143":
            port_of_tid[e["tid"]] = e["port"]  # the request this thread is serving now
        elif e["code"] in ("AH00941", "AH00942"):
            check(e["tid"] in port_of_tid, f"{e['code']} on thread {e['tid']} before any request")
            e["port"] = port_of_tid[e["tid"]]
    failed = {e["port"]: e for e in events if e["code"] == "AH00941"}
    acquired = {e["port"]: e for e in events if e["code"] == "AH00942"}
    started = {e["port"]: e for e in events if e["code"] == "AH01143"}
    check(len(back) == 1, f"{len(back)} backend connections (the pool holds one)")
    up = back[0]
    check(all(any(x["t"] > q["t"] for x in up.responses) for q in up.requests), f"{up.cid}: an unanswered backend request")
    check(len(backend_log) == len(up.requests) and all(b["port"] == up.client[1] for b in backend_log),
          f"backend log {backend_log} vs {len(up.requests)} requests on {up.cid}")
    check(sorted(curl) == sorted(c.client[1] for c in front), "curl's ports are not the capture's clients")
    expect, delays, waits, served = [], [], [], []
    for c in front:
        check(len(c.requests) == 1 and len(c.responses) == 1, f"{c.cid}: not one exchange")
        r, s = c.requests[0], c.responses[0]
        port = c.client[1]
        logged = [a for a in access if a["clientPort"] == port]
        check(len(logged) == 1 and logged[0]["status"] == s["status"] == curl[port]["status"],
              f"{c.cid}: status {s['status']}, access log {logged}, curl {curl[port]}")
        a = logged[0]
        took = s["t"] - r["t"]
        syns = [u for u in back if r["t"] <= u.syn_t <= s["t"]]
        if s["status"] == 503:
            check(port in failed and port not in acquired, f"{c.cid}: 503 without AH00941 on its thread")
            check(abs(took - acquire) <= 0.03 and abs(a["tookUs"] / 1e6 - acquire) <= 0.03, f"{c.cid}: 503 after {took} s (D={a['tookUs']})")
            check(s["headers"].get("connection") == "close" and s["headers"].get("server", "").startswith("Apache/"),
                  f"{c.cid}: the 503's headers {s['headers']}")
            check(not syns, f"{c.cid}: a backend SYN during its wait")
            check(not [q for q in up.requests if r["t"] <= q["t"] <= s["t"]], f"{c.cid}: a backend request during its wait")
            check(not [q for q in up.requests if q["uri"] == r["uri"]] and not [b for b in backend_log if b["url"] == r["uri"]],
                  f"{c.cid}: {r['uri']} reached the backend")
            busy = [q for q in up.requests if q["t"] < r["t"] and not [x for x in up.responses if q["t"] < x["t"] < r["t"]]]
            check(len(busy) == 1, f"{c.cid}: the pooled connection was not busy when it arrived")
            delays.append(took)
            expect.append(bm.entry(
                "no-upstream-connect", c,
                f"{r['method']} {r['uri']} answered 503 by Apache after {took:.3f} s: the worker's pool (ProxyPass max=1) had its one "
                f"connection {up.cid} busy with {busy[0]['uri']}, the request waited acquire={opt.acquire_ms} ms for it, then Apache "
                f"logged AH00941 '(70007)The timeout specified has expired: http: failed to acquire connection for (127.0.0.3:9001)'. "
                f"No SYN and no request to the backend meanwhile (1 backend connection open).",
                status=503, delaySeconds=bm.r3(took), concurrentBackendConnections=1, apacheTookUs=a["tookUs"],
                apacheError="AH00941 (70007) failed to acquire connection", busyWith=busy[0]["uri"]))
        else:
            check(s["status"] == 200 and port in acquired and port not in failed, f"{c.cid}: status {s['status']} without AH00942")
            copies = [q for q in up.requests if q["uri"] == r["uri"]]
            check(len(copies) == 1, f"{c.cid}: {r['uri']} forwarded {len(copies)} times")
            wait = copies[0]["t"] - r["t"]
            check(wait < acquire, f"{c.cid}: waited {wait} s for the pool, longer than acquire")
            fresh = bool(syns)
            check(fresh == (up.syn_t > r["t"]), f"{c.cid}: SYN accounting")
            served.append(c)
            logged_wait = acquired[port]["t"] - started[port]["t"]  # Apache's own clock: AH01143 -> AH00942
            check(abs(logged_wait - wait) < 0.02, f"{c.cid}: Apache's log says it waited {logged_wait} s, the capture {wait} s")
            if not fresh:
                check(wait > 0.3, f"{c.cid}: reused the pooled connection without waiting for it")
                waits.append(wait)
            how = (f"on a new backend connection {up.cid} (SYN {(up.syn_t - r['t']) * 1000:.1f} ms, request {wait * 1000:.1f} ms after "
                   f"its own)" if fresh else
                   f"after waiting {wait:.3f} s (< acquire={opt.acquire_ms} ms) for the pool's one connection {up.cid}, which it "
                   f"reused (no SYN)")
            expect.append(bm.entry(None, c, f"{r['method']} {r['uri']} forwarded {how}; answered 200 after {took:.3f} s "
                                            f"(slow backend); clean.", forwardedAfterSeconds=bm.r3(wait), newBackendConnection=fresh))
    check(len(delays) >= 2, f"only {len(delays)} 503s")
    check(waits, "no request was served after waiting for the pooled connection")
    check(bm.spread_ok(delays), f"503 delays {delays}")
    expect.append(bm.entry(None, up, f"Apache's one pooled backend connection: {len(up.requests)} slow requests one after the other "
                                     f"(each answered after ~2.5 s), kept open (idle) until the capture ends; clean."))
    desc = (
        f"No upstream connect from Apache mod_proxy's connection pool: Apache 2.4 (event MPM, one child, 8 threads) on 127.0.0.2:8080 "
        f"with ProxyPass / http://127.0.0.3:9001/ max=1 acquire={opt.acquire_ms} (ProxySourceAddress 127.0.0.2; retry= left at its "
        f"default) in front of a Node http server whose /slow?ms=2500 answers after 2.5 s. Four curl clients at once: one gets the "
        f"pool's one connection (a new one); the {len(delays)} others wait for it, and after {bm.r3(statistics.median(delays))} s Apache "
        f"logs AH00941 '(70007)The timeout specified has expired: http: failed to acquire connection for (127.0.0.3:9001)' and answers "
        f"503 (Connection: close), never opening a backend connection for them. A fifth client 1.7 s later waits "
        f"{bm.r3(waits[0])} s, gets the released connection and reuses it (no SYN) and gets 200: an acquire timeout does not put the "
        f"worker in error state (no AH00940/AH00959). Both legs captured on the namespace's loopback: clients 127.0.0.1 -> Apache "
        f"127.0.0.2:8080; Apache 127.0.0.2 -> backend 127.0.0.3:9001, one connection for the whole capture.")
    observed = {"acquire503DelaySeconds": sorted(bm.r3(x) for x in delays), "pooledWaitsServedSeconds": [bm.r3(x) for x in waits],
                "backendConnections": len(back), "backendRequests": len(up.requests),
                "apacheErrors": sorted({re.sub(r"^\[[^]]*\] ", "", e["text"]) for e in failed.values()}),
                "curl": [dict(curl[p], localPort=p) for p in sorted(curl)]}
    configured = {"proxyQueueTimeout": acquire, "upstreamTimeout": acquire, "apacheAcquireMs": opt.acquire_ms,
                  "apacheProxyMax": 1, "backendDelaySeconds": 2.5}
    return desc, expect, observed, configured


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--error-log", required=True)
    ap.add_argument("--access-log", required=True)
    ap.add_argument("--backend-log", required=True)
    ap.add_argument("--curl-log", required=True)
    ap.add_argument("--acquire-ms", type=int, default=1000)
    ap.add_argument("--software", nargs="*", default=[])
    a = ap.parse_args()
    try:
        conns = bm.load(a.capture, [8080, 9001])
        access = apm.read_access(a.access_log)
        events = thread_events(a.error_log)
        backend_log = [json.loads(l) for l in open(a.backend_log) if l.startswith("{")]
        curl = read_curl(a.curl_log)
        desc, expect, observed, configured = scenario(conns, access, events, backend_log, curl, a)
    except bm.CheckFailed as e:
        print(f"{a.scenario}: check failed: {e}", file=sys.stderr)
        sys.exit(1)
    meta = {"scenario": a.scenario, "description": desc, "software": a.software, "configured": configured,
            "configuredNotes": ("proxyQueueTimeout and upstreamTimeout = Apache's ProxyPass acquire= (in ms by default; no default: "
                                "without it a request waits for a pooled connection indefinitely), the only timeout that fires here, "
                                "under the names conncheck infers. apacheProxyMax = ProxyPass max= (per child process; defaults to "
                                "ThreadsPerChild)."),
            "observed": observed, "expect": expect, "silent": False}
    meta["facts"] = bm.summary(conns)
    meta["facts"]["captureFile"] = os.path.basename(a.capture)
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
