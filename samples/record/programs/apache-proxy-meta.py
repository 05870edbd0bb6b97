#!/usr/bin/env python3
"""Check an Apache 2.4 reverse-proxy sample against Apache's own logs and write its meta.json.

Usage: apache-proxy-meta.py SCENARIO --capture FILE --meta OUT --error-log FILE --access-log FILE
                            --proxy-port P --backend-port P [--client-log FILE] [--software S ...]
                            [--set key=value ...]

SCENARIO is one of keepalive-race-apache-proxy, gateway-timeout-apache-proxy,
gateway-timeout-apache-mount-root, connect-timeout-apache-proxy, backend-down-apache-proxy,
healthy-apache-proxy. The capture is rebuilt with b-meta.py's tshark
reader; Apache's error log (AH codes, with the client's port) and access log (status, time taken,
client port) say what Apache did with each request, and every failure they name must be the one
the capture shows, and the other way round. Any failing check prints why and exits 1 without
writing the meta.
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

ACCESS = re.compile(r'^(\S+) (\S+):(\d+) "(\S+) (\S+) HTTP/1\.[01]" (\d+) (\S+) conn=(\S) D=(\d+) backend=(\S+)$')


def read_access(path):
    out = []
    for line in open(path):
        m = ACCESS.match(line.strip())
        check(m, f"access log line not understood: {line.strip()}")
        out.append({"t": float(m.group(1)), "clientPort": int(m.group(3)), "method": m.group(4), "uri": m.group(5),
                    "status": int(m.group(6)), "conn": m.group(8), "tookUs": int(m.group(9)), "backend": m.group(10)})
    return out


def read_errors(path):
    """(AH code, client port or None, line) of each message at level error or above, and AH01104 (debug)."""
    out = []
    for line in open(path):
        m = re.search(r"\] (?:\([^)]*\)[^:]*: )?(?:\[client [^\]]*\] )?(AH\d{5})", line)
        if not m:
            continue
        code = m.group(1)
        if ":error]" not in line and code != "AH01104":
            continue
        c = re.search(r"\[client [\d.]+:(\d+)\]", line)
        out.append((code, int(c.group(1)) if c else None, line.strip()))
    return out


def ah(errors, code):
    return [e for e in errors if e[0] == code]


def last_unanswered(c):
    """The last request of c when nothing answered it, else None."""
    if not c.requests:
        return None
    r = c.requests[-1]
    return None if any(x["t"] >= r["t"] for x in c.responses) else r


def server_close(c, after):
    """The backend's/proxy's (server side of c) first FIN or RST at or after `after`: (t, 'FIN'|'RST') or None."""
    ev = [(t, "FIN") for t, _ in c.fins[False] if t >= after] + [(t, "RST") for t, _ in c.rsts[False] if t >= after]
    return min(ev) if ev else None


def idle_close_gaps(ups):
    gaps = []
    for c in ups:
        fin = c.first_fin(False)
        if fin is None or not c.responses:
            continue
        cfin = c.first_fin(True)
        if cfin is not None and cfin[0] < fin[0]:
            continue
        if c.requests and c.requests[-1]["t"] > c.responses[-1]["t"] and c.requests[-1]["t"] < fin[0]:
            continue  # a request outstanding: not an idle close
        last = [p for p in c.packets if p[0] < fin[0] and p[5] > 0]
        gaps.append(fin[0] - last[-1][0])
    return gaps


def by_client_port(conns, port):
    found = [c for c in conns if c.client[1] == port]
    check(len(found) == 1, f"{len(found)} connections from client port {port}")
    return found[0]


def keepalive_race(conns, downs, ups, access, errors, client_log, opt):
    failed = ah(errors, "AH01102")
    check(failed, "Apache logged no AH01102 (error reading status line): no race in this recording")
    check(not any("(70007)" in e[2] for e in failed), "a read timeout among the AH01102s (not this scenario)")
    closing = {e[1] for e in ah(errors, "AH01104")}
    used_ups = set()
    races, expect = [], []
    for code, port, line in failed:
        d = by_client_port(downs, port)
        logged = [a for a in access if a["clientPort"] == port and a["status"] == 502]
        check(len(logged) == 1, f"client port {port}: {len(logged)} 502s in the access log")
        a = logged[0]
        check(port in closing, f"client port {port}: no AH01104 (closing the client connection)")
        r = last_unanswered(d)
        check(r is not None and (r["method"], r["uri"]) == (a["method"], a["uri"]),
              f"client port {port}: the capture's last request is not the unanswered {a['method']} {a['uri']}")
        close = server_close(d, r["t"])
        check(close is not None, f"{d.cid}: Apache did not close the client connection after {a['uri']}")
        copies = [u for u in ups if any((x["method"], x["uri"]) == (a["method"], a["uri"]) for x in u.requests)]
        check(len(copies) == 1, f"{a['uri']}: forwarded on {len(copies)} upstream connections (Apache does not retry)")
        u = copies[0]
        used_ups.add(u.cid)
        ur = last_unanswered(u)
        check(ur is not None and ur["uri"] == a["uri"], f"{u.cid}: {a['uri']} is not its last, unanswered request")
        check(len(u.requests) >= 2, f"{u.cid}: {a['uri']} was its first request (not a reused connection)")
        prev = [x for x in u.responses if x["t"] < ur["t"]][-1]
        fin = u.first_fin(False)
        rst = [x for x in u.rsts[False] if x[0] >= ur["t"]]
        check(rst, f"{u.cid}: no RST from the backend after {a['uri']}")
        if fin is not None and fin[0] <= ur["t"] + 0.05:
            form = "stale-reuse" if fin[0] <= ur["t"] and bm.covers(ur["ack"], fin[1]) else "crossing"
        else:
            form = "closed-on-arrival"
        cl = [x for x in client_log if x.get("uri") == a["uri"]]
        check(cl and "error" in cl[0], f"{a['uri']}: the client did not see an error")
        ev = {
            "form": form, "method": a["method"], "uri": a["uri"], "upstreamRequestAt": bm.r3(ur["t"]),
            "idleBeforeRequest": bm.r3(ur["t"] - prev["t"]),
            "backendFinAt": bm.r3(fin[0]) if fin else None, "backendRstAt": bm.r3(rst[0][0]),
            "clientRequestAt": bm.r3(r["t"]), "proxyClosedClientAfterMs": bm.r1ms(close[0] - r["t"]),
            "proxyClosedClientWith": close[1], "apacheAccessStatus": 502, "apacheErrors": ["AH01102", "AH01104"],
            "clientSaw": cl[0]["error"],
        }
        races.append(ev)
        expect.append(bm.entry("keepalive-race", u,
            f"{a['method']} {a['uri']}: Apache sent it on a pooled backend connection {ev['idleBeforeRequest']} s after that connection's last response, "
            f"as the backend's idle FIN crossed it ({form}); the backend reset it and Apache logged AH01102 (error reading status line).", **ev))
        expect.append(bm.entry("unanswered-request", d,
            f"{a['method']} {a['uri']}: Apache read it, forwarded it on {u.cid}, and when that failed closed this client connection without a response "
            f"({ev['proxyClosedClientAfterMs']} ms after the request; AH01104 \"Closing connection to client\"; access log 502, the client saw {cl[0]['error']})."))
    # Every upstream request left unanswered is one Apache logged.
    for u in ups:
        if last_unanswered(u) is not None:
            check(u.cid in used_ups, f"{u.cid}: an unanswered upstream request Apache did not log")
    gaps = idle_close_gaps(ups)
    check(len(gaps) >= 3 and bm.spread_ok(gaps), f"backend idle closes: {gaps}")
    backend = ups[0].sid
    expect.append(bm.endpoint_entry("idle-timeout-mismatch", backend,
        f"the backend closes idle connections after {bm.r3(statistics.median(gaps))} s and Apache reuses its pooled connections after as long "
        f"(ProxyPass without ttl=: Apache only checks that no FIN has arrived before reuse)."))
    failed_ports = {e[1] for e in failed}
    for d in downs:
        if d.client[1] not in failed_ports:
            expect.append(bm.entry(None, d, "a client keep-alive connection whose requests were all answered."))
    # AH00951 (debug): a pooled connection found closed (its FIN had arrived) and not reused.
    disconnected = sum(1 for line in open(opt.error_log) if "AH00951" in line)
    check(disconnected >= 1, "Apache never found a pooled connection closed before reuse (AH00951)")
    observed = {"races": races, "pooledFoundClosedBeforeReuse": disconnected, "backendIdleCloses": len(gaps), "backendIdleCloseMedian": bm.r3(statistics.median(gaps)),
                "clientRequests": len(client_log), "apache502": sum(1 for a in access if a["status"] == 502)}
    desc = (f"Keep-alive race on Apache mod_proxy's backend leg. Apache 2.4 (event MPM, one child) proxies 127.0.0.2:8080 with "
            f"ProxyPass / http://10.99.0.2:9001/ (connection reuse on by default, no ttl=) to a Node http server (keepAliveTimeout 300 ms: "
            f"Node 20 closes idle connections after 1.3 s) 5 ms one way away (a delay line), connecting from 10.99.0.1. "
            f"A Node http.Agent client (keepAlive, maxSockets 1) sends {len(client_log)} requests (every second one a POST) with think times of "
            f"1.288-1.300 s. Before reusing a pooled connection Apache checks that no FIN has arrived (AH00951 'backend socket is disconnected' "
            f"when one has), so only requests that cross the backend's FIN on the wire fail: {disconnected} pooled connections were found closed and not reused, {len(races)} requests crossed the FIN; the backend reset each, Apache logged "
            f"AH01102 and, as it does for a request that failed on a reused backend connection, closed the client connection without a "
            f"response (AH01104; the access log says 502, the client saw ECONNRESET). Apache does not retry. Captured in Apache's namespace (-i any).")
    return desc, expect, observed, {"serverIdleTimeout": 1.3}


def gateway_timeout(conns, downs, ups, access, errors, client_log, opt):
    timeouts = [e for e in ah(errors, "AH01102") if "(70007)" in e[2]]
    check(len(timeouts) >= 2, f"{len(timeouts)} AH01102 read timeouts")
    check(not [e for e in errors if e[0] not in ("AH01102", "AH00898")], f"other errors: {[e[2] for e in errors if e[0] not in ('AH01102', 'AH00898')]}")
    expect, waits = [], []
    for code, port, line in timeouts:
        d = by_client_port(downs, port)
        logged = [a for a in access if a["clientPort"] == port and a["status"] == 502]
        check(len(logged) == 1, f"client port {port}: {len(logged)} 502s in the access log")
        a = logged[0]
        r = d.requests[-1]
        resp = [x for x in d.responses if x["t"] > r["t"]]
        check(resp and resp[0]["status"] == 502, f"{d.cid}: no 502 after {a['uri']}")
        wait = resp[0]["t"] - r["t"]
        check(abs(wait - opt.timeout) < 0.05, f"{d.cid}: 502 after {wait} s")
        copies = [u for u in ups if any(x["uri"] == a["uri"] for x in u.requests)]
        check(len(copies) == 1, f"{a['uri']}: forwarded on {len(copies)} upstream connections")
        u = copies[0]
        ur = last_unanswered(u)
        check(ur is not None and ur["uri"] == a["uri"], f"{u.cid}: {a['uri']} was answered upstream")
        cfin = u.first_fin(True)
        check(cfin is not None and abs(cfin[0] - resp[0]["t"]) < 0.01, f"{u.cid}: Apache did not close it with the 502")
        waits.append(wait)
        ev = {"uri": a["uri"], "requestAt": bm.r3(r["t"]), "status502At": bm.r3(resp[0]["t"]), "waitSeconds": bm.r3(wait),
              "upstreamClosedByProxyAt": bm.r3(cfin[0]), "apacheTookUs": a["tookUs"], "apacheError": "AH01102 (70007) The timeout specified has expired"}
        expect.append(bm.entry("gateway-timeout", d, f"GET {a['uri']}: Apache answered 502 after {bm.r3(wait)} s, its ProxyPass timeout=1 (AH01102, read timeout), "
                               f"and closed the upstream connection {u.cid} at the same moment.", **ev))
        expect.append(bm.entry("unanswered-request", u, f"GET {a['uri']}: the backend never answered before Apache gave up and closed this upstream connection (FIN) after {bm.r3(cfin[0] - ur['t'])} s."))
    for d in downs:
        if not any(e[1] == d.client[1] for e in timeouts):
            check(all(x["status"] == 200 for x in d.responses) and last_unanswered(d) is None, f"{d.cid}: not all answered 200")
            expect.append(bm.entry(None, d, "fast requests, answered 200."))
    desc = (f"Gateway timeout from Apache mod_proxy: Apache 2.4 (event MPM) on 127.0.0.2:8080 with ProxyPass / http://127.0.0.3:9001/ timeout={opt.timeout:g} "
            f"(ProxySourceAddress 127.0.0.2) in front of a Node http server whose /slow?ms=2500 answers after 2.5 s. curl asks two fast URIs on one connection, "
            f"then {len(timeouts)} curl clients ask /slow at once, then one more fast request. Apache gives up on each slow request after {bm.r3(statistics.median(waits))} s: "
            f"error log AH01102 '(70007) The timeout specified has expired', access log 502 (Apache answers a backend read timeout 502, not 504), "
            f"and it closes the upstream connection with its 502.")
    return desc, expect, {"waits": [bm.r3(w) for w in waits]}, {"proxyReadTimeout": opt.timeout}


def gateway_timeout_mount_root(conns, downs, ups, access, errors, client_log, opt):
    """ProxyPass /b/ http://backend/ timeout=1 in front of one gunicorn sync worker: a slow request's
    502, then GET /b/ (sent on as GET /) queued behind it, Apache's timer firing again. Apache strips
    the mount prefix, so each 502's upstream copy is its URI without it."""
    mount = opt.mount
    check(mount, "--mount is required")

    def upstream_uri(uri):
        return uri[len(mount):] if uri.startswith(mount + "/") else uri

    timeouts = [e for e in ah(errors, "AH01102") if "(70007)" in e[2]]
    check(len(timeouts) == 2, f"{len(timeouts)} AH01102 read timeouts, expected 2")
    others = [e for e in errors if e[0] not in ("AH01102", "AH00898")]
    check(not others, f"other errors: {[e[2] for e in others]}")
    logged502 = [a for a in access if a["status"] == 502]
    check(len(logged502) == 2, f"{len(logged502)} 502s in the access log")
    check(any(a["uri"] == mount + "/" for a in logged502), f"the mount point {mount}/ was not answered 502")
    expect, waits = [], []
    for a in logged502:
        d = by_client_port(downs, a["clientPort"])
        reqs = [r for r in d.requests if r["uri"] == a["uri"]]
        check(len(reqs) == 1, f"{d.cid}: {len(reqs)} requests for {a['uri']}")
        r = reqs[0]
        resp = [x for x in d.responses if x["t"] > r["t"]]
        check(resp and resp[0]["status"] == 502, f"{d.cid}: no 502 after {a['uri']}")
        wait = resp[0]["t"] - r["t"]
        check(abs(wait - opt.timeout) < 0.1, f"{d.cid}: 502 after {wait} s")
        want = upstream_uri(a["uri"])
        copies = [u for u in ups if any(x["uri"] == want for x in u.requests)]
        check(len(copies) == 1, f"{a['uri']}: its copy {want} on {len(copies)} upstream connections")
        u = copies[0]
        ur = [x for x in u.requests if x["uri"] == want][0]
        cfin = u.first_fin(True)
        check(cfin is not None and abs(cfin[0] - resp[0]["t"]) < 0.01, f"{u.cid}: Apache did not close it with the 502")
        before = [x for x in u.responses if ur["t"] <= x["t"] < cfin[0]]
        check(not before, f"{u.cid}: {want} was answered before Apache gave up")
        late = [x for x in u.responses if x["t"] >= cfin[0]]
        waits.append(wait)
        ev = {"uri": a["uri"], "upstreamUri": want, "requestAt": bm.r3(r["t"]), "status502At": bm.r3(resp[0]["t"]), "waitSeconds": bm.r3(wait),
              "upstreamClosedByProxyAt": bm.r3(cfin[0]), "apacheTookUs": a["tookUs"], "apacheError": "AH01102 (70007) The timeout specified has expired"}
        expect.append(bm.entry("gateway-timeout", d, f"GET {a['uri']}: Apache answered 502 after {bm.r3(wait)} s (ProxyPass timeout=1, AH01102 read timeout); "
                               f"it had sent the request on as GET {want} on {u.cid} and closed that connection with the 502.", **ev))
        expect.append(bm.entry("unanswered-request", u, f"GET {want}: gunicorn's single sync worker had not answered when Apache closed this upstream connection "
                               f"(FIN) {bm.r3(cfin[0] - ur['t'])} s after it" + (f"; it answered {late[0]['status']} {bm.r3(late[0]['t'] - ur['t'])} s after the request, "
                               "into the closed connection (reset)." if late else ".")))
    for d in downs:
        if not any(a["clientPort"] == d.client[1] for a in logged502):
            check(all(x["status"] == 200 for x in d.responses) and last_unanswered(d) is None, f"{d.cid}: not all answered 200")
    check(len(client_log) == len(access), f"{len(client_log)} client answers for {len(access)} access log lines")
    desc = (f"Apache 2.4 mod_proxy mapping a prefix onto its backend's root: `ProxyPass {mount}/ http://127.0.0.3:{opt.backend_port}/ timeout={opt.timeout:g}` "
            f"(ProxySourceAddress 127.0.0.2) in front of gunicorn with one sync worker. curl asks, on one connection, {mount}/items/1 (sent on as /items/1, 200), "
            f"{mount}/sleep/3/a (502 after {bm.r3(waits[0])} s, AH01102 read timeout; the worker keeps sleeping), then at once {mount}/ (sent on as GET /, queued behind the "
            f"sleeping worker: 502 after {bm.r3(waits[1])} s, gunicorn answers it later into the closed connection), then {mount}/items/2 once the worker is free (200). "
            f"Both 502s are the ProxyPass timer; their upstream attempts are in the capture, the second one's under the backend's root.")
    return desc, expect, {"waits": [bm.r3(w) for w in waits]}, {"proxyReadTimeout": opt.timeout, "mount": mount + "/", "gunicornWorkers": 1}


