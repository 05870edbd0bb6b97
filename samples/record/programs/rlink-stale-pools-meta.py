#!/usr/bin/env python3
"""Meta for retried-request-concurrent-stale-pools: checks the capture against the clients' logs
and writes the meta only when the recording shows what the scenario claims:
- clients a and b each sent POST /echo on their own reused connection after the server's FIN
  had reached it (stale reuse), got a reset (their error logged), b 15-60 ms after a, and b's
  connection had been closed by the server before a's request failed;
- client r did the same with POST /orders and its retry on a new connection was answered.
Exit 1 (no meta written) otherwise.

Usage: rlink-stale-pools-meta.py --capture PCAP --client-log LOG --meta OUT --idle SECONDS --software S...
"""
import argparse
import json
import subprocess
import sys


def packets(pcap):
    out = subprocess.run(
        ["tshark", "-r", pcap, "-T", "fields", "-e", "frame.time_epoch", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "tcp.flags.fin", "-e", "tcp.flags.reset", "-e", "tcp.len", "-e", "http.request.method", "-e", "http.request.uri",
         "-e", "http.response.code"],
        check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split("\t")
        rows.append({"ts": float(f[0]), "sport": int(f[1]), "dport": int(f[2]), "fin": f[3] in ("1", "True"),
                     "rst": f[4] in ("1", "True"), "len": int(f[5] or 0), "method": f[6], "uri": f[7], "status": f[8]})
    return rows


def conn(rows, port):
    """The connection of client port `port`: its requests, responses, the server's first FIN and RST."""
    c = {"requests": [], "responses": [], "serverFin": None, "serverRst": None, "clientFin": None}
    for r in rows:
        if r["sport"] == port:
            if r["method"]:
                c["requests"].append((r["ts"], r["method"], r["uri"]))
            if r["fin"] and c["clientFin"] is None:
                c["clientFin"] = r["ts"]
        elif r["dport"] == port:
            if r["status"]:
                c["responses"].append((r["ts"], int(r["status"])))
            if r["fin"] and c["serverFin"] is None:
                c["serverFin"] = r["ts"]
            if r["rst"] and c["serverRst"] is None:
                c["serverRst"] = r["ts"]
    return c


def fail(msg):
    print(f"rlink-stale-pools-meta: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--client-log", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--idle", type=float, required=True)
    ap.add_argument("--software", action="append", default=[])
    a = ap.parse_args()
    log = [json.loads(line) for line in open(a.client_log)]
    by = {}
    for e in log:
        by.setdefault(e["name"], {})[e["step"]] = e
    rows = packets(a.capture)
    t0 = rows[0]["ts"]
    rel = lambda t: round(t - t0, 6)
    stale = {}
    for name in ("a", "b", "r"):
        post = by.get(name, {}).get("post")
        if post is None or "error" not in post or not post.get("reused"):
            fail(f"client {name}: its POST did not fail on a reused connection: {post}")
        c = conn(rows, post["lport"])
        req = [t for (t, m, _u) in c["requests"] if m == "POST"]
        if not req or c["serverFin"] is None or c["serverRst"] is None:
            fail(f"client {name}: no POST, server FIN or RST on port {post['lport']}")
        if not c["serverFin"] < req[0] < c["serverRst"]:
            fail(f"client {name}: the POST was not sent between the server's FIN and its RST (a stale reuse)")
        stale[name] = {"port": post["lport"], "fin": c["serverFin"], "request": req[0], "rst": c["serverRst"], "error": post["error"],
                       "code": post.get("code"), "uri": post["path"]}
    gap = stale["b"]["request"] - stale["a"]["rst"]
    if not 0.015 <= gap <= 0.06:
        fail(f"b's POST came {gap * 1000:.1f} ms after a's reset, not 15-60 ms")
    if not stale["b"]["fin"] <= stale["a"]["rst"]:
        fail("b's connection was not closed by the server before a's POST failed")
    retry = by["r"].get("retry")
    if retry is None or retry.get("status") != 201:
        fail(f"client r's retry was not answered: {retry}")
    rc = conn(rows, retry["lport"])
    idle = []
    for name in ("a", "b", "r"):
        c = conn(rows, stale[name]["port"])
        warm_end = max(t for (t, _s) in c["responses"])
        idle.append(round(c["serverFin"] - warm_end, 4))
    addr = "127.0.0.1"
    meta = {
        "scenario": "retried-request-concurrent-stale-pools",
        "description": (
            "Two Node http.Agent processes on one host (keepAlive, maxSockets 1: each its own pooled connection; http.Agent never retries) "
            "each sent a warm GET at the same moment, then, their event loops busy while python3 http.server (StreamRequestHandler.timeout "
            f"{a.idle} s) closed both idle connections at the same time, each sent POST /echo on its dead connection (stale reuse) and got "
            f"a reset: the second {gap * 1000:.1f} ms after the first had failed. They are two callers' failures, not a failure and its retry: "
            "the second connection had been closed by the server before the first failed, so no client that had learnt of the failure would "
            "have picked it. A third process failed POST /orders the same way and sent it again itself at once on a new connection (answered "
            "201): a retry. Loopback in a namespace (blind round 12, S5: two aiohttp processes against lighttpd)."
        ),
        "software": a.software,
        "configured": {"serverIdleTimeout": a.idle},
        "observed": {
            "serverIdleCloseSeconds": idle,
            "staleReuses": {f"{addr}:{s['port']}": {"client": n, "uri": s["uri"], "finAt": rel(s["fin"]), "requestAt": rel(s["request"]),
                                                     "rstAt": rel(s["rst"]), "requestAfterFinMs": round((s["request"] - s["fin"]) * 1000, 1),
                                                     "clientError": f"{s['code']} {s['error']}"} for n, s in stale.items()},
            "secondPostAfterFirstResetMs": round(gap * 1000, 1),
            "retry": {"client": f"{addr}:{retry['lport']}", "status": 201, "afterResetMs": round((rc['requests'][0][0] - stale['r']['rst']) * 1000, 1)},
        },
        "expect": [
            {"kind": "keepalive-race", "client": f"{addr}:{stale['a']['port']}", "server": f"{addr}:8080",
             "notes": "client a: stale reuse of its own pooled connection, POST /echo reset; never retried (http.Agent does not retry)"},
            {"kind": "keepalive-race", "client": f"{addr}:{stale['b']['port']}", "server": f"{addr}:8080",
             "notes": f"client b: the same POST {gap * 1000:.1f} ms after a's failure, on its own connection the server had closed before a failed: no retry of a's"},
            {"kind": "keepalive-race", "client": f"{addr}:{stale['r']['port']}", "server": f"{addr}:8080",
             "notes": "client r: stale reuse, POST /orders reset, then retried by r itself"},
            {"kind": "retried-request", "client": f"{addr}:{retry['lport']}", "server": f"{addr}:8080",
             "notes": "client r's own retry of POST /orders at once on a new connection, answered 201"},
            {"kind": "idle-timeout-mismatch", "client": None, "server": f"{addr}:8080",
             "notes": f"the server closes idle connections after {a.idle} s (closes at {min(idle)}-{max(idle)} s) and every client reused its connection after about 2.03-2.07 s: the races are the consequence"},
        ],
    }
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
