#!/usr/bin/env python3
"""Meta writer of reload-apache-graceful (samples/record/reload-apache-graceful.sh): Apache httpd 2.4 (event MPM,
a parent and one child, KeepAliveTimeout 60) restarted gracefully three times (SIGUSR1 to the parent) and then
once plainly (SIGHUP) under keep-alive load. The capture (server side, port 8080) is rebuilt with b-meta.py's
tshark reader and the clients' logs read with x26n-meta.py's reader; the ground truth comes from the logs in --work:
  events.log     the recorder's start and signal times, the parent, the child before each signal and the new
                 child seen after it
  children.log   the parent's live children, sampled every 10 ms (one line per change): when an old child exited
  access.log     Apache's: request start and end (s.us), client port, child pid, thread id, client address, %k,
                 %X, final status, %D (us), request line
  error.log      Apache's, LogLevel info, mpm_event debug (AH00493 graceful / AH00494 restart, "Child N started /
                 stopped: pid P, gen G", AH00470 write failures)
  node.log, requests.log   programs/x26n-node-lanes.js and programs/x26n-requests-lanes.py
  tcpdump.*      tcpdump's statistics (no packet may be dropped)
Checks (exit 1, no meta, when one fails): every request attempt the clients logged is on the wire on the port
they logged, and nothing else; every response on the wire is one of Apache's access log lines (same port, request,
status, %k, one child per connection); every request without a response on the wire either has no access log line
(Apache never read it) or was cut by the plain restart (access log %X = X); every close Apache started came at one
of the four signals, from the child that was running then; every unanswered request is one the client logged as an
error or urllib3 sent again; no 4xx/5xx; nothing at warn or above in the error log; at least --need-races races.

Usage: x27a-meta.py SCENARIO --capture PCAP --meta OUT --work DIR [--delay-ms 10] [--need-races 1] --software S...
"""
import argparse
import datetime
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
x26n = _load("x26n_meta", "x26n-meta.py")  # read_clients, first_epoch: the same clients as reload-nginx
check, entry, r3, r1ms = bm.check, bm.entry, bm.r3, bm.r1ms

PORT = 8080
KEEPALIVE_TIMEOUT = 60.0
ACCESS = re.compile(r'^(\d+\.\d+) (\d+\.\d+) (\d+) (\d+) (\d+) (\S+) (\d+) ([-+X]) (\d{3}) (\d+) "(\S+) (\S+) (\S+)"$')
ERRLOG = re.compile(r"^\[(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{6} \d{4})\] \[(\w+):(\w+)\] \[pid (\d+):tid (\d+)\] (.*)$")
CHILD = re.compile(r"Child \d+ (started|stopped): pid (\d+), gen (\d+)")
GRACEFUL_WINDOW = 1.5  # s after a SIGUSR1 within which the old child's closes must come (in-flight /slow: 0.5 s)
RESTART_WINDOW = 1.0   # s after the SIGHUP
IDLE_CLOSE_WINDOW = 0.1  # s after a signal within which a graceful restart's idle closes must come


def read_access(path):
    out = []
    for line in open(path):
        m = ACCESS.match(line.strip())
        check(m is not None, f"access log line not understood: {line.strip()}")
        out.append({"begin": float(m[1]), "end": float(m[2]), "port": int(m[3]), "pid": int(m[4]), "tid": int(m[5]),
                    "k": int(m[7]), "connStatus": m[8], "status": int(m[9]), "us": int(m[10]), "method": m[11],
                    "uri": m[12]})
    return out


