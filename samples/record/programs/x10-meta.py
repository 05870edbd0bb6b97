#!/usr/bin/env python3
"""Check a Caddy 2.6 / Apache Traffic Server 9.2 / h2o 2.2 reverse-proxy sample against the proxy's own logs and write its meta.json.

Usage: x10-meta.py SCENARIO --proxy caddy|trafficserver|h2o|haproxy --capture FILE --meta OUT --proxy-log FILE
                   [--debug-log FILE] --listen IP:PORT --backend IP:PORT [--ok-backend IP:PORT]
                   [--client-log FILE] [--configured key=seconds ...] [--software S ...]

SCENARIO starts with keepalive-race-, gateway-timeout-, connect-timeout- or healthy-. The capture is
rebuilt with b-meta.py's tshark reader (x8-meta.py's helpers) and split into the client leg
(connections to --listen) and the backend leg (any other server). The proxy's logs are the ground
truth for what it answered each request:
  caddy:         the JSON access log (`log { format json }`: "handled request", status, duration) and
                 the debug log (stderr with the global `debug` option): each "upstream roundtrip" with
                 its error (EOF, timeouts, dial errors) or the backend's status;
  trafficserver: access.log in lib-x10.sh's format (`%<cqtq> %<chi>:%<chp> %<cqhm> %<cquc> %<pssc>
                 %<sssc> %<ttms> %<crc> %<sca> %<sstc> %<cfsc> %<pfsc>`) and, beside it,
                 traffic.out's http_ss / http_connect debug lines (kept as counts);
  h2o:           the access log in lib-x10.sh's format (request time, client address:port, request
                 line, status, duration, %{error}x: h2o's own reason, e.g. "I/O timeout");
  haproxy:       HAProxy 2.6's log (stderr) in lib-x12.sh's log-format: status, Tc/Tw/Tr/Ta, the
                 termination state (SH--, sH--, sC--, ...) and the retries count (cross-check round 12).
Every failure the logs name must be the one the capture shows and the other way round; any failing
check prints why and exits 1 without writing the meta.
"""
import argparse
import json
import os
import re
import statistics
import sys
from urllib.parse import urlsplit

import sibling

x8 = sibling.load("x8_meta", "x8-meta.py")
bm = x8.bm
check, r3 = bm.check, bm.r3


# ------------------------------------------------------------------ proxy logs

def read_caddy(access, debug):
    """One entry per client request: uri, method, status, ms, clientPort, upstream (the debug log's
    round trips for that URI: [error or status])."""
    rounds = {}
    if debug and os.path.exists(debug):
        for line in open(debug):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("msg") == "upstream roundtrip":
                uri = d.get("request", {}).get("uri")
                rounds.setdefault(uri, []).append(d.get("error") or d.get("status"))
    out = []
    for line in open(access):
        d = json.loads(line)
        if d.get("msg") != "handled request":
            continue
        r = d["request"]
        out.append({"uri": r["uri"], "method": r["method"], "status": d["status"], "ms": round(d["duration"] * 1000),
                    "clientPort": int(r["remote_port"]), "upstream": rounds.get(r["uri"], [])})
    return out


ATS = re.compile(r"^(\d+\.\d+) ([\d.]+):(\d+) (\S+) (\S+) (\d+) (\d+) (\d+) (\S+) (-?\d+) (-?\d+) (\S+) (\S+)$")


def read_ats(access, debug):
    out = []
    for line in open(access):
        m = ATS.match(line.strip())
        check(m, f"traffic server access log line not understood: {line.strip()}")
        u = urlsplit(m.group(5))
        out.append({"t": float(m.group(1)), "clientPort": int(m.group(3)), "method": m.group(4),
                    "uri": u.path + ("?" + u.query if u.query else ""), "status": int(m.group(6)),
                    "backendStatus": int(m.group(7)), "ms": int(m.group(8)), "result": m.group(9),
                    "connectAttempts": int(m.group(10)), "serverTransactions": int(m.group(11)),
                    "clientFinish": m.group(12), "proxyFinish": m.group(13)})
    return out


H2O = re.compile(r'^(\d+\.\d+) ([\d.]+):(\d+) "(\S+) (\S+) [^"]*" (\d+) (\S+) ?(.*)$')