def connect_timeout(conns, downs, ups, access, errors, client_log, opt):
    timeouts = [e for e in ah(errors, "AH00957") if "(70007)" in e[2]]
    failed = ah(errors, "AH01114")
    check(len(timeouts) >= 2 and len(failed) == len(timeouts), f"{len(timeouts)} connect timeouts (AH00957), {len(failed)} AH01114")
    dead = [u for u in ups if u.server[1] == opt.down_port]
    check(len(dead) == len(timeouts), f"{len(dead)} connection attempts to port {opt.down_port} for {len(timeouts)} connect timeouts")
    for u in dead:
        check(not [p for p in u.packets if not p[1]], f"{u.cid}: the backend answered a SYN")
        check(not u.requests, f"{u.cid}: carried a request")
    expect, waits = [], []
    for code, port, line in failed:
        d = by_client_port(downs, port)
        logged = [a for a in access if a["clientPort"] == port and a["status"] == 503]
        check(len(logged) == 1, f"client port {port}: {len(logged)} 503s in the access log")
        r = d.requests[-1]
        resp = [x for x in d.responses if x["t"] > r["t"]]
        check(resp and resp[0]["status"] == 503, f"{d.cid}: no 503")
        wait = resp[0]["t"] - r["t"]
        check(abs(wait - opt.timeout) < 0.05, f"{d.cid}: 503 after {wait} s")
        syn = [u for u in dead if r["t"] <= u.syn_t <= resp[0]["t"]]
        check(len(syn) >= 1, f"{d.cid}: no SYN to the backend during the wait")
        waits.append(wait)
        expect.append(bm.entry("gateway-timeout", d, f"GET {r['uri']}: Apache's SYN to port {opt.down_port} was never answered; at its ProxyPass connectiontimeout=1 "
                               f"it gave up (AH00957 '(70007) The timeout specified has expired', AH01114) and answered 503 after {bm.r3(wait)} s.",
                               uri=r["uri"], requestAt=bm.r3(r["t"]), status503At=bm.r3(resp[0]["t"]), waitSeconds=bm.r3(wait),
                               synFrom=syn[0].cid, synsSent=syn[0].syns, apacheTookUs=logged[0]["tookUs"]))
    for u in dead:
        # Every attempt to the dead port, never answered, one after another: an outage (single SYNs: Apache gave up before the kernel's retry).
        expect.append(bm.entry("syn-unanswered", u, f"Apache's SYN to port {opt.down_port} was sent {u.syns} time(s) and never answered: one of "
                               f"{len(dead)} unanswered attempts in a row (an nftables rule drops every SYN)."))
    for d in downs:
        if not any(e[1] == d.client[1] for e in failed):
            check(all(x["status"] == 200 for x in d.responses) and last_unanswered(d) is None, f"{d.cid}: not all answered 200")
            expect.append(bm.entry(None, d, "answered 200 by the working backend."))
    desc = (f"Connect timeout from Apache mod_proxy: Apache 2.4 (event MPM) on 127.0.0.2:8080 (ProxySourceAddress 127.0.0.2) proxies /ok/ to a Node http "
            f"server on 127.0.0.3:9001 and /x/ to http://127.0.0.3:{opt.down_port}/x/ with connectiontimeout=1 timeout=5; an nftables rule drops every SYN to "
            f"port {opt.down_port}. curl asks /ok/1 (200), then /x/1..3 at once and /x/4, /x/5 one after the other: for each, Apache sends a SYN that is never "
            f"answered and after {bm.r3(statistics.median(waits))} s logs AH00957 '(70007) The timeout specified has expired' and AH01114, and answers 503 "
            f"(a standalone worker is not put in error state: every request tries again).")
    return desc, expect, {"waits": [bm.r3(w) for w in waits]}, {"proxyConnectTimeout": opt.timeout}


