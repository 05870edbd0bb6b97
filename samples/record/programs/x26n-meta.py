#!/usr/bin/env python3
"""Meta writer of reload-nginx (samples/record/reload-nginx.sh): nginx 1.22 reloaded three times (SIGHUP to
its master) under keep-alive load, keepalive_timeout 60 s. The capture (server side, port 8080) is rebuilt
with b-meta.py's tshark reader; the ground truth comes from the logs in --work:
  reloads.log    the recorder's start and reload times (SIGHUP), the master, the workers before each reload
                 and the new worker seen after it
  access.log     nginx's: $msec $pid $remote_addr $remote_port $connection $connection_requests $status
                 $request_time $request_length $bytes_sent "$request"
  error.log      nginx's, at info level (per old worker "gracefully shutting down", "exit")
  node.log       programs/x26n-node-lanes.js: one JSON line per request (port, reused, start, end, status or error)
  requests.log   programs/x26n-requests-lanes.py: one JSON line per request, with every attempt urllib3 sent
  tcpdump.*      tcpdump's statistics (no packet may be dropped)
Checks (exit 1, no meta, when one fails): every request attempt the clients logged is on the wire on the
port they logged, and nothing else; every response on the wire is one of nginx's access log lines (same
port, request, status; one $connection serial and one worker per connection) and nginx logged nothing else;
every close nginx started came at a reload, from the old worker (no idle timeout closes anything here);
every request without a response came after nginx's close of its connection at a reload (or was unread
when it closed) and was reset by nginx's kernel, and the client logged it as an error or urllib3 sent it
again on a new connection; no 4xx/5xx; nginx's error log holds no warning or error; at least --need-races
races in all.

Usage: x26n-meta.py SCENARIO --capture PCAP --meta OUT --work DIR [--delay-ms 10] [--need-races 1] --software S...
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

PORT = 8080
ACCESS = re.compile(r'^(\d+\.\d+) (\d+) (\S+) (\d+) (\d+) (\d+) (\d{3}) (\S+) (\d+) (\d+) "(\S+) (\S+) (\S+)"$')
ERRLOG = re.compile(r"^\S+ \S+ \[(\w+)\] (\d+)#\d+: (.*)$")
RELOAD_WINDOW = 1.0  # s after a SIGHUP within which the old worker's closes must come


def first_epoch(capture):
    out = subprocess.run(["tshark", "-r", capture, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[0])


def read_access(path):
    out = []
    for line in open(path):
        m = ACCESS.match(line.strip())
        check(m is not None, f"access log line not understood: {line.strip()}")
        out.append({"msec": float(m[1]), "pid": int(m[2]), "port": int(m[4]), "serial": int(m[5]), "nreq": int(m[6]),
                    "status": int(m[7]), "requestTime": float(m[8]), "method": m[11], "uri": m[12]})
    return out


def read_error_log(path):
    out = []
    for line in open(path):
        m = ERRLOG.match(line.strip())
        if m:
            out.append({"level": m[1], "pid": int(m[2]), "text": m[3]})
    return out


def read_clients(work):
    """Every request attempt the clients logged: (port, method, uri, request record, attempt index)."""
    reqs = []
    for line in open(os.path.join(work, "node.log")):
        e = json.loads(line)
        if "event" in e:
            check(False, f"node client: {e}")
        e["client"] = "node"
        e["attempts"] = [{"port": e["port"], "reused": e["reused"], "sentAt": e["start"]}]
        reqs.append(e)
    for line in open(os.path.join(work, "requests.log")):
        e = json.loads(line)
        if "event" in e:
            check(False, f"requests client: {e}")
        e["client"] = "requests"
        reqs.append(e)
    return reqs


def match_attempts(conns, clients):
    """Each client attempt with its request on the wire, by local port, method and URI (every URI is
    unique but for a retry): (client entry, attempt index, connection, request index) tuples; refuses
    a request on the wire twice, an attempt not on the wire, and a request on the wire no client logged."""
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
    return attempts


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
    t0 = first_epoch(a.capture)
    rel = lambda t: r3(t - t0)  # epoch -> capture time
    ev = [json.loads(l) for l in open(w("reloads.log"))]
    start = next(e for e in ev if e["event"] == "started")
    reloads = [e for e in ev if e["event"] == "reload"]
    check(len(reloads) == 3, f"{len(reloads)} reloads logged")
    for r in reloads:
        check(len(r["workersBefore"]) == 1 and len(r["newWorkers"]) == 1, f"reload {r['n']}: workers {r}")
        r["old"], r["new"], r["at"] = r["workersBefore"][0], r["newWorkers"][0], r["t"] - t0
    check(reloads[0]["old"] == start["workers"][0], "the first reload's old worker is not the first worker")
    check(all(reloads[i]["old"] == reloads[i - 1]["new"] for i in (1, 2)), "workers do not chain from reload to reload")
    reload_of_old = {r["old"]: r for r in reloads}

    # nginx's error log: a graceful shutdown and an exit per old worker, nothing at warn or above.
    el = read_error_log(w("error.log"))
    bad = [e for e in el if e["level"] in ("warn", "error", "crit", "alert", "emerg")]
    check(not bad, f"nginx error log: {bad[:3]}")
    check(sum(1 for e in el if "SIGHUP" in e["text"]) == 3, "not 3 SIGHUPs in nginx's error log")
    for r in reloads:
        check(any(e["pid"] == r["old"] and e["text"] == "gracefully shutting down" for e in el),
              f"old worker {r['old']}: no 'gracefully shutting down'")
        check(any(e["pid"] == r["old"] and e["text"] == "exit" for e in el), f"old worker {r['old']}: no 'exit'")
    info_lines = sorted({re.sub(r"\*\d+ |\d+\.\d+\.\d+\.\d+|\d+", "", e["text"]) for e in el if e["level"] == "info"})

    access = read_access(w("access.log"))
    clients = read_clients(a.work)
    check(not [x for x in access if x["status"] >= 400], "nginx answered 4xx/5xx")

    # Client attempts <-> wire requests (by local port and URI: every URI is unique but for a retry).
    attempts = match_attempts(conns, clients)

    # Wire responses <-> access log lines.
    acc_by_key = {}
    for x in access:
        k = (x["port"], x["method"], x["uri"])
        check(k not in acc_by_key, f"access log line {k} twice")
        acc_by_key[k] = x
    conn_pid = {}
    for c in conns:
        pids, serials = set(), set()
        for i, q in enumerate(c.requests):
            x = acc_by_key.pop((c.client[1], q["method"], q["uri"]), None)
            if i < len(c.responses):
                check(x is not None and x["status"] == c.responses[i]["status"] and x["nreq"] == i + 1,
                      f"{c.cid}: response {i + 1} ({q['method']} {q['uri']}) not in nginx's access log as on the wire")
                pids.add(x["pid"])
                serials.add(x["serial"])
            else:
                check(x is None, f"{c.cid}: nginx logged {q['uri']}, which got no response on the wire")
        check(len(pids) <= 1 and len(serials) <= 1, f"{c.cid}: several workers or connection serials {pids} {serials}")
        conn_pid[c.cid] = next(iter(pids)) if pids else None
        check(len(c.responses) <= len(c.requests), f"{c.cid}: more responses than requests")
    check(not acc_by_key, f"access log lines not on the wire: {list(acc_by_key)[:5]}")

    # Every client error, and every retried attempt, is a request without response on the wire.
    failed_attempts = {}
    for e, j, c, i in attempts:
        answered = i < len(c.responses)
        last = j == len(e["attempts"]) - 1
        if last and e.get("status") is not None:
            check(answered and c.responses[i]["status"] == e["status"], f"{c.cid}: {e['uri']} answered {e['status']} not on the wire")
        else:
            check(not answered, f"{c.cid}: {e['uri']} answered on the wire, the client logged a failure")
            failed_attempts[(c.cid, i)] = (e, j)
    for c in conns:
        for i in range(len(c.responses), len(c.requests)):
            check((c.cid, i) in failed_attempts, f"{c.cid}: {c.requests[i]['uri']} unanswered and no client saw it fail")

    # Closes.
    t_last_reload = reloads[-1]["at"]
    server_closed, client_closed = [], []
    races, clean_notes = [], {}
    for c in conns:
        sfin, srst = c.first_fin(False), c.first_rst(False)
        cfin, crst = c.first_fin(True), c.first_rst(True)
        s_t = min(x[0] for x in (sfin, srst) if x) if (sfin or srst) else None
        c_t = min(x[0] for x in (cfin, crst) if x) if (cfin or crst) else None
        check(s_t is not None or c_t is not None, f"{c.cid}: still open at the end of the capture")
        if c_t is not None and (s_t is None or c_t < s_t):
            check(len(c.requests) == len(c.responses), f"{c.cid}: closed by the client with a request unanswered")
            check(c_t > t_last_reload + 0.5, f"{c.cid}: closed by the client at {r3(c_t)} s, before the end of the load")
            client_closed.append(c)
            continue
        pid = conn_pid[c.cid]
        check(pid in reload_of_old, f"{c.cid}: closed by nginx (worker {pid}) at {r3(s_t)} s, not by an old worker")
        r = reload_of_old[pid]
        check(r["at"] < s_t < r["at"] + RELOAD_WINDOW, f"{c.cid}: nginx closed it at {r3(s_t)} s, not within "
              f"{RELOAD_WINDOW} s after reload {r['n']} ({r3(r['at'])} s)")
        before = [q for q in c.requests if q["t"] < s_t]
        answered_before = [x for x in c.responses if x["t"] <= s_t]
        pending = len(before) > len(answered_before)
        how = "FIN" if sfin and (not srst or sfin[0] <= srst[0]) else "RST"
        last_resp = answered_before[-1] if answered_before else None
        info = {"c": c, "reload": r, "closeAt": s_t, "how": how, "lastResponse": last_resp, "pendingAtClose": pending}
        late = c.requests[len(c.responses):]
        if late:
            check(srst is not None, f"{c.cid}: a request after nginx's close and no RST from nginx")
            if how == "RST":
                check(pending, f"{c.cid}: nginx reset it with no request pending")
            q = late[0]
            e, j = failed_attempts[(c.cid, len(c.responses))]
            rc = bm.race(c) if how == "FIN" else None
            if rc is None:  # closed with the request unread: RST instead of FIN
                rc = {"form": "unread-at-close", "method": q["method"], "uri": q["uri"], "requestBytes": q["len"],
                      "idempotent": q["method"] in bm.IDEMPOTENT, "requestAt": r3(q["t"]), "rstAt": r3(srst[0]),
                      "rstAfterRequestMs": r1ms(srst[0] - q["t"]), "responseToRequest": False}
            check(not rc["responseToRequest"], f"{c.cid}: the raced request got a response")
            info.update(race=rc, attempt=(e, j))
            races.append(info)
        server_closed.append(info)

    check(len(races) >= a.need_races, f"{len(races)} races, need {a.need_races}")
    # The old worker's shutdown: it closes every idle kept-alive connection at one moment (its first close after
    # the SIGHUP); a connection with a request in flight then is closed right after that request's response.
    for r in reloads:
        mine = [i for i in server_closed if i["reload"] is r]
        check(mine, f"reload {r['n']}: the old worker closed nothing")
        r["shutdownAt"] = min(i["closeAt"] for i in mine)
        for i in mine:
            lr = i["lastResponse"]
            if i["closeAt"] - r["shutdownAt"] < 0.005 and (lr is None or lr["t"] < r["shutdownAt"]):
                i["inFlight"] = False
            else:
                check(lr is not None and lr["t"] >= r["shutdownAt"] - 0.001 and i["closeAt"] - lr["t"] < 0.005,
                      f"{i['c'].cid}: closed at {r3(i['closeAt'])} s, neither at the old worker's shutdown "
                      f"({r3(r['shutdownAt'])} s) nor right after a response")
                i["inFlight"] = True

    # Retries: urllib3 sent the request again on a new connection.
    by_cid = {c.cid: c for c in conns}
    retry_conns = {}
    for e in clients:
        if len(e["attempts"]) > 1:
            check(len(e["attempts"]) == 2, f"{e['uri']}: {len(e['attempts'])} attempts")
            p0, p1 = e["attempts"][0]["port"], e["attempts"][1]["port"]
            c1 = next(c for c in conns if c.client[1] == p1 and any(q["uri"] == e["uri"] for q in c.requests))
            check(c1.requests[0]["uri"] == e["uri"] and not e["attempts"][1]["reused"],
                  f"{e['uri']}: the retry is not the first request of a new connection")
            retry_conns[c1.cid] = (e, p0)

    expect = []
    failures = []
    for info in races:
        c, r, rc, (e, j) = info["c"], info["reload"], info["race"], info["attempt"]
        retried = len(e["attempts"]) > j + 1
        if retried:
            p1 = e["attempts"][j + 1]["port"]
            retry_c = next(x for x in conns if x.client[1] == p1)
            rc["retried"], rc["retryClient"] = True, retry_c.cid
            saw = f"nothing: urllib3 (Retry total=1) sent the GET again on {retry_c.cid}, answered {e.get('status')}"
            err = e.get("retryErrors", ["?"])[0]
        else:
            rc["retried"] = False
            saw = f"{e.get('error')}: {e.get('message')}"
            err = saw
        rc["reload"] = r["n"]
        rc["reloadAt"] = r3(r["at"])
        rc["closeAfterReloadMs"] = r1ms(info["closeAt"] - r["at"])
        client_lib = "Node http.Agent" if e["client"] == "node" else "python requests"
        if rc["form"] == "unread-at-close":
            how = (f"{rc['method']} {rc['uri']} reached nginx just before the old worker (pid {r['old']}) closed its idle "
                   f"kept-alive connections at reload {r['n']} ({rc['closeAfterReloadMs']} ms after the SIGHUP); the "
                   "worker closed the socket with the request unread, so its kernel sent RST instead of a FIN")
        else:
            how = (f"{rc['method']} {rc['uri']} {'crossed' if rc['form'] == 'crossing' else 'followed'} the FIN the old worker "
                   f"(pid {r['old']}) sent when reload {r['n']} made it close its idle kept-alive connections "
                   f"({rc['closeAfterReloadMs']} ms after the SIGHUP; the request reached nginx {rc['deltaMs']} ms after the FIN "
                   f"left, its ACK {'covering the FIN: the client had it and sent the request anyway' if rc['requestAcksFin'] else 'not covering the FIN: the request left the client before the FIN arrived, 10 ms one way'}); "
                   "nginx's kernel answered RST")
        notes = (how + f". The close was the reload's, not an idle timeout (keepalive_timeout 60s; the connection had "
                 f"been idle {rc.get('idleGapSeconds')} s): no idle timeout should be inferred from it. nginx never saw "
                 f"the request (no access log line). {client_lib}: {err}"
                 + (f"; urllib3 sent it again on a new connection ({rc['retryClient']}), answered {e.get('status')}." if retried
                    else "; not sent again." + (" (Non-idempotent POST.)" if rc["method"] == "POST" else "")))
        expect.append(entry("keepalive-race", c, notes, **rc))
        failures.append({"client": c.cid, "program": client_lib, "request": f"{rc['method']} {rc['uri']}", "reload": r["n"],
                         "form": rc["form"], "closeAt": r3(info["closeAt"]), "requestAt": rc["requestAt"],
                         "rstAt": rc["rstAt"], "saw": saw, "retried": retried})
    for cid, (e, p0) in sorted(retry_conns.items()):
        c = by_cid[cid]
        q = c.requests[0]
        first = next(x for x in conns if x.client[1] == p0 and any(y["uri"] == e["uri"] for y in x.requests))
        fq = next(y for y in first.requests if y["uri"] == e["uri"])
        expect.append(entry("retried-request", c,
                            f"urllib3 (requests' HTTPAdapter with Retry(total=1): idempotent methods only) sent {q['method']} "
                            f"{q['uri']} again on this new connection {r1ms(q['t'] - fq['t'])} ms after it failed on "
                            f"{first.cid} (a race with nginx's close at a reload); answered {c.responses[0]['status'] if c.responses else None}."))
    failing = {x["client"] for x in expect}
    for info in server_closed:
        c, r = info["c"], info["reload"]
        if c.cid in failing or "race" in info:
            continue
        if info["inFlight"]:
            lr = info["lastResponse"]
            q = c.requests[len([x for x in c.responses if x["t"] <= lr["t"]]) - 1]
            note = (f"{q['method']} {q['uri']} was in flight when the old worker (pid {r['old']}) began its graceful "
                    f"shutdown at reload {r['n']} (request at {r3(q['t'])} s, SIGHUP at {r3(r['at'])} s, idle connections "
                    f"closed at {r3(r['shutdownAt'])} s): it finished it ({lr['status']} at {r3(lr['t'])} s, Connection: "
                    f"{lr['headers'].get('connection')}) and closed the connection {r1ms(info['closeAt'] - lr['t'])} ms "
                    f"later ({info['how']}); no further request on it, no error")
        else:
            idle = info["closeAt"] - info["lastResponse"]["t"] if info["lastResponse"] else None
            note = (f"kept-alive and idle at reload {r['n']}: the old worker (pid {r['old']}) closed it ({info['how']} at "
                    f"{r3(info['closeAt'])} s, {r1ms(info['closeAt'] - r['at'])} ms after the SIGHUP, idle {r3(idle)} s: a "
                    "reload's close, not an idle timeout); the client's pool dropped it and opened a new one, no error")
        expect.append({"kind": None, "client": c.cid, "server": c.sid, "notes": note})
    for c in client_closed[:4]:
        if c.cid in failing:
            continue
        expect.append({"kind": None, "client": c.cid, "server": c.sid,
                       "notes": f"{len(c.requests)} requests answered by the worker started at "
                                f"{'reload ' + str(next(r['n'] for r in reloads if r['new'] == conn_pid[c.cid])) if any(r['new'] == conn_pid[c.cid] for r in reloads) else 'the start'}"
                                "; closed by the client at the end of the load. Clean."})

    per_reload = []
    for r in reloads:
        mine = [i for i in server_closed if i["reload"] is r]
        per_reload.append({
            "n": r["n"], "sighupAt": r3(r["at"]), "oldWorker": r["old"], "newWorker": r["new"],
            "newWorkerSeenAfterMs": r1ms(r["seenAt"] - r["t"]),
            "shutdownAt": r3(r["shutdownAt"]), "shutdownAfterSighupMs": r1ms(r["shutdownAt"] - r["at"]),
            "idleClosed": sum(1 for i in mine if not i["inFlight"]),
            "idleClosedIdleSeconds": sorted(r3(i["closeAt"] - i["lastResponse"]["t"]) for i in mine
                                            if not i["inFlight"] and i["lastResponse"]),
            "closedAfterInFlightResponse": sum(1 for i in mine if i["inFlight"]),
            "inFlightResponsesConnectionHeader": sorted(str(i["lastResponse"]["headers"].get("connection")) for i in mine
                                                        if i["inFlight"]),
            "closedBy": {"FIN": sum(1 for i in mine if i["how"] == "FIN"), "RST": sum(1 for i in mine if i["how"] == "RST")},
            "races": sum(1 for i in mine if "race" in i),
            "clientErrors": sum(1 for f in failures if f["reload"] == r["n"] and not f["retried"]),
            "retried": sum(1 for f in failures if f["reload"] == r["n"] and f["retried"]),
            "oldWorkerLastResponseAt": r3(max((x["t"] for c in conns if conn_pid[c.cid] == r["old"] for x in c.responses), default=0)),
        })
    statuses = {}
    for x in access:
        statuses[str(x["status"])] = statuses.get(str(x["status"]), 0) + 1
    in_flight_hdrs = [str(i["lastResponse"]["headers"].get("connection")) for i in server_closed if i["inFlight"]]
    if in_flight_hdrs and all(h == "close" for h in in_flight_hdrs):
        in_flight_text = "answers the requests in flight with `Connection: close` and closes each of those connections after its response"
    else:
        in_flight_text = (f"finishes the requests in flight (their responses' Connection headers: {sorted(set(in_flight_hdrs))}) "
                          "and closes each of those connections after its response")
    forms = sorted({f["form"] for f in failures})
    node_err = [f for f in failures if f["program"] == "Node http.Agent"]
    py_err = [f for f in failures if f["program"] == "python requests" and not f["retried"]]
    py_retry = [f for f in failures if f["retried"]]
    race_text = (f"{len(races)} requests met such a close (form: {', '.join(forms)}; a request sent while the FIN was on its "
                 "way, 10 ms one way, reached a closed socket) and nginx's kernel answered RST: "
                 f"{len(node_err)} from Node (ECONNRESET 'socket hang up', not sent again), {len(py_err)} from requests "
                 f"failed (ConnectionError, RemoteDisconnected), {len(py_retry)} GETs urllib3 sent again on a new connection "
                 "(answered). nginx logged none of them.")
    n_err = sum(1 for e in clients if e.get("status") is None)
    n_retry = sum(1 for e in clients if len(e["attempts"]) > 1)
    meta = {
        "scenario": a.scenario,
        "description": (
            "nginx 1.22 (master + one worker, keepalive_timeout 60s) on 10.99.0.2:8080, reloaded three times (SIGHUP to "
            "its master, about 3 s apart) under steady keep-alive load from a client 10 ms one way away: four Node "
            "http.Agent lanes (keepAlive, one pooled connection each; Node never resends a failed request) and four "
            "python requests lanes (urllib3 Retry(total=1): a failed GET is sent again on a new connection, never a "
            "POST), each sending GET /items, POST /orders or now and then GET /slow (proxied to a backend that answers "
            "after 0.5 s) every 50-200 ms after the previous response, for 10 s. At each reload the master starts a new "
            "worker, waits 100 ms (ngx_msleep(100), 'allow new processes to start') and tells the old one to shut down "
            "gracefully: about 0.1 s after the SIGHUP the old worker closes every idle kept-alive connection at once (FIN), "
            "whatever its idle age, " + in_flight_text + ". " + race_text + " No idle timeout closes anything here: "
            "every close by nginx is a reload's."),
        "software": a.software,
        "configured": {
            "serverIdleTimeout": 60.0,
            "nginxKeepaliveTimeout": 60.0,
            "backendDelaySeconds": 0.5,
            "oneWayDelayMs": a.delay_ms,
            "reloads": len(reloads),
        },
        "configuredNotes": "serverIdleTimeout is nginx's keepalive_timeout 60s on 10.99.0.2:8080: far longer than the "
                           "~10 s of load, so no idle close by timer happens; every close by nginx is an old worker's at a "
                           "reload (0.1 s after the SIGHUP, whatever the connection's idle age). An idle timeout inferred "
                           "from these closes would be wrong.",
        "observed": {
            "capture": bm.summary(conns),
            "captureSide": "server (tun ccbs in nginx's namespace), port 8080 only (nginx's backend leg on its loopback is not captured)",
            "reloads": per_reload,
            "clientVisibleFailures": failures,
            "clientRequests": len(clients), "clientErrors": n_err, "clientRetried": n_retry,
            "accessLogStatuses": statuses,
            "serverClosedConnections": len(server_closed), "clientClosedConnections": len(client_closed),
            "nginxInfoMessages": info_lines,
            "firstCaptureEpoch": r3(t0),
        },
        "silent": False,
        "facts": {**bm.summary(conns), "captureFile": f"{a.scenario}.pcap", "races": len(races),
                  "reloadClosedConnections": len(server_closed)},
        "expect": expect,
        "notes": "Not expected, and wrong if reported: an idle-timeout-mismatch or any server idle timeout of "
                 "10.99.0.2:8080 inferred from the reloads' closes of idle connections (keepalive_timeout is 60 s; the "
                 "closes came ~0.1 s after each SIGHUP at whatever idle age each connection had), or a remedy that "
                 "tells the client to keep its pool's idle time under such a timeout. The races' cause is the reload "
                 "(graceful shutdown of the old worker); remedies that fit: clients that resend idempotent requests "
                 "on a new connection (as urllib3's Retry did here), and for POSTs idempotency keys; on the server "
                 "side nginx gives no drain period for idle connections. The clients' own closes at the end of the "
                 "load (Node's agent.destroy(), requests' Session.close(), 50-200 ms after each lane's last response) "
                 "are the programs ending, not a client idle timeout: neither pool has one.",
    }
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{a.scenario}: {len(conns)} connections, {len(clients)} client requests; {len(server_closed)} closed by nginx at "
          f"the reloads; {len(races)} races ({n_err} client errors, {n_retry} retried)")


if __name__ == "__main__":
    try:
        main()
    except bm.CheckFailed as e:
        print(f"x26n-meta: {e}", file=sys.stderr)
        sys.exit(1)
