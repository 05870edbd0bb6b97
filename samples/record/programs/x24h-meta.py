#!/usr/bin/env python3
"""Meta writer of reload-haproxy (samples/record/reload-haproxy.sh): HAProxy 2.6 reloaded three times with
`-sf` (no seamless reload) under keep-alive load. The capture is rebuilt with b-meta.py's tshark reader;
the ground truth comes from the programs' logs in --work:
  reloads.log   the recorder's reload times and the old and new process ids
  haproxy.log   HAProxy's log through programs/x24h-syslog.py: "RECEIVE_TIME LINE"; per request lib-x12.sh's
                format + %pid (accept time, client address:port, method, URI, status, Tc/Tw/Tr/Ta, termination
                state, retries, backend source port, bytes, pid); per soft stop "Proxy fe stopped" (the old
                process unbound its listener), "soft-stop running for too long, performing a hard-stop"
  lanes.log     programs/x17p-node-lanes.js and x17p-requests-lanes.py (JSON lines: response / error, port)
  curl.log      "TAG TIME CODE LOCAL_PORT EXITCODE NUM_CONNECTS TIME_TOTAL URL ERRORMSG" per curl transfer
  backend-*.log the Node backends (programs/b-http-server.js: one JSON line per request, with its client port)
  tcpdump.*     tcpdump's statistics (no packet may be dropped)
Checks (exit 1, no meta, when one fails): every client request on the wire is answered or is one of the
client-visible failures the logs name, and each failure is on the wire as the logs say; each connection
reset by the proxy carried a request HAProxy never logged (it was never accepted: it waited in the old
process's listener backlog) and the reset came as that process unbound its listener; each 502 is an
HAProxy KH-- line logged by the process a hard-stop ended, with its backend connection closed unanswered;
every idle keep-alive connection the proxy closed came at an old process's soft stop; at least --need-resets
resets and one hard-stop 502.

Usage: x24h-meta.py SCENARIO --capture PCAP --meta OUT --work DIR [--need-resets N] --software S...
"""
import argparse
import glob
import importlib.util
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("b_meta", os.path.join(HERE, "b-meta.py"))
bm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bm)
check, entry, r3, r1ms = bm.check, bm.entry, bm.r3, bm.r1ms

PROXY = ("127.0.0.2", 8080)
BACKENDS = [("127.0.0.3", 9001), ("127.0.0.3", 9002)]
REQ_LINE = re.compile(r"^(\S+) (\d+\.\d+) (\S+):(\d+) (\S+) (\S+) (\d+) (\S+) (\S{4}) (\d+) (\S+) (\d+) (\d+)$")