def read_h2o(access, debug):
    out = []
    for line in open(access):
        m = H2O.match(line.rstrip("\n"))
        check(m, f"h2o access log line not understood: {line.strip()}")
        dur = m.group(7)
        out.append({"t": float(m.group(1)), "clientPort": int(m.group(3)), "method": m.group(4), "uri": m.group(5),
                    "status": int(m.group(6)), "ms": round(float(dur) * 1000) if dur != "-" else None,
                    "error": m.group(8).strip()})
    return out


HAP = re.compile(r"^(\d+\.\d+) ([\d.]+):(\d+) (\S+) (\S+) (-?\d+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+) (\S{4}) (\+?\d+) (\S+) (\d+)$")


def read_haproxy(access, debug):
    """HAProxy 2.6's log in lib-x12.sh's format: one line per client request."""
    out = []
    for line in open(access):
        m = HAP.match(line.strip())
        if not m:
            continue                      # startup / stop notices
        out.append({"t": float(m.group(1)), "clientPort": int(m.group(3)), "method": m.group(4), "uri": m.group(5),
                    "status": int(m.group(6)), "Tc": int(m.group(7)), "Tw": int(m.group(8)), "Tr": int(m.group(9)),
                    "ms": int(m.group(10)), "termination": m.group(11), "retries": m.group(12),
                    "backendPort": m.group(13)})
    return out


def logged(plog, uri):
    hits = [e for e in plog if e["uri"] == uri]
    check(len(hits) == 1, f"{uri}: {len(hits)} lines in the proxy's access log")
    return hits[0]


def summary_line(opt, e):
    if opt.proxy == "caddy":
        return f"{e['status']} after {e['ms']} ms; upstream round trips: {e['upstream']}"
    if opt.proxy == "haproxy":
        return (f"{e['status']} after {e['ms']} ms, Tc/Tw/Tr {e['Tc']}/{e['Tw']}/{e['Tr']}, termination "
                f"{e['termination']}, retries {e['retries']}, backend source port {e['backendPort']}")
    if opt.proxy == "h2o":
        return f"{e['status']} after {e['ms']} ms; error: {e['error'] or '-'}"
    return (f"{e['status']} (backend {e['backendStatus']}) after {e['ms']} ms, {e['result']}, connect attempts "
            f"{e['connectAttempts']}, finish {e['clientFinish']}/{e['proxyFinish']}")


# ------------------------------------------------------------------ scenarios

