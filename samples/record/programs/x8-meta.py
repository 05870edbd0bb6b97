#!/usr/bin/env python3
"""Check a Varnish 7.1 / Squid 5.7 reverse-proxy sample against the proxy's own log and write its meta.json.

Usage: x8-meta.py SCENARIO --proxy varnish|squid --capture FILE --meta OUT --proxy-log FILE
                  --listen IP:PORT --backend IP:PORT [--client-log FILE] [--configured key=seconds ...]
                  [--require-race-outcomes 200,503] [--software S ...]

SCENARIO starts with keepalive-race-, gateway-timeout-, connect-timeout- or healthy-. The capture is
rebuilt with b-meta.py's tshark reader and split into the client leg (connections to --listen) and
the backend leg (connections to --backend, or any other server). The proxy's log is the ground
truth for what the proxy did with each request:
  varnish: `varnishlog -g raw` (BackendOpen with the local port and reuse/connect, FetchError,
           BerespStatus, BereqURL; ReqURL/RespStatus of the client transactions);
  squid:   access.log in the x8 format of lib-x8.sh (`%ts.%03tu %>a:%>p %rm %ru %>Hs %<st %tr
           %Ss/%Sh %<a:%<p`) and cache.log (its directory: the same as the access log).
Every failure the log names must be the one the capture shows and the other way round; any failing
check prints why and exits 1 without writing the meta.
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
check = bm.check
r3 = bm.r3


# ------------------------------------------------------------------ proxy logs

def read_varnishlog(path):
    """Backend fetches (one per backend transaction: uri, method, opens [(port, how)], errors, status)
    and client transactions (uri, method, status, client port), from `varnishlog -g raw`."""
    tx = {}
    for line in open(path):
        m = re.match(r"\s*(\d+) (\S+)\s+([bc-]) ?(.*)$", line.rstrip("\n"))
        if not m:
            continue
        vxid, tag, side, rest = int(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        if side not in "bc":
            continue
        t = tx.setdefault((side, vxid), {"side": side, "vxid": vxid, "opens": [], "errors": [], "closes": [],
                                         "timestamps": {}})
        if tag in ("BereqURL", "ReqURL"):
            t.setdefault("uri", rest)
        elif tag in ("BereqMethod", "ReqMethod"):
            t.setdefault("method", rest)
        elif tag in ("BerespStatus", "RespStatus"):
            t["status"] = int(rest)
        elif tag == "BackendOpen":
            f = rest.split()
            t["opens"].append((int(f[5]), f[6]))
        elif tag == "BackendClose":
            t["closes"].append(rest)
        elif tag == "FetchError":
            t["errors"].append(rest)
        elif tag == "ReqStart":
            t["clientPort"] = int(rest.split()[1])
        elif tag == "Timestamp":
            name, vals = rest.split(":", 1)
            t["timestamps"][name] = [float(x) for x in vals.split()]
    backend = [t for (s, _), t in sorted(tx.items()) if s == "b" and "uri" in t]
    client = [t for (s, _), t in sorted(tx.items()) if s == "c" and "uri" in t]
    return backend, client


ACCESS = re.compile(r"^(\d+\.\d+) ([\d.]+):(\d+) (\S+) (\S+) (\d+) (\d+) (\d+) (\S+)/(\S+) (\S+)$")


def read_squid(path):
    """access.log lines (t, client port, method, uri, status, ms, result code, hierarchy, peer) and
    cache.log lines."""
    acc = []
    for line in open(path):
        m = ACCESS.match(line.strip())
        check(m, f"squid access log line not understood: {line.strip()}")
        acc.append({"t": float(m.group(1)), "clientPort": int(m.group(3)), "method": m.group(4),
                    "uri": re.sub(r"^https?://[^/]+", "", m.group(5)), "status": int(m.group(6)),
                    "ms": int(m.group(8)), "result": m.group(9), "hier": m.group(10), "peer": m.group(11)})
    cache_log = os.path.join(os.path.dirname(path), "cache.log")
    lines = open(cache_log).read().splitlines() if os.path.exists(cache_log) else []
    return acc, lines


# ------------------------------------------------------------------ capture helpers

def ipport(s):
    ip, port = s.rsplit(":", 1)
    return ip, int(port)


def first_response_after(c, t):
    rs = [x for x in c.responses if x["t"] >= t]
    return rs[0] if rs else None


def unanswered_last(c):
    if not c.requests:
        return None
    r = c.requests[-1]
    return None if any(x["t"] >= r["t"] for x in c.responses) else r


def close_after(c, from_client, t):
    ev = [(x[0], "FIN") for x in c.fins[from_client] if x[0] >= t] + [(x[0], "RST") for x in c.rsts[from_client] if x[0] >= t]
    return min(ev) if ev else None


def client_request(downs, uri):
    """(connection, request, response or None) of the client-leg request for uri (unique URIs)."""
    hits = [(c, r) for c in downs for r in c.requests if r["uri"] == uri]
    check(len(hits) == 1, f"{uri}: {len(hits)} client-leg requests")
    c, r = hits[0]
    return c, r, first_response_after(c, r["t"])


def upstream_copies(ups, uri):
    return sorted(((u, r) for u in ups for r in u.requests if r["uri"] == uri), key=lambda x: x[1]["t"])


def upstream_race(u):
    """Keep-alive race facts of a backend-leg connection seen at the proxy (the client side), or None:
    a request sent on the idle connection after its last response (a reuse), never answered, with the
    backend's FIN arriving after it was sent (crossing) or before (stale reuse) and a RST after."""
    if len(u.requests) < 2 or not u.responses:
        return None
    r = u.requests[-1]
    if any(x["t"] >= r["t"] for x in u.responses):
        return None
    fin = u.first_fin(False)
    if fin is None:
        return None
    last = max(x["t"] for x in u.responses)
    before = [p for p in u.packets if p[0] < r["t"] and p[5] > 0]
    acks_fin = bm.covers(r["ack"], fin[1]) if fin[0] < r["t"] else False
    rst = [x for x in u.rsts[False] if x[0] >= r["t"]]
    return {
        "form": "stale-reuse" if acks_fin else "crossing",
        "method": r["method"], "uri": r["uri"], "requestBytes": r["len"],
        "idempotent": r["method"] in bm.IDEMPOTENT,
        "idleGapSeconds": r3(r["t"] - before[-1][0]), "idleSinceResponse": r3(r["t"] - last),
        "requestAt": r3(r["t"]), "backendFinAt": r3(fin[0]), "finAfterRequestMs": bm.r1ms(fin[0] - r["t"]),
        "requestAcksFin": acks_fin, "rstAt": r3(rst[0][0]) if rst else None,
        "rstAfterRequestMs": bm.r1ms(rst[0][0] - r["t"]) if rst else None,
        "responseToRequest": False,
    }


