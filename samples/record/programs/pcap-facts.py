#!/usr/bin/env python3
"""Measure a recorded sample with tshark/capinfos, check it against what the
recorder expected, and write the sample's meta.json.

The recorder states the facts it expects (connection count, SYN/FIN/RST counts,
HTTP statuses, ...) in a JSON template; this program measures the capture
independently with tshark and refuses to write the meta (exit 1) when any
expected fact differs, so a rerun that records something else fails loudly
instead of leaving a meta.json that lies about its capture.

Usage: pcap-facts.py --capture FILE --meta OUT --template TEMPLATE.json [--http-port P ...]

Template keys: scenario, description, software, configured, silent, notes
(optional), facts (expected values, each must be one this program measures),
expectMode ("silent": one kind=null entry per connection; "refused": a
connection-refused entry per SYN answered by RST, kind=null for the others),
expectNotes (optional text per entry).
"""
import argparse
import json
import subprocess
import sys
from collections import Counter, OrderedDict

FIELDS = [
    "frame.number", "frame.time_relative", "tcp.stream",
    "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
    "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
    "tcp.len", "tcp.analysis.flags",
    "http.request.method", "http.request.uri", "http.request.version",
    "http.response.code", "http.response.version",
    "http.transfer_encoding", "http.chunked_trailer_part", "http.content_length_header",
]
AGG = "|"


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def endpoint(addr, port):
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def read_packets(capture, http_ports):
    cmd = ["tshark", "-r", capture, "-n", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", f"aggregator={AGG}"]
    for port in http_ports:
        cmd += ["-d", f"tcp.port=={port},http"]
    for field in FIELDS:
        cmd += ["-e", field]
    packets = []
    for line in run(cmd).splitlines():
        values = line.split("\t")
        values += [""] * (len(FIELDS) - len(values))
        p = dict(zip(FIELDS, values))
        if p["tcp.stream"] == "":
            continue
        multi = lambda key: [v for v in p[key].split(AGG) if v != ""]
        packets.append({
            "frame": int(p["frame.number"]),
            "t": float(p["frame.time_relative"]),
            "stream": int(p["tcp.stream"]),
            "src": endpoint(p["ip.src"] or p["ipv6.src"], p["tcp.srcport"]),
            "dst": endpoint(p["ip.dst"] or p["ipv6.dst"], p["tcp.dstport"]),
            "syn": p["tcp.flags.syn"] in ("1", "True"),
            "ack": p["tcp.flags.ack"] in ("1", "True"),
            "fin": p["tcp.flags.fin"] in ("1", "True"),
            "rst": p["tcp.flags.reset"] in ("1", "True"),
            "len": int(p["tcp.len"] or 0),
            "analysis": p["tcp.analysis.flags"] != "",
            "methods": multi("http.request.method"),
            "uris": multi("http.request.uri"),
            "reqVersions": multi("http.request.version"),
            "codes": multi("http.response.code"),
            "respVersions": multi("http.response.version"),
            "chunked": sum(1 for v in multi("http.transfer_encoding") if "chunked" in v.lower()),
            "trailers": multi("http.chunked_trailer_part"),
        })
    return packets


def capinfos(capture):
    info = {}
    for line in run(["capinfos", "-M", capture]).splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            info[key.strip()] = value.strip()
    return info


def zeek_state(c):
    """Zeek conn_state label for the simple shapes these samples contain."""
    cl, sv = c["client"], c["server"]
    if c["rst"][sv] and c["bytes"][cl] == 0 and c["bytes"][sv] == 0 and c["synSeen"]:
        return "REJ"
    if c["rst"][sv]:
        return "RSTR"
    if c["rst"][cl]:
        return "RSTO"
    if c["fin"][cl] and c["fin"][sv]:
        return "SF"
    if c["fin"][cl]:
        return "S2"
    if c["fin"][sv]:
        return "S3"
    return "S1" if c["synSeen"] else "OTH"


def connections(packets):
    streams = OrderedDict()
    for p in packets:
        streams.setdefault(p["stream"], []).append(p)
    conns = []
    for stream, pkts in streams.items():
        syn = next((p for p in pkts if p["syn"] and not p["ack"]), None)
        if syn:
            client, server = syn["src"], syn["dst"]
        else:
            req = next((p for p in pkts if p["methods"]), None)
            first = req or pkts[0]
            client, server = first["src"], first["dst"]
            if not req and int(client.rsplit(":", 1)[1]) < int(server.rsplit(":", 1)[1]):
                client, server = server, client
        c = {"stream": stream, "client": client, "server": server, "synSeen": syn is not None,
             "packets": Counter(), "bytes": Counter(), "fin": Counter(), "rst": Counter(),
             "requests": 0, "responses": 0, "firstFin": None, "maxIdleBeforeReuse": 0.0}
        last_response_t = None
        for p in pkts:
            side = p["src"]
            c["packets"][side] += 1
            c["bytes"][side] += p["len"]
            if p["fin"]:
                c["fin"][side] += 1
                if c["firstFin"] is None:
                    c["firstFin"] = "client" if side == client else "server"
            if p["rst"]:
                c["rst"][side] += 1
            if p["methods"]:
                if last_response_t is not None:
                    c["maxIdleBeforeReuse"] = max(c["maxIdleBeforeReuse"], p["t"] - last_response_t)
                c["requests"] += len(p["methods"])
            if p["codes"]:
                c["responses"] += len(p["codes"])
                last_response_t = p["t"]
        c["state"] = zeek_state(c)
        conns.append(c)
    return conns


def measure(capture, http_ports):
    packets = read_packets(capture, http_ports)
    conns = connections(packets)
    info = capinfos(capture)
    statuses = Counter(code for p in packets for code in p["codes"])
    methods = Counter(m for p in packets for m in p["methods"])
    facts = OrderedDict()
    facts["fileFormat"] = info.get("File type", "")
    facts["linkType"] = info.get("File encapsulation", "")
    facts["timestampPrecision"] = info.get("File timestamp precision", "")
    facts["packets"] = len(packets)
    facts["durationSeconds"] = round(packets[-1]["t"] - packets[0]["t"], 3) if packets else 0
    facts["connections"] = len(conns)
    facts["states"] = dict(sorted(Counter(c["state"] for c in conns).items()))
    facts["syn"] = sum(1 for p in packets if p["syn"] and not p["ack"])
    facts["synAck"] = sum(1 for p in packets if p["syn"] and p["ack"])
    facts["fin"] = sum(1 for p in packets if p["fin"])
    facts["rst"] = sum(1 for p in packets if p["rst"])
    facts["httpRequests"] = sum(methods.values())
    facts["httpResponses"] = sum(statuses.values())
    facts["requestsPerConnection"] = sorted(c["requests"] for c in conns)
    facts["exchanges"] = sum(min(c["requests"], c["responses"]) for c in conns)
    facts["methods"] = dict(sorted(methods.items()))
    facts["statuses"] = dict(sorted(statuses.items()))
    facts["requestVersions"] = dict(sorted(Counter(v for p in packets for v in p["reqVersions"]).items()))
    facts["responseVersions"] = dict(sorted(Counter(v for p in packets for v in p["respVersions"]).items()))
    facts["chunkedResponses"] = sum(p["chunked"] for p in packets)
    # tshark prints the line end of a trailer field as a literal "\\r\\n".
    facts["trailerFields"] = [t.replace("\\r\\n", "").strip() for p in packets for t in p["trailers"]]
    facts["maxRequestsInOneSegment"] = max([len(p["methods"]) for p in packets if p["len"] > 0] or [0])
    facts["tcpAnalysisFlaggedPackets"] = sum(1 for p in packets if p["analysis"])
    facts["clientFirstFin"] = sum(1 for c in conns if c["firstFin"] == "client")
    facts["serverFirstFin"] = sum(1 for c in conns if c["firstFin"] == "server")
    per = []
    for c in conns:
        cl, sv = c["client"], c["server"]
        per.append(OrderedDict([
            ("client", cl), ("server", sv), ("state", c["state"]), ("synSeen", c["synSeen"]),
            ("packetsClientToServer", c["packets"][cl]), ("packetsServerToClient", c["packets"][sv]),
            ("payloadBytesClientToServer", c["bytes"][cl]), ("payloadBytesServerToClient", c["bytes"][sv]),
            ("finClient", c["fin"][cl]), ("finServer", c["fin"][sv]),
            ("rstClient", c["rst"][cl]), ("rstServer", c["rst"][sv]),
            ("firstFin", c["firstFin"]),
            ("requests", c["requests"]), ("responses", c["responses"]),
            ("maxIdleBeforeReuseSeconds", round(c["maxIdleBeforeReuse"], 3)),
        ]))
    facts["perConnection"] = per
    return facts, conns


def build_expect(mode, conns, notes):
    expect = []
    for c in conns:
        refused = c["state"] == "REJ"
        if mode == "refused" and refused:
            expect.append({"kind": "connection-refused", "client": c["client"], "server": c["server"],
                           "notes": notes.get("refused", "SYN answered by RST,ACK: nothing listens")})
        else:
            expect.append({"kind": None, "client": c["client"], "server": c["server"],
                           "notes": notes.get("clean", "clean connection: no finding of any kind")})
    return expect


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--http-port", action="append", default=[])
    args = ap.parse_args()
    with open(args.template) as f:
        template = json.load(f)
    facts, conns = measure(args.capture, args.http_port)

    wrong = []
    for key, want in template.get("facts", {}).items():
        if key not in facts:
            wrong.append(f"{key}: not a measured fact")
        elif facts[key] != want:
            wrong.append(f"{key}: expected {json.dumps(want)}, measured {json.dumps(facts[key])}")
    if wrong:
        print(f"pcap-facts: {args.capture} does not show what the recorder expected:", file=sys.stderr)
        for line in wrong:
            print("  " + line, file=sys.stderr)
        print(json.dumps(facts, indent=2), file=sys.stderr)
        sys.exit(1)

    meta = OrderedDict()
    for key in ("scenario", "description", "software", "configured"):
        meta[key] = template[key]
    meta["expect"] = build_expect(template.get("expectMode", "silent"), conns, template.get("expectNotes", {}))
    meta["silent"] = template["silent"]
    meta["facts"] = facts
    meta["factsVerified"] = sorted(template.get("facts", {}).keys())
    if template.get("notes"):
        meta["notes"] = template["notes"]
    with open(args.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"pcap-facts: {args.meta} written ({facts['connections']} connections, "
          f"{facts['httpRequests']} requests, {facts['packets']} packets)")


if __name__ == "__main__":
    main()