def sc_keepalive_race(conns, downs, ups, plog, clog, opt):
    expect, races = [], []
    for u in ups:
        rc = x8.upstream_race(u)
        if rc is None:
            continue
        dc, dr, dresp = x8.client_request(downs, rc["uri"])
        copies = x8.upstream_copies(ups, rc["uri"])
        retry = [(c2, r2) for c2, r2 in copies if c2 is not u and r2["t"] > rc["requestAt"] - 1e-9]
        retry_resp = x8.first_response_after(retry[0][0], retry[0][1]["t"]) if retry else None
        info = dict(rc)
        if dresp is None:
            # HAProxy (http-reuse safe) closes its client's connection without an answer when a request
            # that is not the first on it fails on the backend: the client may retry. No log line.
            check(opt.proxy == "haproxy", f"{rc['uri']}: the client got no response")
            check(not retry, f"{rc['uri']}: retried on {retry[0][0].cid if retry else ''} yet no answer to the client")
            check(not [e for e in plog if e["uri"] == rc["uri"]], f"{rc['uri']}: unanswered yet in HAProxy's log")
            close = x8.close_after(dc, False, dr["t"])
            check(close is not None, f"{rc['uri']}: the proxy neither answered nor closed its client's connection")
            info.update({"clientStatus": None, "clientConnection": dc.cid, "proxyClosedClientAfterMs":
                         bm.r1ms(close[0] - dr["t"]), "proxyClose": close[1], "retried": False, "retriedOn": None,
                         "retryStatus": None, "proxyLog": "no line (HAProxy logs nothing for a request it drops so)"})
            if clog:
                got = [x for x in clog if x["uri"] == rc["uri"]]
                check(len(got) == 1 and "error" in got[0], f"{rc['uri']}: client log {got}")
            races.append(info)
            expect.append(bm.entry("keepalive-race", u,
                                   f"{rc['method']} {rc['uri']}: the proxy sent it on a reused backend connection "
                                   f"{rc['idleGapSeconds']} s after that connection's last response as the backend closed it "
                                   f"({rc['form']}); the proxy did not retry it and closed its client's connection without "
                                   f"an answer ({close[1]} {info['proxyClosedClientAfterMs']} ms after the request).", **info))
            expect.append(bm.entry("unanswered-request", dc,
                                   f"{rc['method']} {rc['uri']}: the proxy closed this client connection without an answer "
                                   f"after its backend connection failed (keep-alive race on {u.cid})."))
            continue
        e = logged(plog, rc["uri"])
        check(e["status"] == dresp["status"], f"{rc['uri']}: log {e['status']} vs capture {dresp['status']}")
        info.update({"clientStatus": dresp["status"], "clientConnection": dc.cid,
                     "proxyAnsweredAfterMs": bm.r1ms(dresp["t"] - dr["t"]), "retried": bool(retry),
                     "retriedOn": retry[0][0].cid if retry else None,
                     "retryStatus": retry_resp["status"] if retry_resp else None, "proxyLog": summary_line(opt, e)})
        if opt.proxy == "caddy" and not retry:
            check(any(isinstance(x, str) for x in e["upstream"]), f"{rc['uri']}: no failed round trip in Caddy's debug log")
        if opt.proxy == "haproxy" and retry:
            check(e["retries"].lstrip("+") != "0", f"{rc['uri']}: retried on the wire, retries 0 in HAProxy's log")
        if clog:
            got = [x for x in clog if x["uri"] == rc["uri"]]
            check(len(got) == 1 and got[0].get("status") == dresp["status"], f"{rc['uri']}: client log {got}")
        races.append(info)
        outcome = (f"the proxy retried it on {info['retriedOn']} (answered {info['retryStatus']}) and its client got "
                   f"{dresp['status']}" if retry else f"the proxy did not retry it and answered its client {dresp['status']} "
                   f"{info['proxyAnsweredAfterMs']} ms after the request")
        expect.append(bm.entry("keepalive-race", u,
                               f"{rc['method']} {rc['uri']}: the proxy sent it on a pooled backend connection "
                               f"{rc['idleGapSeconds']} s after that connection's last response as the backend closed it "
                               f"({rc['form']}); {outcome}.", **info))
        if retry:
            expect.append(bm.entry("retried-request", retry[0][0],
                                   f"{rc['method']} {rc['uri']}: the proxy's automatic retry on a new backend connection "
                                   f"after the race on {u.cid}."))
    check(races, "no keep-alive race on the backend leg in this recording")
    if clog:
        # Every request that failed at the client is one of those races (a connection the capture
        # lost the SYN of is not rebuilt here: record again).
        failed = sorted(x["uri"] for x in clog if "error" in x or (x.get("status") or 0) >= 500)
        check(failed == sorted(r["uri"] for r in races if r["clientStatus"] is None or r["clientStatus"] >= 500),
              f"failed at the client {failed} vs races {[r['uri'] for r in races]}")
    # Every 5xx in the proxy's log is one of those races.
    fails = sorted(e["uri"] for e in plog if e["status"] >= 500)
    check(fails == sorted(r["uri"] for r in races if (r["clientStatus"] or 0) >= 500), f"5xx in the log {fails} vs races")
    idle = []
    for u in ups:
        fin, cfin = u.first_fin(False), u.first_fin(True)
        if fin is None or not u.responses or (cfin is not None and cfin[0] < fin[0]):
            continue
        idle.append(fin[0] - max(x["t"] for x in u.responses))
    check(len(idle) >= 3, f"only {len(idle)} idle closes by the backend")
    med = statistics.median(idle)
    expect.append(bm.endpoint_entry("idle-timeout-mismatch", ups[0].sid,
                                    f"the backend closes idle connections after {r3(med)} s and the proxy reuses its pooled "
                                    f"connections after about as long (its own pool idle timeout is longer)."))
    if len(downs) >= 8 and all(len(d.requests) == 1 for d in downs):
        # A client that opened a new connection for every request (keepalive-race-haproxy-always).
        expect.append({"kind": "connection-churn", "client": downs[0].client[0], "server": downs[0].sid,
                       "notes": f"the client opened a new connection for each of its {len(downs)} requests, though the "
                                f"proxy keeps connections alive (by design: each request is the first on its connection)."})
    reused = {}
    for u in ups:
        for r in u.requests[1:]:
            reused[r["method"]] = reused.get(r["method"], 0) + 1
    outcomes = sorted({r["clientStatus"] for r in races}, key=lambda x: x or 0)
    observed = {"requestsOnReusedBackendConnections": reused, "races": races, "backendIdleCloses": len(idle),
                "backendIdleCloseMedian": r3(med),
                "raceOutcomes": {str(s) if s else "closed without an answer": sum(1 for r in races if r["clientStatus"] == s) for s in outcomes},
                "retried": sum(1 for r in races if r["retried"])}
    return expect, observed, False