def first_epoch(capture):
    out = subprocess.run(["tshark", "-r", capture, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[0])


def read_haproxy(path):
    requests, stops, hard = [], [], []
    for line in open(path):
        m = REQ_LINE.match(line.strip())
        if m:
            requests.append({"logged": float(m[1]), "accept": float(m[2]), "port": int(m[4]), "method": m[5],
                             "uri": m[6], "status": int(m[7]), "timers": m[8], "term": m[9], "backendPort": m[11],
                             "pid": int(m[13])})
        elif "Proxy fe stopped" in line:
            stops.append(float(line.split()[0]))
        elif "performing a hard-stop" in line:
            hard.append(float(line.split()[0]))
    return requests, stops, hard


def read_curl(path):
    out = []
    for line in open(path) if os.path.exists(path) else []:
        v = line.rstrip("\n").split(" ", 8)
        if len(v) >= 8:
            out.append({"tag": v[0], "code": int(v[2]), "port": int(v[3]), "exit": int(v[4]), "connects": int(v[5]),
                        "time": float(v[6]), "url": v[7], "error": v[8].strip() if len(v) > 8 else ""})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--need-resets", type=int, default=1)
    ap.add_argument("--software", nargs="*", default=[])
    a = ap.parse_args()
    w = lambda name: os.path.join(a.work, name)

    for log in glob.glob(w("tcpdump.*")):
        m = re.search(r"(\d+) packets? dropped by kernel", open(log).read())
        check(m is None or m[1] == "0", f"tcpdump dropped packets ({log})")
    conns = bm.load(a.capture, [8080, 9001, 9002])
    t0 = first_epoch(a.capture)
    rel = lambda t: r3(t - t0)
    reloads = [json.loads(l) for l in open(w("reloads.log"))]
    hreq, stops, hard = read_haproxy(w("haproxy.log"))
    lanes = bm.read_log(w("lanes.log"))
    curl = read_curl(w("curl.log"))
    check(len(stops) == 4, f"{len(stops)} 'Proxy fe stopped' lines, expected 3 reloads + the final stop")
    reload_info = []
    for r in (x for x in reloads if x["event"] == "reload"):
        n = r["n"]
        started = next(x for x in reloads if x["event"] == "started" and x["n"] == n)
        reload_info.append({"n": n, "commandAt": rel(r["t"]), "oldPid": r["old"], "newPid": started["pid"],
                            "oldUnboundAt": rel(stops[n - 1])})

    front = [c for c in conns if c.server == PROXY]
    back = [c for c in conns if c.server in BACKENDS]
    check(front and back, "client legs and backend legs on the wire")
    by_port = {c.client[1]: c for c in front}

    # The old process's closes of idle kept-alive connections: a FIN from the proxy with nothing outstanding.
    idle_closes = []
    for c in front:
        fin = c.first_fin(False)
        if fin is None or (c.first_fin(True) and c.first_fin(True)[0] < fin[0]):
            continue
        if len(c.responses) < len(c.requests) or not c.responses:
            continue
        if c.responses[-1]["headers"].get("connection", "").lower() == "close":
            continue  # closed after a response that said so
        at = fin[0] + t0
        near = [ri for ri in reload_info if abs(at - (ri["oldUnboundAt"] + t0)) < 0.05]
        final = abs(at - stops[3]) < 0.05  # the recorder's own soft stop at the end
        check(near or final, f"{c.cid}: the proxy closed an idle connection at {r3(fin[0])} s, not at a reload")
        idle_closes.append((c, near[0]["n"] if near else "final stop", fin[0]))
    close_notices = [(c, x) for c in front for x in c.responses if x["headers"].get("connection", "").lower() == "close"]

    failures, expect, clean = [], [], []
    # Client errors.
    lane_errors = [e for e in lanes if e.get("event") == "error"]
    for e in lane_errors:
        c = by_port.get(e.get("port"))
        check(c is not None, f"lane error on port {e.get('port')} not on the wire: {e}")
        rc = bm.race(c)
        check(rc is not None, f"lane error on {c.cid} that is not a race with the old process's idle close: {e}")
        failures.append({"client": c.cid, "program": e.get("lib"), "request": f"{e['method']} {e['uri']}",
                         "saw": f"{e.get('error')}: {e.get('message')}", "what": "keep-alive race with the old process's idle close"})
        expect.append(entry("keepalive-race", c, f"{e['method']} {e['uri']} crossed the FIN the old process sent when it "
                            "closed its idle kept-alive connections at a reload; the client saw " + str(e.get("error")), **rc))
    logged_ports = {h["port"] for h in hreq}
    resets = [x for x in curl if x["exit"] == 56]
    for x in resets:
        c = by_port.get(x["port"])
        check(c is not None and c.requests and not c.responses and c.rsts[False],
              f"curl reset on port {x['port']}: not a reset request without response on the wire")
        check(x["port"] not in logged_ports, f"{c.cid}: HAProxy logged a request on a connection it reset")
        rst_t = c.rsts[False][0][0]
        ri = min(reload_info, key=lambda ri: abs(ri["oldUnboundAt"] + t0 - (rst_t + t0)))
        check(abs(ri["oldUnboundAt"] - r3(rst_t)) < 0.05, f"{c.cid}: reset at {r3(rst_t)} s, not as an old process unbound")
        req = c.requests[0]
        failures.append({"client": c.cid, "program": "curl (burst, -Z)", "request": f"{req['method']} {req['uri']}",
                         "saw": f"curl exit 56: {x['error']}", "reload": ri["n"], "handshakeAt": r3(c.syn_t),
                         "requestAt": r3(req["t"]), "resetAt": r3(rst_t),
                         "what": "never accepted: it waited in the old process's listener backlog (frontend maxconn 16 reached) "
                                 "and the kernel reset it when that process closed its listening socket"})
        expect.append(entry("reset-before-response", c,
                            f"{req['method']} {req['uri']}: handshake completed by the kernel into the listener backlog of the "
                            f"old HAProxy (pid {ri['oldPid']}), which had reached its frontend maxconn and was not accepting; "
                            f"at reload {ri['n']} it unbound its listener and the kernel reset every connection still in that "
                            f"backlog ({r1ms(rst_t - req['t'])} ms after the request; curl: exit 56 '{x['error']}'). HAProxy "
                            "never saw the request (no log line). One of a burst of such resets at the same moment.",
                            requestAt=r3(req["t"]), resetAt=r3(rst_t), reload=ri["n"]))
    bad = [x for x in curl if x["code"] >= 500]
    check(len(hard) >= 1, "no hard-stop in HAProxy's log")
    for x in bad:
        c = by_port.get(x["port"])
        h = [h for h in hreq if h["port"] == x["port"] and h["status"] == x["code"]]
        check(c is not None and h and h[0]["term"] == "KH--", f"5xx on port {x['port']}: no KH-- line in HAProxy's log")
        h = h[0]
        bc = [b for b in back if str(b.client[1]) == h["backendPort"]]
        check(bc and bc[0].requests and not bc[0].responses, f"{c.cid}: its backend connection was answered")
        b = bc[0]
        req = c.requests[0]
        resp = c.responses[-1]
        check(resp["status"] == x["code"], f"{c.cid}: the wire's status differs")
        ri = next(ri for ri in reload_info if ri["oldPid"] == h["pid"])
        failures.append({"client": c.cid, "program": "curl", "request": f"{req['method']} {req['uri']}",
                         "saw": f"HTTP {x['code']} after {x['time']} s", "reload": ri["n"], "requestAt": r3(req["t"]),
                         "responseAt": r3(resp["t"]), "backendConnection": b.cid,
                         "what": f"in flight on the old process (pid {h['pid']}) when reload {ri['n']} came; hard-stop-after 1s "
                                 f"ended it: HAProxy answered 502 (termination state KH--: killed, waiting for the response "
                                 f"headers) and closed its backend connection, whose answer was due 2.5 s after the request"})
        expect.append(entry("gateway-timeout", c,
                            f"{req['method']} {req['uri']} answered 502 by HAProxy {r3(resp['t'] - req['t'])} s after the request: "
                            f"not an upstream read timeout (timeout server 10s) but the old process's hard-stop-after 1s, "
                            f"{r3(resp['t'] + t0 - (ri['oldUnboundAt'] + t0))} s after reload {ri['n']} (log: KH--, 'soft-stop "
                            "running for too long, performing a hard-stop'). The kind fits (a proxy gave up waiting for its "
                            "backend); a cause naming the reload would be right.", requestAt=r3(req["t"]), responseAt=r3(resp["t"])))
        expect.append(entry("unanswered-request", b,
                            f"the backend leg of {req['method']} {req['uri']}: the hard-stopped HAProxy closed it (FIN) "
                            f"{r3(b.first_fin(True)[0] - b.requests[0]['t'])} s after sending the request, before the backend's "
                            "answer (due after 2.5 s; the backend's late answer met a reset)."))
    check(len(resets) >= a.need_resets, f"{len(resets)} resets at a reload, need {a.need_resets}")
    check(bad, "no 502 from a hard-stop")
    # Everything else was answered: lanes and curl.
    lane_ok = [e for e in lanes if e.get("event") == "response"]
    check(all(e["status"] < 500 for e in lane_ok), "a lane got a 5xx")
    check(all(x["exit"] in (0, 56) for x in curl), f"curl errors other than resets: {[x for x in curl if x['exit'] not in (0, 56)]}")
    wire_requests = sum(len(c.requests) for c in front)
    wire_responses = sum(len(c.responses) for c in front)
    client_requests = len(lane_ok) + len(lane_errors) + len(curl)
    check(wire_requests == client_requests, f"{wire_requests} requests on the wire, the clients logged {client_requests}")
    check(wire_responses == wire_requests - len(resets) - len(lane_errors), "a request without response that no client reported")
    failing = {f["client"] for f in failures}
    for c, n, t in idle_closes:
        if c.cid not in failing:
            clean.append({"kind": None, "client": c.cid, "server": c.sid,
                          "notes": f"kept-alive and idle at reload {n}: the old process closed it (FIN at {r3(t)} s) as it "
                                   "unbound its listener; the client's pool dropped it and opened a new one, no error"})
    for c, x in close_notices:
        if c.cid not in failing and c.cid not in {e["client"] for e in clean}:
            clean.append({"kind": None, "client": c.cid, "server": c.sid,
                          "notes": f"answered {x['status']} with 'Connection: close' at {r3(x['t'])} s by a stopping process, then "
                                   "closed; no further request on it"})

    per_reload = {ri["n"]: sum(1 for _, n, _ in idle_closes if n == ri["n"]) for ri in reload_info}
    for ri in reload_info:
        ri["idleKeptAliveClosed"] = per_reload[ri["n"]]
        ri["connectionCloseResponses"] = sum(1 for c, x in close_notices
                                             if ri["oldUnboundAt"] <= x["t"] <= ri["oldUnboundAt"] + 1.05)
        ri["resets"] = sum(1 for f in failures if f.get("reload") == ri["n"] and "resetAt" in f)
    one_req_back = [b for b in back if len(b.requests) == 1]
    stopping = lambda t: any(ri["oldUnboundAt"] <= r3(t) <= ri["oldUnboundAt"] + 1.05 for ri in reload_info)
    one_req_stopping = [b for b in one_req_back if b.responses and stopping(b.responses[0]["t"])]
    # Backend connections used once: true on the wire (conncheck's connection-churn), made by the reloads.
    for sid in sorted({b.sid for b in one_req_back}):
        n = sum(1 for b in one_req_back if b.sid == sid)
        k = sum(1 for b in one_req_stopping if b.sid == sid)
        expect.append({"kind": "connection-churn", "server": sid,
                       "notes": f"true on the wire: HAProxy closed {n} connections to {sid} after one request each, {k} of them "
                                "answered while a process was stopping (an old process aborts its backend connections after their "
                                "responses, and the new one opens its own): churn the three reloads in ten seconds made"})
    meta = {
        "scenario": a.scenario,
        "description": (
            "HAProxy 2.6 (mode http) on 127.0.0.2:8080 in front of two Node http servers (127.0.0.3:9001, :9002, "
            "keepAliveTimeout 30 s), reloaded three times the classic way (`haproxy -D -f CFG -p PIDFILE -sf $(cat "
            "PIDFILE)`) without seamless reload (stats socket without `expose-fd listeners`, no -x), with hard-stop-after "
            "1s and frontend maxconn 16, under steady keep-alive load: three Node http.Agent lanes and three python "
            "requests lanes (one kept-alive connection each, pauses of 0.2-0.5 s), curl reusing one connection five times "
            "a second. At each reload the old process unbinds its listener and at once closes every idle kept-alive "
            "client connection (FIN; no client error: the pools drop them), answers requests in flight with "
            "`Connection: close`, and exits when they are done or after hard-stop-after. Reload 2 had a curl request "
            "(backend answer due after 2.5 s) in flight on the old process: the hard-stop 1 s later answered it 502 "
            "(KH--) and closed its backend connection. Reload 3 came during a burst of 20 parallel curl connections: "
            "the old process had reached maxconn, so some waited in its listener backlog (handshake done by the "
            "kernel, request sent) and were reset when it closed its listening socket (curl exit 56); HAProxy never "
            "logged them."),
        "software": a.software,
        "configured": {
            "serverIdleTimeout": 10.0,
            "proxyQueueTimeout": 1.0,
            "proxyHardStopAfter": 1.0,
            "haproxyTimeoutClient": 10.0,
            "haproxyTimeoutServer": 10.0,
            "haproxyTimeoutConnect": 1.0,
            "haproxyFrontendMaxconn": 16,
            "nodeKeepAliveTimeout": 30.0,
            "reloads": len(reload_info),
        },
        "configuredNotes": "serverIdleTimeout is HAProxy's `timeout http-keep-alive 10s` on 127.0.0.2:8080 (no idle close "
                           "happens in 10 s here: every close by the proxy is a reload's); proxyQueueTimeout is `timeout "
                           "queue`, unset, so `timeout connect` (1 s); no request ever waited in HAProxy's queue; "
                           "proxyHardStopAfter is `hard-stop-after 1s` (global): how long the old process may run after "
                           "a reload before it cuts what is still in flight.",
        "observed": {
            "capture": bm.summary(conns),
            "reloads": reload_info,
            "hardStopAt": [rel(t) for t in hard],
            "clientVisibleFailures": failures,
            "laneResponses": len(lane_ok), "laneErrors": len(lane_errors), "curlTransfers": len(curl),
            "backendOneRequestConnections": len(one_req_back),
            "backendOneRequestConnectionsAnsweredWhileStopping": len(one_req_stopping),
            "backendNote": "HAProxy (http-reuse safe) opens a backend connection for the first request of each new client "
                           "connection; a stopping process keeps no idle backend connection: it aborts each one (RST) right "
                           "after its response. The reconnecting lanes and the burst thus leave one-request backend "
                           "connections during each reload's drain (the rest are a few at the start): a consequence of the "
                           "reloads, not of a small client pool.",
        },
        "silent": False,
        "expect": expect + clean,
        "notes": "Not expected, and wrong if reported: an idle-timeout-mismatch or any idle timeout of 127.0.0.2:8080 "
                 "inferred from the reloads' closes of idle connections (HAProxy's is 10 s); no-upstream-connect for the "
                 "reset connections (they never reached HAProxy's queue: they were reset in the kernel's listen backlog); "
                 "connection-churn for HAProxy's backend connections (closed by stopping processes).",
    }
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{a.scenario}: {len(reload_info)} reloads, {len(idle_closes)} idle closes, {len(resets)} resets, "
          f"{len(bad)} hard-stop 5xx, {len(lane_errors)} lane errors; {len(conns)} connections")


if __name__ == "__main__":
    try:
        main()
    except bm.CheckFailed as e:
        print(f"x24h-meta: {e}", file=sys.stderr)
        sys.exit(1)