def entry(kind, c, notes, **evidence):
    return bm.entry(kind, c, notes, **evidence)


# ------------------------------------------------------------------ scenarios

def sc_keepalive_race(conns, downs, ups, plog, clog, opt):
    expect, races = [], []
    for u in ups:
        rc = upstream_race(u)
        if rc is None:
            continue
        check(rc["rstAt"] is not None, f"{u.cid}: no RST from the backend after the racing request")
        dc, dr, dresp = client_request(downs, rc["uri"])
        copies = upstream_copies(ups, rc["uri"])
        retry = [(c2, r2) for c2, r2 in copies if c2 is not u and r2["t"] > rc["requestAt"] - 1e-9]
        retry_resp = first_response_after(retry[0][0], retry[0][1]["t"]) if retry else None
        check(dresp is not None, f"{rc['uri']}: the client got no response")
        race_info = dict(rc)
        race_info.update({"clientStatus": dresp["status"], "clientConnection": dc.cid,
                          "proxyAnsweredAfterMs": bm.r1ms(dresp["t"] - dr["t"]),
                          "retriedOn": retry[0][0].cid if retry else None,
                          "retryStatus": retry_resp["status"] if retry_resp else None})
        race_info["retried"] = bool(retry)
        if opt.proxy == "varnish":
            fetches = [b for b in plog[0] if b["uri"] == rc["uri"]]
            check(len(fetches) == 1, f"{rc['uri']}: {len(fetches)} backend transactions in varnishlog")
            f = fetches[0]
            check((u.client[1], "reuse") in f["opens"], f"{rc['uri']}: varnishlog has no reuse of port {u.client[1]}: {f['opens']}")
            check(f["errors"], f"{rc['uri']}: no FetchError in varnishlog")
            race_info["varnishFetchErrors"] = f["errors"]
            race_info["varnishBackendOpens"] = [f"{p} {how}" for p, how in f["opens"]]
            check((len(f["opens"]) == 2) == bool(retry), f"{rc['uri']}: varnishlog opens {f['opens']} vs retried {bool(retry)}")
            check(f.get("status") == dresp["status"] or (f.get("status") is None and dresp["status"] == 503),
                  f"{rc['uri']}: varnish status {f.get('status')} vs client {dresp['status']}")
        else:
            acc = [a for a in plog[0] if a["uri"] == rc["uri"]]
            check(len(acc) == 1, f"{rc['uri']}: {len(acc)} access log lines")
            check(acc[0]["status"] == dresp["status"], f"{rc['uri']}: access log {acc[0]['status']} vs client {dresp['status']}")
            race_info["squidAccess"] = f"{acc[0]['status']} {acc[0]['result']}/{acc[0]['hier']} {acc[0]['ms']} ms"
        if clog:
            got = [x for x in clog if x["uri"] == rc["uri"]]
            check(len(got) == 1 and got[0].get("status") == dresp["status"], f"{rc['uri']}: client log {got}")
        races.append(race_info)
        outcome = (f"the proxy retried it on {race_info['retriedOn']} (answered {race_info['retryStatus']}) and its client got "
                   f"{dresp['status']}" if retry else f"the proxy did not retry it and answered its client {dresp['status']} "
                   f"{race_info['proxyAnsweredAfterMs']} ms after the request")
        expect.append(entry("keepalive-race", u,
                            f"{rc['method']} {rc['uri']}: the proxy sent it on a pooled backend connection {rc['idleGapSeconds']} s "
                            f"after that connection's last response, as the backend's idle FIN crossed it ({rc['form']}); "
                            f"the backend reset it; {outcome}.", **race_info))
        if retry:
            expect.append(entry("retried-request", retry[0][0],
                                f"{rc['method']} {rc['uri']}: the proxy's automatic retry on a new backend connection "
                                f"after the race on {u.cid}."))
    check(races, "no keep-alive race on the backend leg in this recording")
    outcomes = {r["clientStatus"] for r in races}
    for want in opt.require_race_outcomes:
        check(want in outcomes, f"no race whose client got {want} (got {sorted(outcomes)})")
    # The backend's idle closes: its FIN after the connection's last response (on a raced connection
    # the request crossed that FIN).
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
                                    f"connections after about as long (its own backend pool idle timeout is longer)."))
    # Requests that were not the first on their backend connection, by method (Squid opens a new
    # connection for a request it could not retry: no POST is ever sent on a reused one).
    reused = {}
    for u in ups:
        for r in u.requests[1:]:
            reused[r["method"]] = reused.get(r["method"], 0) + 1
    if opt.proxy == "squid":
        check("POST" not in reused, f"Squid sent {reused.get('POST')} POSTs on reused backend connections")
    observed = {"requestsOnReusedBackendConnections": reused, "races": races, "backendIdleCloses": len(idle), "backendIdleCloseMedian": r3(med),
                "raceOutcomes": {str(s): sum(1 for r in races if r["clientStatus"] == s) for s in sorted(outcomes)},
                "retried": sum(1 for r in races if r["retried"])}
    return expect, observed, False


