#!/usr/bin/env python3
"""Measure a handshake/reset/stall sample (or one of its silent traps) with tshark,
check that the capture really shows its scenario, and write the sample's meta.json.

The checks are the scenario's claims (SYN retried with the same ISN, RST with a
request outstanding, zero window longer than 1 s, ...), measured independently of
conncheck. When a rerun records something else, this exits 1 and writes nothing, so
a meta.json never lies about its capture. Client ports come from the capture.

Usage: c-meta.py --scenario NAME --capture FILE --configured JSON --out META.json
                 [--software TEXT ...] [--server-port 8080]
"""
import argparse
import json
import re
import subprocess
import sys
from collections import Counter

FIELDS = [
    "frame.number", "frame.time_relative", "tcp.stream",
    "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
    "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
    "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "tcp.window_size", "tcp.window_size_value",
    "tcp.analysis.flags", "tcp.analysis.retransmission", "tcp.analysis.zero_window",
    "tcp.analysis.keep_alive", "tcp.analysis.zero_window_probe",
    "http.request.method", "http.request.uri", "http.request.version",
    "http.response.code", "http.response.version", "http.connection",
    "http.content_length_header",
]


class CheckFailed(Exception):
    pass


def check(cond, message):
    if not cond:
        raise CheckFailed(message)


class Packet:
    __slots__ = ("frame", "t", "stream", "src", "dst", "syn", "ack", "fin", "rst", "seq",
                 "ackno", "len", "win", "win_raw", "analysis", "retrans", "zero_window",
                 "keep_alive", "zw_probe", "method", "uri", "req_version", "status",
                 "resp_version", "connection", "content_length")


def read_packets(capture, server_port):
    cmd = ["tshark", "-r", capture, "-n", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f", "-d", f"tcp.port=={server_port},http",
           # Headers are dissected where they end, without waiting for the body: a request
           # whose upload was cut by a RST still shows its method and Content-Length.
           "-o", "http.desegment_body:FALSE"]
    for field in FIELDS:
        cmd += ["-e", field]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    packets = []
    for line in out.splitlines():
        v = line.split("\t")
        if len(v) < len(FIELDS) or not v[2]:
            continue
        p = Packet()
        p.frame = int(v[0])
        p.t = float(v[1])
        p.stream = int(v[2])
        p.src = f"{v[3]}:{v[4]}"
        p.dst = f"{v[5]}:{v[6]}"
        p.syn, p.ack, p.fin, p.rst = (x in ("1", "True") for x in v[7:11])
        p.seq = int(v[11])
        p.ackno = int(v[12]) if v[12] else 0
        p.len = int(v[13] or 0)
        p.win = int(v[14]) if v[14] else None
        p.win_raw = int(v[15]) if v[15] else None
        p.analysis = v[16] != ""
        p.retrans = v[17] != ""
        p.zero_window = v[18] != ""
        p.keep_alive = v[19] != ""
        p.zw_probe = v[20] != ""
        p.method = v[21] or None
        p.uri = v[22] or None
        p.req_version = v[23] or None
        p.status = int(v[24]) if v[24] else None
        p.resp_version = v[25] or None
        p.connection = v[26] or None
        p.content_length = int(v[27]) if len(v) > 27 and v[27] else None
        packets.append(p)
    return packets


class Conn:
    """One TCP connection seen from the capture, with its client/server roles."""

    def __init__(self, stream, packets, server_port):
        self.stream = stream
        self.packets = packets
        first = packets[0]
        if first.dst.endswith(f":{server_port}"):
            self.client, self.server = first.src, first.dst
        else:
            self.client, self.server = first.dst, first.src

    def from_client(self, p):
        return p.src == self.client

    def c2s(self):
        return [p for p in self.packets if p.src == self.client]

    def s2c(self):
        return [p for p in self.packets if p.src == self.server]

    def syns(self):
        return [p for p in self.c2s() if p.syn and not p.ack]

    def synacks(self):
        return [p for p in self.s2c() if p.syn and p.ack]

    def fins(self, side):
        return [p for p in (self.c2s() if side == "client" else self.s2c()) if p.fin]

    def rsts(self, side):
        return [p for p in (self.c2s() if side == "client" else self.s2c()) if p.rst]

    def requests(self):
        return [p for p in self.c2s() if p.method]

    def responses(self):
        return [p for p in self.s2c() if p.status is not None]

    def first_close(self):
        """'client'/'server' + 'fin'/'rst' of the first FIN or RST, or None."""
        for p in self.packets:
            if p.fin or p.rst:
                return ("client" if p.src == self.client else "server", "rst" if p.rst else "fin", p)
        return None

    def payload_bytes(self, side):
        return sum(p.len for p in (self.c2s() if side == "client" else self.s2c()))


def connections(packets, server_port):
    by_stream = {}
    for p in packets:
        by_stream.setdefault(p.stream, []).append(p)
    return [Conn(s, ps, server_port) for s, ps in sorted(by_stream.items())]


def r3(x):
    return round(x, 3)


def entry(kind, conn, notes):
    return {"kind": kind, "client": conn.client, "server": conn.server, "notes": notes}


def facts_of(conns):
    statuses = Counter()
    methods = Counter()
    for c in conns:
        for p in c.responses():
            statuses[str(p.status)] += 1
        for p in c.requests():
            methods[p.method] += 1
    return {
        "connections": len(conns),
        "syn": sum(len(c.syns()) for c in conns),
        "synAck": sum(len(c.synacks()) for c in conns),
        "fin": sum(len(c.fins("client")) + len(c.fins("server")) for c in conns),
        "rst": sum(len(c.rsts("client")) + len(c.rsts("server")) for c in conns),
        "httpRequests": sum(methods.values()),
        "httpResponses": sum(statuses.values()),
        "methods": dict(sorted(methods.items())),
        "statuses": dict(sorted(statuses.items())),
    }


def data_end(packets):
    """Highest raw sequence number + length (+1 for SYN/FIN) among packets."""
    end = None
    for p in packets:
        e = p.seq + p.len + (1 if p.syn or p.fin else 0)
        end = e if end is None else max(end, e)
    return end


def acked_up_to(packets):
    acks = [p.ackno for p in packets if p.ack and not p.rst]
    return max(acks) if acks else None


def idle_gaps_before_requests(conn):
    """Idle time before each request after the first: request time minus the time of
    the previous packet carrying payload on the connection."""
    gaps = []
    last_payload = None
    for p in conn.packets:
        if p.method and last_payload is not None:
            gaps.append(r3(p.t - last_payload))
        if p.len > 0 or p.method:
            last_payload = p.t
    return gaps


def keepalive_probes(packets_one_way):
    """Zero- or one-byte segments whose seq is the sender's next seq minus 1."""
    probes = []
    nxt = None
    for p in packets_one_way:
        if nxt is not None and p.len <= 1 and not (p.syn or p.fin or p.rst) and p.seq == nxt - 1:
            probes.append(p)
            continue
        e = p.seq + p.len + (1 if p.syn or p.fin else 0)
        nxt = e if nxt is None else max(nxt, e)
    return probes


