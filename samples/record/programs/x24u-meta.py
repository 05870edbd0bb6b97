#!/usr/bin/env python3
"""Check the uploads-expect-continue-nginx sample against curl's, requests' and nginx's logs and write
its meta.json.

Usage: x24u-meta.py SCENARIO --capture FILE --meta OUT --work DIR --ports 8080,8081 [--software S ...]

DIR holds curl.log (one -w line per request: lane, local port, status, connects, bytes uploaded, exit
code, URL), curl-LANE.trace (curl -v), requests.log (programs/x24u-requests-client.py), access.log
(nginx: $remote_port $status $request_length $connection $connection_requests $server_port $msec
"$request" $bytes_sent) and error.log. The connections (SYN, FIN, RST) come from b-meta.py's tshark
reader; the HTTP messages from each direction's byte stream, reassembled here from the capture and
parsed as HTTP/1.1 (Content-Length and chunked bodies, 1xx interim responses), so that a 100 Continue
and a final response, a request head and its body, are told apart wherever the segments cut them.
Every request's final status, the 100 Continues, the bytes uploaded and the request's index on its
connection must agree with the clients' and nginx's logs; any failing check prints why and exits 1
without writing the meta.
"""
import argparse
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
check = bm.check


def streams(capture):
    """({(source port, destination port): (bytes, [(offset, frame, t)])}, {(source port, destination
    port): [RST frames]}): each direction's payload in sequence order (duplicates dropped), with the
    frame and time at which each byte range arrived, and each direction's RSTs."""
    cmd = ["tshark", "-r", capture, "-T", "fields", "-E", "separator=\t", "-o", "tcp.relative_sequence_numbers:TRUE",
           "-e", "frame.number", "-e", "frame.time_relative", "-e", "tcp.srcport", "-e", "tcp.dstport",
           "-e", "tcp.seq", "-e", "tcp.len", "-e", "tcp.payload", "-e", "tcp.flags.reset"]
    segs, rsts = {}, {}
    for line in subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines():
        frame, t, sp, dp, seq, ln, payload, rst = (line.split("\t") + [""] * 8)[:8]
        if rst in ("1", "True"):
            rsts.setdefault((int(sp), int(dp)), []).append(int(frame))
        if not payload or not ln or int(ln) == 0:
            continue
        segs.setdefault((int(sp), int(dp)), []).append((int(seq), bytes.fromhex(payload.replace(":", "")), int(frame), float(t)))
    out = {}
    for (sp, dp), parts in segs.items():
        data, where = bytearray(), []
        for seq, chunk, frame, t in sorted(parts, key=lambda p: (p[0], p[2])):
            start = seq - 1  # relative sequence numbers start at 1 after the SYN
            if start + len(chunk) <= len(data):
                continue  # a copy of bytes already had
            check(start <= len(data), f"{sp}->{dp}: bytes {len(data)}..{start} missing from the capture")
            where.append((len(data), frame, t))
            data += chunk[len(data) - start:]
        out[(sp, dp)] = (bytes(data), where)
    return out, rsts


def at(where, offset):
    """(frame, t) of the segment that carried byte OFFSET."""
    best = where[0]
    for w in where:
        if w[0] <= offset:
            best = w
        else:
            break
    return best[1], best[2]