def sc_gateway_timeout(conns, downs, ups, plog, clog, opt):
    expect, fails = [], []
    want_status = 503 if opt.proxy == "varnish" else 504
    for dc in downs:
        for dr in dc.requests:
            resp = first_response_after(dc, dr["t"])
            check(resp is not None, f"{dc.cid} {dr['uri']}: no response")
            if resp["status"] < 500:
                continue
            check(resp["status"] == want_status, f"{dr['uri']}: status {resp['status']}, expected {want_status}")
            copies = upstream_copies(ups, dr["uri"])
            check(len(copies) == 1, f"{dr['uri']}: {len(copies)} upstream copies")
            u, ur = copies[0]
            check(first_response_after(u, ur["t"]) is None, f"{u.cid}: the backend answered {dr['uri']} before the timeout")
            close = close_after(u, True, ur["t"])
            check(close is not None, f"{u.cid}: the proxy did not close the backend connection")
            delay = resp["t"] - dr["t"]
            info = {"uri": dr["uri"], "status": resp["status"], "delay": r3(delay), "failAt": resp["t"], "upstream": u.cid,
                    "upstreamWait": r3(close[0] - ur["t"]), "upstreamClose": close[1]}
            if opt.proxy == "varnish":
                f = [b for b in plog[0] if b["uri"] == dr["uri"]]
                check(len(f) == 1 and any("first byte timeout" in e for e in f[0]["errors"]),
                      f"{dr['uri']}: varnishlog has no 'first byte timeout' FetchError: {f}")
                info["varnishFetchErrors"] = f[0]["errors"]
            else:
                acc = [a for a in plog[0] if a["uri"] == dr["uri"]]
                check(len(acc) == 1 and acc[0]["status"] == 504, f"{dr['uri']}: access log {acc}")
                info["squidAccess"] = f"{acc[0]['status']} {acc[0]['result']}/{acc[0]['hier']} {acc[0]['ms']} ms"
            fails.append(info)
            expect.append(entry("gateway-timeout", dc,
                                f"{dr['method']} {dr['uri']}: the proxy answered {resp['status']} after {r3(delay)} s "
                                f"(its backend read timeout) and closed the upstream connection {u.cid} ({close[1]})."))
            expect.append(entry("unanswered-request", u,
                                f"{dr['method']} {dr['uri']}: the backend never answered before the proxy gave up and closed "
                                f"this upstream connection ({close[1]}) after {r3(close[0] - ur['t'])} s."))
    check(len(fails) >= 3, f"only {len(fails)} timeouts")
    observed = {"timeouts": fails}
    if opt.proxy == "squid":
        # Squid checks its timeouts once a second on a clock of whole seconds: a 1 s read_timeout
        # fires at the next ticks, anywhere from ~0 to ~2 s after the request, all at one phase.
        phases = sorted(round(f["failAt"] % 1.0, 3) for f in fails)
        check(phases[-1] - phases[0] <= 0.05 or phases[0] + 1 - phases[-1] <= 0.05, f"504s not on one tick phase: {phases}")
        observed["tickPhases"] = phases
        observed["waitRange"] = [min(f["delay"] for f in fails), max(f["delay"] for f in fails)]
    else:
        check(bm.spread_ok([f["delay"] for f in fails], 0.05, 0.05), f"timeout delays spread: {[f['delay'] for f in fails]}")
    for f in fails:
        f.pop("failAt", None)
    return expect, observed, False