def fin_retransmissions(packets_one_way):
    fins = [p for p in packets_one_way if p.fin]
    return fins if len(fins) >= 2 and len({p.seq + p.len for p in fins}) == 1 else []


def silent_common(conns):
    """Checks every silent trap shares: all requests answered."""
    for c in conns:
        check(len(c.requests()) == len(c.responses()), f"{c.client}: {len(c.requests())} requests, {len(c.responses())} responses")


# ---------------------------------------------------------------- scenarios
# Each returns (description, silent, expect, measured) or raises CheckFailed.

def syn_unanswered(conns, cfg):
    check(len(conns) == cfg["clients"], f"expected {cfg['clients']} connections, got {len(conns)}")
    first_syns = [c.syns()[0].t for c in conns if c.syns()]
    spread_ms = round((max(first_syns) - min(first_syns)) * 1000, 1)
    expect, measured = [], {}
    late = 0
    for c in conns:
        syns = c.syns()
        check(len(syns) >= 3, f"{c.client}: only {len(syns)} SYNs")
        check(len({p.seq for p in syns}) == 1, f"{c.client}: SYN retries changed the ISN")
        offsets = [r3(p.t - syns[0].t) for p in syns]
        synacks = c.synacks()
        if synacks:
            check(synacks[0].t > syns[-1].t, f"{c.client}: SYN-ACK before the last SYN")
            check(c.responses() and c.responses()[0].status == 200, f"{c.client}: no 200 after the late handshake")
            outcome = f"answered late: SYN-ACK {r3(synacks[0].t - syns[0].t)} s after the first SYN, then GET answered 200"
            late += 1
        else:
            check(not c.rsts("server"), f"{c.client}: refused, not unanswered")
            check(len(c.packets) == len(syns), f"{c.client}: unexpected packets after the SYNs")
            outcome = (f"abandoned: no SYN-ACK; the client gave up at its {cfg['clientConnectTimeout']} s connect "
                       f"timeout after its last SYN at {offsets[-1]} s (nothing on the wire marks it)")
        measured[c.client] = {"synOffsets": offsets, "outcome": outcome.split(":")[0]}
        expect.append(entry("syn-unanswered", c,
            f"{len(syns)} SYNs with the same ISN at {offsets} s ({len(syns) - 1} retries, spacing doubling from 1 s); {outcome}. "
            f"All {len(conns)} clients sent their first SYN to the same listener within {spread_ms} ms: "
            "many at once suggest a full backlog or a blocked listener."))
    check(late == 1, f"expected one late answer, got {late}")
    desc = ("A python http.server listens on 127.0.0.1:8080 but an nftables rule drops every SYN to it. "
            "Four curl clients connect at once; their kernels retry each SYN with the same ISN at 1 s and 3 s "
            "(tcp_syn_retries=3, tcp_syn_linear_timeouts=0: exponential spacing). Three give up at their 3.5 s "
            "connect timeout (no packet: a connect that never completed just vanishes); the rule is removed at 4 s "
            "and the fourth client's 7 s retry is answered: handshake, GET, 200, close.")
    return desc, False, expect, measured


def accept_queue_overflow(conns, cfg):
    expect, measured = [], {}
    kinds = Counter()
    for c in conns:
        syns, synacks = c.syns(), c.synacks()
        client_data = [p for p in c.c2s() if p.len > 0]
        server_acked = acked_up_to(c.s2c())
        data_unacked = bool(client_data) and (server_acked is None or server_acked < data_end(client_data))
        handshake_ack = next((p for p in c.c2s() if p.ack and not p.syn and synacks and p.t > synacks[0].t), None)
        if not synacks:
            check(len(syns) >= 2 and len({p.seq for p in syns}) == 1, f"{c.client}: SYN not retried with the same ISN")
            offsets = [r3(p.t - syns[0].t) for p in syns]
            kind = "syn-unanswered"
            notes = (f"arrived {r3(syns[0].t)} s into the capture when the accept queue was already full: the listener "
                     f"drops its SYNs; {len(syns)} SYNs with the same ISN at {offsets} s, never answered; curl gave up "
                     f"at its {cfg['lateClientConnectTimeout']} s connect timeout")
            measured[c.client] = {"synOffsets": offsets}
        elif len(synacks) >= 2 or data_unacked:
            check(handshake_ack is not None, f"{c.client}: no client ACK of the SYN-ACK")
            check(data_unacked, f"{c.client}: SYN-ACK retransmitted but the request was ACKed")
            retrans = [p for p in client_data if p.retrans]
            synack_offsets = [r3(p.t - synacks[0].t) for p in synacks]
            kind = "accept-queue-overflow"
            notes = (f"handshake ACK at {r3(handshake_ack.t)} s but the listener's queue was full: "
                     + (f"SYN-ACK retransmitted at {synack_offsets[1:]} s after the first although the client had ACKed it; "
                        if len(synacks) >= 2 else "SYN-ACK not retransmitted (the listener silently expired the request); ")
                     + f"the {data_end(client_data) - client_data[0].seq}-byte GET sent at {r3(client_data[0].t)} s "
                     f"is never ACKed ({len(retrans)} retransmissions)")
            measured[c.client] = {"handshakeAck": r3(handshake_ack.t), "synAckOffsets": synack_offsets,
                                  "requestSent": r3(client_data[0].t), "requestRetransmissions": len(retrans)}
        else:
            reqs, fins = c.requests(), c.fins("client")
            check(reqs and not c.responses(), f"{c.client}: queued connection got a response")
            check(fins, f"{c.client}: queued connection without client FIN")
            wait = r3(fins[0].t - reqs[0].t)
            kind = "unanswered-request"
            notes = (f"this handshake completed into the accept queue (listen(0) lets one connection in, two when ACKs race "
                     f"on two CPUs): the server's kernel "
                     f"ACKed the GET at {r3(reqs[0].t)} s but the application never accepts, so no response; the client "
                     f"gives up after {wait} s (its {cfg['clientResponseTimeout']} s timeout) and closes with FIN")
            measured[c.client] = {"requestSent": r3(reqs[0].t), "waitBeforeClientFin": wait}
        kinds[kind] += 1
        expect.append(entry(kind, c, notes))
    check(kinds["accept-queue-overflow"] >= 2, f"only {kinds['accept-queue-overflow']} overflowed connections")
    check(any(len(c.synacks()) >= 2 for c in conns), "no SYN-ACK retransmission")
    check(kinds["syn-unanswered"] == 1, "the late client's SYNs were answered")
    check(kinds["unanswered-request"] >= 1, "no connection made it into the queue")
    desc = ("A python server listens on 127.0.0.1:8080 with listen(0) and never calls accept(). Four python clients "
            "connect at once with TCP_QUICKACK off, so their kernels hold the handshake's last ACK for ~200 ms (as a "
            "client one round trip away would): all four SYNs are answered while the queue is empty. The first ACK(s) "
            "fill the queue (listen(0) admits one, sometimes two when ACKs race on two CPUs); the other ACKs are dropped (tcp_abort_on_overflow=0): the server retransmits its SYN-ACK "
            "(tcp_synack_retries=2) although the client ACKed it, and the GETs sent at 0.3 s are never ACKed. The "
            "queued connections' GETs are ACKed by the kernel but never answered; those clients close after 4 s. A curl "
            "client arriving at 0.56 s finds the queue full: its SYNs are dropped. "
            f"Kinds: {dict(sorted(kinds.items()))}.")
    return desc, False, expect, measured


