#!/usr/bin/env python3
"""Check a gateway-timeout-haproxy-{unfinished-body,slow-upload} capture against HAProxy's log and the
clients' lines, and write its meta.json.

Usage: fxp-upload-meta.py SCENARIO --capture F --meta OUT --proxy-log F --client-log F --declared N --sent N
       --description TEXT --software S...
The capture is read with tshark at the TCP level (no HTTP reassembly: an unfinished body is no HTTP
request to tshark). For each client (connections to 127.0.0.2:8080) the proxy's log must show a 504
with termination sH-- (its `timeout server`), the client's line the same status, and the client must
have sent its head and exactly --sent body bytes; its upstream copy (the backend connection whose
request names the same ?i=) must carry the same head and bytes, no answer from the backend before the
504, and the proxy's close. Any failing check prints why and exits 1 without writing the meta.
"""
import argparse
import json
import re
import subprocess
import sys

HAP = re.compile(r"^(\d+\.\d+) ([\d.]+):(\d+) (\S+) (\S+) (-?\d+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+) (\S{4}) (\+?\d+) (\S+) (\d+)$")
LISTEN, BACKEND = ("127.0.0.2", 8080), ("127.0.0.3", 9001)


def fail(msg):
    raise SystemExit(f"{OPT.scenario}: {msg}")


def check(cond, msg):
    if not cond:
        fail(msg)


def conns(capture):
    """Per TCP connection (client, server): the client's payload, the server's, first close by whom."""
    out = subprocess.run(["tshark", "-r", capture, "-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "tcp.srcport",
                          "-e", "ip.dst", "-e", "tcp.dstport", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.fin",
                          "-e", "tcp.flags.reset", "-e", "tcp.payload"], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        t, src, sp, dst, dp, syn, ack, fin, rst, payload = (line.split("\t") + [""] * 10)[:10]
        a, b = (src, int(sp)), (dst, int(dp))
        if syn in ("1", "True") and ack not in ("1", "True"):
            table[(a, b)] = {"client": a, "server": b, "c": b"", "s": b"", "sFirst": None, "close": None}
        key = (a, b) if (a, b) in table else (b, a) if (b, a) in table else None
        if key is None:
            continue
        c = table[key]
        side = "c" if a == c["client"] else "s"
        data = bytes.fromhex(payload.replace(":", "")) if payload else b""
        if data and side == "s" and c["sFirst"] is None:
            c["sFirst"] = float(t)
        c[side] += data
        if c["close"] is None and (fin in ("1", "True") or rst in ("1", "True")):
            c["close"] = (float(t), side, "RST" if rst in ("1", "True") else "FIN")
    return list(table.values())


def main():
    proxy = [m for m in (HAP.match(l.strip()) for l in open(OPT.proxy_log)) if m]
    clients = [json.loads(l) for l in open(OPT.client_log) if l.startswith("{")]
    check(len(clients) >= 3, f"{len(clients)} client lines")
    cs = conns(OPT.capture)
    downs = [c for c in cs if c["server"] == LISTEN]
    ups = [c for c in cs if c["server"] == BACKEND]
    expect, observed = [], []
    for cl in clients:
        check(cl["status"] == 504, f"{cl['path']}: client got {cl['status']}")
        logs = [m for m in proxy if int(m.group(3)) == cl["port"]]
        check(len(logs) == 1, f"{cl['path']}: {len(logs)} proxy log lines")
        m = logs[0]
        check(m.group(6) == "504" and m.group(11).startswith("sH"), f"{cl['path']}: proxy logged {m.group(6)} {m.group(11)}")
        down = next((c for c in downs if c["client"][1] == cl["port"]), None)
        check(down is not None, f"{cl['path']}: client connection not captured")
        head, _, body = down["c"].partition(b"\r\n\r\n")
        check(len(body) == OPT.sent and f"Content-Length: {OPT.declared}".encode() in head, f"{cl['path']}: client sent {len(body)} body bytes")
        check(down["s"].startswith(b"HTTP/1.1 504"), f"{cl['path']}: no 504 on the client leg")
        marker = cl["path"].encode()
        up = next((c for c in ups if marker in c["c"].split(b"\r\n", 1)[0]), None)
        check(up is not None, f"{cl['path']}: no upstream copy")
        uhead, _, ubody = up["c"].partition(b"\r\n\r\n")
        check(len(ubody) == OPT.sent, f"{cl['path']}: the proxy forwarded {len(ubody)} body bytes")
        check(up["sFirst"] is None, f"{cl['path']}: the backend answered")
        check(up["close"] is not None and up["close"][1] == "c", f"{cl['path']}: the proxy did not close the backend connection")
        cid = f"{down['client'][0]}:{down['client'][1]}"
        uid = f"{up['client'][0]}:{up['client'][1]}"
        unfinished = OPT.sent < OPT.declared
        observed.append({"uri": cl["path"], "status": 504, "clientSeconds": cl["seconds"], "bodySent": OPT.sent, "bodyDeclared": OPT.declared,
                         "forwardedBodyBytes": len(ubody), "upstream": uid, "upstreamClose": up["close"][2],
                         "proxyLog": f"504 after {m.group(10)} ms, Tc/Tw/Tr {m.group(7)}/{m.group(8)}/{m.group(9)}, termination {m.group(11)}"})
        if unfinished:
            expect.append({"kind": "gateway-timeout", "client": cid, "server": "127.0.0.2:8080",
                           "notes": f"POST {cl['path']}: 504 at HAProxy's timeout server while the backend waited for the {OPT.declared - OPT.sent} body bytes "
                                    f"the client never sent: the client's unfinished upload, not a slow backend."})
        else:
            expect.append({"kind": "gateway-timeout", "client": cid, "server": "127.0.0.2:8080",
                           "notes": f"POST {cl['path']}: whole body sent, the backend too slow: 504 at HAProxy's timeout server (the backend's slowness)."})
            expect.append({"kind": "unanswered-request", "client": uid, "server": "127.0.0.3:9001",  # in the gateway-timeout diagnosis
                           "notes": f"POST {cl['path']}: the backend did not answer before the proxy gave up and closed this upstream connection."})
    meta = {"scenario": OPT.scenario, "description": OPT.description, "software": OPT.software,
            "configured": {"proxyReadTimeout": 1.0}, "observed": {"timeouts": observed}, "silent": False, "expect": expect}
    with open(OPT.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


ap = argparse.ArgumentParser()
ap.add_argument("scenario")
for a in ("--capture", "--meta", "--proxy-log", "--client-log", "--description"):
    ap.add_argument(a, required=True)
ap.add_argument("--declared", type=int, required=True)
ap.add_argument("--sent", type=int, required=True)
ap.add_argument("--software", nargs="*", default=[])
OPT = ap.parse_args()
sys.exit(main())