def sc_connect_timeout(conns, downs, ups, plog, clog, opt):
    expect, fails = [], []
    want_status = 503
    dead = [u for u in ups if not any(p[2] & 0x12 == 0x12 for p in u.packets)]
    syn_reported, syn_taken = set(), set()
    check(dead, "no unanswered SYN on the backend leg")
    for dc in downs:
        for dr in dc.requests:
            resp = first_response_after(dc, dr["t"])
            check(resp is not None, f"{dr['uri']}: no response")
            if resp["status"] < 500:
                continue
            check(resp["status"] in (503, 504), f"{dr['uri']}: status {resp['status']}")
            syns = [u for u in dead if dr["t"] <= u.syn_t <= resp["t"] and u.cid not in syn_taken][:1]
            syn_taken.update(u.cid for u in syns)
            check(syns, f"{dr['uri']}: no SYN toward the backend while it waited")
            delay = resp["t"] - dr["t"]
            info = {"uri": dr["uri"], "status": resp["status"], "delay": r3(delay),
                    "synAttempts": [{"client": u.cid, "syns": u.syns, "at": r3(u.syn_t - dr["t"])} for u in syns]}
            if opt.proxy == "varnish":
                f = [b for b in plog[0] if b["uri"] == dr["uri"]]
                check(len(f) == 1 and f[0]["errors"], f"{dr['uri']}: varnishlog: no FetchError")
                info["varnishFetchErrors"] = f[0]["errors"]
            else:
                acc = [a for a in plog[0] if a["uri"] == dr["uri"]]
                check(len(acc) == 1, f"{dr['uri']}: access log {acc}")
                info["squidAccess"] = f"{acc[0]['status']} {acc[0]['result']}/{acc[0]['hier']} {acc[0]['ms']} ms"
            fails.append(info)
            expect.append(entry("gateway-timeout", dc,
                                f"{dr['method']} {dr['uri']}: the proxy's SYNs to the backend were never answered; at its "
                                f"connect timeout it answered {resp['status']} after {r3(delay)} s."))
            for u in syns:
                if u.syns > 1 and u.cid not in syn_reported:
                    syn_reported.add(u.cid)
                    expect.append(entry("syn-unanswered", u,
                                        f"the proxy's SYN for {dr['uri']} was sent {u.syns} times, never answered (dropped by "
                                        f"an nftables rule), and abandoned at the proxy's connect timeout."))
    check(len(fails) >= 3, f"only {len(fails)} connect timeouts")
    return expect, {"timeouts": fails}, False


