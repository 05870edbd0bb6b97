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
                 "resp_version", "connection")


def read_packets(capture, server_port):
    cmd = ["tshark", "-r", capture, "-n", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f", "-d", f"tcp.port=={server_port},http"]
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


# ---------------------------------------------------------------- scenarios
# Each returns (description, silent, expect, measured) or raises CheckFailed.

def syn_unanswered(conns, cfg):
    check(len(conns) == cfg["clients"], f"expected {cfg['clients']} connections, got {len(conns)}")
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
            outcome = f"abandoned: no SYN-ACK, client gave up ({cfg['clientConnectTimeout']} s connect timeout) after its last SYN at {offsets[-1]} s"
        measured[c.client] = {"synOffsets": offsets, "outcome": outcome.split(":")[0]}
        expect.append(entry("syn-unanswered", c,
            f"{len(syns)} SYNs with the same ISN at {offsets} s ({len(syns) - 1} retries, spacing doubling from 1 s); {outcome}. "
            "All four clients hit the same listener within 3 ms: many at once suggest a full backlog or a blocked listener."))
    check(late == 1, f"expected one late answer, got {late}")
    desc = ("A python http.server listens on 127.0.0.1:8080 but an nftables rule drops every SYN to it. "
            "Four curl clients connect at once; their kernels retry each SYN with the same ISN at 1 s and 3 s "
            "(tcp_syn_retries=3, exponential spacing). Three give up at their 3.5 s connect timeout (no packet: "
            "a connect that never completed just vanishes); the rule is removed at 4 s and the fourth client's "
            "7 s retry is answered: handshake, GET, 200, close.")
    return desc, False, expect, measured


SCENARIOS = {
    "syn-unanswered": syn_unanswered,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--capture", required=True)
    ap.add_argument("--configured", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--software", action="append", default=[])
    ap.add_argument("--server-port", type=int, default=8080)
    args = ap.parse_args()
    cfg = json.loads(args.configured)
    conns = connections(read_packets(args.capture, args.server_port), args.server_port)
    try:
        desc, silent, expect, measured = SCENARIOS[args.scenario](conns, cfg)
    except CheckFailed as e:
        print(f"c-meta: {args.scenario}: the capture does not show the scenario: {e}", file=sys.stderr)
        return 1
    if silent:
        expect = [entry(None, c, "must stay clean: no finding of any kind") if not any(e["client"] == c.client for e in expect) else next(e for e in expect if e["client"] == c.client) for c in conns]
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
    with open(args.out, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"c-meta: {args.scenario}: ok, {len(conns)} connections, {len(expect)} expect entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