def backend_down(conns, downs, ups, access, errors, client_log, opt):
    refused = ah(errors, "AH00957")
    check(len(refused) == 1 and len(ah(errors, "AH00959")) == 1, f"{len(refused)} refused connects (expected one, then the worker in error state)")
    in_error = ah(errors, "AH01170")
    check(len(in_error) >= 3, f"{len(in_error)} requests refused while the worker was in error state")
    syns = [u for u in ups if u.server[1] == opt.down_port]
    check(len(syns) == 1 and syns[0].rsts[False] and not syns[0].requests, f"{len(syns)} connection attempts to the down backend")
    u = syns[0]
    check(u.packets[1][2] & bm.RST, f"{u.cid}: the SYN was not answered by RST")
    expect = [bm.entry("connection-refused", u, "Apache's one connection attempt to the down backend: SYN answered by RST (AH00957 Connection refused; AH00959 disabling worker for 5 s).")]
    down_ports = {e[1] for e in ah(errors, "AH01114")} | {e[1] for e in in_error}
    fast = []
    for d in downs:
        for a in [x for x in access if x["clientPort"] == d.client[1]]:
            resp = [x for x in d.responses]
            check(resp, f"{d.cid}: no response")
        if d.client[1] in down_ports:
            r = d.requests[-1]
            resp = [x for x in d.responses if x["t"] > r["t"]]
            check(resp and resp[0]["status"] == 503, f"{d.cid}: not answered 503")
            took = resp[0]["t"] - r["t"]
            if d.client[1] in {e[1] for e in in_error}:
                fast.append(took)
                check(not [x for x in ups if r["t"] <= x.syn_t <= resp[0]["t"]], f"{d.cid}: a SYN upstream while the worker was in error state")
                expect.append(bm.entry(None, d, f"GET {r['uri']}: answered 503 {bm.r1ms(took)} ms after the request without any SYN upstream: "
                                       f"the balancer member was in error state (AH01170 All workers are in error state); no timeout is at work."))
            else:
                expect.append(bm.entry(None, d, f"GET {r['uri']}: answered 503 after the connect was refused (AH01114); the finding is the refusal on the upstream leg."))
        else:
            expect.append(bm.entry(None, d, "answered 200 by the working backend."))
    desc = (f"A backend that is down, behind Apache mod_proxy_balancer: Apache 2.4 (event MPM) on 127.0.0.2:8080 (ProxySourceAddress 127.0.0.2) proxies /ok/ to "
            f"a Node http server on 127.0.0.3:9001 and /down/ to balancer://down, whose one member http://127.0.0.3:{opt.down_port} (retry=5, forcerecovery=Off) "
            f"has nothing listening. curl asks /ok/1 (200), then /down/1..{len(in_error) + 1}, 0.3 s apart, each on its own connection: Apache's one SYN "
            f"to {opt.down_port} is answered by RST (AH00957, AH00959 disabling worker for 5 s, 503); every later request is answered 503 within "
            f"{bm.r1ms(max(fast))} ms without any SYN (AH01170 All workers are in error state): no connect is tried, so nothing to time.")
    return desc, expect, {"fast503Ms": [bm.r1ms(x) for x in fast]}, {}