def reset_burst(expect, measured, rst_times, wanted):
    """The server's resets, `wanted` of them, must come in one burst (a killed process): measured and noted."""
    check(len(rst_times) == wanted, f"{len(rst_times)} resets, expected {wanted}")
    burst_ms = round((max(rst_times) - min(rst_times)) * 1000, 3)
    check(burst_ms < 50, f"resets spread over {burst_ms} ms: not a burst")
    measured["rstBurstSpreadMs"] = burst_ms
    for e in expect:
        if e["kind"]:
            e["notes"] += f"; {len(rst_times)} such resets within {burst_ms} ms: a burst, as from a crashing server"


def reset_before_response(conns, cfg):
    expect, measured = [], {}
    rst_times = []
    for c in conns:
        rsts = c.rsts("server")
        reqs, resps = c.requests(), c.responses()
        if rsts:
            check(not c.fins("server"), f"{c.client}: server FIN before its RST")
            check(len(reqs) == len(resps) + 1, f"{c.client}: no outstanding request at the RST")
            req = reqs[-1]
            check(acked_up_to(c.s2c()) >= req.seq + req.len, f"{c.client}: request not ACKed")
            rst_times.append(rsts[0].t)
            measured[c.client] = {"requestSent": r3(req.t), "rst": r3(rsts[0].t), "waited": r3(rsts[0].t - req.t)}
            expect.append(entry("reset-before-response", c,
                f"{req.method} {req.uri} sent at {r3(req.t)} s and ACKed by the server's kernel, never read by the stuck "
                f"worker; the server process is killed and its kernel resets the connection at {r3(rsts[0].t)} s "
                f"({r3(rsts[0].t - req.t)} s later) with no FIN first: the unread request makes it a RST"))
        else:
            check(reqs and len(reqs) == len(resps), f"{c.client}: unanswered request on the clean connection")
            fin = c.first_close()
            check(fin and fin[0] == "server" and fin[1] == "fin", f"{c.client}: expected a server FIN")
            measured[c.client] = {"requests": len(reqs), "serverFin": r3(fin[2].t)}
            expect.append(entry(None, c,
                f"{len(reqs)} requests all answered 200; idle in the pool when the server dies, so its kernel closes it "
                f"with a plain FIN at {r3(fin[2].t)} s (nothing unread) and the client closes too: no finding"))
    reset_burst(expect, measured, rst_times, cfg["stuckConnections"])
    desc = ("A python server serves its first connection (HTTP/1.1 keep-alive) and then its workers get stuck: later "
            "connections are accepted but their requests stay unread in the kernel. A Node http.Agent (keepAlive) sends "
            "one request, then four at once: one reuses the pooled connection and is answered, three open new connections "
            f"and hang. {cfg['serverKilledAfter']} s after the client starts the server is killed with SIGKILL: its kernel "
            "resets the three connections with an unread request in the same instant and closes the idle, fully answered "
            "connection with a FIN.")
    return desc, False, expect, measured


def reset_before_response_upload(conns, cfg):
    expect, measured = [], {}
    rst_times = []
    for c in conns:
        rsts = c.rsts("server")
        reqs, resps = c.requests(), c.responses()
        if rsts:
            check(not c.fins("server"), f"{c.client}: server FIN before its RST")
            check(len(reqs) == 1 and not resps, f"{c.client}: expected one request and no response")
            req = reqs[0]
            check(req.method == "POST" and req.content_length, f"{c.client}: not an upload with a Content-Length")
            sent = sum(p.len for p in c.c2s() if p.t <= rsts[0].t)
            head = req.len  # curl sends the head in a segment of its own before the body
            body_sent = sent - head
            check(0 < body_sent < req.content_length, f"{c.client}: body {body_sent} of {req.content_length}: not cut")
            rst_times.append(rsts[0].t)
            measured[c.client] = {"requestStarted": r3(req.t), "rst": r3(rsts[0].t), "bodyBytesSent": body_sent,
                                  "contentLength": req.content_length}
            expect.append(entry("reset-before-response", c,
                f"POST {req.uri} began at {r3(req.t)} s, a {req.content_length}-byte upload at a limited rate; "
                f"{body_sent} body bytes had left when the server process was killed: its kernel reset the "
                f"connection at {r3(rsts[0].t)} s with no FIN first (unread request bytes make it a RST), before any "
                f"response, the body unfinished"))
        else:
            check(reqs and len(reqs) == len(resps), f"{c.client}: unanswered request on the clean connection")
            fin = c.first_close()
            check(fin and fin[0] == "client", f"{c.client}: expected the client to close first")
            measured[c.client] = {"requests": len(reqs), "clientClose": r3(fin[2].t)}
            expect.append(entry(None, c, f"{len(reqs)} request answered 200; curl closes it itself: no finding"))
    reset_burst(expect, measured, rst_times, cfg["uploads"])
    desc = ("A python server serves its first connection (a GET from curl) and then its workers get stuck: later "
            "connections are accepted but never read. Two curl uploads (POST, "
            f"{cfg['uploadBytes']} bytes each, --limit-rate {cfg['limitRate']}, no Expect: 100-continue) start at once; "
            f"{cfg['serverKilledAfter']} s later the server is killed with SIGKILL while both bodies are still arriving: "
            "its kernel resets both connections in the same instant (unread request bytes make it a RST) and curl "
            "reports the reset. A server that dies during an upload: the requests never completed, and no response "
            "began.")
    return desc, False, expect, measured


def intermittent_5xx_reuseport(conns, cfg):
    check(len(conns) == cfg["connections"], f"{len(conns)} connections, expected {cfg['connections']}")
    expect, measured = [], {}
    by_status = Counter()
    for c in conns:
        statuses = [p.status for p in c.responses()]
        check(len(statuses) == cfg["requestsPerConnection"] == len(c.requests()),
              f"{c.client}: {len(c.requests())} requests / {len(statuses)} responses")
        check(len(set(statuses)) == 1, f"{c.client}: mixed statuses {statuses}")
        by_status[statuses[0]] += 1
        if statuses[0] >= 500:
            expect.append(entry("intermittent-5xx", c,
                f"all {len(statuses)} GETs on this connection answered {statuses[0]} by the stale listener, while other "
                "connections to the same server endpoint get 200 for the same requests: failures follow connections"))
        else:
            expect.append(entry(None, c,
                f"all {len(statuses)} GETs answered {statuses[0]} by the current listener; part of the evidence (the 2xx "
                "side of the ratio), no finding of its own"))
    check(by_status[503] > 0 and by_status[200] > 0, f"the kernel sent every connection to one listener: {dict(by_status)}")
    measured["connectionsByStatus"] = {str(k): v for k, v in sorted(by_status.items())}
    measured["failureRatio"] = round(by_status[503] / len(conns), 3)
    desc = ("Two python http.server processes are bound to 127.0.0.1:8080 with SO_REUSEPORT, as after a botched reload: "
            "the current one answers 200, a stale one answers 503. curl opens 20 connections one after the other, three "
            "GETs on each (keep-alive). The kernel hashes each new connection to one listener, so every request on a "
            f"connection gets the same status: {by_status[503]} of {len(conns)} connections get only 503, the others only "
            "200. One intermittent-5xx finding for the endpoint is expected; the 503 connections are its failing ones.")
    return desc, False, expect, measured


