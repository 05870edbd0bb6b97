#!/usr/bin/env python3
"""Meta writer of restart-go-shutdown (samples/record/restart-go-shutdown.sh): a Go net/http server (x27g-server.go,
IdleTimeout 60 s) replaced twice under keep-alive load: a new instance on the same address (SO_REUSEPORT), then
SIGTERM to the old one, which calls http.Server.Shutdown with a 1 s context. The capture (server side, port 8080) is
rebuilt with b-meta.py's tshark reader and the clients' logs read with x26n-meta.py's reader (the same clients as
reload-nginx); the ground truth comes from the logs in --work:
  events.log     the recorder's instance starts (pid, when it listened) and the two replacements (SIGTERM times)
  server-N.log   instance N's own log: ConnState transitions per remote port, request start and end with status,
                 sigterm, shutdown-return (Shutdown's error), exit
  node.log, requests.log   programs/x26n-node-lanes.js and programs/x26n-requests-lanes.py
  tcpdump.*      tcpdump's statistics (no packet may be dropped)
Checks (exit 1, no meta, when one fails): every request attempt the clients logged is on the wire on the port they
logged, and nothing else; every response on the wire is a req-end of the instance that owned the connection (same
port, request, status) and no instance logged a request the wire does not show; each connection belongs to one
instance; every close the server started came between the owner's SIGTERM and its exit; every unanswered request
either never reached the handler (no req-start: a race with Shutdown's close of the idle connection) or was cut at
the deadline (req-start without req-end, in an instance whose Shutdown returned context deadline exceeded); every
unanswered request is one the client logged as an error or urllib3 sent again; replacement 1's Shutdown returned
nil, replacement 2's returned the deadline with at least one request cut; no 4xx/5xx; at least --need-races races.

Usage: x27g-meta.py SCENARIO --capture PCAP --meta OUT --work DIR [--delay-ms 10] [--need-races 1] --software S...
"""
import argparse
import glob
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bm = _load("b_meta", "b-meta.py")
x26n = _load("x26n_meta", "x26n-meta.py")  # read_clients, first_epoch
check, entry, r3, r1ms = bm.check, bm.entry, bm.r3, bm.r1ms

