#!/usr/bin/env python3
"""Check samples/keepalive-race-nginx-upstream.pcap against nginx's own logs and write its meta.json.

Usage: nginx-upstream-race-meta.py --capture FILE --meta OUT --client-log FILE --error-log FILE
                                   --access-log FILE --keepalive-ms MS

The capture is rebuilt with b-meta.py's tshark reader. nginx's error log names every request that
failed on a pooled upstream connection; for each, the capture must show that request as the last
one on an upstream connection, reused (not its first), with no response, and a RST from the
backend after it, in one of three forms: after the backend's idle FIN, which the request's ACK
covers (stale reuse) or does not (crossing); or, with no FIN, a RST whose ACK covers the request
(closed on arrival: the backend's idle timer closed the socket with the request unread). A GET
must then be answered by nginx's retry on another upstream connection (access log: upstream
statuses "502, 200"), a POST must be answered 502 to the client. The capture must hold no other
upstream connection left without a response, and at least one closed-on-arrival race, one POST
answered 502 and one retried GET. Any failing check prints why and exits 1 without writing.
"""
import argparse
import importlib.util
import json
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("b_meta", os.path.join(HERE, "b-meta.py"))
bm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bm)

SCENARIO = "keepalive-race-nginx-upstream"
PROXY_PORT, BACKEND_PORT = 8080, 9001
check = bm.check


def seq_ge(a, b):
    return ((a - b) & 0xFFFFFFFF) < 0x80000000


def request_end(c, r):
    return (r["seq"] + r["len"]) & 0xFFFFFFFF


def upstream_failure(c):
    """How the last request of upstream connection c failed, or None if it was answered."""
    if len(c.requests) < 2:
        return None
    r = c.requests[-1]
    if any(x["t"] >= r["t"] for x in c.responses):
        return None
    last_resp = [x for x in c.responses if x["t"] < r["t"]][-1]
    fin = c.first_fin(False)
    rst = [x for x in c.rsts[False] if x[0] >= r["t"]]
    check(rst, f"{c.cid}: {r['method']} {r['uri']} got no response and no RST from the backend")
    if fin is not None and fin[0] <= r["t"]:
        acks_fin = bm.covers(r["ack"], fin[1])
        form = "stale-reuse" if acks_fin else "crossing"
        close_t = fin[0]
    else:
        check(fin is None, f"{c.cid}: the backend's FIN came after the request (not this scenario)")
        ack = rst[0][1]
        check(ack is not None and seq_ge(ack, request_end(c, r)),
              f"{c.cid}: the backend's RST does not acknowledge {r['method']} {r['uri']}")
        acked_before = [p for p in c.packets if not p[1] and p[0] < rst[0][0] and p[2] & bm.ACK and p[0] > r["t"]]
        form = "closed-on-arrival"
        close_t = rst[0][0]
        check(not acked_before, f"{c.cid}: the backend ACKed the request before its RST (expected the RST's ACK alone)")
    return {
        "form": form, "method": r["method"], "uri": r["uri"], "requestAt": bm.r3(r["t"]),
        "idleBeforeRequest": bm.r3(r["t"] - last_resp["t"]),
        "closeAfterRequestMs": bm.r1ms(close_t - r["t"]) if form == "closed-on-arrival" else None,
        "rstAt": bm.r3(rst[0][0]), "rstAcksRequest": rst[0][1] is not None and seq_ge(rst[0][1], request_end(c, r)),
    }


