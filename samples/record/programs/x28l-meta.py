#!/usr/bin/env python3
"""Meta writer of healthy-lossy-path-* (programs/x28l-lossy-run.sh): healthy keep-alive traffic from Node,
python requests, Go and curl clients to nginx 1.22, a Node and a Go server over a path of two impaired
user-space wires (programs/x5-wire.py: delay, jitter, loss, reordering, SYNs not spared), captured next
to the server (tun x5s) or next to the clients (tun x5c). Ground truth, in --work:
  node.log, python.log, go.log   one JSON line per request (x28l-node-lanes.js, x28l-requests-lanes.py,
                                 x28l-go.go -mode client): status or error, bytes, local port, reused
  curl.log                       one JSON line per URL (curl -w), or a line with curl's non-zero exit
  clients-exit.log               a client that exited non-zero (none may)
  access.log                     nginx's: $msec $remote_addr $remote_port $connection $connection_requests
                                 $status $request_time $request_length $bytes_sent "$request" "$http_connection"
  node-server.log, go-server.log, sink.log   the Node and Go servers' (and nginx's upload sink's) request logs
  error.log                      nginx's (info): no [warn], [error] or [crit] line
  wires.log                      the two wires' counts on exit: client-router first, router-server second
Checks (exit 1, no meta, when one fails): every request the clients planned was answered 200/201 with the
body size planned, none failed or timed out, none was sent twice (Go's GotConn once per request); each
server logged each request it was sent exactly once; every request the clients logged is on the wire in
the capture (same client port, method and URI) and nothing else is, each with a response; no RST; every
connection in the capture starts with the client's SYN and ends with a FIN each way.
Usage: x28l-meta.py SCENARIO --point server|client --capture PCAP --meta OUT --work DIR --delay-ms D
         --jitter-ms J --loss L --reorder R --seed N [--wire-args A] --expect-requests node=120,... --software S...
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

ACCESS = re.compile(r'^(\d+\.\d+) (\S+) (\d+) (\d+) (\d+) (\d{3}) (\S+) (\d+) (\d+) "(\S+) (\S+) (\S+)" "(.*)"$')
TSHARK_OPTS = ["-o", "tcp.reassemble_out_of_order:TRUE", "-o", "tcp.desegment_tcp_streams:TRUE", "-o", "tcp.analyze_sequence_numbers:TRUE"]
PROBLEMS = []


def check(ok, what):
    if not ok:
        PROBLEMS.append(what)


def jsonl(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]


def tshark(capture, fields, display=None):
    cmd = ["tshark", "-n", "-r", capture, *TSHARK_OPTS, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    if display:
        cmd += ["-Y", display]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]


def rebuild(segs, what):
    """The bytes of one direction from its segments (relative sequence numbers), the first copy of
    each byte kept; a hole (bytes never captured) is a problem."""
    out, nxt = bytearray(), 1
    for seq in sorted(segs):
        d = segs[seq]
        if seq > nxt:
            check(False, f"{what}: bytes {nxt}-{seq} never captured")
            return bytes(out)
        if seq + len(d) > nxt:
            out += d[nxt - seq:]
            nxt = seq + len(d)
    return bytes(out)


def parse(buf, requests, what):
    """HTTP/1.1 messages in one direction: [(method, uri) or (status,), ...]; bodies by Content-Length
    or chunked."""
    out, i = [], 0
    while i < len(buf):
        end = buf.find(b"\r\n\r\n", i)
        if end < 0:
            check(False, f"{what}: a head cut short at byte {i}")
            break
        lines = buf[i:end].decode("latin-1").split("\r\n")
        hdr = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        first = lines[0].split(" ")
        i = end + 4
        if requests:
            out.append((first[0], first[1]))
        else:
            out.append((first[1],))
            if first[1] == "100":
                continue
        if hdr.get("transfer-encoding", "").lower() == "chunked":
            while True:
                e = buf.find(b"\r\n", i)
                n = int(buf[i:e].split(b";")[0], 16)
                i = e + 2 + n + 2
                if n == 0:
                    break
        else:
            i += int(hdr.get("content-length", "0"))
    check(i == len(buf), f"{what}: {len(buf) - i} bytes left over")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--point", choices=["server", "client"], required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--jitter-ms", type=float, required=True)
    ap.add_argument("--loss", type=float, required=True)
    ap.add_argument("--reorder", type=float, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--wire-args", default="")
    ap.add_argument("--wire", default="x5-wire.py")
    ap.add_argument("--other", default="", help="the scenario of the same run at the other capture point")
    ap.add_argument("--need-handshake-repeats", type=int, default=0)
    ap.add_argument("--expect-requests", required=True)
    ap.add_argument("--software", nargs="+", required=True)
    a = ap.parse_args()
    w = a.work

    # --- the clients' ground truth
    reqs = []  # {client, method, uri, port, status, bytes}
    for name in ("node", "python", "go"):
        for ev in jsonl(os.path.join(w, f"{name}.log")):
            check("event" not in ev, f"{name}: {ev}")
            if "event" in ev:
                continue
            check(ev.get("status") in (200, 201) and not ev.get("error"), f"{name} request failed: {ev}")
            big = re.match(r"^/big/(\d+)\.bin", ev["uri"])
            if big:
                check(ev.get("bytes") == int(big[1]), f"{name}: short body {ev}")
            if name == "go":
                check(ev.get("conns") == 1, f"go: request given {ev.get('conns')} connections (sent again): {ev}")
            check(ev.get("port") is not None, f"{name}: no local port {ev}")
            reqs.append({"client": name, "method": ev["method"], "uri": ev["uri"], "port": ev.get("port"),
                         "status": ev.get("status"), "dur": ev["end"] - ev["start"], "reused": ev.get("reused")})
    curl_runs = collections.defaultdict(set)
    for ev in jsonl(os.path.join(w, "curl.log")):
        check("exit" not in ev, f"curl exited non-zero: {ev}")
        if "exit" in ev:
            continue
        ev["code"] = int(ev["code"])  # "000" when curl got no answer
        check(ev["code"] in (200, 201), f"curl: {ev}")
        uri = re.sub(r"^http://[^/]+", "", ev["url"])
        run = re.search(r"c(\d+)-", uri)[1]
        curl_runs[run].add(ev["port"])
        big = re.match(r"^/big/(\d+)\.bin", uri)
        if big:
            check(ev["bytes"] == int(big[1]), f"curl: short body {ev}")
        reqs.append({"client": "curl", "method": "POST" if uri.startswith("/up/") else "GET", "uri": uri,
                     "port": ev["port"], "status": ev["code"], "dur": ev["time"]})
    for run, ports in curl_runs.items():
        check(len(ports) == 1, f"curl run {run} used several connections: {ports}")
    for ev in jsonl(os.path.join(w, "clients-exit.log")):
        check(False, f"a client exited non-zero: {ev}")
    per_client = collections.Counter(r["client"] for r in reqs)
    for kv in a.expect_requests.split(","):
        k, v = kv.split("=")
        check(per_client[k] == int(v), f"{k}: {per_client[k]} requests logged, {v} planned")
    uris = collections.Counter(r["uri"] for r in reqs)
    check(all(n == 1 for n in uris.values()), "a URI was sent twice by the clients")

    # --- the servers' logs: each request served exactly once, by the server it was sent to
    served = collections.Counter()
    for line in open(os.path.join(w, "access.log")):
        m = ACCESS.match(line.strip())
        check(m is not None, f"access log line not understood: {line.strip()}")
        if m:
            served[("nginx", m[11])] += 1
            check(m[6] in ("200", "201"), f"nginx logged {m[6]}: {line.strip()}")
    for name, f in (("node", "node-server.log"), ("go", "go-server.log")):
        for ev in jsonl(os.path.join(w, f)):
            served[(name, ev["url"])] += 1
    sink = {ev["url"] for ev in jsonl(os.path.join(w, "sink.log"))}
    for r in reqs:
        # lanes' targets are in the logs only as ports of the URL; the servers' logs say who got it
        hits = [k for k in served if k[1] == r["uri"]]
        check(len(hits) == 1 and served[hits[0]] == 1, f"request {r['uri']} served {[(k, served[k]) for k in hits]}")
        if r["uri"].startswith("/up/") and hits and hits[0][0] == "nginx":
            check(r["uri"] in sink, f"upload {r['uri']} not in nginx's sink log")
    check(sum(served.values()) == len(reqs), f"servers logged {sum(served.values())} requests, clients {len(reqs)}")
    errs = [l.strip() for l in open(os.path.join(w, "error.log")) if re.search(r"\[(warn|error|crit|alert|emerg)\]", l)
            and "is buffered to a temporary file" not in l]
    check(not errs, f"nginx error log: {errs[:3]}")

    # --- the capture
    pk = tshark(a.capture, ["frame.number", "frame.time_epoch", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.stream",
                            "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset", "tcp.len",
                            "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission",
                            "tcp.analysis.out_of_order", "tcp.analysis.duplicate_ack", "tcp.analysis.lost_segment",
                            "tcp.analysis.ack_lost_segment", "frame.len"])
    server_ports = {"8080", "8081", "8082"}
    streams = collections.defaultdict(list)
    for p in pk:
        streams[p["tcp.stream"]].append(p)
    stats = collections.Counter()
    syn_retx = synack_retx = 0
    conns = {}
    for sid, ps in streams.items():
        first = ps[0]
        cport = first["tcp.srcport"] if first["tcp.dstport"] in server_ports else first["tcp.dstport"]
        conns[cport] = sid
        syns = [p for p in ps if p["tcp.flags.syn"] == "1" and p["tcp.flags.ack"] == "0"]
        synacks = [p for p in ps if p["tcp.flags.syn"] == "1" and p["tcp.flags.ack"] == "1"]
        check(len(syns) >= 1 and first["tcp.flags.syn"] == "1", f"stream {sid} (port {cport}) does not start with a SYN")
        syn_retx += max(0, len(syns) - 1)
        synack_retx += max(0, len(synacks) - 1)
        fins_c = [p for p in ps if p["tcp.flags.fin"] == "1" and p["tcp.srcport"] == cport]
        fins_s = [p for p in ps if p["tcp.flags.fin"] == "1" and p["tcp.srcport"] != cport]
        check(fins_c and fins_s, f"stream {sid} (port {cport}) not closed both ways (client FINs {len(fins_c)}, server FINs {len(fins_s)})")
        stats["finRetransmitted"] += max(0, len(fins_c) - 1) + max(0, len(fins_s) - 1)
    for p in pk:
        for f, k in (("tcp.analysis.retransmission", "retransmission"), ("tcp.analysis.fast_retransmission", "fastRetransmission"),
                     ("tcp.analysis.spurious_retransmission", "spuriousRetransmission"), ("tcp.analysis.out_of_order", "outOfOrder"),
                     ("tcp.analysis.duplicate_ack", "duplicateAck"), ("tcp.analysis.lost_segment", "previousSegmentNotCaptured"),
                     ("tcp.analysis.ack_lost_segment", "ackedUnseenSegment")):
            if p.get(f):
                stats[k] += 1
        if p["tcp.flags.reset"] == "1":
            stats["rst"] += 1
    # a reset is allowed only once both FINs were sent (a segment reordered past the close that the
    # closed socket's kernel answers with RST); any other is a failure
    for sid, ps in streams.items():
        fin_dirs, seen = set(), False
        for p in ps:
            if p["tcp.flags.reset"] == "1":
                check(len(fin_dirs) == 2, f"stream {sid}: RST in frame {p['frame.number']} before both FINs")
                stats["rstAfterBothFins"] += 1
            if p["tcp.flags.fin"] == "1":
                fin_dirs.add(p["tcp.srcport"])
    # the HTTP messages, rebuilt from the segments by sequence number (tshark's own HTTP reassembly
    # gives up on some streams whose segments arrive out of order), each direction parsed in turn
    segs = tshark(a.capture, ["tcp.stream", "tcp.srcport", "tcp.seq", "tcp.len", "tcp.payload"], "tcp.len > 0")
    data = collections.defaultdict(dict)
    for sg in segs:
        d, k = bytes.fromhex(sg["tcp.payload"].replace(":", "")), int(sg["tcp.seq"])
        got = data[(sg["tcp.stream"], sg["tcp.srcport"])]
        if len(d) > len(got.get(k, b"")):  # a retransmission may carry more than the first copy from the same byte
            got[k] = d
    wire_reqs, responses, codes = collections.Counter(), 0, collections.Counter()
    for sid, ps in streams.items():
        first = ps[0]
        cport = first["tcp.srcport"] if first["tcp.dstport"] in server_ports else first["tcp.dstport"]
        sport = first["tcp.dstport"] if cport == first["tcp.srcport"] else first["tcp.srcport"]
        up, down = rebuild(data[(sid, cport)], f"stream {sid} client"), rebuild(data[(sid, sport)], f"stream {sid} server")
        rq = parse(up, True, f"stream {sid} requests")
        rs = parse(down, False, f"stream {sid} responses")
        for m in rq:
            wire_reqs[(int(cport), m[0], m[1])] += 1
        final = [m for m in rs if m[0] != "100"]
        responses += len(final)
        codes.update(m[0] for m in rs)
        check(len(final) == len(rq), f"stream {sid} (port {cport}): {len(rq)} requests, {len(final)} responses")
    log_reqs = collections.Counter((int(r["port"]), r["method"], r["uri"]) for r in reqs)
    check(wire_reqs == log_reqs, f"requests on the wire differ from the clients' logs: only on the wire {list((wire_reqs - log_reqs).items())[:5]}, only logged {list((log_reqs - wire_reqs).items())[:5]}")
    check(set(codes) <= {"100", "200", "201"}, f"response codes {dict(codes)}")
    hreq = list(wire_reqs.elements())
    hundred = codes["100"]

    stats_file = a.capture[:-len(".pcap")] + ".tcpdump"
    tstats = open(stats_file).read() if os.path.exists(stats_file) else ""
    m = re.search(r"(\d+) packets dropped by kernel", tstats)
    check(m is not None and m[1] == "0", f"tcpdump: {m[0] if m else 'no statistics'} ({stats_file})")
    check(syn_retx + synack_retx >= a.need_handshake_repeats,
          f"{syn_retx} repeated SYNs and {synack_retx} repeated SYN-ACKs, {a.need_handshake_repeats} wanted (no handshake met a loss)")
    wires = jsonl(os.path.join(w, "wires.log"))
    check(len(wires) == 2, f"wires.log has {len(wires)} lines, 2 expected")

    if PROBLEMS:
        for p in PROBLEMS:
            print(f"x28l-meta: {a.scenario}: {p}", file=sys.stderr)
        return 1

    reused = sum(1 for r in reqs if r.get("reused"))
    durs = sorted(r["dur"] for r in reqs)
    by_server = collections.Counter(k[0] for k in served.elements())
    where = "next to the server (tun x5s in the server's namespace)" if a.point == "server" else "next to the clients (tun x5c in the clients' namespace)"
    other = f"The same run is captured at the other point in {a.other}. " if a.other else ""
    burst = f" at random plus bursts of loss ({a.wire_args.strip()})" if a.wire_args.strip() else ""
    lost = [100.0 * x["dropped"] / max(1, x["dropped"] + x["forwarded"]) for x in wires]
    bursts = (f", {wires[0].get('burstDropped', 0)} + {wires[1].get('burstDropped', 0)} of them in bursts of loss "
              f"({wires[0].get('bursts', 0)} + {wires[1].get('bursts', 0)} bursts laid out in time)") if "bursts" in wires[0] else ""
    desc = (f"Healthy keep-alive traffic over a lossy, jittery, reordering path, captured {where}. Clients (10.55.1.1) and servers "
            f"(10.55.2.2) are joined through a router namespace by two user-space wires ({a.wire}), each {a.delay_ms:g} ms ± {a.jitter_ms:g} ms "
            f"one way (uniform jitter per packet, so back-to-back segments overtake each other), {a.loss:g} % loss{burst} and {a.reorder:g} % "
            f"reordering each way, SYNs and FINs not spared. Servers: nginx 1.22 on :8080 (keepalive_timeout 30s; small `return` answers, "
            f"static files of 200 KB and 1 MB, 100 KB uploads proxied to a Node sink on the server's loopback), a Node http server on :8081 "
            f"(keepAliveTimeout 30 s) and a Go net/http server on :8082 (IdleTimeout 30 s). Clients, all at once: four Node http.Agent "
            f"keep-alive lanes, three python requests sessions, two Go http.Client lanes, four curl runs of several URLs on one "
            f"connection each and 20 curls of one request each; think times 0.05-2 s, far below every idle timeout; GETs and POSTs, 100 KB uploads, responses of 100 KB-1 MB "
            f"and a few requests with Connection: close; each lane closes its connection at the end. All {len(reqs)} requests "
            f"({', '.join(f'{k} {v}' for k, v in sorted(per_client.items()))}) were answered 200/201 with the planned bodies, none failed, "
            f"none was sent twice; the wires dropped {wires[0]['dropped']} + {wires[1]['dropped']} packets ({lost[0]:.1f} % and "
            f"{lost[1]:.1f} % of what they carried){bursts}, and reordered {wires[0]['reordered']} + "
            f"{wires[1]['reordered']} packets, and this capture holds {len(pk)} packets on {len(streams)} connections with "
            f"{stats['retransmission']} retransmissions (tshark), {syn_retx} retransmitted SYNs, {synack_retx} repeated SYN-ACKs, "
            f"{stats['outOfOrder']} out-of-order segments and {stats['duplicateAck']} duplicate ACKs. Slowest exchange {durs[-1]:.2f} s. "
            f"{other}Nothing failed: nothing may be reported.")
    meta = {
        "scenario": a.scenario,
        "description": desc,
        "software": a.software,
        "network": {"path": "client - wire - router - wire - server", "perWire": {"oneWayDelayMs": a.delay_ms, "jitterMs": a.jitter_ms,
                    "lossPct": a.loss, "reorderPct": a.reorder, "synLoss": True, "extraWireArgs": a.wire_args.strip() or None},
                    "seeds": [a.seed, a.seed + 1], "capturePoint": a.point, "wireProgram": a.wire},
        "observed": {
            "requests": len(reqs), "requestsPerClient": dict(sorted(per_client.items())),
            "requestsPerServer": dict(sorted(by_server.items())), "reusedConnectionRequests": reused,
            "exchangeSeconds": {"median": round(durs[len(durs) // 2], 3), "max": round(durs[-1], 3)},
            "wires": {"clientRouter": wires[0], "routerServer": wires[1]},
            "wireLossPct": [round(x, 2) for x in lost],
            "capture": {"packets": len(pk), "bytes": os.path.getsize(a.capture), "connections": len(streams),
                        "httpRequests": len(hreq), "httpResponses": responses, "continue100": hundred,
                        "synRetransmitted": syn_retx, "synAckRepeated": synack_retx, **dict(sorted(stats.items()))},
        },
        "expect": [],
        "silent": True,
        "notes": ("Ground truth: the clients' own per-request logs (status, body bytes, local port, reuse), the servers' request logs "
                  "(nginx access log, Node and Go servers' logs) and the wires' counts, checked against the capture by "
                  "programs/x28l-meta.py. Every retransmission, repeated SYN or SYN-ACK, duplicate ACK and out-of-order segment here "
                  "comes from the wires' loss, jitter and reordering; any finding on this capture is a false one."),
    }
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"x28l-meta: {a.scenario}: ok, {len(reqs)} requests, {len(pk)} packets, {len(streams)} connections, "
          f"{stats['retransmission']} retransmissions, {syn_retx} SYN retransmits", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