def sc_gateway_timeout(conns, downs, ups, plog, clog, opt):
    expect, fails = [], []
    for dc in downs:
        for dr in dc.requests:
            resp = x8.first_response_after(dc, dr["t"])
            check(resp is not None, f"{dc.cid} {dr['uri']}: no response")
            e = logged(plog, dr["uri"])
            check(e["status"] == resp["status"], f"{dr['uri']}: log {e['status']} vs capture {resp['status']}")
            if resp["status"] < 500:
                continue
            copies = x8.upstream_copies(ups, dr["uri"])
            check(len(copies) >= 1, f"{dr['uri']}: no upstream copy")
            waits = []
            for u, ur in copies:
                check(x8.first_response_after(u, ur["t"]) is None or x8.first_response_after(u, ur["t"])["t"] > resp["t"],
                      f"{u.cid}: the backend answered {dr['uri']} before the proxy's 5xx")
                close = x8.close_after(u, True, ur["t"])
                check(close is not None, f"{u.cid}: the proxy did not close the backend connection")
                waits.append({"upstream": u.cid, "wait": r3(close[0] - ur["t"]), "close": close[1]})
            delay = resp["t"] - dr["t"]
            fails.append({"uri": dr["uri"], "status": resp["status"], "delay": r3(delay), "upstreamAttempts": waits,
                          "proxyLog": summary_line(opt, e)})
            expect.append(bm.entry("gateway-timeout", dc,
                                   f"{dr['method']} {dr['uri']}: the proxy answered {resp['status']} after {r3(delay)} s "
                                   f"(its backend read timeout) after {len(copies)} upstream attempt(s)."))
            for k, (u, ur) in enumerate(copies):
                expect.append(bm.entry("unanswered-request", u,
                                       f"{dr['method']} {dr['uri']}: the backend did not answer before the proxy gave up "
                                       f"and closed this upstream connection (attempt {k + 1} of {len(copies)})."))
                if k > 0:
                    expect.append(bm.entry("retried-request", u,
                                           f"{dr['method']} {dr['uri']}: the proxy's own retry (attempt {k + 1}) after its "
                                           f"previous attempt on {copies[k - 1][0].cid} timed out."))
    check(len(fails) >= 3, f"only {len(fails)} timeouts")
    check(bm.spread_ok([f["delay"] for f in fails], 0.05, 0.05), f"timeout delays spread: {[f['delay'] for f in fails]}")
    return expect, {"timeouts": fails}, False


def sc_connect_timeout(conns, downs, ups, plog, clog, opt):
    expect, fails = [], []
    dead = sorted((u for u in ups if not any(p[2] & 0x12 == 0x12 for p in u.packets)), key=lambda u: u.syn_t)
    check(dead, "no unanswered SYN on the backend leg")
    failed = []
    for dc in downs:
        for dr in dc.requests:
            resp = x8.first_response_after(dc, dr["t"])
            check(resp is not None, f"{dr['uri']}: no response")
            e = logged(plog, dr["uri"])
            check(e["status"] == resp["status"], f"{dr['uri']}: log {e['status']} vs capture {resp['status']}")
            if resp["status"] >= 500:
                failed.append((dc, dr, resp, e))
    failed.sort(key=lambda x: x[1]["t"])
    # Each failure's first connection attempt: the first unanswered SYN during its wait; then its
    # retries: each opened after the previous attempt's last packet (its last SYN), before the answer.
    taken, chains = set(), []
    for dc, dr, resp, e in failed:
        first = [u for u in dead if dr["t"] <= u.syn_t <= resp["t"] and u.cid not in taken][:1]
        taken.update(u.cid for u in first)
        chains.append(first)
    for (dc, dr, resp, e), chain in zip(failed, chains):
        while chain:
            last = chain[-1].packets[-1][0]
            nxt = [u for u in dead if last < u.syn_t <= resp["t"] and u.cid not in taken][:1]
            if not nxt:
                break
            taken.add(nxt[0].cid)
            chain.append(nxt[0])
    for (dc, dr, resp, e), syns in zip(failed, chains):
        delay = resp["t"] - dr["t"]
        info = {"uri": dr["uri"], "status": resp["status"], "delay": r3(delay), "proxyLog": summary_line(opt, e),
                "attempts": [{"client": u.cid, "syns": u.syns, "at": r3(u.syn_t - dr["t"])} for u in syns]}
        fails.append(info)
        if syns:
            expect.append(bm.entry("gateway-timeout", dc,
                                   f"{dr['method']} {dr['uri']}: the proxy's SYNs to the backend ({len(syns)} connection "
                                   f"attempt(s), one after the other) were never answered; it answered {resp['status']} after {r3(delay)} s."))
        else:
            expect.append(bm.entry("no-upstream-connect", dc,
                                   f"{dr['method']} {dr['uri']}: the proxy sent no SYN (it had marked the backend down) "
                                   f"and answered {resp['status']} after {r3(delay)} s."))
        for u in syns:
            if u.syns > 1:
                expect.append(bm.entry("syn-unanswered", u,
                                       f"the proxy's SYN for {dr['uri']} was sent {u.syns} times, never answered "
                                       f"(dropped by an nftables rule), and abandoned at the proxy's connect timeout."))
            elif len(dead) >= 2:
                # A single SYN, never answered, one of several in a row to the dead backend: an outage.
                expect.append(bm.entry("syn-unanswered", u,
                                       f"the proxy's SYN for {dr['uri']} was never answered and the attempt abandoned at the proxy's "
                                       f"connect timeout before any retransmission: one of {len(dead)} unanswered attempts in a row."))
    check(len(fails) >= 3, f"only {len(fails)} connect timeouts")
    return expect, {"timeouts": fails}, False