def rst_on_close(conns, cfg):
    expect, measured = [], {}
    n_rst = 0
    for c in conns:
        reqs, resps = c.requests(), c.responses()
        check(len(reqs) == 1 and len(resps) == 1, f"{c.client}: {len(reqs)} requests, {len(resps)} responses")
        req, resp = reqs[0], resps[0]
        sent = c.payload_bytes("client")
        if c.rsts("server"):
            rst = c.rsts("server")[0]
            check(not c.fins("server"), f"{c.client}: server FIN before RST")
            check(resp.status == 413, f"{c.client}: expected 413")
            check(req.content_length and sent < req.content_length,
                  f"{c.client}: whole body sent ({sent} bytes) before the reset")
            first_resp = next(p for p in c.s2c() if p.len > 0)
            n_rst += 1
            measured[c.client] = {"announcedBody": req.content_length, "clientBytesSent": sent,
                                  "responseAt": r3(first_resp.t), "rstAt": r3(rst.t),
                                  "rstAfterResponseMs": round((rst.t - first_resp.t) * 1000, 3)}
            expect.append(entry("rst-on-close", c,
                f"POST {req.uri} announces a {req.content_length}-byte body; the server reads 4 KiB, answers 413 at "
                f"{r3(first_resp.t)} s and closes while the rest of the upload sits unread in its receive buffer "
                f"(the client had sent {sent} bytes of headers+body when the window closed): its kernel sends RST "
                f"{round((rst.t - first_resp.t) * 1000, 3)} ms later instead of a FIN, with the upload unfinished, so "
                "the client may lose the 413"))
        else:
            fin = c.first_close()
            check(fin and fin[1] == "fin", f"{c.client}: expected a FIN close")
            check(resp.status == 200, f"{c.client}: expected 200")
            expect.append(entry(None, c, f"small POST ({req.content_length} bytes) read completely, answered 200, "
                                         "closed with FINs: no finding"))
    check(n_rst == 2, f"{n_rst} reset connections, expected 2")
    desc = ("A python server reads only the first 4 KiB of each request; when the announced body is over 1 KiB it answers "
            "413 (Connection: close) and closes without reading the rest. curl uploads 100 KB twice: the server's small "
            "receive buffer (16 KiB) holds the window nearly closed, so the upload is still in progress when the server "
            "closes, and the kernel sends RST instead of FIN because data remains unread. A 200-byte POST in between is "
            "read completely and closed with FINs.")
    return desc, False, expect, measured


def zero_window_stall(conns, cfg):
    check(len(conns) == 1, f"{len(conns)} connections")
    c = conns[0]
    zero = [p for p in c.c2s() if p.win == 0 and not p.syn and not p.rst]
    check(zero, "no zero window advertised")
    start = zero[0].t
    reopen = next((p for p in c.c2s() if p.t > start and p.win and p.win > 0), None)
    check(reopen is not None, "window never reopened")
    duration = reopen.t - start
    check(duration > 1.0, f"zero window lasted only {duration:.3f} s")
    probes = keepalive_probes(c.s2c())
    check(len(probes) >= 2, "no zero-window probes from the server")
    resp = c.responses()
    check(resp and resp[0].status == 200, "response did not complete")
    measured = {c.client: {"zeroWindowFrom": r3(start), "windowReopened": r3(reopen.t),
                           "zeroWindowSeconds": r3(duration), "serverProbes": [r3(p.t) for p in probes],
                           "bodyBytes": cfg["responseBodyBytes"]}}
    expect = [entry("zero-window-stall", c,
        f"the client (SO_RCVBUF {cfg['clientRcvBuf']}) advertises a zero window from {r3(start)} s to {r3(reopen.t)} s "
        f"({r3(duration)} s, over the 1 s threshold) while the server has more of the {cfg['responseBodyBytes']}-byte body "
        f"to send; the server's kernel sends {len(probes)} zero-window probes (seq = next - 1, at "
        f"{[r3(p.t) for p in probes]} s: not retransmissions of data); the receiver is the stalled side")]
    desc = ("A python client with a 4 KiB SO_RCVBUF asks a Node http server for a 64 KiB body, reads the first 2 KiB "
            "and stops reading for 2 s (a blocked worker). Its receive buffer fills and it advertises a zero window; the "
            "server's kernel sends zero-window probes with backoff; when the client reads again it reopens the window "
            f"and the transfer completes (zero window for {r3(duration)} s). Connection: close; the server's FIN rides "
            "on its last data segment.")
    return desc, False, expect, measured


def clean_keepalive_reuse(conns, cfg):
    silent_common(conns)
    check(len(conns) == 2, f"{len(conns)} connections")
    measured = {}
    for c in conns:
        gaps = idle_gaps_before_requests(c)
        fin = c.first_close()
        check(fin and fin[0] == "client" and fin[1] == "fin", f"{c.client}: the client should close first with FIN")
        check(max(gaps) <= cfg["clientReuseGapMax"] + 0.05, f"{c.client}: reuse gap {max(gaps)} s")
        check(not c.rsts("client") and not c.rsts("server"), f"{c.client}: RST")
        measured[c.client] = {"requests": len(c.requests()), "idleGapsBeforeReuse": gaps}
    desc = ("A Node http server (keepAliveTimeout 3 s: it announces Keep-Alive: timeout=3 and, as Node 20 adds a 1 s "
            "buffer, would close idle connections after 4 s) and a Node http.Agent (keepAlive, maxSockets 2) sending 5 "
            "pairs of requests (GET, one pair of small POSTs) with 0.3-0.9 s pauses: the two connections are reused well "
            "within the server's idle timeout, and the client closes its pool itself at the end (agent.destroy(): "
            "client FIN first). Clean.")
    return desc, True, [], measured