def idle_closes(ups):
    gaps = []
    for c in ups:
        fin = c.first_fin(False)
        if fin is None or not c.responses or c.first_fin(True) and c.first_fin(True)[0] < fin[0]:
            continue
        if c.requests and c.requests[-1]["t"] > c.responses[-1]["t"]:
            continue  # a request outstanding: not an idle close
        gaps.append(fin[0] - c.responses[-1]["t"])
    return gaps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--client-log", required=True)
    ap.add_argument("--error-log", required=True)
    ap.add_argument("--access-log", required=True)
    ap.add_argument("--keepalive-ms", type=int, required=True)
    a = ap.parse_args()
    conns = bm.load(a.capture, [PROXY_PORT, BACKEND_PORT])
    ups = [c for c in conns if c.server[1] == BACKEND_PORT]
    downs = [c for c in conns if c.server[1] == PROXY_PORT]
    client = bm.read_log(a.client_log)
    errors = [l for l in open(a.error_log) if "prematurely closed" in l or "recv() failed (104" in l]
    access = {}
    for line in open(a.access_log):
        m = re.search(r'"(\w+) (\S+) HTTP/1\.1" (\d+) ust=(.*)$', line.strip())
        if m:
            access[(m.group(1), m.group(2))] = (int(m.group(3)), m.group(4))
    failed_in_log = []
    for l in errors:
        m = re.search(r'request: "(\w+) (\S+) HTTP/1\.1"', l)
        check(m, f"error log line without a request: {l.strip()}")
        failed_in_log.append((m.group(1), m.group(2), "reset" if "104" in l else "premature close"))

    expect, races = [], []
    for c in ups:
        f = upstream_failure(c)
        if f is None:
            continue
        key = (f["method"], f["uri"])
        logged = [x for x in failed_in_log if x[:2] == key]
        check(logged, f"{c.cid}: {key} failed in the capture but not in nginx's error log")
        status, ust = access.get(key, (None, None))
        f["nginxError"] = logged[0][2]
        f["nginxUpstreamStatuses"] = ust
        f["clientStatus"] = status
        retry = None
        if f["method"] == "GET":
            check(status == 200 and ust == "502, 200", f"{key}: expected nginx to retry the GET (access log: {status} {ust})")
            retry = next((d for d in ups if d is not c and any(r["method"] == "GET" and r["uri"] == f["uri"] for r in d.requests)), None)
            check(retry is not None, f"{key}: no upstream connection carries nginx's retry")
            f["retryClient"] = retry.cid
        else:
            check(status == 502 and ust == "502", f"{key}: expected 502 to the client for the POST (access log: {status} {ust})")
            check(any(e.get("uri") == f["uri"] and e.get("status") == 502 for e in client), f"{key}: the client did not log a 502")
        why = {
            "stale-reuse": "nginx sent it on a pooled upstream connection whose FIN (the backend's idle close) it had already received",
            "crossing": "it crossed the backend's idle-close FIN on the wire",
            "closed-on-arrival": (f"it reached the backend {f['idleBeforeRequest']} s after the previous response, as Node's keep-alive timer "
                                  f"fired: Node closed the socket with the request unread and its kernel answered RST "
                                  f"{f['closeAfterRequestMs']} ms later, acknowledging the request (no ACK before it)"),
        }[f["form"]]
        outcome = (f"nginx logged \"{f['nginxError']}\" and retried the GET on {f['retryClient']} (upstream statuses {ust}), the client got 200"
                   if retry else f"nginx logged \"{f['nginxError']}\" and answered the client 502 (a POST is not retried)")
        expect.append(bm.entry("keepalive-race", c, f"{f['method']} {f['uri']}: {why}; {outcome}.", **f))
        if retry is not None:
            expect.append(bm.entry("retried-request", retry, f"nginx's retry of GET {f['uri']} after it failed on {c.cid}."))
        races.append(f)
    check(len(races) == len(failed_in_log), f"{len(races)} failed upstream requests in the capture, {len(failed_in_log)} in nginx's error log")
    check(any(f["form"] == "closed-on-arrival" for f in races), "no closed-on-arrival race in this recording")
    check(any(f["method"] == "POST" for f in races), "no POST answered 502 in this recording")
    check(any(f["method"] == "GET" for f in races), "no retried GET in this recording")

    gaps = idle_closes(ups)
    check(len(gaps) >= 3, f"only {len(gaps)} idle closes by the backend")
    idle = statistics.median(gaps)
    configured = (a.keepalive_ms + 1000) / 1000
    check(abs(idle - configured) <= 0.02, f"backend idle closes at {idle:.3f} s, expected keepAliveTimeout + 1 s = {configured} s")
    expect.append(bm.endpoint_entry(
        "idle-timeout-mismatch", f"127.0.0.3:{BACKEND_PORT}",
        f"the backend closes idle connections after {bm.r3(idle)} s and nginx reuses its pooled connections after as long (it has no "
        f"upstream keepalive_timeout below it: the default is 60 s)."))
    for d in downs:
        expect.append({"kind": None, "client": d.cid, "server": d.sid,
                       "notes": "the client's keep-alive connection to nginx: every request answered (200, or 502 for a POST that failed upstream); "
                                "nothing on this leg is a finding of its own (the 502s are the upstream races)."})

    forms = {k: sum(1 for f in races if f["form"] == k) for k in ("stale-reuse", "crossing", "closed-on-arrival")}
    meta = {
        "scenario": SCENARIO,
        "description": (
            "Keep-alive race on a proxy's upstream leg. nginx (upstream keepalive 8, proxy_http_version 1.1, Connection \"\") in front of a "
            f"Node http server with keepAliveTimeout {a.keepalive_ms} ms (Node 20 closes idle connections after {configured} s and announces "
            "Keep-Alive: timeout=0). One client keep-alive connection to nginx sends 40 requests (every second one a POST) with think times of "
            "1.299-1.303 s, so nginx reuses its pooled upstream connection just as the backend's idle timer closes it. "
            f"{len(races)} upstream requests failed ({forms['stale-reuse']} stale reuse, {forms['crossing']} crossing, "
            f"{forms['closed-on-arrival']} closed on arrival: Node's timer closed the socket with the request unread, RST whose ACK covers it); "
            "nginx retried the GETs on another upstream connection and answered the POSTs 502."),
        "software": bm.versions("nginx", "node"),
        "configured": {"serverIdleTimeout": configured},
        "configuredNotes": f"serverIdleTimeout is Node's keepAliveTimeout ({a.keepalive_ms} ms) + its 1 s keepAliveTimeoutBuffer; measured {bm.r3(idle)} s over {len(gaps)} idle closes.",
        "observed": {"upstreamFailures": races, "backendIdleCloses": len(gaps), "backendIdleCloseMedian": bm.r3(idle),
                     "clientRequests": len(client), "client502": sum(1 for e in client if e.get("status") == 502),
                     "capture": bm.summary(conns)},
        "expect": expect,
    }
    with open(a.meta, "w") as out:
        out.write(json.dumps(meta, indent=2) + "\n")
    print(f"{SCENARIO}: {len(races)} upstream races {forms}, idle close {bm.r3(idle)} s")


try:
    main()
except bm.CheckFailed as e:
    print(f"nginx-upstream-race-meta: {e}", file=sys.stderr)
    sys.exit(1)
