#!/usr/bin/env python3
"""Measure a connection-reuse / timeout sample with tshark and write its meta.json.

Usage: b-meta.py SCENARIO --capture FILE --meta OUT [--client-log FILE]
                 [--http-port P ...] [--set key=value ...]

The capture is measured independently of the programs that made it: tshark gives the
packets, this program rebuilds each TCP connection (a SYN with a new ISN on a 4-tuple
starts a new one), finds FINs, RSTs, request and response starts, and then the
scenario's function checks that the capture really shows what the scenario claims
(e.g. "the request's ACK does not cover the server's FIN, and the server answers RST").
Failing checks print why and exit 1 without writing the meta, so a rerun that records
something else fails loudly instead of leaving a meta.json that lies. The client logs
(JSON lines written by the recorder's clients) only say which connection played which
role and what the application saw (ECONNRESET, 504...); the numbers come from the capture.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys

FIELDS = ["frame.time_relative", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
          "tcp.dstport", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "tcp.payload",
          "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack"]

SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10
METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}


def endpoint_name(host, port):
    """ip:port as conncheck names it: an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


class Conn:
    def __init__(self, client, server, t, isn):
        self.client, self.server = client, server  # (ip, port)
        self.syn_t, self.isn = t, isn
        self.packets = []  # (t, from_client, flags, seq, ack, len, keep-alive probe or probe ACK)
        self.fins = {True: [], False: []}  # from_client -> [(t, sequence number of the FIN)]
        self.rsts = {True: [], False: []}  # from_client -> [(t, ack or None)]
        self.requests = []  # dicts: t, method, uri, seq, ack, len, headers
        self.responses = []  # dicts: t, status, headers, seq, len
        self.syns = 1  # SYNs (first + retransmissions with the same ISN)

    @property
    def cid(self):
        return endpoint_name(*self.client)

    @property
    def sid(self):
        return endpoint_name(*self.server)

    def payload(self, from_client):
        return [p for p in self.packets if p[1] == from_client and p[5] > 0 and not p[6]]

    def first_fin(self, from_client):
        return self.fins[from_client][0] if self.fins[from_client] else None

    def first_rst(self, from_client):
        return self.rsts[from_client][0] if self.rsts[from_client] else None

    def handshake_rtt(self):
        """SYN-ACK -> client's ACK on this capture (server-side capture: the full RTT)."""
        sa = [p for p in self.packets if p[2] & SYN and p[2] & ACK]
        if not sa:
            return None
        ack = [p for p in self.packets if p[1] and p[0] > sa[0][0] and not p[2] & SYN]
        return ack[0][0] - sa[0][0] if ack else None

    def end_t(self):
        return self.packets[-1][0]


def parse_head(data):
    """Start line + headers of an HTTP/1.x message at the start of a segment, or None."""
    end = data.find(b"\r\n\r\n")
    head = data[: end if end >= 0 else len(data)].decode("latin1")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return lines[0], headers