def client_closes_idle_first(conns, cfg):
    silent_common(conns)
    check(len(conns) == 6, f"{len(conns)} connections")
    measured = {}
    idles = []
    for c in conns:
        fin = c.first_close()
        check(fin and fin[0] == "client" and fin[1] == "fin", f"{c.client}: the client should close first")
        last_payload = max(p.t for p in c.packets if p.len > 0)
        idle = r3(fin[2].t - last_payload)
        idles.append(idle)
        check(len(c.requests()) == 3, f"{c.client}: {len(c.requests())} requests")
        measured[c.client] = {"requests": 3, "idleBeforeClientFin": idle}
    check(all(abs(i - cfg["clientIdleClose"]) < 0.2 for i in idles), f"client idle closes {idles}")
    desc = ("A Node http server (keepAliveTimeout 3 s, announced as Keep-Alive: timeout=3; Node 20 would close after "
            "4 s) and a Node http.Agent whose timeout: 1000 destroys pooled connections after 1 s idle, before the "
            "server would. Three rounds of 3 request pairs over 2 connections, 2 s apart: each round's connections are "
            f"closed by the client (FIN first) {min(idles)}-{max(idles)} s after their last response and the next round "
            "opens new ones. No server ever closes an idle connection. Clean (the client's own idle close time, 1 s, "
            "may be stated as a fact, not as a problem).")
    return desc, True, [], measured


def half_close(conns, cfg):
    silent_common(conns)
    check(len(conns) == 2, f"{len(conns)} connections")
    measured = {}
    for c in conns:
        req, resp = c.requests()[0], c.responses()[0]
        cfin = c.fins("client")[0]
        sfin = c.fins("server")[0]
        first_resp = next(p for p in c.s2c() if p.len > 0)
        check(cfin.t < first_resp.t, f"{c.client}: client FIN after the response")
        check(sfin.t >= first_resp.t, f"{c.client}: server FIN before the response")
        check(not c.rsts("client") and not c.rsts("server"), f"{c.client}: RST")
        measured[c.client] = {"request": r3(req.t), "clientFin": r3(cfin.t), "responseStart": r3(first_resp.t),
                              "serverFin": r3(sfin.t)}
    desc = ("A python client sends a request and immediately shuts down its write side (FIN right after the request: "
            "a legal TCP half-close). A python http.server answers 0.3 s later on the half-closed connection, reads "
            "EOF for the next request and closes its side. Two connections: a GET and a 100-byte POST. Clean: the "
            "client's FIN is not an abandonment and the response is not sent to a closed peer.")
    return desc, True, [], measured


def tcp_keepalive_probes(conns, cfg):
    silent_common(conns)
    check(len(conns) == 1, f"{len(conns)} connections")
    c = conns[0]
    probes = keepalive_probes(c.c2s())
    check(len(probes) >= 3, f"only {len(probes)} keep-alive probes")
    gaps = idle_gaps_before_requests(c)
    check(len(gaps) == 1 and gaps[0] >= cfg["clientIdleGap"] - 0.1, f"reuse gaps {gaps}")
    fin = c.first_close()
    check(fin and fin[0] == "client" and fin[1] == "fin", "the client should close first")
    times = [r3(p.t) for p in probes]
    measured = {c.client: {"probes": times, "probeLengths": sorted({p.len for p in probes}),
                           "idleGapBeforeReuse": gaps[0]}}
    desc = ("A Node http.Agent (keepAlive; its keepAliveMsecs 1000 turns on SO_KEEPALIVE with a 1 s idle time) sends a "
            f"request, idles {gaps[0]} s and reuses the connection before the Node server's idle close (keepAliveTimeout "
            "6 s, 7 s with Node 20's 1 s buffer), then closes its pool. While idle its kernel sends "
            f"{len(probes)} TCP keep-alive probes (at {times} s; zero length, seq = next - 1; tcp_keepalive_intvl=1 "
            "in the namespace), each ACKed by the server. Clean: the probes are not data, not retransmissions, and do "
            "not end the idle period as far as HTTP is concerned.")
    return desc, True, [], measured


def abortive_close_after_response(conns, cfg):
    silent_common(conns)
    check(len(conns) == 2, f"{len(conns)} connections")
    measured = {}
    for c in conns:
        rst = c.rsts("client")
        check(rst and not c.fins("client") and not c.fins("server") and not c.rsts("server"), f"{c.client}: close is not one client RST")
        last_resp = max(p.t for p in c.s2c() if p.len > 0)
        check(rst[0].t > last_resp, f"{c.client}: RST before the last response")
        check(acked_up_to(c.c2s()) >= data_end([p for p in c.s2c() if p.len > 0]), f"{c.client}: response not fully ACKed")
        measured[c.client] = {"requests": len(c.requests()), "rstAfterLastResponse": r3(rst[0].t - last_resp)}
    desc = ("A Node http.Agent (keepAlive, maxSockets 2) gets two full responses on each of two connections from a Node "
            "http server, then closes its pool abortively with socket.resetAndDestroy() (SO_LINGER 0: RST instead of "
            "FIN), 0.2 s after the last response. Every request was answered and ACKed before the RST. Clean.")
    return desc, True, [], measured


def retransmitted_fin(conns, cfg):
    silent_common(conns)
    check(len(conns) == 2, f"{len(conns)} connections")
    measured = {}
    sides = []
    for c in conns:
        crf, srf = fin_retransmissions(c.c2s()), fin_retransmissions(c.s2c())
        check(bool(crf) != bool(srf), f"{c.client}: expected exactly one side's FIN retransmitted")
        fins = crf or srf
        side = "client" if crf else "server"
        sides.append(side)
        check(len(fins) == 2, f"{c.client}: {len(fins)} FINs")
        check(not c.rsts("client") and not c.rsts("server"), f"{c.client}: RST")
        measured[c.client] = {"retransmittedFinFrom": side, "fin": r3(fins[0].t), "finRetransmitted": r3(fins[1].t),
                              "retransmitAfterMs": round((fins[1].t - fins[0].t) * 1000, 1)}
        if side == "server":
            last = max(p.t for p in c.packets if p.len > 0)
            measured[c.client]["serverIdleClose"] = r3(fins[0].t - last)
    check(sorted(sides) == ["client", "server"], f"retransmitted FINs from {sides}")
    desc = ("nftables quota rules drop exactly one FIN each after the capture point (the first FIN matching is "
            "captured, then dropped before the socket sees it), so the sender's kernel retransmits it ~200 ms later. "
            "A Node http.Agent (keepAlive, maxSockets 2) uses two connections to a Node http server (keepAliveTimeout 2 s, "
            "announced as timeout=2; Node 20 closes after 3 s). It destroys one: its FIN is dropped once and "
            "retransmitted, then the server closes too. The other stays pooled until the server's idle close at 3 s: the "
            "server's FIN is dropped once and retransmitted, then the client closes. Clean: a retransmitted FIN is one "
            "close, not two, and no request follows either FIN.")
    return desc, True, [], measured