def sc_client_idle_race(conns, downs, ups, plog, clog, opt):
    """The proxy's own idle close of a client connection met the client's next request."""
    expect, races = [], []
    acc = plog[0]
    for d in downs:
        fin = d.first_fin(False)
        r = unanswered_last(d)
        if fin is None or r is None or len(d.requests) < 2:
            continue
        prev = max(x["t"] for x in d.responses)
        got = [x for x in clog if x["uri"] == r["uri"]]
        check(len(got) == 1 and "error" in got[0], f"{r['uri']}: client log {got}")
        check(not any(a["uri"] == r["uri"] for a in acc), f"{r['uri']}: in Squid's access log (it was read)")
        rst = [x for x in d.rsts[False] if x[0] >= r["t"]]
        info = {"method": r["method"], "uri": r["uri"], "idleBeforeRequest": r3(r["t"] - prev),
                "proxyFinAfterRequestMs": bm.r1ms(fin[0] - r["t"]), "requestAcksFin": bm.covers(r["ack"], fin[1]) if fin[0] < r["t"] else False,
                "proxyRstAfterRequestMs": bm.r1ms(rst[0][0] - r["t"]) if rst else None, "clientSaw": got[0]["error"]}
        races.append(info)
        expect.append(entry("keepalive-race", d,
                            f"{r['method']} {r['uri']}: sent after {info['idleBeforeRequest']} s idle; Squid closed this client "
                            f"connection {info['proxyFinAfterRequestMs']} ms after the request arrived without reading it "
                            f"(its client_idle_pconn_timeout, counted in whole seconds, had expired: closed on arrival); "
                            f"not in Squid's access log; the client saw {got[0]['error']}."))
    check(len(races) >= 2, f"only {len(races)} client-side idle races")
    return expect, {"races": races}, False


def sc_healthy(conns, downs, ups, plog, clog, opt):
    for c in conns:
        for r in c.requests:
            resp = first_response_after(c, r["t"])
            check(resp is not None and resp["status"] < 500, f"{c.cid} {r['uri']}: {resp and resp['status']}")
        check(not c.rsts[True] and not c.rsts[False], f"{c.cid}: a RST")
    reuse = sum(max(0, len(u.requests) - 1) for u in ups)
    check(reuse >= 3, f"only {reuse} reuses of backend connections")
    check(any(len(d.requests) > 1 for d in downs), "no client connection carried more than one request")
    return [], {"backendReuses": reuse}, True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--proxy", required=True, choices=["varnish", "squid"])
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--proxy-log", required=True)
    ap.add_argument("--client-log")
    ap.add_argument("--listen", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--ok-backend", help="a second, working backend (its connections are upstream too)")
    ap.add_argument("--configured", nargs="*", default=[])
    ap.add_argument("--require-race-outcomes", default="")
    ap.add_argument("--description", default="")
    ap.add_argument("--software", nargs="*", default=[])
    opt = ap.parse_args()
    opt.require_race_outcomes = [int(x) for x in opt.require_race_outcomes.split(",") if x]
    listen, backend = ipport(opt.listen), ipport(opt.backend)
    ports = {listen[1], backend[1]} | ({ipport(opt.ok_backend)[1]} if opt.ok_backend else set())
    conns = bm.load(opt.capture, sorted(ports))
    downs = [c for c in conns if c.server == listen]
    ups = [c for c in conns if c.server != listen]
    plog = read_varnishlog(opt.proxy_log) if opt.proxy == "varnish" else read_squid(opt.proxy_log)
    clog = bm.read_log(opt.client_log) if opt.client_log else []
    kind = next(k for k in ("keepalive-race", "gateway-timeout", "connect-timeout", "healthy") if opt.scenario.startswith(k))
    if opt.scenario.endswith("-client-idle"):
        kind = "client-idle-race"
    fn = {"client-idle-race": sc_client_idle_race, "keepalive-race": sc_keepalive_race, "gateway-timeout": sc_gateway_timeout,
          "connect-timeout": sc_connect_timeout, "healthy": sc_healthy}[kind]
    try:
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
    if silent:
        meta["silent"] = True
    else:
        meta["silent"] = False
        meta["expect"] = expect
    with open(opt.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(json.dumps({k: v for k, v in observed.items() if k not in ("races", "timeouts")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