def load(capture, http_ports):
    cmd = ["tshark", "-r", capture, "-T", "fields", "-E", "separator=\t", "-o", "tcp.analyze_sequence_numbers:TRUE"]
    for p in http_ports:
        cmd += ["-d", f"tcp.port=={p},http"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    by_tuple = {}
    conns = []
    for line in out.splitlines():
        v = line.split("\t")
        if len(v) < len(FIELDS) or not v[7]:
            continue
        t = float(v[0])
        src = v[1] or v[3]
        dst = v[2] or v[4]
        sp, dp = int(v[5]), int(v[6])
        flags = int(v[7], 16)
        seq, ack, ln = int(v[8]), int(v[9] or 0), int(v[10] or 0)
        data = bytes.fromhex(v[11].replace(":", "")) if v[11] else b""
        keepalive = bool(v[12]) or bool(v[13])  # TCP keep-alive probe or its ACK: not activity
        a, b = (src, sp), (dst, dp)
        key = tuple(sorted([a, b]))
        c = by_tuple.get(key)
        if flags & SYN and not flags & ACK:
            if c is not None and c.client == a and c.isn == seq:
                c.syns += 1  # retransmitted SYN: same connection
            else:
                c = Conn(a, b, t, seq)
                by_tuple[key] = c
                conns.append(c)
        if c is None:
            continue  # mid-flow start: not used by these samples
        from_client = a == c.client
        c.packets.append((t, from_client, flags, seq, ack, ln, keepalive))
        if flags & FIN:
            c.fins[from_client].append((t, (seq + ln) & 0xFFFFFFFF))
        if flags & RST:
            c.rsts[from_client].append((t, ack if flags & ACK else None))
        if ln and data and not keepalive:
            if from_client and data.split(b" ", 1)[0].decode("latin1") in METHODS:
                start, headers = parse_head(data)
                method, uri = start.split(" ")[:2]
                c.requests.append({"t": t, "method": method, "uri": uri, "seq": seq, "ack": ack,
                                   "len": ln, "headers": headers})
            elif not from_client and data.startswith(b"HTTP/1."):
                start, headers = parse_head(data)
                c.responses.append({"t": t, "status": int(start.split(" ")[1]), "headers": headers,
                                    "seq": seq, "len": ln, "version": start.split(" ")[0]})
    return conns


def read_log(path):
    if not path:
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def covers(ack, fin_seq):
    """Whether an ACK number acknowledges the FIN sent with sequence number fin_seq."""
    return ((ack - ((fin_seq + 1) & 0xFFFFFFFF)) & 0xFFFFFFFF) < 0x80000000


def r3(x):
    return None if x is None else round(x, 3)


def r1ms(x):
    return None if x is None else round(x * 1000.0, 1)


def idle_close(c):
    """The server's FIN after an idle period: (idle gap since the last payload byte of either
    side, since the last packet that is not a keep-alive probe, FIN time, FIN seq), or None."""
    fin = c.first_fin(False)
    if fin is None:
        return None
    cfin, crst = c.first_fin(True), c.first_rst(True)
    if (cfin and cfin[0] < fin[0]) or (crst and crst[0] < fin[0]):
        return None  # the server only answered the client's close
    before = [p for p in c.packets if p[0] < fin[0] and not p[6]]
    last_payload = [p for p in before if p[5] > 0]
    if not last_payload:
        return None
    return (fin[0] - last_payload[-1][0], fin[0] - before[-1][0], fin[0], fin[1])


def race(c):
    """Keep-alive race facts of a connection, or None: a client request after (or crossing)
    the server's idle FIN, and what followed."""
    ic = idle_close(c)
    if ic is None:
        return None
    gap, gap_pkt, t_fin, fin_seq = ic
    # The request that raced: the first request whose bytes were not answered and that was
    # sent after the server went idle (on this server-side capture: after the FIN).
    cands = [r for r in c.requests if r["t"] > t_fin]
    if not cands:
        return None
    r = cands[0]
    acks_fin = covers(r["ack"], fin_seq)
    rst = [x for x in c.rsts[False] if x[0] >= r["t"]]
    resp_after = [x for x in c.responses if x["t"] > r["t"]]
    client_fin = c.first_fin(True)
    return {
        "form": "stale-reuse" if acks_fin else "crossing",
        "method": r["method"], "uri": r["uri"], "requestBytes": r["len"],
        "idempotent": r["method"] in IDEMPOTENT,
        "idleGapSeconds": r3(gap), "idleGapFromLastPacketSeconds": r3(gap_pkt),
        "finAt": r3(t_fin), "requestAt": r3(r["t"]), "deltaMs": r1ms(r["t"] - t_fin),
        "requestAcksFin": acks_fin, "rstAt": r3(rst[0][0]) if rst else None,
        "rstAfterRequestMs": r1ms(rst[0][0] - r["t"]) if rst else None,
        "responseToRequest": bool(resp_after),
        "clientFinBeforeRequest": client_fin is not None and client_fin[0] < r["t"],
        "handshakeRttMs": r1ms(c.handshake_rtt()),
        "retried": False,
    }


def entry(kind, c, notes, **evidence):
    e = {"kind": kind, "client": c.cid if c else None, "server": c.sid if isinstance(c, Conn) else None,
         "notes": notes}
    if evidence:
        e["evidence"] = evidence
    return e


def endpoint_entry(kind, server, notes, **evidence):
    e = {"kind": kind, "client": None, "server": server, "notes": notes}
    if evidence:
        e["evidence"] = evidence
    return e


def spread_ok(values, rel=0.02, abs_s=0.020):
    if len(values) < 2:
        return True
    m = statistics.median(values)
    return max(abs(v - m) for v in values) <= max(rel * m, abs_s)


def summary(conns):
    states = {}
    for c in conns:
        if c.rsts[True] or c.rsts[False]:
            s = "RST"
        elif c.fins[True] and c.fins[False]:
            s = "FIN-both"
        elif c.fins[True] or c.fins[False]:
            s = "FIN-one-side"
        else:
            s = "open"
        states[s] = states.get(s, 0) + 1
    return {"connections": len(conns), "requests": sum(len(c.requests) for c in conns),
            "responses": sum(len(c.responses) for c in conns), "closeStates": states}


def versions(*names):
    out = []
    for n in names:
        if n == "node":
            out.append("node " + subprocess.run(["node", "-v"], capture_output=True, text=True).stdout.strip())
        elif n == "python":
            out.append(subprocess.run(["python3", "--version"], capture_output=True, text=True).stdout.strip())
        elif n == "nginx":
            r = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
            out.append((r.stderr or r.stdout).strip().replace("nginx version: ", ""))
        elif n == "haproxy":
            r = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
            out.append(r.split(" - ")[0])
        elif n == "curl":
            out.append(subprocess.run(["curl", "-V"], capture_output=True, text=True).stdout.split("\n")[0].split(" (")[0])
    return out


# ---------------------------------------------------------------- scenarios

def race_entries(conns, log, server_desc):
    """keepalive-race entries for every raced connection; probes (idle, never reused) clean."""
    expect, races = [], []
    for c in conns:
        rc = race(c)
        if rc is None:
            continue
        check(rc["rstAt"] is not None, f"{c.cid}: no RST from the server after the racing request")
        check(not rc["responseToRequest"], f"{c.cid}: the racing request got a response")
        check(not rc["clientFinBeforeRequest"], f"{c.cid}: client FIN before the request")
        races.append((c, rc))
        if rc["form"] == "crossing":
            why = (f"{rc['method']} {rc['uri']} left the client before the server's idle-timeout FIN reached it "
                   f"(its ACK {'covers' if rc['requestAcksFin'] else 'does not cover'} the FIN; on this "
                   f"server-side capture it appears {rc['deltaMs']} ms after the FIN: it was in flight when the FIN left; "
                   f"handshake RTT {rc['handshakeRttMs']} ms); "
                   f"{server_desc} had closed and answered RST {rc['rstAfterRequestMs']} ms after the request arrived; "
                   f"the client saw ECONNRESET.")
        else:
            why = (f"stale reuse: {rc['method']} {rc['uri']} ACKs the server's FIN (the client's kernel had it) "
                   f"and was sent {rc['deltaMs']} ms after it; {server_desc} answered RST.")
        if not rc["idempotent"]:
            why += " Non-idempotent method: a blind retry could duplicate it."
        expect.append(entry("keepalive-race", c, why, **rc))
    return expect, races


def reused_idle_gaps(c):
    """Idle gaps (s) before each reuse: from the end of a response to the next request."""
    gaps = []
    for r in c.requests[1:]:
        prev = [p for p in c.payload(False) if p[0] < r["t"]]
        if prev:
            gaps.append(r["t"] - prev[-1][0])
    return gaps


def idle_from_response_start(c):
    """Server FIN time minus the start of the last response before it (a server that writes
    headers and body separately may have its last segment held back by Nagle)."""
    fin = c.first_fin(False)
    prev = [x for x in c.responses if fin and x["t"] < fin[0]]
    return fin[0] - prev[-1]["t"] if prev else None


def find_retry(conns, failed, rc, within=0.2):
    """The new connection that re-sends a failed request: the first connection opened after
    the failure (within `within` s) whose first request has the same method, URI and length,
    and for which this failure is the latest preceding failure of that request."""
    for d in conns:
        if d is failed or not d.requests or not (rc["requestAt"] < d.syn_t <= rc["requestAt"] + within):
            continue
        q = d.requests[0]
        if (q["method"], q["uri"], q["len"]) == (rc["method"], rc["uri"], rc["requestBytes"]):
            return d
    return None


def sc_keepalive_race_crossing(conns, log, opt):
    expect, races = race_entries(conns, log, "the Node server")
    crossing = [rc for _, rc in races if rc["form"] == "crossing"]
    check(any(r["method"] == "GET" for r in crossing), "no GET crossing in the capture")
    check(any(r["method"] == "POST" for r in crossing), "no POST crossing in the capture")
    raced = {c.cid for c, _ in races}
    closes = []
    for c in conns:
        ic = idle_close(c)
        if ic:
            closes.append(ic[0])
        if c.cid in raced:
            continue
        check(ic is not None and not c.rsts[False] and len(c.requests) == 1,
              f"{c.cid}: a probe connection should be one exchange then the server's idle FIN")
        expect.append(entry(None, c, f"probe: one exchange, then idle until the server's FIN at idle "
                                     f"{ic[0]:.3f} s; the client closes too. Clean."))
    t_s = statistics.median(closes)
    check(abs(t_s - 3.0) <= 0.03, f"server idle close {t_s:.3f} s, expected keepAliveTimeout 2 s + Node's 1 s buffer")
    check(spread_ok(closes), f"idle closes do not agree: {closes}")
    adv = sorted({x["headers"].get("keep-alive") for c in conns for x in c.responses})
    reuse = [g for c, _ in races for g in reused_idle_gaps(c)]
    expect.append(endpoint_entry(
        "idle-timeout-mismatch", conns[0].sid,
        f"{len(closes)} connections closed by the server after {min(closes):.3f}-{max(closes):.3f} s idle "
        f"(T_s = {t_s:.3f} s = Node keepAliveTimeout 2 s + 1 s buffer; it advertises {adv}) and the client "
        f"reuses connections after {min(reuse):.3f}-{max(reuse):.3f} s idle as seen here at the server (at the "
        f"client: T_s minus a few ms, less than one RTT before the FIN arrived): the races are the consequence. "
        f"(The server closes later than it advertises, so a client that trusted the header would be safe; this "
        f"one does not.)",
        inferredServerIdleTimeoutSeconds=r3(t_s), advertised=adv, clientReuseGapsSeconds=[r3(g) for g in reuse]))
    observed = {"serverIdleCloseSeconds": [r3(x) for x in sorted(closes)],
                "serverIdleCloseMedianSeconds": r3(t_s),
                "crossingDeltaMs": sorted(r["deltaMs"] for r in crossing),
                "oneWayDelayMs": opt.get("delayMs"), "advertisedKeepAlive": adv,
                "clientOutcomes": sorted({l["outcome"] for l in log if l.get("role") == "race"})}
    return {
        "description": (
            "Keep-alive race, crossing form. A Node http server (keepAliveTimeout 2000 ms, so it destroys idle "
            "sockets after 3.0 s: Node 20 adds a 1 s buffer, and advertises Keep-Alive: timeout=2) behind a "
            f"{opt.get('delayMs')} ms one-way-latency link; a raw net client that behaves like a pool: two probe "
            "connections measure when the server's FIN reaches the client, then race connections (GET and POST) "
            "send their second request a few ms before that instant. The request and the FIN cross on the wire; "
            "the server, already closed, answers RST; the client sees ECONNRESET. Captured on the server side "
            "(10.99.0.2), so each racing request appears a few ms after the FIN, with an ACK number that does "
            "not cover the FIN. An attempt that loses the race by a fraction of a millisecond is a stale reuse "
            "instead (its request ACKs the FIN); each connection's form is in expect."),
        "software": versions("node") + ["node http server", "node net (raw client acting as a buggy pool)",
                                        "user-space delay line (python3, tun) for path latency"],
        "configured": {"keepAliveTimeout": 2.0, "serverIdleTimeout": 3.0, "advertisedKeepAliveTimeout": 2,
                       "oneWayDelayMs": opt.get("delayMs")},
        "configuredNotes": "serverIdleTimeout is what Node 20 really does: keepAliveTimeout + 1 s "
                           "(HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER); tests should compare inferred idle timeouts to it.",
        "observed": observed, "expect": expect, "silent": False, "captureSide": "server (tun ccbs in the server namespace)",
    }


def sc_keepalive_race_stale(conns, log, opt):
    expect, races = race_entries(conns, log, "the Node server")
    stale = [(c, rc) for c, rc in races if rc["form"] == "stale-reuse"]
    check(len(stale) >= 2 and len(stale) == len(races), "expected only stale reuses")
    retries = []
    for c, rc in stale:
        d = find_retry(conns, c, rc)
        check(d is not None, f"{c.cid}: no retry on a new connection")
        check(d.responses and d.responses[0]["status"] < 300, f"{d.cid}: retry not answered")
        gap = d.requests[0]["t"] - rc["requestAt"]
        rc["retried"] = True
        rc["retryClient"] = d.cid
        retries.append((d, c, rc, gap))
    retry_of = {c.cid: d.cid for d, c, _, _ in retries}
    for e in expect:
        e["evidence"]["retried"] = True
        e["evidence"]["retryClient"] = retry_of[e["client"]]
        e["notes"] += f" The client then retried the same request on a new connection ({retry_of[e['client']]})."
    for d, c, rc, gap in retries:
        sev = "warning: non-idempotent POST sent twice (the first copy was never processed here, but a client cannot know)" \
            if not rc["idempotent"] else "info: idempotent"
        expect.append(entry("retried-request", d,
                            f"{rc['method']} {rc['uri']} ({rc['requestBytes']} bytes) sent again on a new connection "
                            f"{gap * 1000:.1f} ms after it failed on {c.cid} (stale reuse, RST); {sev}. The retry succeeds "
                            f"(status {d.responses[0]['status']}).",
                            method=rc["method"], uri=rc["uri"], failedOn=c.cid, afterMs=r1ms(gap),
                            idempotent=rc["idempotent"]))
    closes = [idle_close(c)[0] for c, _ in stale]
    return {
        "description": (
            "Keep-alive race, stale-reuse form, on loopback. A Node http server (keepAliveTimeout 1000 ms: it "
            "closes idle sockets after 2.0 s) and a raw net client acting as a pool that ignores 'end': after the "
            "server's FIN has arrived (the client's kernel has it: the late request's ACK covers it) it hands the dead connection out "
            f"{', '.join(str(x) for x in opt.get('staleDelays', []))} ms later (GET, then POST). The request ACKs "
            "the FIN; the closed server socket answers RST; the client gets no response (ECONNRESET / socket hang "
            "up) and retries the same request at once on a new connection, which succeeds."),
        "software": versions("node") + ["node http server", "node net (raw client acting as a buggy pool)"],
        "configured": {"keepAliveTimeout": 1.0, "serverIdleTimeout": 2.0, "advertisedKeepAliveTimeout": 1,
                       "staleDelaysMs": opt.get("staleDelays")},
        "configuredNotes": "serverIdleTimeout = keepAliveTimeout + Node 20's 1 s buffer. Only two idle closes "
                           "are in the capture: too few to infer the timeout (idle-timeout-mismatch needs 3).",
        "observed": {"serverIdleCloseSeconds": [r3(x) for x in closes],
                     "staleDeltaMs": [rc["deltaMs"] for _, rc in stale],
                     "retryAfterFailureMs": [r1ms(g) for _, _, _, g in retries]},
        "expect": expect, "silent": False,
    }


def sc_keepalive_race_python(conns, log, opt):
    expect, races = race_entries(conns, log, "python http.server (ThreadingHTTPServer)")
    check(any(rc["form"] == "crossing" and rc["method"] == "GET" for _, rc in races), "no GET crossing")
    check(any(rc["form"] == "crossing" and rc["method"] == "POST" for _, rc in races), "no POST crossing")
    check(any(rc["form"] == "stale-reuse" for _, rc in races), "no stale reuse")
    raced = {c.cid: rc for c, rc in races}
    closes = []
    for c in conns:
        ic = idle_close(c)
        if ic:
            closes.append(ic[0])
    for c, rc in races:
        if rc["form"] != "stale-reuse":
            continue
        d = find_retry(conns, c, rc)
        if d is None:
            continue  # a race attempt that lost by a fraction of a ms: stale, not retried
        check(d.responses, f"{d.cid}: retry not answered")
        for e in expect:
            if e["client"] == c.cid:
                e["evidence"]["retried"] = True
                e["evidence"]["retryClient"] = d.cid
                e["notes"] += f" The client then retried the same request on a new connection ({d.cid})."
        gap = d.requests[0]["t"] - rc["requestAt"]
        rc["retried"] = True
        rc["retryClient"] = d.cid
        expect.append(entry("retried-request", d, f"{rc['method']} {rc['uri']} sent again on a new connection "
                            f"{gap * 1000:.1f} ms after the stale reuse on {c.cid} failed; answered "
                            f"{d.responses[0]['status']}.", method=rc["method"], uri=rc["uri"], failedOn=c.cid,
                            afterMs=r1ms(gap), idempotent=rc["idempotent"]))
        raced[d.cid] = "retry"
    check(any(v == "retry" for v in raced.values()), "no retried stale reuse")
    for c in conns:
        if c.cid in raced:
            continue
        ic = idle_close(c)
        check(ic is not None and len(c.requests) == 1 and not c.rsts[False], f"{c.cid}: unexpected probe shape")
        expect.append(entry(None, c, f"probe: one exchange, then the server's idle close after {ic[0]:.3f} s. Clean."))
    t_s = statistics.median(closes)
    check(abs(t_s - 1.5) <= 0.03, f"python idle close {t_s:.3f} s, expected 1.5")
    check(spread_ok(closes), f"idle closes disagree: {closes}")
    reuse = [g for c, rc in races for g in reused_idle_gaps(c) if rc["form"] == "crossing"]
    expect.append(endpoint_entry(
        "idle-timeout-mismatch", conns[0].sid,
        f"{len(closes)} connections closed by the server after {min(closes):.3f}-{max(closes):.3f} s idle "
        f"(T_s = {t_s:.3f} s: StreamRequestHandler.timeout = 1.5, the read timeout of http.server; no Keep-Alive "
        f"header is sent) and connections are reused after up to {max(reuse):.3f} s idle: races are the consequence.",
        inferredServerIdleTimeoutSeconds=r3(t_s), clientReuseGapsSeconds=[r3(g) for g in reuse]))
    return {
        "description": (
            "The keep-alive race against python3 http.server (ThreadingHTTPServer, protocol_version HTTP/1.1, "
            "StreamRequestHandler.timeout = 1.5: an idle connection's read times out after 1.5 s and the server "
            f"shuts it down with FIN). {opt.get('delayMs')} ms one-way latency; captured on the server side. Probe "
            "connections measure the close; race connections send GET and POST just before the FIN arrives "
            "(crossing); one more connection is reused 30 ms after the FIN (stale reuse) and its request retried "
            "on a new connection. The closed server socket answers every late request with RST."),
        "software": versions("python", "node") + ["python http.server ThreadingHTTPServer",
                                                  "node net (raw client acting as a buggy pool)",
                                                  "user-space delay line (python3, tun) for path latency"],
        "configured": {"serverIdleTimeout": 1.5, "oneWayDelayMs": opt.get("delayMs")},
        "configuredNotes": "serverIdleTimeout is StreamRequestHandler.timeout (socket read timeout), counted from "
                           "when the handler has written its response. http.server writes the headers and the body "
                           "in two send() calls and does not disable Nagle, so the body segment leaves one RTT "
                           "(~10 ms) later: the idle gap after the last payload byte is ~1.490 s, after the start of "
                           "the response ~1.500 s. Both are within the tests' 20 ms tolerance.",
        "observed": {"serverIdleCloseSeconds": [r3(x) for x in sorted(closes)], "serverIdleCloseMedianSeconds": r3(t_s),
                     "serverIdleCloseFromResponseStartSeconds": sorted(
                         r3(idle_from_response_start(c)) for c in conns if idle_close(c)),
                     "raceDeltaMs": {c.cid: rc["deltaMs"] for c, rc in races},
                     "forms": {c.cid: rc["form"] for c, rc in races}},
        "expect": expect, "silent": False, "captureSide": "server (tun ccbs in the server namespace)",
    }


def sc_idle_timeout_mismatch(conns, log, opt):
    closes, reuse, kap = [], [], 0
    expect = []
    for c in conns:
        ic = idle_close(c)
        check(ic is not None, f"{c.cid}: not closed by the server's idle timeout")
        check(not c.rsts[False] and not c.rsts[True], f"{c.cid}: has a RST")
        check(all(r["t"] < ic[2] for r in c.requests), f"{c.cid}: request after the server FIN")
        check(len(c.responses) == len(c.requests), f"{c.cid}: unanswered request")
        closes.append(ic[0])
        g = reused_idle_gaps(c)
        reuse += g
        kap += sum(1 for p in c.packets if p[6])
        expect.append(entry(None, c, f"{len(c.requests)} exchanges, reused after idle gaps "
                            f"{', '.join(f'{x:.3f}' for x in g)} s, then closed by the server after {ic[0]:.3f} s "
                            f"idle. No race on this connection (no per-connection finding); TCP keep-alive probes "
                            f"from the client (Node agent: keepAliveMsecs 1000) during the longer gaps are not data.",
                            reuseGapsSeconds=[r3(x) for x in g], serverIdleCloseSeconds=r3(ic[0])))
    check(len(closes) >= 4, "need at least 4 idle closes")
    t_s = statistics.median(closes)
    check(abs(t_s - 2.0) <= 0.03 and spread_ok(closes), f"idle closes {closes}")
    check(max(reuse) >= 1.85, f"largest reuse gap {max(reuse):.3f} s")
    adv = sorted({x["headers"].get("keep-alive") for c in conns for x in c.responses})
    check(adv == ["timeout=5"], f"advertised {adv}")
    expect.insert(0, endpoint_entry(
        "idle-timeout-mismatch", conns[0].sid,
        f"The server closed {len(closes)} idle connections after {min(closes):.3f}-{max(closes):.3f} s "
        f"(T_s = {t_s:.3f} s) although every response advertises Keep-Alive: timeout=5. Clients reuse connections "
        f"after up to {max(reuse):.3f} s idle (T_s minus {1000 * (t_s - max(reuse)):.0f} ms): no race yet, but a "
        f"client that trusts the header (the Node agent would keep sockets 4 s: timeout=5 minus its 1 s margin) "
        f"will race. Fix: make the server advertise what it does (or raise its timeout), or give the client an "
        f"idle timeout well below 2 s.",
        inferredServerIdleTimeoutSeconds=r3(t_s), advertisedSeconds=5, maxClientReuseGapSeconds=r3(max(reuse))))
    return {
        "description": (
            "Idle-timeout mismatch without a race (yet). A Node http server whose idle sockets close after 2.0 s "
            "(keepAliveTimeout 1000 ms + Node 20's 1 s buffer) but which sends its own header Keep-Alive: timeout=5 "
            "(Node then does not derive the header from keepAliveTimeout). Four Node http.Agent pools (keepAlive, "
            "maxSockets 1, timeout 5000 like Node's global agent) in parallel reuse their connection after gaps "
            "of 0.3, 1.2, 1.6 and 1.9 s, then let it idle; the server closes each after 2.0 s idle. The agents' "
            "TCP keep-alive probes (every 1 s of idle) appear during the long gaps."),
        "software": versions("node") + ["node http server", "node http.Agent keepAlive"],
        "configured": {"keepAliveTimeout": 1.0, "serverIdleTimeout": 2.0, "advertisedKeepAliveTimeout": 5,
                       "clientReuseGapsSeconds": [0.3, 1.2, 1.6, 1.9], "clientFreeSocketTimeout": 5.0},
        "configuredNotes": "serverIdleTimeout = keepAliveTimeout + Node 20's 1 s buffer; the advertised value is a "
                           "header set by the application.",
        "observed": {"serverIdleCloseSeconds": [r3(x) for x in sorted(closes)], "serverIdleCloseMedianSeconds": r3(t_s),
                     "clientReuseGapsSeconds": sorted(r3(x) for x in reuse), "advertisedKeepAlive": adv,
                     "tcpKeepAliveProbes": kap},
        "expect": expect, "silent": False,
    }


def sc_request_after_close_notice(conns, log, opt):
    expect = []
    bad = 0
    for c in conns:
        closing = [r for r in c.responses if r["headers"].get("connection", "").lower() == "close"]
        after = [q for q in c.requests if closing and q["t"] > closing[0]["t"]]
        if after:
            bad += 1
            q = after[0]
            sfin = c.first_fin(False)
            acks_fin = sfin is not None and covers(q["ack"], sfin[1])
            rst = c.first_rst(False)
            check(rst is not None and rst[0] >= q["t"], f"{c.cid}: no RST after the late request")
            g = (sfin[0] - closing[0]["t"]) if sfin else None
            expect.append(entry(
                "request-after-close-notice", c,
                f"The response at {closing[0]['t']:.4f} s said Connection: close; {q['method']} {q['uri']} followed "
                f"{1000 * (q['t'] - closing[0]['t']):.1f} ms later on the same connection "
                f"({'after' if acks_fin else 'before'} the server's FIN reached the client: its ACK "
                f"{'covers' if acks_fin else 'does not cover'} the FIN); the server answered RST. Not a keep-alive "
                f"race: the server announced the close and closed {1000 * g:.1f} ms after the response, not after "
                f"an idle timeout, so keepalive-race must not be reported here. The RST is the consequence of the "
                f"late request (the response had been delivered and ACKed, and the server's FIN came first): no "
                f"rst-on-close or reset-before-response either.",
                method=q["method"], uri=q["uri"], afterNoticeMs=r1ms(q["t"] - closing[0]["t"]),
                requestAcksFin=acks_fin, serverFinAfterResponseMs=r1ms(g), rstAt=r3(rst[0])))
        else:
            check(not c.rsts[False] and not c.rsts[True], f"{c.cid}: RST on a clean connection")
            expect.append(entry(None, c, "one exchange (" + ", ".join(f"{r['method']} {r['uri']}" for r in c.requests) +
                                "); the client honours Connection: close (if any) and the connection closes "
                                "cleanly. Clean."))
    check(bad >= 2, "expected at least 2 requests after a close notice")
    forms = [e["evidence"]["requestAcksFin"] for e in expect if e["kind"]]
    check(True in forms and False in forms, "want late requests both before and after the FIN reached the client")
    return {
        "description": (
            "A Node http server answers /close... with Connection: close and closes after the response. A raw "
            "net client sends another request on that connection anyway: four times as soon as it has read the "
            "response (sometimes before the server's FIN reached it, sometimes just after), once 30 ms after the "
            "FIN arrived. The server answers RST (after its FIN). Then a "
            "well-behaved client gets a Connection: close response and opens a new connection for its next "
            "request (clean)."),
        "software": versions("node") + ["node http server", "node net (raw client)"],
        "configured": {"serverIdleTimeout": 5.0},
        "configuredNotes": "Node default keepAliveTimeout 5 s (never reached).",
        "observed": {"lateRequests": bad,
                     "lateRequestAfterNoticeMs": [e["evidence"]["afterNoticeMs"] for e in expect if e["kind"]],
                     "lateRequestAcksFin": forms}, "expect": expect, "silent": False,
    }


def sc_connection_churn(conns, log, opt):
    check(len(conns) >= 25, f"only {len(conns)} connections")
    for c in conns:
        check(len(c.requests) == 1 and len(c.responses) == 1, f"{c.cid}: not one exchange")
        check(c.responses[0]["headers"].get("connection", "").lower() == "keep-alive", f"{c.cid}: server not keep-alive")
        check(c.requests[0]["headers"].get("connection", "").lower() == "keep-alive", f"{c.cid}: request not keep-alive")
        fc, fs = c.first_fin(True), c.first_fin(False)
        check(fc is not None and (fs is None or fc[0] < fs[0]), f"{c.cid}: the client does not close first")
        check(not c.rsts[True] and not c.rsts[False], f"{c.cid}: RST")
    dur = conns[-1].syn_t - conns[0].syn_t
    rate = (len(conns) - 1) / dur if dur > 0 else None
    ports = sorted(c.client[1] for c in conns)
    expect = [{"kind": "connection-churn", "client": conns[0].client[0], "server": conns[0].sid,
               "notes": f"{len(conns)} connections for {sum(len(c.requests) for c in conns)} requests (1.0 per request) "
                        f"in {dur:.3f} s ({rate:.1f} new connections/s) from one client host, although every response "
                        f"says Connection: keep-alive with Keep-Alive: timeout=5. The client closes first each time, so "
                        f"every connection leaves a TIME_WAIT on the client (60 s on Linux): {len(conns)} ephemeral "
                        f"ports tied up. Fix: a keep-alive agent.",
               "evidence": {"connections": len(conns), "requests": sum(len(c.requests) for c in conns),
                            "connectionsPerRequest": 1.0, "newConnectionsPerSecond": round(rate, 1),
                            "clientClosesFirst": True, "clientPorts": ports}}]
    for c in conns:
        expect.append(entry(None, c, "one exchange, client FIN first: no per-connection anomaly (the churn finding is "
                                     "about the client/server pair)."))
    return {
        "description": (
            f"Connection churn: a Node http client with an Agent {{keepAlive: false, maxSockets: 4}} sends "
            f"{len(conns)} sequential GETs, 20 ms apart, each on a new connection. Because maxSockets is finite "
            "the request says Connection: keep-alive and the Node server (keepAliveTimeout 5 s) answers keep-alive, "
            "but the agent destroys each socket after its response (client FIN first)."),
        "software": versions("node") + ["node http server", "node http.Agent keepAlive:false"],
        "configured": {"serverIdleTimeout": 6.0, "keepAliveTimeout": 5.0, "requests": len(conns),
                       "requestIntervalSeconds": 0.02},
        "configuredNotes": "serverIdleTimeout = keepAliveTimeout + Node 20's 1 s buffer (never reached here).",
        "observed": {"connections": len(conns), "durationSeconds": r3(dur), "newConnectionsPerSecond": round(rate, 1)},
        "expect": expect, "silent": False,
    }


def sc_port_reuse(conns, log, opt):
    by_tuple = {}
    for c in conns:
        by_tuple.setdefault((c.cid, c.sid), []).append(c)
    expect = []
    reuses = []
    for (cid, sid), lst in by_tuple.items():
        for prev, c in zip(lst, lst[1:]):
            pf = [x[0] for x in prev.fins[True] + prev.fins[False] + prev.rsts[True] + prev.rsts[False]]
            closed_at = prev.end_t()
            first_closer = "server" if prev.first_fin(False) and (not prev.first_fin(True) or prev.first_fin(False)[0] < prev.first_fin(True)[0]) else "client"
            tw = "server" if first_closer == "server" else "client"
            gap = c.syn_t - closed_at
            check(c.isn != prev.isn, "same ISN: would be a retransmission")
            check(len(c.responses) >= 1, f"reuse at {c.syn_t:.3f} not answered")
            reuses.append((c, prev, gap, tw))
            expect.append({
                "kind": "port-reuse", "client": cid, "server": sid,
                "notes": f"SYN at {c.syn_t:.4f} s with a new ISN ({c.isn}, previous {prev.isn}) on the 4-tuple whose "
                         f"previous connection ended {gap * 1000:.1f} ms earlier (closed first by the {first_closer}, so "
                         f"that side still held it in TIME_WAIT); the new connection succeeds. A new connection, not a "
                         f"retransmitted SYN.",
                "evidence": {"synAt": r3(c.syn_t), "previousEndedAt": r3(closed_at), "gapMs": r1ms(gap),
                             "newIsn": c.isn, "previousIsn": prev.isn, "timeWaitHeldBy": tw}})
    check(len(reuses) >= 3, f"only {len(reuses)} reuses")
    check(any(r[3] == "server" for r in reuses) and any(r[3] == "client" for r in reuses),
          "want reuses of both a server-side and a client-side TIME_WAIT")
    others = [c for c in conns if sum(1 for d in conns if d.cid == c.cid and d.sid == c.sid) == 1]
    for c in others:
        expect.append(entry(None, c, "a connection from an ordinary ephemeral port: clean."))
    return {
        "description": (
            "Port reuse: a raw net client binds local port 40000 for four successive connections to a Node http "
            "server. The first two requests get Connection: close, so the server closes first and keeps the "
            "4-tuple in TIME_WAIT; the client reconnects from the same port 30 and 50 ms later and its SYN (new "
            "ISN) hits that TIME_WAIT, which Linux accepts. On the third connection the client closes first; it "
            "reconnects 150 ms later reusing its own TIME_WAIT (tcp_tw_reuse=2 on loopback, tcp_tw_reuse_delay "
            "lowered to 100 ms in the recording namespace). All connections succeed; a last connection from an "
            "ordinary ephemeral port is clean."),
        "software": versions("node") + ["node http server", "node net (client with localPort)"],
        "configured": {"localPort": 40000, "serverIdleTimeout": 6.0, "tcpTwReuse": 2, "tcpTwReuseDelayMs": 100},
        "observed": {"reuseGapsMs": [r1ms(g) for _, _, g, _ in reuses], "timeWaitHeldBy": [tw for *_, tw in reuses]},
        "expect": expect, "silent": False,
    }


def sc_unanswered_request_timeout(conns, log, opt):
    expect, waits = [], []
    for c in conns:
        un = [r for r in c.requests if not any(x["t"] > r["t"] for x in c.responses)]
        if un:
            r = un[0]
            fc = c.first_fin(True)
            rc = c.first_rst(True)
            closer = fc or rc
            check(closer is not None, f"{c.cid}: unanswered request but no client close")
            acked = any(not p[1] and ((p[4] - (r["seq"] + r["len"])) & 0xFFFFFFFF) < 0x80000000 and p[0] >= r["t"]
                        for p in c.packets)
            check(acked, f"{c.cid}: server did not ACK the request")
            wait = closer[0] - r["t"]
            waits.append(wait)
            reused = len(c.requests) > 1
            expect.append(entry(
                "unanswered-request", c,
                f"{r['method']} {r['uri']} (ACKed by the server: the application hangs) got no response byte; "
                f"the client gave up after {wait:.3f} s and closed with {'FIN' if fc else 'RST'}"
                f"{' (on a reused keep-alive connection, after an answered request)' if reused else ''}.",
                method=r["method"], uri=r["uri"], waitSeconds=r3(wait), closedBy="client",
                closedWith="FIN" if fc else "RST", serverAcked=True))
        else:
            check(not c.rsts[False], f"{c.cid}: RST on a clean connection")
            expect.append(entry(None, c, f"{len(c.requests)} answered request(s); clean."))
    check(len(waits) >= 4, f"only {len(waits)} unanswered requests")
    t = statistics.median(waits)
    check(abs(t - 1.5) <= 0.03 and spread_ok(waits), f"client timeouts {waits}")
    for e in expect:
        if e["kind"]:
            e["notes"] += (f" Across flows the {len(waits)} unanswered requests all end after {min(waits):.3f}-"
                           f"{max(waits):.3f} s: inferred client timeout {t:.3f} s (configured 1.5 s).")
    return {
        "description": (
            "Unanswered requests: a Node http server never answers /hang (it reads the request, its TCP stack ACKs "
            "it, the handler never responds). A Node http client with timeout: 1500 on each request destroys the "
            "socket when the timeout fires (FIN). Five hung requests (three on new connections, two on keep-alive "
            "connections reused after an answered request) and a few answered ones."),
        "software": versions("node") + ["node http server", "node http.request (timeout option)"],
        "configured": {"clientTimeout": 1.5, "serverIdleTimeout": 6.0},
        "configuredNotes": "clientTimeout is the http.request timeout option (socket inactivity from the request write).",
        "observed": {"waitSeconds": sorted(r3(w) for w in waits), "medianWaitSeconds": r3(t)},
        "expect": expect, "silent": False,
    }


def split_legs(conns, proxy_port, backend_port):
    front = [c for c in conns if c.server[1] == proxy_port]
    back = [c for c in conns if c.server[1] == backend_port]
    return front, back


def sc_gateway_timeout_nginx(conns, log, opt):
    front, back = split_legs(conns, 8080, 9001)
    expect, delays, up_waits = [], [], []
    for c in front:
        check(len(c.requests) == 1 and len(c.responses) == 1, f"{c.cid}: not one exchange")
        r, s = c.requests[0], c.responses[0]
        if s["status"] == 504:
            d = s["t"] - r["t"]
            delays.append(d)
            legs = [b for b in back if b.syn_t >= r["t"] and b.syn_t <= s["t"] and b.requests
                    and b.requests[0]["uri"] == r["uri"]]
            check(len(legs) == 1, f"{c.cid}: upstream leg not found uniquely ({len(legs)})")
            expect.append(entry(
                "gateway-timeout", c,
                f"{r['method']} {r['uri']} answered 504 by nginx after {d:.3f} s = proxy_read_timeout 1s; the "
                f"upstream leg {legs[0].cid} -> {legs[0].sid} carried the request and got no response.",
                status=504, delaySeconds=r3(d), upstreamLeg=legs[0].cid))
        else:
            check(s["status"] == 200, f"{c.cid}: status {s['status']}")
            expect.append(entry(None, c, f"{r['method']} {r['uri']} answered 200 in {1000 * (s['t'] - r['t']):.1f} ms; clean."))
    for b in back:
        check(len(b.requests) == 1, f"{b.cid}: not one request")
        r = b.requests[0]
        if b.responses:
            expect.append(entry(None, b, f"proxy->backend {r['method']} {r['uri']} answered; clean (nginx "
                                         "upstream HTTP/1.0, Connection: close)."))
            continue
        fin = b.first_fin(True)
        check(fin is not None, f"{b.cid}: nginx did not close the hung upstream leg")
        w = fin[0] - r["t"]
        up_waits.append(w)
        expect.append(entry(
            "unanswered-request", b,
            f"proxy->backend leg: {r['method']} {r['uri']} ACKed by the backend, no response; nginx closed the "
            f"upstream connection (FIN) after {w:.3f} s (proxy_read_timeout 1s) and answered 504 on the client leg.",
            method=r["method"], uri=r["uri"], waitSeconds=r3(w), closedBy="client (nginx)", closedWith="FIN"))
    check(len(delays) >= 3, f"only {len(delays)} 504s")
    check(abs(statistics.median(delays) - 1.0) <= 0.03 and spread_ok(delays), f"504 delays {delays}")
    check(len(up_waits) == len(delays), "hung upstream legs != 504s")
    return {
        "description": (
            "Gateway timeout: nginx (proxy_read_timeout 1s) in front of a Node http backend that never answers "
            "/hang. Three curl clients request /hang at once and get 504 Gateway Time-out after 1.0 s; nginx closes "
            "each upstream connection at the same moment. Fast requests to /fast before and after are proxied and "
            "answered 200. Both legs captured on the namespace's loopback: clients 127.0.0.1 -> nginx 127.0.0.2:8080, "
            "nginx 127.0.0.2 (proxy_bind) -> backend 127.0.0.3:9001; nginx sends its upstream requests as HTTP/1.0 "
            "with Connection: close."),
        "software": versions("nginx", "node", "curl") + ["node http server (backend)"],
        "configured": {"proxyReadTimeout": 1.0, "upstreamTimeout": 1.0},
        "observed": {"gateway504DelaySeconds": sorted(r3(x) for x in delays),
                     "upstreamCloseAfterSeconds": sorted(r3(x) for x in up_waits)},
        "expect": expect, "silent": False,
    }


def sc_no_upstream_connect_haproxy(conns, log, opt):
    front, back = split_legs(conns, 8080, 9001)
    expect, delays = [], []
    for c in front:
        check(len(c.requests) == 1 and len(c.responses) == 1, f"{c.cid}: not one exchange")
        r, s = c.requests[0], c.responses[0]
        open_back = [b for b in back if b.syn_t <= r["t"] and (b.end_t() >= r["t"])]
        new_back = [b for b in back if r["t"] <= b.syn_t <= s["t"]]
        if s["status"] == 503:
            d = s["t"] - r["t"]
            delays.append(d)
            check(not new_back, f"{c.cid}: a backend SYN while it was queued")
            expect.append(entry(
                "no-upstream-connect", c,
                f"{r['method']} {r['uri']} answered 503 by HAProxy after {d:.3f} s (timeout queue 1s) without any "
                f"SYN to the backend meanwhile; {len(open_back)} proxy->backend connection(s) open during the wait "
                f"(server maxconn 1). gateway-timeout must not be reported instead: no upstream leg exists for it.",
                status=503, delaySeconds=r3(d), concurrentBackendConnections=len(open_back)))
        else:
            check(s["status"] == 200, f"{c.cid}: status {s['status']}")
            expect.append(entry(None, c, f"{r['method']} {r['uri']} answered 200 after {s['t'] - r['t']:.3f} s "
                                         "(slow backend; queued first if it waited for the single slot); clean."))
    for b in back:
        check(all(any(x["t"] > q["t"] for x in b.responses) for q in b.requests), f"{b.cid}: unanswered backend request")
        expect.append(entry(None, b, f"proxy->backend leg, {len(b.requests)} slow request(s) answered after "
                                     f"{b.responses[0]['t'] - b.requests[0]['t']:.3f} s; HAProxy keeps it open (idle) "
                                     f"until the capture ends; clean."))
    check(len(delays) >= 3, f"only {len(delays)} 503s")
    check(abs(statistics.median(delays) - 1.0) <= 0.03 and spread_ok(delays), f"503 delays {delays}")
    return {
        "description": (
            "No upstream connect: HAProxy in front of a slow Node backend (/slow answers after 2.5 s) limited to one "
            "concurrent connection (server s1 127.0.0.1:9001 maxconn 1, timeout queue 1s). Four curl clients at "
            "once: one is forwarded, the three others wait in HAProxy's queue and get 503 after 1.0 s; HAProxy "
            "never opens a backend connection for them (its log: be/<NOSRV> 503 sQ--). A fifth client arriving 1.8 s "
            "later waits less than 1 s in the queue, is forwarded when the slot frees, on a new backend connection "
            "(http-reuse safe never gives a session's first request another session's idle connection), and gets "
            "200. Both legs captured on the namespace's loopback: clients 127.0.0.1 -> HAProxy 127.0.0.2:8080; "
            "HAProxy 127.0.0.2 (source) -> backend 127.0.0.3:9001. HAProxy keeps both backend connections open "
            "(idle) until the capture ends."),
        "software": versions("haproxy", "node", "curl") + ["node http server (backend)"],
        "configured": {"queueTimeout": 1.0, "proxyQueueTimeout": 1.0, "upstreamTimeout": 1.0, "serverMaxconn": 1, "backendDelaySeconds": 2.5},
        "configuredNotes": "upstreamTimeout = HAProxy timeout queue (the only timeout that fires here). proxyQueueTimeout = the same HAProxy timeout queue, under the name no-upstream-connect infers it.",
        "observed": {"queue503DelaySeconds": sorted(r3(x) for x in delays), "backendConnections": len(back)},
        "expect": expect, "silent": False,
    }


def sc_no_upstream_connect_haproxy_loopback(conns, log, opt):
    body = sc_no_upstream_connect_haproxy(conns, log, opt)
    body["description"] = (
        "No upstream connect with everything on one address, as when a proxy is tried out on one host: HAProxy "
        "127.0.0.1:8080 in front of a slow Node backend 127.0.0.1:9001 (/slow answers after 2.5 s) limited to one "
        "concurrent connection (server maxconn 1, timeout queue 1s); the curl clients also come from 127.0.0.1. Four "
        "clients at once: one is forwarded, the three others wait in HAProxy's queue and get 503 after 1.0 s without "
        "any backend connection opened for them (its log: be/<NOSRV> 503 sQ--); a fifth, 1.8 s later, is served after "
        "a shorter wait. The proxy's upstream connections come from the address its clients use: only the endpoint "
        "they go to (9001, not 8080) tells the upstream leg from the downstream one.")
    return body


def sc_gateway_timeout_nginx_other_address(conns, log, opt):
    body = sc_gateway_timeout_nginx(conns, log, opt)
    body["description"] = (
        "Gateway timeout from a proxy that connects to its backend from another address than it listens on, as one "
        "with a client-facing and a backend-facing interface does: nginx (proxy_read_timeout 1s) listens on "
        "127.0.0.2:8080 and connects from 127.0.0.4 (proxy_bind) to a Node http backend 127.0.0.3:9001 that never "
        "answers /hang. Three curl clients 127.0.0.1 request /hang at once and get 504 Gateway Time-out after 1.0 s; "
        "nginx closes each upstream connection at the same moment. Fast requests to /fast before and after are "
        "proxied and answered 200. Nothing in the packets says 127.0.0.4 belongs to the proxy: the analysis learns it "
        "from the requests 127.0.0.4 sent to the backend while the clients' copies waited at 127.0.0.2.")
    return body


def sc_no_upstream_connect_haproxy_other_address(conns, log, opt):
    body = sc_no_upstream_connect_haproxy(conns, log, opt)
    body["description"] = (
        "No upstream connect from a proxy that connects to its backend from another address than it listens on, "
        "as one with a client-facing and a backend-facing interface does: curl clients 127.0.0.1 -> HAProxy "
        "127.0.0.2:8080; HAProxy 127.0.0.4 (server ... source 127.0.0.4) -> slow Node backend 127.0.0.3:9001 "
        "(/slow answers after 2.5 s), limited to one concurrent connection (server maxconn 1, timeout queue 1s). Four "
        "clients at once: one is forwarded, the three others wait in HAProxy's queue and get 503 after 1.0 s without "
        "any backend connection opened for them (its log: be/<NOSRV> 503 sQ--); a fifth, 1.8 s later, is served after "
        "a shorter wait. Nothing in the packets says 127.0.0.4 belongs to the proxy: the analysis learns it from the "
        "two forwarded requests, which 127.0.0.4 sent to the backend while the clients' copies waited at 127.0.0.2.")
    return body


def sc_no_upstream_connect_haproxy_served_meanwhile(conns, log, opt):
    """HAProxy maxconn 1 + timeout queue 1s, seven identical requests at once: the slot serves four
    one after another (each answered and relayed), three wait in the queue and get 503 at 1 s."""
    front, back = split_legs(conns, 8080, 9001)
    expect, delays, served = [], [], []
    for c in front:
        check(len(c.requests) == 1 and len(c.responses) == 1, f"{c.cid}: not one exchange")
        r, s = c.requests[0], c.responses[0]
        if s["status"] == 503:
            d = s["t"] - r["t"]
            delays.append(d)
            # Every backend request sent during the wait was answered and that answer relayed: the
            # front answer with status 200 that began within 50 ms after it.
            meanwhile = [q for b in back for q in b.requests if r["t"] <= q["t"] <= s["t"]]
            expect.append(entry(
                "no-upstream-connect", c,
                f"{r['method']} {r['uri']} answered 503 by HAProxy after {d:.3f} s (timeout queue 1s, server maxconn 1); "
                f"it never left HAProxy. Meanwhile {len(meanwhile)} identical request(s) of other clients went to the "
                f"backend, each answered 200 and relayed to its own client: none is this request's copy, so "
                f"gateway-timeout (a read timeout of the backend's service time) must not be reported.",
                status=503, delaySeconds=r3(d)))
        else:
            check(s["status"] == 200, f"{c.cid}: status {s['status']}")
            served.append(c)
            expect.append(entry(None, c, f"{r['method']} {r['uri']} answered 200 after {s['t'] - r['t']:.3f} s "
                                         "(queued for the single slot, then served); clean."))
    relays = 0
    for b in back:
        check(all(any(x["t"] > q["t"] for x in b.responses) for q in b.requests), f"{b.cid}: unanswered backend request")
        for q in b.requests:
            ans = min(x["t"] for x in b.responses if x["t"] > q["t"])
            if any(0 <= c.responses[0]["t"] - ans <= 0.05 and c.responses[0]["status"] == 200 for c in served):
                relays += 1
        expect.append(entry(None, b, f"proxy->backend leg, {len(b.requests)} request(s) answered 200 after "
                                     f"{b.responses[0]['t'] - b.requests[0]['t']:.3f} s and relayed to their clients; clean."))
    check(len(delays) >= 3, f"only {len(delays)} 503s")
    check(len(served) >= 3, f"only {len(served)} served")
    check(relays == sum(len(b.requests) for b in back), f"{relays} relayed backend answers")
    check(abs(statistics.median(delays) - 1.0) <= 0.03 and spread_ok(delays), f"503 delays {delays}")
    late = [b for b in back if any(r["t"] <= b.requests[0]["t"] and min(x["t"] for x in b.responses) > min(c.responses[0]["t"] for c in front if c.responses[0]["status"] == 503) for r in [b.requests[0]])]
    return {
        "description": (
            "No upstream connect while the slot serves others (blind round 13b, S8): HAProxy 127.0.0.2:8080 in front "
            "of a Node backend 127.0.0.3:9001 whose /slow?ms=300 answers after 0.3 s, server maxconn 1, timeout queue "
            "1s. Seven curl clients ask the same GET /slow?ms=300 at once: HAProxy forwards them one at a time, four "
            "are served (each backend answer relayed at once to its client), and the three still queued after 1 s get "
            "HAProxy's own 503 (its log: be/<NOSRV> 503 sQ--) without ever leaving it. The backend requests sent "
            "meanwhile carry the same method and URI, and the last one is answered after the 503s: they are the "
            "served clients' requests, not copies of the failed ones. Both legs captured on the namespace's loopback."),
        "software": versions("haproxy", "node", "curl") + ["node http server (backend)"],
        "configured": {"queueTimeout": 1.0, "proxyQueueTimeout": 1.0, "serverMaxconn": 1, "backendDelaySeconds": 0.3, "timeoutServer": 10.0},
        "configuredNotes": "proxyQueueTimeout = HAProxy timeout queue, the only timeout that fires here; timeout server (10 s) never does.",
        "observed": {"queue503DelaySeconds": sorted(r3(x) for x in delays), "backendRequests": sum(len(b.requests) for b in back),
                     "backendAnswersRelayed": relays, "backendAnswersAfterThe503s": len(late)},
        "expect": expect, "silent": False,
    }


def sc_unanswered_request_ab_run_end(conns, log, opt):
    """ab -c 4 -t 1.2 against a server answering one request at a time after 0.3 s: its run ends
    with requests of different ages in flight, all closed by ab at one moment."""
    expect, cut = [], []
    for c in conns:
        if not c.requests:
            # ab opens its next connection as the run ends and closes it before writing.
            check(c.first_fin(True) is not None, f"{c.cid}: no request and no close by ab")
            expect.append(entry(None, c, "opened by ab as its run ended and closed before any request; clean."))
            continue
        check(len(c.requests) == 1, f"{c.cid}: {len(c.requests)} requests")
        r = c.requests[0]
        cfin = c.first_fin(True)
        answered_in_time = [x for x in c.responses if cfin is None or x["t"] < cfin[0]]
        if answered_in_time:
            expect.append(entry(None, c, f"{r['method']} {r['uri']} answered 200 after {answered_in_time[0]['t'] - r['t']:.3f} s; clean."))
            continue
        check(cfin is not None, f"{c.cid}: neither answered nor closed by ab")
        cut.append((c, cfin[0] - r["t"], cfin[0]))
    check(len(cut) >= 3, f"only {len(cut)} requests in flight at ab's end")
    closes = [t for _, _, t in cut]
    ages = [a for _, a, _ in cut]
    check(max(closes) - min(closes) <= 0.005, f"ab's closes spread {max(closes) - min(closes):.4f} s")
    check(max(ages) - min(ages) >= 0.1, f"ages alike {ages}")
    for c, age, t in cut:
        expect.append(entry(
            "unanswered-request", c,
            f"GET /slow closed by ab {age:.3f} s after the request, together with the other {len(cut) - 1} in flight "
            f"(all within {1000 * (max(closes) - min(closes)):.1f} ms): ab's -t 1.2 ended its run; ab -s 5, so no "
            f"request timeout fired. One event of the client (it sent nothing after), no client timeout.",
            requestAgeSeconds=r3(age)))
    return {
        "description": (
            "A client's run ending with requests in flight (blind round 13b, S5a and S14): ab -c 4 -t 1.2 -s 5 "
            "against a single-threaded Python server 127.0.0.3:9001 that answers each GET /slow after 0.3 s, one at "
            "a time (the others wait in its accept queue). At 1.2 s ab's time limit ends the run: it closes its "
            f"{len(cut)} connections at one moment, their requests {min(ages):.2f}-{max(ages):.2f} s old and "
            "unanswered; the server answers them later into closed sockets. Client leg on the namespace's loopback."),
        "software": versions("python") + [subprocess.run(["ab", "-V"], capture_output=True, text=True).stdout.splitlines()[0].replace("This is ", "").rstrip(","), "python3 http.server (single-threaded, serial-slow-server.py)"],
        "configured": {"abTimeLimit": 1.2, "abRequestTimeout": 5.0, "serverDelaySeconds": 0.3, "concurrency": 4},
        "configuredNotes": "No timer fires: ab's -s 5 request timeout is longer than any wait; its -t 1.2 ends the run.",
        "observed": {"cutAgesSeconds": sorted(r3(a) for a in ages), "closesSpreadMs": r1ms(max(closes) - min(closes)),
                     "serverLogLines": len(log)},
        "expect": expect, "silent": False,
    }


SCENARIOS = {
    "keepalive-race-crossing": sc_keepalive_race_crossing,
    "keepalive-race-stale": sc_keepalive_race_stale,
    "keepalive-race-python": sc_keepalive_race_python,
    "idle-timeout-mismatch": sc_idle_timeout_mismatch,
    "request-after-close-notice": sc_request_after_close_notice,
    "connection-churn": sc_connection_churn,
    "port-reuse": sc_port_reuse,
    "unanswered-request-timeout": sc_unanswered_request_timeout,
    "unanswered-request-ab-run-end": sc_unanswered_request_ab_run_end,
    "gateway-timeout-nginx": sc_gateway_timeout_nginx,
    "no-upstream-connect-haproxy": sc_no_upstream_connect_haproxy,
    "no-upstream-connect-haproxy-loopback": sc_no_upstream_connect_haproxy_loopback,
    "no-upstream-connect-haproxy-served-meanwhile": sc_no_upstream_connect_haproxy_served_meanwhile,
    "no-upstream-connect-haproxy-other-address": sc_no_upstream_connect_haproxy_other_address,
    "gateway-timeout-nginx-other-address": sc_gateway_timeout_nginx_other_address,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--client-log", action="append", default=[])
    ap.add_argument("--http-port", action="append", default=["8080"])
    ap.add_argument("--set", action="append", default=[], help="key=json value passed to the scenario")
    ap.add_argument("--print", action="store_true", help="print the meta instead of writing it")
    a = ap.parse_args()
    opt = {}
    for kv in a.set:
        k, v = kv.split("=", 1)
        opt[k] = json.loads(v)
    conns = load(a.capture, a.http_port)
    log = [x for f in a.client_log for x in read_log(f)]
    try:
        check(conns, "no TCP connection in the capture")
        body = SCENARIOS[a.scenario](conns, log, opt)
    except CheckFailed as e:
        print(f"b-meta {a.scenario}: capture does not show the scenario: {e}", file=sys.stderr)
        return 1
    meta = {"scenario": a.scenario}
    meta.update(body)
    meta["facts"] = summary(conns)
    meta["facts"]["captureFile"] = a.capture.rsplit("/", 1)[-1]
    text = json.dumps(meta, indent=2) + "\n"
    if a.print:
        sys.stdout.write(text)
    else:
        with open(a.meta, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