def healthy(conns, downs, ups, access, errors, client_log, opt):
    check(not errors, f"Apache logged errors: {[e[2] for e in errors][:3]}")
    check(all(a["status"] in (200, 201) for a in access), "a status other than 200/201 in the access log")
    check(all(last_unanswered(c) is None for c in conns), "an unanswered request")
    check(not any(c.rsts[True] or c.rsts[False] for c in conns), "a RST")
    up_requests = sum(len(u.requests) for u in ups)
    check(up_requests >= 2 * len(ups), f"backend connections barely reused: {up_requests} requests on {len(ups)}")
    check(len(client_log) == len(access) and all("status" in x for x in client_log), "the clients did not get every answer")
    desc = (f"Healthy keep-alive through Apache mod_proxy: Apache 2.4 (event MPM, one child) on 127.0.0.2:8080 with ProxyPass / http://127.0.0.3:9001/ "
            f"(ProxySourceAddress 127.0.0.2; connection reuse on by default) in front of a Node http server (keepAliveTimeout 5 s). Three Node http.Agent "
            f"clients (keepAlive, maxSockets 1) send {len(client_log)} requests (every third one a POST) with think times of 20-400 ms; Apache keeps "
            f"{len(ups)} backend connection(s) and reuses them for {up_requests} requests; every request is answered, nothing is reset, and the clients close at the end.")
    return desc, [], {"backendConnections": len(ups), "backendRequests": up_requests}, {}