def head(data, off):
    end = data.find(b"\r\n\r\n", off)
    if end < 0:
        return None
    lines = data[off:end].decode("latin1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return lines[0], headers, end + 4


def chunked_end(data, off):
    """(end offset, payload bytes) of a chunked body from OFF, or (None, payload bytes so far)."""
    payload = 0
    while True:
        eol = data.find(b"\r\n", off)
        if eol < 0:
            return None, payload
        size = int(data[off:eol].split(b";")[0], 16)
        if size == 0:
            trailer = data.find(b"\r\n\r\n", eol)
            return (trailer + 4 if trailer >= 0 else None), payload
        if eol + 2 + size + 2 > len(data):
            return None, payload + max(0, min(size, len(data) - eol - 2))
        payload += size
        off = eol + 2 + size + 2


def requests_of(data, where):
    out, off = [], 0
    while off < len(data):
        h = head(data, off)
        check(h is not None and re.match(r"^[A-Z]+ \S+ HTTP/1\.1$", h[0]), f"request stream at {off}: {data[off:off + 40]!r}")
        line, headers, body = h
        method, uri, _ = line.split(" ")
        frame, t = at(where, off)
        r = {"offset": off, "method": method, "uri": uri, "frame": frame, "t": t, "headers": headers,
             "expect": headers.get("expect", "").lower() == "100-continue",
             "chunked": "chunked" in headers.get("transfer-encoding", "").lower(),
             "contentLength": int(headers["content-length"]) if "content-length" in headers else None}
        if r["chunked"]:
            end, r["bodyPayloadBytes"] = chunked_end(data, body)
        else:
            n = r["contentLength"] or 0
            end = body + n if body + n <= len(data) else None
            r["bodyPayloadBytes"] = min(n, len(data) - body)
        r["complete"] = end is not None
        nxt = end if end is not None else len(data)
        r["bodyWireBytes"] = nxt - body  # what curl's %{size_upload} counts (chunk framing included)
        r["endFrame"], r["endT"] = at(where, nxt - 1)
        out.append(r)
        off = nxt
    return out


def responses_of(data, where):
    out, off = [], 0
    while off < len(data):
        h = head(data, off)
        check(h is not None and h[0].startswith("HTTP/1.1 "), f"response stream at {off}: {data[off:off + 40]!r}")
        line, headers, body = h
        status = int(line.split(" ")[1])
        n = 0 if status < 200 or status in (204, 304) else int(headers["content-length"])
        check(body + n <= len(data), f"response {line} cut short")
        frame, t = at(where, off)
        out.append({"status": status, "reason": line.split(" ", 2)[2], "frame": frame, "t": t,
                    "connection": headers.get("connection", "").lower(), "endFrame": at(where, body + n - 1)[0]})
        off = body + n
    return out


def pair(reqs, resps):
    """Each request with the 1xx responses that came while it was the one in progress and its final
    response (requests are never pipelined here: each waits for the previous one's final response)."""
    finals = [r for r in resps if r["status"] >= 200]
    check(len(finals) <= len(reqs), f"{len(finals)} final responses to {len(reqs)} requests")
    interim = [r for r in resps if r["status"] < 200]
    for i, q in enumerate(reqs):
        q["final"] = finals[i] if i < len(finals) else None
        lo = finals[i - 1]["t"] if i else -1
        hi = q["final"]["t"] if q["final"] else float("inf")
        q["interim"] = [r for r in interim if lo < r["t"] <= hi and r["t"] >= q["t"]]
        if q["final"]:
            check(q["final"]["t"] >= q["t"], f"{q['uri']}: a final response before its request")
    check(sum(len(q["interim"]) for q in reqs) == len(interim), "a 1xx response outside any request")
    return reqs


def read_logs(work):
    curl = {}
    for line in open(os.path.join(work, "curl.log")):
        lane, port, status, connects, up, code, url = line.split()
        curl[re.sub(r"^http://[^/]+", "", url)] = {"lane": lane, "port": int(port), "status": int(status),
                                                  "newConnection": connects == "1", "sizeUpload": int(up), "exitCode": int(code)}
    traces = {}
    for name in sorted(os.listdir(work)):
        m = re.match(r"curl-(\w+)\.trace$", name)
        if m:
            text = open(os.path.join(work, name), errors="replace").read()
            traces[m.group(1)] = {"continues": len(re.findall(r"^< HTTP/1\.1 100 Continue", text, re.M)),
                                  "closing": len(re.findall(r"^\* Closing connection", text, re.M)),
                                  "errors": re.findall(r"^curl: \(\d+\).*$", text, re.M)}
    py = [json.loads(l) for l in open(os.path.join(work, "requests.log")) if l.strip()]
    access = []
    for line in open(os.path.join(work, "access.log")):
        m = re.match(r'^(\d+) (\d+) (\d+) (\d+) (\d+) (\d+) ([\d.]+) "(\S+) (\S+) \S+" (\d+)$', line.strip())
        check(m, f"access log line: {line!r}")
        access.append({"port": int(m.group(1)), "status": int(m.group(2)), "requestLength": int(m.group(3)),
                       "connection": int(m.group(4)), "connectionRequests": int(m.group(5)), "serverPort": int(m.group(6)),
                       "method": m.group(8), "uri": m.group(9), "bytesSent": int(m.group(10))})
    errors = [l.strip() for l in open(os.path.join(work, "error.log")) if "[error]" in l]
    return curl, traces, py, access, errors


def close_of(c):
    """How the connection ended: the first FIN/RST of each side, who went first, and the order."""
    events = sorted([(t, "client", "FIN") for t, _ in c.fins[True]] + [(t, "server", "FIN") for t, _ in c.fins[False]]
                    + [(t, "client", "RST") for t, _ in c.rsts[True]] + [(t, "server", "RST") for t, _ in c.rsts[False]])
    seen, order = set(), []
    for t, who, what in events:
        if (who, what) not in seen:
            seen.add((who, what))
            order.append(f"{who} {what}")
    return {"order": order, "first": order[0] if order else None, "firstAt": bm.r3(events[0][0]) if events else None}


def describe(q):
    body = ("chunked" if q["chunked"] else f"Content-Length {q['contentLength']}") if q["method"] != "GET" else "no body"
    return f"{q['method']} {q['uri']} ({body}{', Expect: 100-continue' if q['expect'] else ''})"


def judge(c, reqs, unread, saw, rst_frame):
    """The finding this connection must raise (kind, note) from the capture alone."""
    close = close_of(c)
    last = reqs[-1]
    if c.rsts[False] and not c.fins[False]:
        if last["final"] is not None and last["final"]["t"] <= c.rsts[False][0][0]:
            return "rst-on-close", (
                f"{describe(last)} was answered {last['final']['status']} {last['final']['reason']} (Connection: "
                f"{last['final']['connection']}, frame {last['final']['frame']}) after nginx had read 64 KiB of the body; with "
                f"lingering_close off nginx then closed at once with {unread} bytes of the upload unread, so its kernel sent RST "
                f"(t={bm.r3(c.rsts[False][0][0])} s, {(c.rsts[False][0][0] - last['final']['t']) * 1e3:.3f} ms after the 413) "
                f"instead of a FIN (frame {rst_frame}); the body was unfinished (the client had sent {last['bodyWireBytes']} bytes of "
                f"it). The client still got the response: curl reported {saw['status']}, exit code {saw.get('exitCode')} (the RST "
                f"came after it had read the 413), though it had handed {saw.get('bytesUploaded')} body bytes to its socket")
        return "reset-before-response", f"{describe(last)}: server RST before any final response"
    check(not c.rsts[True] and not c.rsts[False], f"{c.cid}: a reset ({close['order']})")
    return None, None


def unread_at_rst(c, offset, request_length):
    """Upload bytes the server's kernel had received (its RST's ACK number) that nginx never read:
    those past the last request's start (OFFSET in the client's stream) plus its $request_length."""
    ack = c.rsts[False][0][1]
    if ack is None:
        return None
    received = (ack - c.isn - 1) & 0xFFFFFFFF
    return received - offset - request_length


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ports", required=True)
    ap.add_argument("--software", nargs="*", default=[])
    a = ap.parse_args()
    ports = [int(p) for p in a.ports.split(",")]
    try:
        meta = build(a, ports)
    except bm.CheckFailed as e:
        print(f"{a.scenario}: check failed: {e}", file=sys.stderr)
        sys.exit(1)
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{a.scenario}: {a.meta} written ({meta['facts']['connections']} connections, "
          f"{sum(len(c['exchanges']) for c in meta['groundTruth'])} exchanges)")


def build(a, ports):
    conns = bm.load(a.capture, ports)
    data, rst_frames = streams(a.capture)
    curl, traces, py, access, errors = read_logs(a.work)
    py_by_uri = {p["uri"]: p for p in py}
    check(os.path.getsize(a.capture) < 2_000_000, "capture over 2 MB")
    truth, expect = [], []
    continues_by_lane = {}
    for c in conns:
        cp, sp = c.client[1], c.server[1]
        check((cp, sp) in data, f"{c.cid}: no request bytes")
        reqs = pair(requests_of(*data[(cp, sp)]), responses_of(*data[(sp, cp)]) if (sp, cp) in data else [])
        check(reqs, f"{c.cid}: no request")
        logged = sorted([x for x in access if x["port"] == cp and x["serverPort"] == sp], key=lambda x: x["connectionRequests"])
        check(len(logged) == len(reqs), f"{c.cid}: {len(reqs)} requests, nginx logged {len(logged)}")
        exchanges = []
        for i, q in enumerate(reqs, 1):
            lg = logged[i - 1]
            st = q["final"]["status"] if q["final"] else None
            check((lg["method"], lg["uri"], lg["status"], lg["connectionRequests"]) == (q["method"], q["uri"], st, i),
                  f"{c.cid} #{i}: capture {q['method']} {q['uri']} {st}, nginx {lg}")
            check(len({x["connection"] for x in logged}) == 1, f"{c.cid}: nginx logged several connection numbers")
            who = curl.get(q["uri"]) or py_by_uri.get(q["uri"])
            check(who is not None and who["port"] == cp and who["status"] == st, f"{c.cid} {q['uri']}: client log {who}")
            lane = who.get("lane", "requests")
            if lane != "requests":
                # curl counts what it wrote to its socket: on a connection the server reset, bytes still in the
                # client's send buffer never left.
                lost = bool(c.rsts[False]) and q is reqs[-1]
                check(who["sizeUpload"] == q["bodyWireBytes"] or (lost and who["sizeUpload"] > q["bodyWireBytes"]),
                      f"{q['uri']}: curl uploaded {who['sizeUpload']}, capture {q['bodyWireBytes']}")
                check(who["exitCode"] == 0, f"{q['uri']}: curl exit code {who['exitCode']}")
                continues_by_lane[lane] = continues_by_lane.get(lane, 0) + len(q["interim"])
            else:
                check(who["event"] == "response", f"{q['uri']}: requests failed: {who}")
            check(not q["expect"] or len(q["interim"]) <= 1, f"{q['uri']}: several 100 Continues")
            check(not q["interim"] or q["expect"], f"{q['uri']}: 100 Continue without Expect")
            exchanges.append({
                "index": i, "client": lane, "method": q["method"], "uri": q["uri"],
                "expect100": q["expect"], "chunked": q["chunked"], "contentLength": q["contentLength"],
                "bodyBytesSent": q["bodyPayloadBytes"], "bodyWireBytes": q["bodyWireBytes"], "requestComplete": q["complete"],
                "requestFrame": q["frame"], "requestEndFrame": q["endFrame"],
                "interim": [{"status": r["status"], "frame": r["frame"]} for r in q["interim"]],
                "status": st, "responseFrame": q["final"]["frame"] if q["final"] else None,
                "responseConnection": q["final"]["connection"] if q["final"] else None,
                "responseBeforeBodyEnd": bool(q["final"]) and q["final"]["frame"] < q["endFrame"] and q["method"] != "GET",
                "nginxRequestLength": lg["requestLength"], "nginxConnectionRequests": lg["connectionRequests"],
                "clientSaw": ({"status": who["status"], "exitCode": who["exitCode"], "bytesUploaded": who["sizeUpload"]}
                              if lane != "requests" else {"status": who["status"], "reason": who["reason"]}),
            })
        for q in reqs[:-1]:
            check(q["final"] and q["final"]["connection"] == "keep-alive", f"{c.cid}: {q['uri']} not kept alive but followed")
        close = close_of(c)
        unread = unread_at_rst(c, reqs[-1]["offset"], logged[-1]["requestLength"]) if c.rsts[False] else None
        rst_frame = (rst_frames.get((sp, cp)) or [None])[0]
        kind, note = judge(c, reqs, unread, exchanges[-1]["clientSaw"], rst_frame)
        if kind is None:
            last = reqs[-1]
            refused = [e for e in exchanges if e["status"] == 413]
            note = (f"{len(reqs)} exchange(s): " + "; ".join(
                f"#{e['index']} {e['method']} {e['uri']} -> " + (f"{e['interim'][0]['status']}+" if e["interim"] else "") + str(e["status"])
                for e in exchanges) + f"; closed {', '.join(close['order'])}. "
                + (f"The 413 ({last['final']['reason']}, Connection: close) left nginx "
                   + ("before any body byte" if last["bodyWireBytes"] == 0 else
                      f"while the upload was unfinished ({last['bodyWireBytes']} body bytes had been sent)" if not last["complete"] else
                      "after the whole body had arrived" if last["final"]["frame"] > last["endFrame"] else
                      "while the body was still arriving (nginx's lingering close read and discarded the rest)")
                   + "; no reset (lingering close): clean." if refused else "Clean."))
        last = exchanges[-1]
        evidence = {"requestFrame": last["requestFrame"], "responseFrame": last["responseFrame"], "status": last["status"]}
        if kind is not None:
            evidence.update(rstFrame=rst_frame, unreadBytes=unread, requestBodyBytesSent=last["bodyBytesSent"])
        expect.append(bm.entry(kind, c, note, **evidence))
        truth.append({"client": c.cid, "server": c.sid, "close": close, "unreadAtServerRst": unread, "exchanges": exchanges})
    for lane, tr in traces.items():
        check(tr["continues"] == continues_by_lane.get(lane, 0), f"curl {lane}: trace shows {tr['continues']} 100 Continue, capture {continues_by_lane.get(lane, 0)}")
        check(not tr["errors"], f"curl {lane}: {tr['errors']}")
    check(len(curl) + len(py) == sum(len(t["exchanges"]) for t in truth), "a client request missing from the capture")
    kinds = [e["kind"] for e in expect]
    resets = [e["client"] for e in expect if e["kind"] == "rst-on-close"]
    on_nolinger = [t["client"] for t in truth if t["server"].endswith(f":{ports[1]}") and t["exchanges"][-1]["status"] == 413]
    check(sorted(resets) == sorted(on_nolinger) and len(resets) == 2 and "reset-before-response" not in kinds,
          f"expected rst-on-close on both refused uploads to port {ports[1]} and nothing else, got {kinds}")
    statuses = {}
    for t in truth:
        for e in t["exchanges"]:
            statuses[str(e["status"])] = statuses.get(str(e["status"]), 0) + 1
    facts = bm.summary(conns)
    facts.update({"captureFile": os.path.basename(a.capture), "statuses": dict(sorted(statuses.items())),
                  "continues": sum(len(e["interim"]) for t in truth for e in t["exchanges"]),
                  "chunkedRequests": sum(e["chunked"] for t in truth for e in t["exchanges"])})
    desc = (
        "HTTP/1.1 upload edge cases against nginx 1.22 (Debian) with client_max_body_size 64k and keep-alive on, on the loopback "
        "of a private namespace: /up/ proxied to a Node backend (127.0.0.1:9001, not captured) that reads the body and answers "
        "201 (POST) or 200 (PUT), /drop/ answered 201 by nginx itself without reading the body, other paths 200. Listener 8080 "
        "keeps nginx's default lingering close; 8081 has lingering_close off. curl 7.88 (one invocation, --next) on 8080: 1 KiB "
        "and 60 KiB POSTs without and with a forced Expect: 100-continue (nginx answers 100 Continue, then the final status), "
        "60 KiB chunked PUTs without and with Expect, a 60 KiB POST with Expect to /drop/ (100 Continue and 201 before the "
        "body arrives; nginx discards the body afterwards and keeps the connection), then 200 KiB uploads refused 413 "
        "(Connection: close): with Expect (refused at the headers, no 100 Continue, no body sent), without Expect (refused "
        "while the body was on its way; curl stops sending), chunked (refused after 64 KiB were read; curl sends the rest, "
        "nginx's lingering close reads and discards it) and chunked with Expect (100 Continue, then 413), each on its own "
        "connection after a GET. On 8081 a 200 KiB chunked PUT refused 413 with lingering_close off: nginx closes with the "
        "upload unread and its kernel sends RST right after the 413 (curl still reports 413); the same for a chunked PUT "
        "with Expect: 100-continue (nginx cannot refuse a chunked body at its headers: 100 Continue, then 413 and RST). python requests on 8080, one "
        "Session: a 200 KiB body (no Expect) refused 413, and a generator body (chunked, 48 KiB) accepted. Each connection's "
        "exchanges, their 100 Continues, statuses and how it closed are in groundTruth; everything but the RST is clean.")
    return {
        "scenario": a.scenario, "description": desc, "software": a.software,
        "configured": {"clientMaxBodyBytes": 65536, "nginxKeepaliveTimeoutSeconds": 30, "lingeringTimeSeconds": 30,
                       "lingeringTimeoutSeconds": 5, "lingeringCloseOffPort": ports[1]},
        "configuredNotes": "nginx client_max_body_size 64k, keepalive_timeout 30s, lingering_time 30s and lingering_timeout 5s "
                           f"on port {ports[0]}; lingering_close off on port {ports[1]}. None of them is a timeout conncheck infers.",
        "expect": expect, "silent": False,
        "notes": ("What a parser must get right here (groundTruth, per connection and exchange index): a 100 Continue is an "
                  "interim response of the request in progress, not its final one (its status is the 201/200/413 after it); "
                  "on /drop/ the 100 Continue and the 201 both come before the body has arrived and the next request (a GET) "
                  "follows the 60 KiB body on the same connection; a 413 answers a request whose body never came or is cut "
                  "short (requestComplete false) and no request follows it on that connection; chunked request bodies "
                  "(curl's chunks of up to 64 KiB, requests' 4 KiB ones) end at their last-chunk."),
        "groundTruth": truth,
        "observed": {"nginxErrors": [re.sub(r"^\S+ \S+ \[(\w+)\] \d+#\d+: ", r"[\1] ", e) for e in errors],
                     "curlTraces": traces},
        "facts": facts,
    }


if __name__ == "__main__":
    main()