def http10_keepalive_and_close(conns, cfg):
    silent_common(conns)
    check(len(conns) == 3, f"{len(conns)} connections")
    one_shot, ka, close11 = conns
    measured = {}
    # 1. HTTP/1.0 without keep-alive: no Content-Length, the server's FIN ends the body.
    check(one_shot.requests()[0].req_version == "HTTP/1.0", "first request is not HTTP/1.0")
    check(one_shot.responses()[0].content_length is None, "one-shot response has a Content-Length")
    check(one_shot.first_close()[0] == "server", "one-shot: the server should close first")
    # 2. HTTP/1.0 keep-alive: two requests on one connection, both with Content-Length.
    check([p.req_version for p in ka.requests()] == ["HTTP/1.0", "HTTP/1.0"], "keep-alive connection: not 2 HTTP/1.0 requests")
    check(all(p.content_length is not None for p in ka.responses()), "keep-alive responses without Content-Length")
    check(ka.first_close()[0] == "client", "keep-alive: the client should close first")
    # 3. HTTP/1.1 Connection: close, close-delimited response.
    check(close11.requests()[0].req_version == "HTTP/1.1", "third request is not HTTP/1.1")
    check(close11.responses()[0].content_length is None, "close response has a Content-Length")
    check(close11.first_close()[0] == "server", "close: the server should close first")
    for c, label in ((one_shot, "http10-close-delimited"), (ka, "http10-keep-alive"), (close11, "http11-connection-close")):
        measured[c.client] = {"shape": label, "requests": len(c.requests()), "firstClose": c.first_close()[0]}
    desc = ("A python http.server (an HTTP/1.1 server that keeps HTTP/1.0 clients alive only when they ask) and curl: "
            "(1) curl --http1.0 without keep-alive: the response has no Content-Length and its body ends with the "
            "server's FIN (close-delimited); (2) curl --http1.0 with Connection: keep-alive and two URLs: both responses "
            "carry Content-Length and Connection: keep-alive, curl reuses the connection and closes it itself; (3) HTTP/1.1 "
            "with Connection: close: a close-delimited HTTP/1.1 response. Clean: no request is sent after a close "
            "notice, and close-delimited bodies are complete.")
    return desc, True, [], measured


def rst_on_close_node_early_413(conns, cfg):
    expect, measured = [], {}
    n_rst = 0
    for c in conns:
        reqs, resps = c.requests(), c.responses()
        check(len(reqs) == 1 and len(resps) == 1, f"{c.client}: {len(reqs)} requests, {len(resps)} responses")
        req, resp = reqs[0], resps[0]
        sent = c.payload_bytes("client")
        if c.rsts("server"):
            rst = c.rsts("server")[0]
            fins = c.fins("server")
            check(fins and fins[0].t <= rst.t, f"{c.client}: no server FIN before its RST")
            check(resp.status == 413, f"{c.client}: expected 413")
            check(req.content_length and sent < req.content_length, f"{c.client}: whole body sent ({sent} bytes) before the reset")
            after_fin = [p for p in c.c2s() if p.len > 0 and p.t > fins[0].t]
            first_resp = next(p for p in c.s2c() if p.len > 0)
            n_rst += 1
            measured[c.client] = {"announcedBody": req.content_length, "clientBytesSent": sent,
                                  "responseAt": r3(first_resp.t), "finAt": r3(fins[0].t), "rstAt": r3(rst.t),
                                  "rstAfterFinMs": round((rst.t - fins[0].t) * 1000, 3),
                                  "clientSegmentsAfterFin": len(after_fin)}
            expect.append(entry("rst-on-close", c,
                f"POST {req.uri} announces a {req.content_length}-byte body; Node answers 413 at {r3(first_resp.t)} s "
                f"without reading it, sends its FIN ({r3(fins[0].t)} s) and {round((rst.t - fins[0].t) * 1000, 3)} ms "
                f"later a RST: its close() found the upload unread (the client had sent {sent} bytes), so the client "
                "may lose the 413"))
        else:
            fin = c.first_close()
            check(fin and fin[1] == "fin", f"{c.client}: expected a FIN close")
            if resp.status == 413:
                check(sent < 1024, f"{c.client}: the refused upload sent {sent} bytes (expected only its head)")
                expect.append(entry(None, c, f"POST {req.uri} with Expect: 100-continue refused with 413 before its "
                                             "body was sent: nothing unread, closed with FINs: no finding"))
            else:
                check(resp.status == 200, f"{c.client}: expected 200")
                expect.append(entry(None, c, f"small POST ({req.content_length} bytes) read completely, answered 200, "
                                             "closed with FINs: no finding"))
    check(n_rst == 2, f"{n_rst} reset connections, expected 2")
    desc = ("A Node http server answers 413 (Connection: close) to uploads announcing more than 1 KiB, without reading "
            "them; Node closes the connection itself: its FIN first (with a zero window), then a RST when the socket is "
            "destroyed with the upload unread. curl uploads 3 MB twice with Expect turned off: two resets on close. "
            "A 200-byte POST read whole, and a 3 MB upload with Expect: 100-continue refused before its body was sent, "
            "close with FINs.")
    return desc, False, expect, measured


def response_abandoned_rest_after_close(conns, cfg):
    check(len(conns) == 5, f"{len(conns)} connections")
    *cut, half, whole = conns
    measured = {}
    expect = []
    timeout = cfg["clientTimeout"]
    for c in cut:
        req = c.requests()[0]
        cfin = c.fins("client")
        check(len(cfin) == 1, f"{c.client}: no client FIN")
        before = sum(p.len for p in c.s2c() if p.t < cfin[0].t)
        after = [p for p in c.s2c() if p.len > 0 and p.t > cfin[0].t]
        crst = [p for p in c.rsts("client") if after and p.t >= after[0].t]
        check(abs((cfin[0].t - req.t) - timeout) < 0.05, f"{c.client}: client FIN {cfin[0].t - req.t:.3f} s after the request")
        check(after and sum(p.len for p in after) == cfg["bodyLength"] - cfg["bodyBeforeStall"], f"{c.client}: the rest did not come after the FIN")
        check(crst, f"{c.client}: no client RST after the late bytes")
        measured[c.client] = {"request": r3(req.t), "clientFin": r3(cfin[0].t), "sinceRequest": r3(cfin[0].t - req.t),
                              "serverBytesBeforeFin": before, "lateBytesAt": r3(after[0].t), "clientRst": r3(crst[0].t)}
        expect.append(entry("response-abandoned", c, f"curl --max-time {timeout}: exit 28 with 2000 of 4000 body bytes; "
                            "the rest came after its FIN and drew its RST"))
    # The half-closing client reads the whole response, the rest after its FIN: complete.
    hfin = half.fins("client")[0]
    late = [p for p in half.s2c() if p.len > 0 and p.t > hfin.t]
    check(late and not half.rsts("client"), f"{half.client}: half-close: no late bytes, or a client RST")
    check(max(p.ackno for p in half.c2s()) >= max(p.seq + p.len for p in half.s2c()), f"{half.client}: half-close: not all acknowledged")
    measured[half.client] = {"shape": "half-close, reads the whole response", "clientFin": r3(hfin.t), "lateBytesAt": r3(late[-1].t)}
    expect.append(entry(None, half, "half-closed after its request, read the whole response: complete, no finding"))
    check(whole.first_close()[0] == "server" or whole.fins("client")[0].t > whole.responses()[0].t, f"{whole.client}: closed before the response")
    measured[whole.client] = {"shape": "whole response, Connection: close"}
    expect.append(entry(None, whole, "a whole response with Connection: close: complete, no finding"))
    desc = ("A python server sends each /drip response's head (Content-Length 4000) and 2000 body bytes, stalls 3.3 s, "
            "then sends the rest. curl --max-time 1.3, three times: each exits 28 at 1.3 s with 2000 of 4000 bytes and "
            "closes (FIN); the late 2000 bytes meet its closed socket, whose kernel answers with a RST. Before, conncheck "
            "read these exchanges as complete (all 4000 bytes were on the wire) and found nothing. Near misses: a python "
            "client that half-closes (shutdown(SHUT_WR)) after its request and reads the whole /drip response (the rest "
            "after its FIN, acknowledged), and curl on a whole response with Connection: close.")
    return desc, False, expect, measured