def sc_healthy(conns, downs, ups, plog, clog, opt):
    for c in conns:
        for r in c.requests:
            resp = x8.first_response_after(c, r["t"])
            check(resp is not None and resp["status"] < 500, f"{c.cid} {r['uri']}: {resp and resp['status']}")
        check(not c.rsts[True] and not c.rsts[False], f"{c.cid}: a RST")
    check(all(e["status"] < 500 for e in plog), "a 5xx in the proxy's log")
    reuse = sum(max(0, len(u.requests) - 1) for u in ups)
    check(reuse >= 3, f"only {reuse} reuses of backend connections")
    check(any(len(d.requests) > 1 for d in downs), "no client connection carried more than one request")
    return [], {"backendReuses": reuse, "requests": len(plog)}, True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--proxy", required=True, choices=["caddy", "trafficserver", "h2o", "haproxy"])
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--proxy-log", required=True)
    ap.add_argument("--debug-log")
    ap.add_argument("--client-log")
    ap.add_argument("--listen", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--ok-backend")
    ap.add_argument("--configured", nargs="*", default=[])
    ap.add_argument("--description", default="")
    ap.add_argument("--software", nargs="*", default=[])
    opt = ap.parse_args()
    listen, backend = x8.ipport(opt.listen), x8.ipport(opt.backend)
    ports = {listen[1], backend[1]} | ({x8.ipport(opt.ok_backend)[1]} if opt.ok_backend else set())
    try:
        conns = bm.load(opt.capture, sorted(ports))
        downs = [c for c in conns if c.server == listen]
        ups = [c for c in conns if c.server != listen]
        plog = {"caddy": read_caddy, "trafficserver": read_ats, "h2o": read_h2o, "haproxy": read_haproxy}[opt.proxy](opt.proxy_log, opt.debug_log)
        clog = bm.read_log(opt.client_log) if opt.client_log else []
        kind = next(k for k in ("keepalive-race", "gateway-timeout", "connect-timeout", "healthy") if opt.scenario.startswith(k))
        fn = {"keepalive-race": sc_keepalive_race, "gateway-timeout": sc_gateway_timeout,
              "connect-timeout": sc_connect_timeout, "healthy": sc_healthy}[kind]
        expect, observed, silent = fn(conns, downs, ups, plog, clog, opt)
    except bm.CheckFailed as e:
        print(f"{opt.scenario}: {e}", file=sys.stderr)
        return 1
    observed["capture"] = bm.summary(conns)
    meta = {"scenario": opt.scenario, "description": opt.description, "software": opt.software}
    configured = {}
    for kv in opt.configured:
        k, v = kv.split("=", 1)
        configured[k] = float(v)
    if configured:
        meta["configured"] = configured
    meta["observed"] = observed
    meta["silent"] = silent
    if not silent:
        meta["expect"] = expect
    with open(opt.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(json.dumps({k: v for k, v in observed.items() if k not in ("races", "timeouts")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