SCENARIOS = {
    "keepalive-race-apache-proxy": keepalive_race,
    "gateway-timeout-apache-proxy": gateway_timeout,
    "gateway-timeout-apache-mount-root": gateway_timeout_mount_root,
    "backend-down-apache-proxy": backend_down,
    "connect-timeout-apache-proxy": connect_timeout,
    "healthy-apache-proxy": healthy,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--error-log", required=True)
    ap.add_argument("--access-log", required=True)
    ap.add_argument("--client-log")
    ap.add_argument("--proxy-port", type=int, default=8080)
    ap.add_argument("--backend-port", type=int, default=9001)
    ap.add_argument("--down-port", type=int, default=9002)
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--mount", default="", help="the ProxyPass path prefix mapped onto the backend's root (no trailing /)")
    ap.add_argument("--software", nargs="*", default=[])
    a = ap.parse_args()
    try:
        conns = bm.load(a.capture, [a.proxy_port, a.backend_port, a.down_port])
        downs = [c for c in conns if c.server[1] == a.proxy_port]
        ups = [c for c in conns if c.server[1] in (a.backend_port, a.down_port)]
        check(downs and ups, "the capture lacks one of the proxy's legs")
        access = read_access(a.access_log)
        errors = read_errors(a.error_log)
        client_log = bm.read_log(a.client_log)
        desc, expect, observed, configured = SCENARIOS[a.scenario](conns, downs, ups, access, errors, client_log, a)
    except bm.CheckFailed as e:
        print(f"{a.scenario}: check failed: {e}", file=sys.stderr)
        sys.exit(1)
    observed["capture"] = bm.summary(conns)
    meta = {"scenario": a.scenario, "description": desc, "software": a.software}
    if configured:
        meta["configured"] = configured
    meta["observed"] = observed
    if expect and any(e["kind"] is not None for e in expect):
        meta["expect"] = expect
    else:
        meta["silent"] = True
        if expect:
            meta["expect"] = expect
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