def response_abandoned_lone_stall(conns, cfg):
    check(len(conns) == 4, f"{len(conns)} connections")
    obs = OBSERVED
    check(obs is not None, "no observed logs (CC_C_OBSERVED)")
    measured = {}
    expect = []
    by_uri = {c.requests()[0].uri.split("?")[0]: [] for c in conns if c.requests()}
    for c in conns:
        by_uri[c.requests()[0].uri.split("?")[0]].append(c)
    stalls = by_uri.get("/stall", [])
    check(len(stalls) == 2, f"{len(stalls)} /stall connections")
    # The clients' own words: wget gave up on a read timeout, curl on its --max-time.
    check(obs["wget"]["exit"] == 4 and any("Read error at byte 10000/40000" in l for l in obs["wget"]["log"]), f"wget: {obs['wget']}")
    check(obs["curlStall"]["exit"] == 28 and "10000 out of 40000 bytes received" in obs["curlStall"]["log"], f"curl: {obs['curlStall']}")
    # timeout(1) exits 124 when it had to interrupt the command (130: curl's own exit on SIGINT).
    check(obs["curlFlowInterrupted"]["exit"] in (124, 130), f"curl /flow: {obs['curlFlowInterrupted']}")
    check(obs["curlEventsInterrupted"]["exit"] in (124, 130), f"curl /events: {obs['curlEventsInterrupted']}")
    # The server's log: each /stall response written whole (its kernel took the rest; the client's RST came
    # after the write returned), the /flow and /events writes failing once their client had gone.
    ended = {l.split()[3].split("?")[0]: l.split()[1] for l in obs["server"] if len(l.split()) >= 5}
    check(sum(1 for l in obs["server"] if l.split()[1:2] == ["done"] and "/stall" in l) == 2, f"server: {obs['server']}")
    check(ended.get("/flow") == "peer-gone" and ended.get("/events") == "peer-gone", f"server: {obs['server']}")
    for c, program, timer in ((stalls[0], "wget --read-timeout=1", cfg["wgetReadTimeout"]), (stalls[1], "curl --max-time 1", cfg["curlMaxTime"])):
        req = c.requests()[0]
        cfin = c.fins("client")
        check(len(cfin) == 1, f"{c.client}: no client FIN")
        check(c.first_close()[0] == "client", f"{c.client}: the server closed first")
        before = [p for p in c.s2c() if p.len > 0 and p.t < cfin[0].t]
        after = [p for p in c.s2c() if p.len > 0 and p.t > cfin[0].t]
        silence = cfin[0].t - before[-1].t
        check(abs(silence - timer) < 0.05, f"{c.client}: {silence:.3f} s of silence before the FIN")
        check(after and abs(after[0].t - before[-1].t - cfg["serverStall"]) < 0.1, f"{c.client}: the rest did not come {cfg['serverStall']} s later")
        check(c.rsts("client"), f"{c.client}: no client RST after the late bytes")
        measured[c.client] = {"program": program, "request": r3(req.t), "clientFin": r3(cfin[0].t), "sinceRequest": r3(cfin[0].t - req.t),
                              "silenceBeforeFin": r3(silence), "serverPayloadBeforeFin": sum(p.len for p in before), "lateBytesAt": r3(after[0].t),
                              "serverBytesAfterFin": sum(p.len for p in after)}
        expect.append(entry("response-abandoned", c, f"{program}: gave up once with 10000 of 40000 body bytes after {timer} s of silence mid-body; "
                            "the rest came after its FIN and drew its RST"))
    for uri, shape in (("/flow", "Ctrl-C (SIGINT) 0.7 s into a download whose bytes still flowed every 0.1 s"),
                       ("/events", "Ctrl-C (SIGINT) 1.6 s into an event stream (chunked) pausing 2 s between events")):
        (c,) = by_uri[uri]
        first = c.first_close()
        check(first[0] == "client", f"{c.client}: the server closed first")
        before = [p for p in c.s2c() if p.len > 0 and p.t < first[2].t]
        measured[c.client] = {"program": f"curl, {shape}", "sinceRequest": r3(first[2].t - c.requests()[0].t),
                              "silenceBeforeClose": r3(first[2].t - before[-1].t)}
        if uri == "/flow":
            # One close of a body it was owed (Content-Length) while the bytes flowed: on the wire the same as
            # curl --max-time 0.7 (healthy-client-cancels' m1), so told as info, a cancel or a total timeout.
            expect.append(entry("response-abandoned", c, f"{shape}: a person's cancel, which the wire cannot tell from "
                                "a total timeout of about 0.7 s (curl --max-time 0.7 looks the same): info, no timeout value"))
        else:
            expect.append(entry(None, c, f"{shape}: a person's cancel of a stream, which has no end it was owed: no finding"))
    desc = ("A python server (programs/c-stall-server.py) sends each /stall response's head (Content-Length 40000) and 10000 "
            "body bytes at once, stalls 3 s, then sends the rest. wget -t 1 --read-timeout=1 gives up once (exit 4, \"Read error "
            "at byte 10000/40000 (Connection timed out). Giving up.\"), curl --max-time 1 once (exit 28, \"Operation timed out "
            "after 1001 milliseconds with 10000 out of 40000 bytes received\"); each closes (FIN) 1 s into the silence and the "
            "server's late bytes draw its RST. One cut per client program: before blind round 13's fix conncheck needed 3 and "
            "said nothing. Near misses: curl interrupted by SIGINT (a person's Ctrl-C) 0.7 s into a /flow download whose bytes "
            "still flowed every 0.1 s, and 1.6 s into an /events stream (chunked text/event-stream) pausing 2 s between events: "
            "no silence mid-way through a declared body to blame. The first is one close of a body its client was owed, which "
            "the wire cannot tell from a total timeout of about 0.7 s: told as info (blind round 15); the stream's stays silent.")
    return desc, False, expect, measured