def read_error_log(path):
    out = []
    for line in open(path):
        m = ERRLOG.match(line.rstrip("\n"))
        if m:
            t = datetime.datetime.strptime(m[1], "%a %b %d %H:%M:%S.%f %Y").timestamp()  # local time, as Apache wrote it
            out.append({"t": t, "module": m[2], "level": m[3], "pid": int(m[4]), "text": m[6]})
    return out


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

    # The signals and the children.
    ev = [json.loads(l) for l in open(w("events.log"))]
    start = next(e for e in ev if e["event"] == "started")
    events = [e for e in ev if e["event"] in ("graceful", "restart")]
    check([e["event"] for e in events] == ["graceful"] * 3 + ["restart"], f"events logged: {[e['event'] for e in events]}")
    check(len(start["children"]) == 1, f"children at the start: {start['children']}")
    prev_child = start["children"][0]
    for e in events:
        check(e["childrenBefore"] == [prev_child] and len(e["newChildren"]) == 1, f"event {e['n']}: children {e}")
        e["old"], e["new"], e["at"] = prev_child, e["newChildren"][0], e["t"] - t0
        prev_child = e["new"]
    event_of_old = {e["old"]: e for e in events}
    samples = [json.loads(l) for l in open(w("children.log"))]
    for e in events:
        gone = [s["t"] for s in samples if s["t"] > e["t"] and e["old"] not in s["children"]]
        e["oldExitSeenAt"] = gone[0] - t0 if gone else None

    # Apache's error log: one AH00493 per graceful restart, one AH00494, each old child stopped and each new one
    # started (parent's debug lines), nothing at warn or above.
    el = read_error_log(w("error.log"))
    bad = [x for x in el if x["level"] in ("warn", "error", "crit", "alert", "emerg")]
    check(not bad, f"Apache error log: {bad[:3]}")
    check(sum(1 for x in el if "AH00493" in x["text"]) == 3, "not 3 AH00493 (SIGUSR1, graceful restart) in the error log")
    check(sum(1 for x in el if "AH00494" in x["text"]) == 1, "not 1 AH00494 (SIGHUP, restart) in the error log")
    child_lines = {}
    for x in el:
        m = CHILD.search(x["text"])
        if m:
            child_lines[(m[1], int(m[2]))] = x["t"]
    for e in events:
        check(("stopped", e["old"]) in child_lines, f"event {e['n']}: no 'Child stopped: pid {e['old']}'")
        check(("started", e["new"]) in child_lines, f"event {e['n']}: no 'Child started: pid {e['new']}'")
        e["oldStoppedLoggedAt"] = child_lines[("stopped", e["old"])] - t0
        e["newStartedAt"] = child_lines[("started", e["new"])] - t0
        sig = [x for x in el if ("AH00493" if e["event"] == "graceful" else "AH00494") in x["text"] and x["t"] >= e["t"] - 0.05]
        check(sig, f"event {e['n']}: the parent did not log the signal")
        e["parentLoggedAt"] = sig[0]["t"] - t0
    write_failures = [x for x in el if "AH00470" in x["text"]]
    levels = sorted({f"{x['module']}:{x['level']} {re.sub(r'[0-9]+', 'N', re.sub(r'^event.c[(][0-9]+[)]: ', '', x['text']))[:90]}"
                     for x in el})

    access = read_access(w("access.log"))
    clients = x26n.read_clients(a.work)
    check(not [x for x in access if x["status"] >= 400], "Apache answered 4xx/5xx")

    # Client attempts <-> wire requests (by local port, method and URI: every URI is unique but for a retry).
    attempts = x26n.match_attempts(conns, clients)

    # Wire responses <-> access log lines; a request without response: no line, or a line with %X = X (cut).
    acc_by_key = {}
    for x in access:
        k = (x["port"], x["method"], x["uri"])
        check(k not in acc_by_key, f"access log line {k} twice")
        acc_by_key[k] = x
    conn_pid, cut_lines = {}, {}

    def k_of(i, x):
        """%k of request i (0-based) on a connection: mod_log_config logs keepalives - 1, and Apache counts a keep-alive
        when it grants one to the response: i when the connection was kept alive (%X +), i - 1 (at least 0) when not."""
        return i if x["connStatus"] == "+" else max(i - 1, 0)
    for c in conns:
        pids = set()
        for i, q in enumerate(c.requests):
            x = acc_by_key.pop((c.client[1], q["method"], q["uri"]), None)
            if i < len(c.responses):
                check(x is not None and x["status"] == c.responses[i]["status"] and x["k"] == k_of(i, x) and x["connStatus"] != "X",
                      f"{c.cid}: response {i + 1} ({q['method']} {q['uri']}) not in Apache's access log as on the wire")
                check((x["connStatus"] == "-") == (c.responses[i]["headers"].get("connection", "").lower() == "close"),
                      f"{c.cid}: %X {x['connStatus']} and Connection: {c.responses[i]['headers'].get('connection')} disagree")
                pids.add(x["pid"])
            elif x is not None:
                check(x["connStatus"] == "X", f"{c.cid}: Apache logged {q['uri']} ({x['status']}, %X {x['connStatus']}), "
                      "which got no response on the wire")
                check(x["k"] == k_of(i, x), f"{c.cid}: %k {x['k']} of the cut {q['uri']}, request {i + 1}")
                cut_lines[(c.cid, i)] = x
                pids.add(x["pid"])
        check(len(pids) <= 1, f"{c.cid}: several children {pids}")
        conn_pid[c.cid] = next(iter(pids)) if pids else None
    check(not acc_by_key, f"access log lines not on the wire: {list(acc_by_key)[:5]}")

    # Every client error, and every retried attempt, is a request without response on the wire, and back.
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

    # Closes: who closed first, and for Apache's, at which signal and how.
    t_last = events[-1]["at"]
    server_closed, client_closed = [], []
    for c in conns:
        sfin, srst = c.first_fin(False), c.first_rst(False)
        cfin, crst = c.first_fin(True), c.first_rst(True)
        s_t = min(x[0] for x in (sfin, srst) if x) if (sfin or srst) else None
        c_t = min(x[0] for x in (cfin, crst) if x) if (cfin or crst) else None
        check(s_t is not None or c_t is not None, f"{c.cid}: still open at the end of the capture")
        if c_t is not None and (s_t is None or c_t < s_t):
            check(len(c.requests) == len(c.responses), f"{c.cid}: closed by the client with a request unanswered")
            check(c_t > t_last + 0.5, f"{c.cid}: closed by the client at {r3(c_t)} s, before the end of the load")
            client_closed.append(c)
            continue
        before = [e for e in events if e["at"] < s_t]
        check(before, f"{c.cid}: Apache closed it at {r3(s_t)} s, before any signal")
        e = before[-1]
        pid = conn_pid[c.cid]
        check(pid is None or pid == e["old"], f"{c.cid}: closed at {r3(s_t)} s by child {pid}, not event {e['n']}'s old child {e['old']}")
        win = GRACEFUL_WINDOW if e["event"] == "graceful" else RESTART_WINDOW
        check(s_t < e["at"] + win, f"{c.cid}: Apache closed it at {r3(s_t)} s, {r3(s_t - e['at'])} s after event {e['n']}")
        how = "FIN" if sfin and (not srst or sfin[0] <= srst[0]) else "RST"
        answered = [x for x in c.responses if x["t"] <= s_t]
        pending = [q for q in c.requests[len(answered):] if q["t"] < s_t]
        late = [q for q in c.requests[len(answered):] if q["t"] >= s_t]
        last = answered[-1] if answered else None
        info = {"c": c, "event": e, "closeAt": s_t, "how": how, "lastResponse": last, "pending": pending, "late": late,
                "idleAtSignal": last is not None and last["t"] < e["at"] and not [q for q in c.requests[len(answered):] if q["t"] < e["at"]]}
        if how == "FIN" and pending and e["event"] == "graceful":
            # A request that reached the old child just as it closed its idle connections: the listener closed the
            # connection as idle with the request unread in its socket buffer (the lingering close discarded it).
            q = pending[0]
            check(len(pending) == 1 and not late and (c.cid, len(answered)) not in cut_lines,
                  f"{c.cid}: graceful restart {e['n']} closed it with {q['uri']} unanswered, and Apache logged it")
            check(last is not None and last["t"] < e["at"] and s_t - e["at"] < IDLE_CLOSE_WINDOW,
                  f"{c.cid}: graceful restart {e['n']} closed it with {q['uri']} unanswered, not idle at the signal")
            fin = sfin
            rc = {"form": "unread-at-close", "method": q["method"], "uri": q["uri"], "requestBytes": q["len"],
                  "idempotent": q["method"] in bm.IDEMPOTENT, "idleGapSeconds": r3(q["t"] - last["t"]),
                  "requestAt": r3(q["t"]), "finAt": r3(fin[0]), "finAfterRequestMs": r1ms(fin[0] - q["t"]),
                  "finAcksRequest": any(p[0] == fin[0] and not p[1] and bm.covers(p[4], (q["seq"] + q["len"] - 1) & 0xFFFFFFFF)
                                        for p in c.packets),
                  "rstAt": r3(srst[0]) if srst else None, "responseToRequest": False}
            info["role"], info["race"] = "race", rc
        elif how == "FIN" and pending:
            # A request in flight the restart cut: Apache closed with it unanswered.
            check(e["event"] == "restart", f"{c.cid}: graceful restart {e['n']} closed it with {pending[0]['uri']} unanswered")
            check(len(pending) == 1 and (c.cid, len(answered)) in cut_lines,
                  f"{c.cid}: the cut request {pending[0]['uri']} is not in the access log with %X = X")
            info["role"] = "cut-in-flight"
        elif how == "FIN" and late:
            rc = bm.race(c)
            check(rc is not None and not rc["responseToRequest"], f"{c.cid}: a request after Apache's FIN got a response")
            # Apache's event MPM closes with a lingering close (shutdown(SHUT_WR), then reads and discards what comes
            # for up to 2 s): a request that follows its FIN is ACKed and dropped, no RST, unless the socket is gone.
            q = late[0]
            q_end = (q["seq"] + q["len"]) & 0xFFFFFFFF
            acked = [p for p in c.packets if not p[1] and p[0] >= q["t"] and p[2] & bm.ACK and bm.covers(p[4], (q_end - 1) & 0xFFFFFFFF)]
            rc["serverAckedRequest"] = bool(acked)
            rc["serverAnswer"] = "RST" if rc["rstAt"] is not None else "none (lingering close: request ACKed and discarded)"
            check(rc["rstAt"] is not None or acked, f"{c.cid}: a request after Apache's FIN neither reset nor ACKed")
            cf = c.first_fin(True)
            rc["clientFinAt"] = r3(cf[0]) if cf else None
            check((c.cid, len(answered)) not in cut_lines, f"{c.cid}: Apache logged the raced request")
            info["role"], info["race"] = "race", rc
        elif how == "FIN":
            if last is not None and last["headers"].get("connection", "").lower() == "close":
                check(s_t - last["t"] < 0.005, f"{c.cid}: closed {r1ms(s_t - last['t'])} ms after its Connection: close response")
                info["role"] = "closed-after-response"
            else:
                # Idle at the signal, or answered (kept alive) just around it and closed in the same burst.
                check(info["idleAtSignal"] or last is None or (e["event"] == "graceful" and s_t - e["at"] < IDLE_CLOSE_WINDOW),
                      f"{c.cid}: closed at {r3(s_t)} s, neither idle nor after a close")
                info["role"] = "idle-closed"
        else:  # RST with a request unread: the connection was idle at the signal, the request came as the child died
            check(e["event"] == "restart" and pending and info["idleAtSignal"], f"{c.cid}: reset by Apache at {r3(s_t)} s")
            check(len(pending) == 1 and (c.cid, len(answered)) not in cut_lines, f"{c.cid}: Apache logged the reset request")
            info["role"] = "reset-unread"
        server_closed.append(info)

    # Retries: urllib3 sent the request again on a new connection.
    retry_of = {}
    for e in clients:
        if len(e["attempts"]) > 1:
            check(len(e["attempts"]) == 2, f"{e['uri']}: {len(e['attempts'])} attempts")
            p1 = e["attempts"][1]["port"]
            c1 = next(c for c in conns if c.client[1] == p1 and any(q["uri"] == e["uri"] for q in c.requests))
            check(c1.requests[0]["uri"] == e["uri"] and not e["attempts"][1]["reused"],
                  f"{e['uri']}: the retry is not the first request of a new connection")
            retry_of[c1.cid] = e

    def failure(info):
        """The client's view of the failed request on this connection: (record, attempt index, retried, text)."""
        c = info["c"]
        e, j = failed_attempts[(c.cid, len(c.responses))]
        retried = len(e["attempts"]) > j + 1
        lib = "Node http.Agent" if e["client"] == "node" else "python requests"
        if retried:
            p1 = e["attempts"][j + 1]["port"]
            rc = next(x for x in conns if x.client[1] == p1 and x.requests and x.requests[0]["uri"] == e["uri"])
            err = (e.get("retryErrors") or ["?"])[0]
            saw = f"{lib}: nothing; urllib3 (Retry total=1) saw {err} and sent the GET again on {rc.cid}, answered {e.get('status')}"
            return e, retried, rc, saw
        return e, retried, None, f"{lib}: {e.get('error')}: {e.get('message')}; not sent again"

    expect, failures = [], []
    for info in server_closed:
        c, ev_, role = info["c"], info["event"], info["role"]
        if role not in ("race", "cut-in-flight", "reset-unread"):
            continue
        e, retried, retry_c, saw = failure(info)
        q = c.requests[len(c.responses)]
        what = f"{'graceful restart' if ev_['event'] == 'graceful' else 'plain restart'} {ev_['n']}"
        if role == "race":
            rc = info["race"]
            rc.update(event=ev_["n"], eventKind=ev_["event"], signalAt=r3(ev_["at"]),
                      closeAfterSignalMs=r1ms(info["closeAt"] - ev_["at"]), retried=retried,
                      retryClient=retry_c.cid if retry_c else None)
            if rc["form"] == "unread-at-close":
                notes = (f"{rc['method']} {rc['uri']} reached the old child (pid {ev_['old']}) {r1ms(q['t'] - ev_['at'])} ms "
                         f"after {what}'s SIGUSR1, just as it closed its idle kept-alive connections: its listener closed this one "
                         f"as idle {rc['finAfterRequestMs']} ms after the request arrived, the request unread in the socket buffer "
                         f"(the FIN {'ACKs' if rc['finAcksRequest'] else 'does not ACK'} it; the lingering close discarded it, "
                         f"{'then RST' if rc['rstAt'] is not None else 'no RST'}). The close was the graceful restart's, not an idle "
                         f"timeout (KeepAliveTimeout 60; idle {rc['idleGapSeconds']} s before the request): no idle timeout should be "
                         f"inferred from it. Apache never logged the request. {saw}."
                         + (" (Non-idempotent POST.)" if rc["method"] == "POST" else ""))
                expect.append(entry("keepalive-race", c, notes, **rc))
                form = rc["form"]
                failures.append({"client": c.cid, "program": "Node http.Agent" if e["client"] == "node" else "python requests",
                                 "request": f"{q['method']} {q['uri']}", "event": ev_["n"], "eventKind": ev_["event"],
                                 "form": form, "closeAt": r3(info["closeAt"]), "requestAt": r3(q["t"]), "saw": saw,
                                 "retried": retried})
                continue
            notes = (f"{rc['method']} {rc['uri']} {'crossed' if rc['form'] == 'crossing' else 'followed'} the FIN the old child "
                     f"(pid {ev_['old']}) sent when {what} (SIGUSR1 to the parent) made it close its idle kept-alive "
                     f"connections ({rc['closeAfterSignalMs']} ms after the signal; the request reached Apache {rc['deltaMs']} ms "
                     f"after the FIN left, its ACK {'covering the FIN: the client had it and sent the request anyway' if rc['requestAcksFin'] else 'not covering the FIN: it left the client before the FIN arrived, 10 ms one way'}); "
                     + ("Apache's kernel answered RST. " if rc["rstAt"] is not None else
                        "Apache's kernel ACKed it and the old child's lingering close (shutdown of its sending side, then "
                        "reading and discarding for up to 2 s) dropped it: no response and no RST, the client read EOF and "
                        "closed. ")
                     + f"The close was the graceful restart's, not an idle timeout (KeepAliveTimeout "
                     f"60; the connection had been idle {rc['idleGapSeconds']} s): no idle timeout should be inferred from it. "
                     f"Apache never saw the request (no access log line). {saw}."
                     + (" (Non-idempotent POST.)" if rc["method"] == "POST" else ""))
            expect.append(entry("keepalive-race", c, notes, **rc))
            form = rc["form"]
        elif role == "cut-in-flight":
            x = cut_lines[(c.cid, len(c.responses))]
            fin = info["closeAt"]
            notes = (f"{q['method']} {q['uri']} was in flight (sent at {r3(q['t'])} s, proxied to the backend that answers "
                     f"after 0.5 s) when {what} (SIGHUP to the parent) told the child (pid {ev_['old']}) to stop at once: it "
                     f"closed the connection with FIN {r1ms(fin - ev_['at'])} ms after the signal, "
                     f"{r1ms(fin - q['t'])} ms after the request, without a response. The worker still got the backend's "
                     f"answer and Apache's access log shows {x['status']} with %X = X ({x['us'] / 1e6:.3f} s) but the write "
                     f"failed (AH00470 at debug level: Bad file descriptor): no response byte reached the client. {saw}. "
                     "A restart's cut, not a timeout: the requests cut together were of different ages.")
            expect.append(entry("unanswered-request", c, notes, method=q["method"], uri=q["uri"], requestAt=r3(q["t"]),
                                finAt=r3(fin), finAfterSignalMs=r1ms(fin - ev_["at"]), requestAgeAtCloseMs=r1ms(fin - q["t"]),
                                accessLogStatus=x["status"], accessLogConnStatus="X", event=ev_["n"], eventKind="restart",
                                retried=retried, retryClient=retry_c.cid if retry_c else None))
            form = "cut-in-flight"
        else:
            rst = info["closeAt"]
            notes = (f"kept-alive and idle when {what} (SIGHUP to the parent) came at {r3(ev_['at'])} s: the child (pid "
                     f"{ev_['old']}) stopped taking work but left the idle connection open; {q['method']} {q['uri']} reached it at "
                     f"{r3(q['t'])} s ({r1ms(q['t'] - ev_['at'])} ms after the signal, ACKed by the kernel, never read: no access "
                     f"log line) and when the child exited ({r1ms(rst - ev_['at'])} ms after the signal) its kernel reset the "
                     f"connection (RST, no FIN first: the unread request makes it a reset) {r1ms(rst - q['t'])} ms after the "
                     f"request. {saw}. A restart that does not drain, not an idle timeout and not a keep-alive race (no FIN "
                     "came before the request).")
            expect.append(entry("reset-before-response", c, notes, method=q["method"], uri=q["uri"], requestAt=r3(q["t"]),
                                rstAt=r3(rst), rstAfterSignalMs=r1ms(rst - ev_["at"]), rstAfterRequestMs=r1ms(rst - q["t"]),
                                event=ev_["n"], eventKind="restart", retried=retried,
                                retryClient=retry_c.cid if retry_c else None))
            form = "reset-unread"
        failures.append({"client": c.cid, "program": "Node http.Agent" if e["client"] == "node" else "python requests",
                         "request": f"{q['method']} {q['uri']}", "event": ev_["n"], "eventKind": ev_["event"], "form": form,
                         "closeAt": r3(info["closeAt"]), "requestAt": r3(q["t"]), "saw": saw, "retried": retried})
    check(sum(1 for i in server_closed if i["role"] == "race") >= a.need_races, "not enough races")

    for cid, e in sorted(retry_of.items()):
        c = by_cid[cid]
        q = c.requests[0]
        first = next(x for x in conns if x.client[1] == e["attempts"][0]["port"] and any(y["uri"] == e["uri"] for y in x.requests))
        fq = next(y for y in first.requests if y["uri"] == e["uri"])
        why = next((f["form"] for f in failures if f["client"] == first.cid), "?")
        cause = {"crossing": "a race with a graceful restart's close", "stale-reuse": "a race with a graceful restart's close",
                 "unread-at-close": "a race with a graceful restart's close: closed with the request unread",
                 "cut-in-flight": "cut in flight by the plain restart", "reset-unread": "reset unread by the plain restart's dying child"}.get(why, why)
        wait = r1ms(c.responses[0]["t"] - q["t"]) if c.responses else None
        expect.append(entry("retried-request", c,
                            f"urllib3 (requests' HTTPAdapter with Retry(total=1): idempotent methods only) sent {q['method']} "
                            f"{q['uri']} again on this new connection {r1ms(q['t'] - fq['t'])} ms after its first attempt on "
                            f"{first.cid} ({cause}); answered {c.responses[0]['status'] if c.responses else None} "
                            f"{wait} ms after the request (the new child of the restart answered it)."))
    failing = {x["client"] for x in expect}
    for info in server_closed:
        c, ev_ = info["c"], info["event"]
        if c.cid in failing:
            continue
        what = f"{'graceful restart' if ev_['event'] == 'graceful' else 'plain restart'} {ev_['n']}"
        lr = info["lastResponse"]
        if info["role"] == "closed-after-response":
            q = c.requests[len(c.responses) - 1]
            note = (f"{q['method']} {q['uri']} was {'in flight at' if q['t'] < ev_['at'] else 'read just after'} {what} "
                    f"(request at {r3(q['t'])} s, SIGUSR1 at {r3(ev_['at'])} s): the old child (pid {ev_['old']}) finished it "
                    f"({lr['status']} at {r3(lr['t'])} s with Connection: close; access log %X -) and closed the connection "
                    f"{r1ms(info['closeAt'] - lr['t'])} ms later (FIN); no error")
        else:
            idle = info["closeAt"] - lr["t"] if lr else None
            q = c.requests[len(c.responses) - 1] if c.responses else None
            around = ("" if info["idleAtSignal"] or lr is None else
                      f"{q['method']} {q['uri']} (request at {r3(q['t'])} s) was answered at {r3(lr['t'])} s, "
                      f"{r1ms(lr['t'] - ev_['at'])} ms after the signal, still with Connection: Keep-Alive; then ")
            note = around + (f"kept-alive and idle at {what}: the {'old child' if ev_['event'] == 'graceful' else 'child'} (pid "
                    f"{ev_['old']}) closed it ({info['how']} at {r3(info['closeAt'])} s, {r1ms(info['closeAt'] - ev_['at'])} ms "
                    f"after the signal{', when the child exited' if ev_['event'] == 'restart' else ''}, idle {r3(idle)} s: a "
                    "restart's close, not an idle timeout; KeepAliveTimeout 60); no request on it after, no error")
        expect.append({"kind": None, "client": c.cid, "server": c.sid, "notes": note})
    for c in [c for c in client_closed if c.cid not in failing][:4]:
        gen = next((f"the child started by event {e['n']}" for e in events if e["new"] == conn_pid[c.cid]), "the first child")
        expect.append({"kind": None, "client": c.cid, "server": c.sid,
                       "notes": f"{len(c.requests)} requests answered by {gen}; closed by the client at the end of the load. Clean."})

    # Per event: what Apache did.
    per_event = []
    for e in events:
        mine = [i for i in server_closed if i["event"] is e]
        idle = [i for i in mine if i["role"] in ("idle-closed", "race")]
        idle_t = [i["closeAt"] for i in idle]
        at_once = [i for i in mine if i["closeAt"] - e["at"] < IDLE_CLOSE_WINDOW]
        if e["event"] == "graceful":
            check(all(t - e["at"] < IDLE_CLOSE_WINDOW for t in idle_t),
                  f"graceful restart {e['n']}: an idle connection closed more than {IDLE_CLOSE_WINDOW} s after the signal")
        # New connections that reached the accept queue while no child was accepting: their first request waited.
        waited = []
        for c in conns:
            if e["at"] < c.syn_t < e["newStartedAt"] and c.requests and c.responses:
                waited.append(r1ms(c.responses[0]["t"] - c.requests[0]["t"]))
        per_event.append({
            "n": e["n"], "kind": e["event"], "signal": e["signal"], "signalAt": r3(e["at"]),
            "parentLoggedAfterMs": r1ms(e["parentLoggedAt"] - e["at"]),
            "oldChild": e["old"], "newChild": e["new"],
            "newChildStartedAfterMs": r1ms(e["newStartedAt"] - e["at"]),
            "oldChildExitSeenAfterMs": r1ms(e["oldExitSeenAt"] - e["at"]) if e["oldExitSeenAt"] is not None else None,
            "closedByApache": len(mine),
            "closedWithin100msOfSignal": len(at_once),
            "idleClosed": len(idle),
            "idleClosesAfterSignalMs": [r1ms(min(idle_t) - e["at"]), r1ms(max(idle_t) - e["at"])] if idle_t else None,
            "idleClosesSpreadMs": r1ms(max(idle_t) - min(idle_t)) if idle_t else None,
            "idleClosedIdleSeconds": sorted(r3(i["closeAt"] - i["lastResponse"]["t"]) for i in idle if i["lastResponse"]),
            "closedAfterCloseResponse": sum(1 for i in mine if i["role"] == "closed-after-response"),
            "closedAfterCloseResponseAfterSignalMs": sorted(r1ms(i["closeAt"] - e["at"]) for i in mine if i["role"] == "closed-after-response"),
            "cutInFlight": sum(1 for i in mine if i["role"] == "cut-in-flight"),
            "cutInFlightAfterSignalMs": sorted(r1ms(i["closeAt"] - e["at"]) for i in mine if i["role"] == "cut-in-flight"),
            "resetUnread": sum(1 for i in mine if i["role"] == "reset-unread"),
            "resetAfterSignalMs": sorted(r1ms(i["closeAt"] - e["at"]) for i in mine if i["role"] == "reset-unread"),
            "cutWorkersLastEndAfterMs": r1ms(max((x["end"] for (cid, _), x in cut_lines.items()
                                                   if any(i["c"].cid == cid for i in mine)), default=t0 - 1) - t0 - e["at"])
                                        if any((i["c"].cid, len(i["c"].responses)) in cut_lines for i in mine) else None,
            "closedBy": {"FIN": sum(1 for i in mine if i["how"] == "FIN"), "RST": sum(1 for i in mine if i["how"] == "RST")},
            "races": sum(1 for i in mine if i["role"] == "race"),
            "clientErrors": sum(1 for f in failures if f["event"] == e["n"] and not f["retried"]),
            "retried": sum(1 for f in failures if f["event"] == e["n"] and f["retried"]),
            "newConnectionsQueuedUntilNewChild": len(waited),
            "queuedFirstResponseAfterMs": sorted(waited),
        })

    statuses = {}
    for x in access:
        statuses[str(x["status"]) + (" (%X X: not sent)" if x["connStatus"] == "X" else "")] = \
            statuses.get(str(x["status"]) + (" (%X X: not sent)" if x["connStatus"] == "X" else ""), 0) + 1
    n_err = sum(1 for e in clients if e.get("status") is None)
    n_retry = sum(1 for e in clients if len(e["attempts"]) > 1)
    g = [p for p in per_event if p["kind"] == "graceful"]
    rs = per_event[-1]
    spreads = [p["idleClosesSpreadMs"] for p in g if p["idleClosesSpreadMs"] is not None]
    delays = [x for p in g for x in (p["idleClosesAfterSignalMs"] or [])]
    races = [f for f in failures if f["form"] in ("crossing", "stale-reuse", "unread-at-close")]
    race_infos = [i for i in server_closed if i["role"] == "race"]
    race_forms = "; ".join(x for x in [
        f"{sum(1 for i in race_infos if i['race']['form'] == 'crossing' and i['race']['rstAt'] is None)} crossed the FIN and "
        "were ACKed and discarded by the old child's lingering close (no RST; the client read EOF)",
        f"{sum(1 for i in race_infos if i['race']['form'] != 'unread-at-close' and i['race']['rstAt'] is not None)} met the "
        "closed socket and were reset",
        f"{sum(1 for i in race_infos if i['race']['form'] == 'unread-at-close')} reached the child just before its idle close, "
        "which closed the connection with the request unread"] if not x.startswith("0 ")) or "none"
    meta = {
        "scenario": a.scenario,
        "description": (
            "Apache httpd 2.4 (event MPM, a parent and one child of 16 threads, KeepAliveTimeout 60, "
            "MaxKeepAliveRequests 0) on 10.99.0.2:8080, restarted gracefully three times (SIGUSR1 to the parent, as "
            "`apachectl -k graceful`) and then plainly once (SIGHUP, `apachectl -k restart`), 2.5 s apart, under steady "
            "keep-alive load from a client 10 ms one way away: four Node http.Agent lanes (keepAlive, one pooled "
            "connection each; Node never resends a failed request) and four python requests lanes (urllib3 Retry(total=1): "
            "a failed GET is sent again on a new connection, never a POST), each sending GET /items (a static file), POST "
            "/orders (mod_proxy_http to a Node backend, 201) or now and then GET /slow (the same backend, answering after "
            "0.5 s) every 50-200 ms after the previous response, for 12 s. At each graceful restart the parent re-reads "
            "its configuration and tells the old child to stop gracefully (pipe of death); the child stops accepting "
            f"and closes every idle kept-alive connection at once (FIN, {min(delays) if delays else '?'}-"
            f"{max(delays) if delays else '?'} ms after the signal, each burst spread over at most {max(spreads) if spreads else '?'} ms), "
            "whatever its idle age, answers the requests in flight (and any read just after the signal) with "
            "`Connection: close` and closes those connections after the response, then exits. The parent starts the new "
            f"child only at its next once-a-second maintenance pass (~{min(p['newChildStartedAfterMs'] for p in g)}-"
            f"{max(p['newChildStartedAfterMs'] for p in g)} ms after the signal): meanwhile no process accepts, and new "
            "connections wait in the listen queue (the parent keeps the socket). At the plain restart the child "
            f"closes the connections with a request in flight at once ({rs['cutInFlight']} cut by FIN without a "
            "response; the access log still says 200 with %X X, the workers' writes failing), leaves idle ones open and "
            f"exits when its last worker is done (the backend's answers to the cut requests, {rs['cutWorkersLastEndAfterMs']} ms "
            f"after the signal; exit seen ~{rs['oldChildExitSeenAfterMs']} ms after it): idle connections that got a request "
            f"meanwhile are reset then ({rs['resetUnread']}, the request unread), "
            f"{rs['idleClosed']} other idle ones closed by FIN then. {len(races)} requests met a graceful restart's close of an idle "
            f"connection (keep-alive races: {race_forms}); clients: {n_err} errors, {n_retry} requests urllib3 sent again. No idle timeout closes anything "
            "here: every close by Apache is a restart's."),
        "software": a.software,
        "configured": {
            "serverIdleTimeout": KEEPALIVE_TIMEOUT,
            "apacheKeepAliveTimeout": KEEPALIVE_TIMEOUT,
            "backendDelaySeconds": 0.5,
            "oneWayDelayMs": a.delay_ms,
            "gracefulRestarts": 3,
            "plainRestarts": 1,
        },
        "configuredNotes": "serverIdleTimeout is Apache's KeepAliveTimeout 60 on 10.99.0.2:8080 (its responses say "
                           "Keep-Alive: timeout=60): far longer than the ~12 s of load, so no idle close by timer happens; "
                           "every close by Apache is a restart's (a few ms after a SIGUSR1, whatever the connection's idle "
                           "age; at the SIGHUP, at once for requests in flight and at the child's exit for idle "
                           "connections). An idle timeout inferred from these closes would be wrong.",
        "observed": {
            "capture": bm.summary(conns),
            "captureSide": "server (tun ccbs in Apache's namespace), port 8080 only (the backend leg on loopback is not captured)",
            "events": per_event,
            "clientVisibleFailures": failures,
            "clientRequests": len(clients), "clientErrors": n_err, "clientRetried": n_retry,
            "accessLogStatuses": statuses,
            "apacheWriteFailuresAH00470": len(write_failures),
            "serverClosedConnections": len(server_closed), "clientClosedConnections": len(client_closed),
            "apacheErrorLogMessages": levels,
            "firstCaptureEpoch": r3(t0),
        },
        "silent": False,
        "facts": {**bm.summary(conns), "captureFile": f"{a.scenario}.pcap", "races": len(races),
                  "restartClosedConnections": len(server_closed)},
        "expect": expect,
        "notes": "Not expected, and wrong if reported: an idle-timeout-mismatch or any server idle timeout of "
                 "10.99.0.2:8080 inferred from the restarts' closes of idle connections (KeepAliveTimeout is 60 s; the "
                 "closes came a few ms after each SIGUSR1, or at the child's exit after the SIGHUP, at whatever idle age "
                 "each connection had), or a remedy that tells the client to keep its pool's idle time under such a timeout; "
                 "a delay after which the server closes after its responses (serverCloseAfterResponse: the graceful "
                 "closes came at one moment, the connections' idle ages only happen to be similar, 50-200 ms pauses); a "
                 "server or middlebox request timeout inferred from the plain restart's cut requests (cut at one moment, "
                 "whatever their age); a request that reached the old child just before its idle close (closed on "
                 "arrival) explained as an idle timer firing: it is the graceful restart's burst. "
                 "The races' cause is the graceful restart (the old child closes its idle kept-alive connections at once); "
                 "the plain restart's unanswered and reset requests are the restart not draining. Remedies that fit: "
                 "clients that resend idempotent requests on a new connection (as urllib3's Retry did here), idempotency "
                 "keys for POSTs; on the server side a graceful restart rather than a plain one (in-flight requests are "
                 "finished), and Apache gives no drain period for idle kept-alive connections. The clients' own closes at "
                 "the end of the load (agent.destroy(), Session.close()) are the programs ending, not a client idle timeout.",
    }
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{a.scenario}: {len(conns)} connections, {len(clients)} client requests; {len(server_closed)} closed by Apache at "
          f"the restarts; {len(races)} races, {rs['cutInFlight']} cut in flight, {rs['resetUnread']} reset unread "
          f"({n_err} client errors, {n_retry} retried)")


if __name__ == "__main__":
    try:
        main()
    except bm.CheckFailed as e:
        print(f"x27a-meta: {e}", file=sys.stderr)
        sys.exit(1)
