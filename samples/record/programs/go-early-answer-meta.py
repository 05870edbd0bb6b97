#!/usr/bin/env python3
"""Check a rst-on-close-go-early-answer capture against the programs' own logs and write the
sample's meta.json (programs/go-early-answer-server.go's event log, programs/go-early-answer-client.py's
JSON lines). Built on c-meta.py's tshark reader (same fields, same "facts").

What must hold, or nothing is written (exit 1):
  * the connections are, in order, --uploads upload connections and one /small connection;
  * each upload connection: one POST /upload announcing the configured body, one 413 response sent
    before any server FIN; then the server's FIN (Go's CloseWrite), client payload AFTER that FIN
    (the upload still running into the half-closed connection), then the server's RST (Go's Close
    after rstAvoidanceDelay with request bytes unread), 0.3-1.0 s after the FIN; the client sent
    less than the announced body and never closed first; the server log shows close-write and close
    for that client port, and the client log has a line for that port;
  * the /small connection: two POST /small answered 200 on one connection, no RST, the client's FIN
    first (keep-alive until the client closes).

Usage: go-early-answer-meta.py --scenario NAME --capture FILE --client-log FILE --server-log FILE
                               --configured JSON --out META.json [--software TEXT ...]
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("cmeta", os.path.join(_here, "c-meta.py"))
cmeta = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cmeta)
check, CheckFailed, r3, entry = cmeta.check, cmeta.CheckFailed, cmeta.r3, cmeta.entry

SERVER_PORT = 8080


def first_epoch(capture):
    out = subprocess.run(["tshark", "-r", capture, "-n", "-c", "1", "-T", "fields", "-e", "frame.time_epoch"],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0])


def read_jsonl(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def ms(x):
    return round(x * 1000, 3)


def upload_conn(c, cfg, client, server_events, t0):
    port = int(c.client.rsplit(":", 1)[1])
    reqs, resps = c.requests(), c.responses()
    check(len(reqs) == 1 and reqs[0].method == "POST" and reqs[0].uri == "/upload",
          f"{c.client}: expected one POST /upload, got {[(p.method, p.uri) for p in reqs]}")
    req = reqs[0]
    check(req.content_length == cfg["requestBodyBytes"], f"{c.client}: Content-Length {req.content_length}")
    check(len(resps) == 1 and resps[0].status == 413, f"{c.client}: expected one 413, got {[p.status for p in resps]}")
    sfins, srsts = c.fins("server"), c.rsts("server")
    check(len(sfins) == 1, f"{c.client}: {len(sfins)} server FINs")
    check(len(srsts) >= 1, f"{c.client}: no server RST")
    fin, rst = sfins[0], srsts[0]
    check(fin.frame < rst.frame, f"{c.client}: server RST (frame {rst.frame}) before its FIN (frame {fin.frame})")
    resp_frames = [p for p in c.s2c() if p.len > 0]
    check(resp_frames and all(p.frame < fin.frame for p in resp_frames),
          f"{c.client}: response bytes after the server FIN")
    check(resp_frames[0].status == 413, f"{c.client}: first response segment is not the 413 head")
    check(not c.fins("client") and not c.rsts("client"), f"{c.client}: the client closed (FIN/RST) on the wire")
    after_fin = [p for p in c.c2s() if p.len > 0 and fin.frame < p.frame < rst.frame]
    check(after_fin, f"{c.client}: no client data between the server's FIN and RST")
    # Unique bytes by sequence number (a retransmitted segment counts once).
    syn = c.syns()[0]
    sent_wire = max(p.seq + p.len for p in c.c2s() if p.len > 0) - (syn.seq + 1)
    before_fin_end = max(p.seq + p.len for p in c.c2s() if p.len > 0 and p.frame < fin.frame)
    head_len = req.len
    check(client is not None and head_len == client.get("headBytes"),
          f"{c.client}: the request head did not go alone in frame {req.frame} ({head_len} bytes)")
    body_wire = sent_wire - head_len
    check(body_wire < req.content_length, f"{c.client}: whole body on the wire ({body_wire} bytes)")
    delay = rst.t - fin.t
    check(0.3 <= delay <= 1.0, f"{c.client}: RST {ms(delay)} ms after the FIN (Go's rstAvoidanceDelay is 500 ms)")
    zero = [p for p in c.s2c() if p.win == 0 and not p.rst and not p.syn]
    after_fin_end = max(p.seq + p.len for p in after_fin)
    new_after_fin = max(0, after_fin_end - before_fin_end)
    retrans_after_fin = [p for p in after_fin if p.retrans]
    # The client's own account.
    check(client is not None, f"{c.client}: no client log line for port {port}")
    check(client["mode"] == "upload", f"{c.client}: client log mode {client['mode']}")
    check(client["sendError"] is not None, f"{c.client}: the client's sends did not fail")
    check(client["bytesWritten"] >= sent_wire, f"{c.client}: client wrote {client['bytesWritten']} < {sent_wire} on the wire")
    # The server's own account: close-write (the FIN), then close (the RST), same port.
    cw = [e for e in server_events if e.get("port") == port and e["event"] == "close-write"]
    cl = [e for e in server_events if e.get("port") == port and e["event"] == "close"]
    rq = [e for e in server_events if e.get("port") == port and e["event"] == "request"]
    check(len(cw) == 1 and len(cl) == 1 and len(rq) == 1, f"{c.client}: server log: {len(rq)} requests, "
          f"{len(cw)} close-write, {len(cl)} close")
    check(rq[0]["status"] == 413 and rq[0]["bodyBytesRead"] == 0, f"{c.client}: server log request {rq[0]}")
    check(abs((cw[0]["t"] - t0) - fin.t) < 0.05, f"{c.client}: server close-write not at the FIN")
    check(abs((cl[0]["t"] - t0) - rst.t) < 0.05, f"{c.client}: server close not at the RST")
    got413 = bool(client["statusLine"] and " 413 " in client["statusLine"] + " ")
    measured = {
        "announcedBody": req.content_length,
        "requestFrame": req.frame,
        "responseFrames": [p.frame for p in resp_frames],
        "responseBytes": sum(p.len for p in resp_frames),
        "serverFinFrame": fin.frame,
        "serverRstFrame": rst.frame,
        "clientDataFramesAfterFin": [p.frame for p in after_fin],
        "clientRetransmittedFramesAfterFin": [p.frame for p in retrans_after_fin],
        "clientBytesAfterFin": new_after_fin,
        "serverZeroWindowFrames": [p.frame for p in zero],
        "clientBytesOnWire": sent_wire,
        "clientBodyBytesOnWire": body_wire,
        "clientBytesWritten": client["bytesWritten"],
        "responseAt": r3(resp_frames[0].t),
        "serverFinAt": r3(fin.t),
        "serverRstAt": r3(rst.t),
        "rstAfterFinMs": ms(delay),
        "clientGot413": got413,
        "clientStatusLine": client["statusLine"],
        "clientReadFin": client["gotEof"],
        "clientSendError": client["sendError"],
        "clientSendErrorAfterRstMs": ms(client["sendErrorAt"] - t0 - rst.t) if client.get("sendErrorAt") else None,
    }
    notes = (f"POST /upload announces a {req.content_length}-byte body (request head frame {req.frame}); Go's handler "
             f"answers 413 without reading it (frame{'s' if len(resp_frames) > 1 else ''} "
             f"{', '.join(str(p.frame) for p in resp_frames)} at {r3(resp_frames[0].t)} s, Connection: close) and net/http "
             f"half-closes: server FIN frame {fin.frame} at {r3(fin.t)} s. The client keeps uploading into the half-closed "
             f"connection: {len(after_fin)} data segment{'s' if len(after_fin) != 1 else ''} after the FIN (frames "
             f"{', '.join(str(p.frame) for p in after_fin)}"
             + (f"; {', '.join(str(p.frame) for p in retrans_after_fin)} a retransmission" if retrans_after_fin else "")
             + f"; {new_after_fin} new bytes), unread by the server"
             + (f", until its window is zero (frame {zero[0].frame})" if zero else "")
             + f". {ms(delay)} ms after the FIN (Go's 500 ms rstAvoidanceDelay) the server closes with that data unread "
             f"and its kernel sends RST (frame {rst.frame} at {r3(rst.t)} s). The client had {sent_wire} bytes on the wire "
             "by sequence number "
             f"({body_wire} of the body) and {client['bytesWritten']} accepted by its kernel; its send failed with "
             f"{client['sendError'].split(':')[0]}; it "
             + ("did read the 413 (and the FIN) before the reset" if got413 else "never read the 413"))
    return measured, entry("rst-on-close", c, notes), got413


def small_conn(c, cfg, client):
    reqs, resps = c.requests(), c.responses()
    check(len(reqs) == cfg["smallRequests"] and all(p.method == "POST" and p.uri == "/small" for p in reqs),
          f"{c.client}: expected {cfg['smallRequests']} POST /small")
    check(len(resps) == len(reqs) and all(p.status == 200 for p in resps), f"{c.client}: statuses {[p.status for p in resps]}")
    check(not c.rsts("client") and not c.rsts("server"), f"{c.client}: RST on the /small connection")
    first = c.first_close()
    check(first and first[0] == "client" and first[1] == "fin", f"{c.client}: the client should close first with FIN")
    check(c.fins("server"), f"{c.client}: no server FIN")
    check(client is not None and client["mode"] == "small" and len(client["statuses"]) == len(reqs),
          f"{c.client}: client log {client}")
    measured = {"requests": len(reqs), "requestFrames": [p.frame for p in reqs],
                "responseFrames": [p.frame for p in resps], "clientFinFrame": first[2].frame,
                "serverFinFrame": c.fins("server")[0].frame, "clientStatuses": client["statuses"]}
    notes = (f"{len(reqs)} POST /small ({cfg['smallBodyBytes']}-byte bodies, frames {', '.join(str(p.frame) for p in reqs)}) "
             f"read completely by the handler and answered 200 on one keep-alive connection (frames "
             f"{', '.join(str(p.frame) for p in resps)}); the client closes first (FIN frame {first[2].frame}), the "
             f"server answers with its FIN (frame {c.fins('server')[0].frame}); no RST: must stay clean (no rst-on-close)")
    return measured, entry(None, c, notes)


def build(conns, cfg, clients, server_events, t0):
    n = cfg["uploads"]
    check(len(conns) == n + 1, f"{len(conns)} connections, expected {n + 1}")
    expect, measured = [], {}
    got = 0
    for c in conns[:n]:
        port = int(c.client.rsplit(":", 1)[1])
        m, e, g = upload_conn(c, cfg, clients.get(port), server_events, t0)
        measured[c.client] = m
        expect.append(e)
        got += g
    c = conns[n]
    m, e = small_conn(c, cfg, clients.get(int(c.client.rsplit(":", 1)[1])))
    measured[c.client] = m
    expect.append(e)
    delays = [measured[x.client]["rstAfterFinMs"] for x in conns[:n]]
    desc = ("A Go net/http server (Go 1.19, standard library only) answers POST /upload with 413 before reading the "
            f"body: the handler sets Connection: close and writes the 413 without touching r.Body. The announced body "
            f"({cfg['requestBodyBytes']} bytes, 20 MiB) is far over net/http's 256 KiB drain limit, so the server does not "
            "read it: it flushes the response, half-closes (CloseWrite: FIN), waits rstAvoidanceDelay (500 ms) without "
            "reading, then closes; the request bytes that arrived meanwhile are unread, so its kernel sends RST. A python "
            f"raw-socket client streams the body in {cfg['clientChunkBytes'] // 1024} KiB writes every "
            f"{cfg['clientPaceMs']:g} ms (a paced upload) and reads at the same time: it keeps sending after the FIN until "
            f"the server's small window (SO_RCVBUF {cfg['serverRcvBuf']}) is full, and its send fails after the RST "
            "(with EPIPE when its socket had already read the FIN: Linux reports a RST in CLOSE_WAIT as EPIPE, "
            "not ECONNRESET). "
            f"{n} such uploads (RST {min(delays)}-{max(delays)} ms after the FIN; the client read the 413 on {got} of {n}). "
            f"Then one keep-alive connection with {cfg['smallRequests']} POST /small ({cfg['smallBodyBytes']} bytes each, "
            "read completely, 200) closed by the client with FINs: clean.")
    return desc, expect, measured


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--client-log", required=True)
    ap.add_argument("--server-log", required=True)
    ap.add_argument("--configured", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--software", action="append", default=[])
    args = ap.parse_args()
    cfg = json.loads(args.configured)
    conns = cmeta.connections(cmeta.read_packets(args.capture, SERVER_PORT), SERVER_PORT)
    clients = {r["port"]: r for r in read_jsonl(args.client_log)}
    server_events = read_jsonl(args.server_log)
    try:
        check(conns, "empty capture")
        desc, expect, measured = build(conns, cfg, clients, server_events, first_epoch(args.capture))
    except CheckFailed as e:
        print(f"go-early-answer-meta: {args.scenario}: the capture does not show the scenario: {e}", file=sys.stderr)
        return 1
    meta = {
        "scenario": args.scenario,
        "description": desc,
        "software": args.software,
        "configured": cfg,
        "expect": expect,
        "silent": False,
        "facts": cmeta.facts_of(conns),
        "measured": measured,
    }
    with open(args.out, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"go-early-answer-meta: {args.scenario}: ok, {len(conns)} connections, {len(expect)} expect entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