def response_abandoned_single_max_time(conns, cfg):
    check(len(conns) == 3, f"{len(conns)} connections")
    obs = OBSERVED
    check(obs is not None, "no observed logs (CC_C_OBSERVED)")
    measured = {}
    expect = []
    by_client = {c.requests()[0].uri.split("c=")[-1]: c for c in conns if c.requests()}
    check(sorted(by_client) == ["curl", "head-reader", "sse"], f"requests: {sorted(by_client)}")
    ended = {l.split()[3]: (l.split()[1], int(l.split()[4])) for l in obs["server"] if len(l.split()) >= 5}
    # curl's own words: it timed out at --max-time with part of the 50000 bytes.
    m = re.search(r"Operation timed out after (\d+) milliseconds with (\d+) out of (\d+) bytes received", obs["curlFlow"]["log"])
    check(obs["curlFlow"]["exit"] == 28 and m and int(m.group(3)) == cfg["bodyLength"], f"curl /flow: {obs['curlFlow']}")
    c = by_client["curl"]
    req = c.requests()[0]
    first = c.first_close()
    check(first is not None and first[0] == "client", f"{c.client}: the server closed first")
    since = first[2].t - req.t
    check(abs(since - cfg["curlMaxTime"]) < 0.05, f"{c.client}: closed {since:.3f} s after the request")
    before = [p for p in c.s2c() if p.len > 0 and p.t < first[2].t]
    silence = first[2].t - before[-1].t
    # Still flowing: the server's last byte came within one period of the close, and it wrote again after it.
    check(silence < cfg["flowEvery"] + 0.02, f"{c.client}: {silence:.3f} s of silence before the close")
    after = [p for p in c.s2c() if p.len > 0 and p.t > first[2].t]
    check(ended.get("/flow?c=curl", ("?",))[0] == "peer-gone", f"server: {obs['server']}")
    measured[c.client] = {"program": "curl --max-time 2", "request": r3(req.t), "clientClose": r3(first[2].t), "closedWith": first[1],
                          "sinceRequest": r3(since), "sinceSyn": r3(first[2].t - c.syns()[0].t), "silenceBeforeClose": r3(silence),
                          "serverPayloadBeforeClose": sum(p.len for p in before), "curlBytesReceived": int(m.group(2)),
                          "serverBytesAfterClose": sum(p.len for p in after), "clientRst": bool(c.rsts("client"))}
    expect.append(entry("response-abandoned", c, f"curl --max-time 2 (exit 28, \"{m.group(0)}\") closed {since:.3f} s after the request, "
                        f"{silence:.3f} s after the server's last byte, the body still flowing: one cut of an owed body, a cancel or a "
                        "total timeout of about 2 s: info"))
    h = by_client["head-reader"]
    first = h.first_close()
    head = h.responses()[0]
    check(first is not None and first[0] == "client" and first[2].t - head.t < 0.05, f"{h.client}: no close right behind the head")
    check("closed after the head" in obs["headReader"]["log"] and obs["headReader"]["exit"] == 0, f"head reader: {obs['headReader']}")
    measured[h.client] = {"program": "python socket, head reader", "closedWith": first[1], "headToClose": r3(first[2].t - head.t)}
    expect.append(entry(None, h, "a reader that wanted the status only: closed right behind the head: no finding"))
    e = by_client["sse"]
    first = e.first_close()
    check(obs["curlEvents"]["exit"] == 28, f"curl /events: {obs['curlEvents']}")
    check(first is not None and first[0] == "client" and abs(first[2].t - e.requests()[0].t - cfg["curlMaxTime"]) < 0.05, f"{e.client}: no client close at 2 s")
    check(ended.get("/events?c=sse", ("?",))[0] == "peer-gone", f"server: {obs['server']}")
    measured[e.client] = {"program": "curl -N --max-time 2, event stream", "closedWith": first[1], "sinceRequest": r3(first[2].t - e.requests()[0].t)}
    expect.append(entry(None, e, "curl -N --max-time 2 on a text/event-stream (chunked) closed between its events: a stream has no end it was owed: no finding"))
    desc = ("A python server (programs/c-stall-server.py) sends a /flow response's head (Content-Length 50000) and 1000 body bytes "
            "every 0.1 s. curl --max-time 2 gives up once (exit 28, \"Operation timed out after 2000 milliseconds with N out of 50000 "
            "bytes received\") and closes about 2 s after its request while the bytes still flow (blind round 15, s12/s12b: "
            "conncheck said nothing). One close of an owed body cannot tell a deliberate cancel from a total timeout of about 2 s: "
            "reported as info, no timeout value inferred. Near misses, silent: a python socket reader that wanted the status only "
            "(reads the head of a /flow response and closes at once), and curl -N --max-time 2 on a chunked text/event-stream "
            "pausing 3 s between events, closed between them: a stream has no end the client was owed.")
    return desc, False, expect, measured


SCENARIOS = {
    "rst-on-close-node-early-413": rst_on_close_node_early_413,
    "syn-unanswered": syn_unanswered,
    "accept-queue-overflow": accept_queue_overflow,
    "reset-before-response": reset_before_response,
    "reset-before-response-upload": reset_before_response_upload,
    "intermittent-5xx-reuseport": intermittent_5xx_reuseport,
    "rst-on-close": rst_on_close,
    "zero-window-stall": zero_window_stall,
    "clean-keepalive-reuse": clean_keepalive_reuse,
    "client-closes-idle-first": client_closes_idle_first,
    "half-close": half_close,
    "tcp-keepalive-probes": tcp_keepalive_probes,
    "abortive-close-after-response": abortive_close_after_response,
    "retransmitted-fin": retransmitted_fin,
    "http10-keepalive-and-close": http10_keepalive_and_close,
    "response-abandoned-rest-after-close": response_abandoned_rest_after_close,
    "response-abandoned-lone-stall": response_abandoned_lone_stall,
    "response-abandoned-single-max-time": response_abandoned_single_max_time,
}

# The programs' own logs for a scenario that checks them (--observed), else None.
OBSERVED = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--capture", required=True)
    ap.add_argument("--configured", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--software", action="append", default=[])
    ap.add_argument("--server-port", type=int, default=8080)
    ap.add_argument("--observed")
    args = ap.parse_args()
    cfg = json.loads(args.configured)
    global OBSERVED
    if args.observed:
        with open(args.observed) as f:
            OBSERVED = json.load(f)
    conns = connections(read_packets(args.capture, args.server_port), args.server_port)
    try:
        desc, silent, expect, measured = SCENARIOS[args.scenario](conns, cfg)
    except CheckFailed as e:
        print(f"c-meta: {args.scenario}: the capture does not show the scenario: {e}", file=sys.stderr)
        return 1
    if silent:
        check_silent = [e for e in expect if e["kind"] is not None]
        assert not check_silent, "a silent scenario cannot expect findings"
        expect = [entry(None, c, "must stay clean: no finding of any kind") for c in conns]
    meta = {
        "scenario": args.scenario,
        "description": desc,
        "software": args.software,
        "configured": {k: v for k, v in cfg.items()},
        "expect": expect,
        "silent": silent,
        "facts": facts_of(conns),
        "measured": measured,
    }
    if OBSERVED is not None:
        meta["observed"] = OBSERVED
    with open(args.out, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"c-meta: {args.scenario}: ok, {len(conns)} connections, {len(expect)} expect entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