PORT = 8080
IDLE_TIMEOUT = 60.0
GRACE = 1.0
EXIT_MARGIN = 0.05  # s after an instance's exit log line within which the kernel's closes must be on the wire


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--delay-ms", type=float, default=10)
    ap.add_argument("--need-races", type=int, default=1)
    ap.add_argument("--software", nargs="*", default=[])
    a = ap.parse_args()
    w = lambda name: os.path.join(a.work, name)

    for log in glob.glob(w("tcpdump.*")):
        m = re.search(r"(\d+) packets? dropped by kernel", open(log).read())
        check(m is None or m[1] == "0", f"tcpdump dropped packets ({log})")
    conns = [c for c in bm.load(a.capture, [PORT]) if c.server[1] == PORT]
    check(conns, "no connection to port 8080 on the wire")
    by_cid = {c.cid: c for c in conns}
    t0 = x26n.first_epoch(a.capture)

    # Instances and replacements.
    ev = [json.loads(l) for l in open(w("events.log"))]
    starts = {e["inst"]: e for e in ev if e["event"] == "started"}
    reps = [e for e in ev if e["event"] == "replace"]
    check(sorted(starts) == [1, 2, 3] and [r["n"] for r in reps] == [1, 2], f"events: {ev}")
    inst = {}
    for n in (1, 2, 3):
        lines = [json.loads(l) for l in open(w(f"server-{n}.log"))]
        check(all(x["pid"] == starts[n]["pid"] for x in lines), f"instance {n}: pid differs from the one started")
        one = lambda kind: [x for x in lines if x["ev"] == kind]
        check(len(one("listening")) == 1 and len(one("sigterm")) == 1 and len(one("shutdown-return")) == 1
              and len(one("exit")) == 1, f"instance {n}: log incomplete")
        d = {"n": n, "pid": starts[n]["pid"], "listenAt": one("listening")[0]["t"] - t0,
             "termAt": one("sigterm")[0]["t"] - t0, "shutdownErr": one("shutdown-return")[0]["err"],
             "shutdownReturnAt": one("shutdown-return")[0]["t"] - t0, "exitAt": one("exit")[0]["t"] - t0,
             "conn": {}, "start": {}, "end": {}}
        for x in lines:
            if x["ev"] == "conn":
                d["conn"].setdefault(x["port"], []).append((x["t"] - t0, x["state"]))
            elif x["ev"] in ("req-start", "req-end"):
                k = (x["port"], x["method"], x["uri"])
                check(k not in d[x["ev"][4:]], f"instance {n}: {k} twice")
                d[x["ev"][4:]][k] = x
        inst[n] = d
    check(not [x for d in inst.values() for x in d["end"].values() if x["status"] >= 400], "4xx/5xx answered")
    for r in reps:
        r["at"] = r["t"] - t0
        r["oldI"], r["newI"] = inst[r["old"]], inst[r["new"]]
        check(r["oldPid"] == r["oldI"]["pid"] and r["newI"]["listenAt"] < r["at"], f"replacement {r['n']}: order")
        check(abs(r["oldI"]["termAt"] - r["at"]) < 0.05, f"replacement {r['n']}: SIGTERM not logged at once")
    check(inst[1]["shutdownErr"] == "<nil>", f"replacement 1: Shutdown returned {inst[1]['shutdownErr']}")
    check(inst[2]["shutdownErr"] == "context deadline exceeded", f"replacement 2: Shutdown returned {inst[2]['shutdownErr']}")
    check(GRACE - 0.01 < inst[2]["shutdownReturnAt"] - inst[2]["termAt"] < GRACE + 0.1, "replacement 2: deadline not ~1 s")
    rep_of_old = {r["old"]: r for r in reps}

    # Which instance owns each connection: the one that logged StateNew for its port just after the SYN.
    owner = {}
    for c in conns:
        cands = [d for d in inst.values() if any(s == "new" and c.syn_t - 0.01 < t < c.syn_t + 0.1
                                                  for t, s in d["conn"].get(c.client[1], []))]
        check(len(cands) == 1, f"{c.cid}: owned by {len(cands)} instances")
        owner[c.cid] = cands[0]

    clients = x26n.read_clients(a.work)
    by_key = {}
    for c in conns:
        for i, q in enumerate(c.requests):
            k = (c.client[1], q["method"], q["uri"])
            check(k not in by_key, f"request {k} twice on the wire")
            by_key[k] = (c, i)
    attempts = []
    for e in clients:
        for j, att in enumerate(e["attempts"]):
            k = (att["port"], e["method"], e["uri"])
            check(k in by_key, f"{e['client']} attempt {k} not on the wire")
            attempts.append((e, j, *by_key.pop(k)))
    check(not by_key, f"requests on the wire no client logged: {list(by_key)[:5]}")

    # Wire <-> server logs: answered = req-end of the owner; unanswered = never started (race) or cut (deadline).
    seen_start, cut = set(), {}
    for c in conns:
        d = owner[c.cid]
        for i, q in enumerate(c.requests):
            k = (c.client[1], q["method"], q["uri"])
            s, e = d["start"].get(k), d["end"].get(k)
            if s:
                seen_start.add((d["n"], k))
            if i < len(c.responses):
                check(s and e and e["status"] == c.responses[i]["status"], f"{c.cid}: {q['uri']} not logged by instance {d['n']} as on the wire")
            else:
                check(e is None, f"{c.cid}: instance {d['n']} ended {q['uri']}, no response on the wire")
                if s:
                    check(d["shutdownErr"] == "context deadline exceeded", f"{c.cid}: {q['uri']} started, unanswered, no deadline")
                    cut[(c.cid, i)] = s
    for d in inst.values():
        extra = [k for k in d["start"] if (d["n"], k) not in seen_start]
        check(not extra, f"instance {d['n']} logged requests not on the wire: {extra[:3]}")
    check(len(cut) >= 1, "replacement 2 cut no request")

    failed_attempts = {}
    for e, j, c, i in attempts:
        answered = i < len(c.responses)
        if j == len(e["attempts"]) - 1 and e.get("status") is not None:
            check(answered and c.responses[i]["status"] == e["status"], f"{c.cid}: {e['uri']} answered {e['status']} not on the wire")
        else:
            check(not answered, f"{c.cid}: {e['uri']} answered on the wire, the client logged a failure")
            failed_attempts[(c.cid, i)] = (e, j)
    for c in conns:
        for i in range(len(c.responses), len(c.requests)):
            check((c.cid, i) in failed_attempts, f"{c.cid}: {c.requests[i]['uri']} unanswered and no client saw it fail")

    # Closes.
    t_end = reps[-1]["at"] + 1.5
    server_closed, client_closed = [], []
    for c in conns:
        d = owner[c.cid]
        sfin, srst, cfin, crst = c.first_fin(False), c.first_rst(False), c.first_fin(True), c.first_rst(True)
        s_t = min(x[0] for x in (sfin, srst) if x) if (sfin or srst) else None
        c_t = min(x[0] for x in (cfin, crst) if x) if (cfin or crst) else None
        check(s_t is not None or c_t is not None, f"{c.cid}: still open at the end of the capture")
        if c_t is not None and (s_t is None or c_t <= s_t):
            check(len(c.requests) == len(c.responses), f"{c.cid}: closed by the client with a request unanswered")
            check(c_t > t_end, f"{c.cid}: closed by the client at {r3(c_t)} s, before the end of the load")
            client_closed.append(c)
            continue
        r = rep_of_old.get(d["n"])
        check(r is not None and d["termAt"] <= s_t <= d["exitAt"] + EXIT_MARGIN,
              f"{c.cid}: instance {d['n']} closed it at {r3(s_t)} s, outside its shutdown")
        how = "FIN" if sfin and (not srst or sfin[0] <= srst[0]) else "RST"
        answered = [x for x in c.responses if x["t"] <= s_t]
        pending = [q for q in c.requests[len(answered):] if q["t"] < s_t]
        late = [q for q in c.requests[len(answered):] if q["t"] >= s_t]
        last = answered[-1] if answered else None
        states = d["conn"].get(c.client[1], [])
        info = {"c": c, "rep": r, "inst": d, "closeAt": s_t, "how": how, "lastResponse": last,
                "afterTermMs": r1ms(s_t - d["termAt"]), "states": states}
        if pending:
            check(how == "FIN" and len(pending) == 1 and (c.cid, len(answered)) in cut and not late,
                  f"{c.cid}: closed with {pending[0]['uri']} pending and not a deadline cut")
            check(s_t >= d["shutdownReturnAt"] - 0.001, f"{c.cid}: cut before Shutdown returned")
            info["role"] = "cut-at-deadline"
        elif last is not None and last["headers"].get("connection", "").lower() == "close":
            check(how == "FIN" and s_t - last["t"] < 0.01 and not late, f"{c.cid}: odd close after a Connection: close response")
            info["role"] = "closed-after-response"
        else:
            check(how == "FIN", f"{c.cid}: reset by the server at {r3(s_t)} s with nothing pending")
            # Idle at SIGTERM (its last state before the close 'idle'): Shutdown's closeIdleConns.
            before = [s for t, s in states if t <= d["termAt"]]
            check(before and before[-1] == "idle", f"{c.cid}: not idle at SIGTERM ({before[-1:]})")
            check(s_t - d["termAt"] < 0.1, f"{c.cid}: idle close {r1ms(s_t - d['termAt'])} ms after SIGTERM")
            info["role"] = "idle-closed"
            if late:
                rc = bm.race(c)
                check(rc is not None and not rc["responseToRequest"] and len(late) == 1, f"{c.cid}: a request after the FIN got a response")
                check(rc["rstAt"] is not None, f"{c.cid}: a request after the FIN was not reset")
                info["role"], info["race"] = "race", rc
        server_closed.append(info)

    retry_of = {}
    for e in clients:
        if len(e["attempts"]) > 1:
            check(len(e["attempts"]) == 2, f"{e['uri']}: {len(e['attempts'])} attempts")
            p1 = e["attempts"][1]["port"]
            c1 = next(c for c in conns if c.client[1] == p1 and any(q["uri"] == e["uri"] for q in c.requests))
            check(c1.requests[0]["uri"] == e["uri"] and not e["attempts"][1]["reused"], f"{e['uri']}: the retry is not on a new connection")
            retry_of[c1.cid] = e

    def failure(c):
        e, j = failed_attempts[(c.cid, len(c.responses))]
        retried = len(e["attempts"]) > j + 1
        lib = "Node http.Agent" if e["client"] == "node" else "python requests"
        if retried:
            p1 = e["attempts"][j + 1]["port"]
            rc = next(x for x in conns if x.client[1] == p1 and x.requests and x.requests[0]["uri"] == e["uri"])
            err = (e.get("retryErrors") or ["?"])[0]
            return e, True, rc, f"{lib}: nothing; urllib3 (Retry total=1) saw {err} and sent the GET again on {rc.cid}, answered {e.get('status')}"
        return e, False, None, f"{lib}: {e.get('error')}: {e.get('message')}; not sent again"

    expect, failures = [], []
    for info in server_closed:
        c, r, d, role = info["c"], info["rep"], info["inst"], info["role"]
        if role not in ("race", "cut-at-deadline"):
            continue
        e, retried, retry_c, saw = failure(c)
        q = c.requests[len(c.responses)]
        if role == "race":
            rc = info["race"]
            rc.update(replacement=r["n"], sigtermAt=r3(d["termAt"]), closeAfterSigtermMs=info["afterTermMs"],
                      oldInstancePid=d["pid"], retried=retried, retryClient=retry_c.cid if retry_c else None)
            notes = (f"{rc['method']} {rc['uri']} {'crossed' if rc['form'] == 'crossing' else 'followed'} the FIN of the old "
                     f"instance (pid {d['pid']}) at replacement {r['n']}: SIGTERM, then http.Server.Shutdown closed its idle "
                     f"kept-alive connections at once ({info['afterTermMs']} ms after the SIGTERM; the request reached the server "
                     f"{rc['deltaMs']} ms after the FIN left, its ACK "
                     f"{'covering the FIN' if rc['requestAcksFin'] else 'not covering the FIN: it left the client before the FIN arrived, 10 ms one way'}); "
                     "the socket was closed and the kernel answered RST. The close was the shutdown's, not an idle timeout "
                     f"(IdleTimeout 60 s; the connection had been idle {rc['idleGapSeconds']} s): no idle timeout should be inferred "
                     f"from it. The server never read the request (no req-start). {saw}."
                     + (" (Non-idempotent POST.)" if rc["method"] == "POST" else ""))
            expect.append(entry("keepalive-race", c, notes, **rc))
            form = rc["form"]
        else:
            s = cut[(c.cid, len(c.responses))]
            fin = info["closeAt"]
            notes = (f"{q['method']} {q['uri']} was in flight at replacement {r['n']} (sent at {r3(q['t'])} s; the handler "
                     f"started at {r3(s['t'] - t0)} s; SIGTERM at {r3(d['termAt'])} s); the old instance (pid {d['pid']}, "
                     f"--slow-after-term-ms 2000) would answer it only 2 s after its start, later than Shutdown's 1 s "
                     f"context: Shutdown returned context deadline exceeded at {r3(d['shutdownReturnAt'])} s and the process "
                     f"exited, its kernel closing the connection with FIN at {r3(fin)} s ({info['afterTermMs']} ms after the "
                     f"SIGTERM, {r1ms(fin - q['t'])} ms after the request), no response byte sent. {saw}. A shutdown deadline "
                     "cutting a request in hand: not a server request timeout, not an idle timeout, not a keep-alive race "
                     "(the request came long before the FIN).")
            expect.append(entry("unanswered-request", c, notes, method=q["method"], uri=q["uri"], requestAt=r3(q["t"]),
                                finAt=r3(fin), finAfterSigtermMs=info["afterTermMs"], requestAgeAtCloseMs=r1ms(fin - q["t"]),
                                replacement=r["n"], shutdownErr=d["shutdownErr"], retried=retried,
                                retryClient=retry_c.cid if retry_c else None))
            form = "cut-at-deadline"
        failures.append({"client": c.cid, "program": "Node http.Agent" if e["client"] == "node" else "python requests",
                         "request": f"{q['method']} {q['uri']}", "replacement": r["n"], "form": form,
                         "closeAt": r3(info["closeAt"]), "requestAt": r3(q["t"]), "saw": saw, "retried": retried})
    races = [f for f in failures if f["form"] != "cut-at-deadline"]
    check(len(races) >= a.need_races, "not enough races")

    for cid, e in sorted(retry_of.items()):
        c = by_cid[cid]
        q = c.requests[0]
        first = next(x for x in conns if x.client[1] == e["attempts"][0]["port"] and any(y["uri"] == e["uri"] for y in x.requests))
        fq = next(y for y in first.requests if y["uri"] == e["uri"])
        why = next((f["form"] for f in failures if f["client"] == first.cid), "?")
        cause = {"crossing": "a race with the shutdown's close of the idle connection (RST)",
                 "stale-reuse": "a race with the shutdown's close of the idle connection (RST)",
                 "cut-at-deadline": "cut at Shutdown's deadline: FIN, no response"}.get(why, why)
        expect.append(entry("retried-request", c,
                            f"urllib3 (Retry(total=1), idempotent methods only) sent {q['method']} {q['uri']} again on this new "
                            f"connection {r1ms(q['t'] - fq['t'])} ms after its first attempt on {first.cid} ({cause}); answered "
                            f"{c.responses[0]['status'] if c.responses else None} {r1ms(c.responses[0]['t'] - q['t']) if c.responses else None} "
                            f"ms after the request, by instance {owner[cid]['n']} (the new one)."))
    failing = {x["client"] for x in expect}
    for info in server_closed:
        c, r, d = info["c"], info["rep"], info["inst"]
        if c.cid in failing:
            continue
        lr = info["lastResponse"]
        if info["role"] == "closed-after-response":
            q = c.requests[len(c.responses) - 1]
            note = (f"{q['method']} {q['uri']} was in flight at replacement {r['n']} (SIGTERM at {r3(d['termAt'])} s): the old "
                    f"instance (pid {d['pid']}) finished it during Shutdown ({lr['status']} at {r3(lr['t'])} s with Connection: "
                    f"close) and closed the connection {r1ms(info['closeAt'] - lr['t'])} ms later (FIN); no error")
        else:
            note = (f"kept-alive and idle at replacement {r['n']}: Shutdown (pid {d['pid']}) closed it (FIN at "
                    f"{r3(info['closeAt'])} s, {info['afterTermMs']} ms after the SIGTERM, idle "
                    f"{r3(info['closeAt'] - lr['t']) if lr else None} s): the shutdown's close, not an idle timeout (IdleTimeout 60 s); "
                    "no request on it after, no error")
        expect.append({"kind": None, "client": c.cid, "server": c.sid, "notes": note})
    for c in [c for c in client_closed if c.cid not in failing][:4]:
        expect.append({"kind": None, "client": c.cid, "server": c.sid,
                       "notes": f"{len(c.requests)} requests answered by instance {owner[c.cid]['n']} (pid {owner[c.cid]['pid']}); "
                                "closed by the client at the end of the load. Clean."})

    per_rep = []
    for r in reps:
        d = r["oldI"]
        mine = [i for i in server_closed if i["rep"] is r]
        idle = [i for i in mine if i["role"] in ("idle-closed", "race")]
        idle_t = [i["closeAt"] for i in idle]
        per_rep.append({
            "n": r["n"], "oldInstance": d["n"], "oldPid": d["pid"], "newInstance": r["new"], "newPid": r["newPid"],
            "newListeningBeforeSigtermMs": r1ms(r["at"] - r["newI"]["listenAt"]), "sigtermAt": r3(d["termAt"]),
            "shutdownReturnedAfterMs": r1ms(d["shutdownReturnAt"] - d["termAt"]), "shutdownErr": d["shutdownErr"],
            "exitAfterMs": r1ms(d["exitAt"] - d["termAt"]),
            "slowAfterTermMs": 2000 if r["n"] == 2 else 0,
            "closedByServer": len(mine), "idleClosed": len(idle),
            "idleClosesAfterSigtermMs": [r1ms(min(idle_t) - d["termAt"]), r1ms(max(idle_t) - d["termAt"])] if idle_t else None,
            "idleClosesSpreadMs": r1ms(max(idle_t) - min(idle_t)) if idle_t else None,
            "idleClosedIdleSeconds": sorted(r3(i["closeAt"] - i["lastResponse"]["t"]) for i in idle if i["lastResponse"]),
            "closedAfterCloseResponse": sum(1 for i in mine if i["role"] == "closed-after-response"),
            "closedAfterCloseResponseAfterSigtermMs": sorted(i["afterTermMs"] for i in mine if i["role"] == "closed-after-response"),
            "cutAtDeadline": sum(1 for i in mine if i["role"] == "cut-at-deadline"),
            "cutAfterSigtermMs": sorted(i["afterTermMs"] for i in mine if i["role"] == "cut-at-deadline"),
            "races": sum(1 for i in mine if i["role"] == "race"),
            "clientErrors": sum(1 for f in failures if f["replacement"] == r["n"] and not f["retried"]),
            "retried": sum(1 for f in failures if f["replacement"] == r["n"] and f["retried"]),
        })
    n_err = sum(1 for e in clients if e.get("status") is None)
    n_retry = sum(1 for e in clients if len(e["attempts"]) > 1)
    spreads = [p["idleClosesSpreadMs"] for p in per_rep if p["idleClosesSpreadMs"] is not None]
    p1, p2 = per_rep
    meta = {
        "scenario": a.scenario,
        "description": (
            "A Go net/http server (IdleTimeout 60 s) on 10.99.0.2:8080 replaced twice under steady keep-alive load, as a "
            "deploy or a Kubernetes rollout does it: a new instance binds the same address with SO_REUSEPORT, and ~0.2 s "
            "after it listens the old one gets SIGTERM and calls http.Server.Shutdown with a 1 s context. Shutdown closes "
            "the old listener, closes every idle kept-alive connection at once (FIN, whatever its idle age; here "
            f"{p1['idleClosed']} and {p2['idleClosed']} connections, each burst spread over at most {max(spreads) if spreads else '?'} ms), "
            "lets active requests finish (Connection: close, then FIN) and returns context.DeadlineExceeded when the "
            "deadline comes first; the process then exits with the requests it still holds. Clients 10 ms one way away: "
            "four Node http.Agent lanes (keepAlive, one pooled connection each; never resend) and four python requests "
            "lanes (urllib3 Retry(total=1): a failed GET is sent again on a new connection, never a POST), each sending "
            "GET /items, POST /orders or now and then GET /slow (0.5 s) every 50-200 ms after the previous response, for 10 s. "
            f"Replacement 1: Shutdown returned {p1['shutdownErr']} after {p1['shutdownReturnedAfterMs']} ms. Replacement 2: "
            "the old instance answers /slow requests waiting at SIGTERM only 2 s after their start, so Shutdown's deadline "
            f"expired ({p2['shutdownErr']}, {p2['shutdownReturnedAfterMs']} ms) and the exit closed {p2['cutAtDeadline']} "
            "connection(s) with a request unanswered (FIN, no response). "
            f"{len(races)} requests met a shutdown's close of an idle connection (keep-alive races, answered RST); "
            f"clients: {n_err} errors, {n_retry} requests urllib3 sent again. No idle timeout closes anything here."),
        "software": a.software,
        "configured": {"serverIdleTimeout": IDLE_TIMEOUT, "goIdleTimeout": IDLE_TIMEOUT, "serverShutdownGrace": GRACE,
                       "slowSeconds": 0.5, "slowAfterSigtermSecondsAtReplacement2": 2.0, "oneWayDelayMs": a.delay_ms,
                       "replacements": 2},
        "configuredNotes": "serverIdleTimeout is the Go server's IdleTimeout 60 s, far longer than the ~10 s of load: no idle "
                           "close by timer happens; every close by the server is a shutdown's (within a few ms of a SIGTERM for "
                           "idle connections, after the response for active ones, at the process exit 1 s after SIGTERM for the "
                           "requests cut at replacement 2). An idle timeout inferred from these closes would be wrong.",
        "observed": {
            "capture": bm.summary(conns),
            "captureSide": "server (tun ccbs in the server's namespace), port 8080",
            "replacements": per_rep, "clientVisibleFailures": failures,
            "clientRequests": len(clients), "clientErrors": n_err, "clientRetried": n_retry,
            "serverClosedConnections": len(server_closed), "clientClosedConnections": len(client_closed),
            "connectionsPerInstance": {str(n): sum(1 for c in conns if owner[c.cid]["n"] == n) for n in inst},
            "firstCaptureEpoch": r3(t0),
        },
        "silent": False,
        "facts": {**bm.summary(conns), "captureFile": f"{a.scenario}.pcap", "races": len(races),
                  "cutAtDeadline": p2["cutAtDeadline"], "shutdownClosedConnections": len(server_closed)},
        "expect": expect,
        "notes": "Not expected, and wrong if reported: an idle-timeout-mismatch or any server idle timeout of 10.99.0.2:8080 "
                 "inferred from the shutdowns' closes of idle connections (IdleTimeout is 60 s; the closes came within a few ms "
                 "of each SIGTERM at whatever idle age); a server or middlebox request timeout inferred from the requests cut "
                 "at replacement 2 (cut by Shutdown's 1 s deadline and the process exit, whatever their age). The races' cause "
                 "is Shutdown closing idle kept-alive connections at once while clients still consider them reusable; the cut "
                 "requests' cause is a handler slower than the shutdown deadline. Remedies that fit: clients that resend "
                 "idempotent requests on a new connection (as urllib3's Retry did), idempotency keys for POSTs; on the server "
                 "side a drain period before Shutdown (keep serving after SIGTERM while the load balancer or the clients move "
                 "away, e.g. a preStop sleep, or SetKeepAlivesEnabled(false) for a while so connections close after their next "
                 "response), and a shutdown context longer than the slowest handler. The clients' closes at the end of the load "
                 "are the programs ending, not a client idle timeout.",
    }
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{a.scenario}: {len(conns)} connections, {len(clients)} client requests; {len(server_closed)} closed by the "
          f"shutdowns; {len(races)} races, {p2['cutAtDeadline']} cut at the deadline ({n_err} client errors, {n_retry} retried)")


if __name__ == "__main__":
    try:
        main()
    except bm.CheckFailed as e:
        print(f"x27g-meta: {e}", file=sys.stderr)
        sys.exit(1)
