#!/usr/bin/env python3
"""Meta for idle-timeout-mismatch-fetch-closes-when-done: checks the capture against the clients'
logs and writes the meta only when the recording shows what the scenario claims:
- every fetch (undici) request was answered with Keep-Alive: timeout=2 and its connection closed
  by the client: at least 3 of the busy processes' connections 0.1-0.25 s after the response, the
  rest within 0.1 s;
- clients a and b (http.Agent) each sent POST /echo on their reused connection after the server's
  idle FIN (stale reuse) and got a reset; i1 and i2 (http.Agent) let the server close theirs idle.
Exit 1 (no meta written) otherwise.

Usage: rlink-done-meta.py --capture PCAP --client-log LOG --meta OUT --software S...
"""
import argparse
import json
import subprocess
import sys


def fail(msg):
    print(f"rlink-done-meta: {msg}", file=sys.stderr)
    sys.exit(1)


def connections(pcap):
    out = subprocess.run(
        ["tshark", "-r", pcap, "-T", "fields", "-e", "frame.time_epoch", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "tcp.flags.fin", "-e", "tcp.flags.reset", "-e", "tcp.len", "-e", "http.request.method", "-e", "http.user_agent"],
        check=True, capture_output=True, text=True).stdout
    conns = {}
    t0 = None
    for line in out.splitlines():
        f = line.split("\t")
        ts, sport, dport = float(f[0]), int(f[1]), int(f[2])
        t0 = ts if t0 is None else t0
        fin, rst, n = f[3] in ("1", "True"), f[4] in ("1", "True"), int(f[5] or 0)
        port = dport if sport == 8080 else sport
        c = conns.setdefault(port, {"firstFin": None, "finBy": None, "lastServerData": None, "requests": 0, "agent": None,
                                    "serverRst": False, "requestAfterServerFin": False})
        if sport == 8080:
            if n > 0:
                c["lastServerData"] = ts
            if rst:
                c["serverRst"] = True
        else:
            if f[6]:
                c["requests"] += 1
                c["agent"] = f[7] or None
                if c["firstFin"] is not None and c["finBy"] == "server":
                    c["requestAfterServerFin"] = True
        if fin and c["firstFin"] is None:
            c["firstFin"] = ts
            c["finBy"] = "server" if sport == 8080 else "client"
    return conns, t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--client-log", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--software", action="append", default=[])
    a = ap.parse_args()
    log = [json.loads(line) for line in open(a.client_log)]
    for e in log:
        if e["name"].startswith("f") and (e.get("status") not in (200, 201) or e.get("keepAlive") != "timeout=2"):
            fail(f"fetch request not answered with Keep-Alive: timeout=2: {e}")
    stale = {}
    for e in log:
        if e["name"] in ("a", "b") and e["step"] == "post":
            if "error" not in e or not e.get("reused"):
                fail(f"client {e['name']}: its POST did not fail on a reused connection: {e}")
            stale[e["name"]] = e
        if e["name"] in ("i1", "i2") and e["step"] == "post" and ("error" in e or e.get("reused")):
            fail(f"client {e['name']}: its POST should have gone on a new connection: {e}")
    if set(stale) != {"a", "b"}:
        fail("clients a and b did not both fail")
    conns, t0 = connections(a.capture)
    fetch = {p: c for p, c in conns.items() if c["agent"] == "node"}
    late, quick = [], []
    for p, c in fetch.items():
        if c["finBy"] != "client":
            fail(f"fetch connection {p} was not closed by its client first")
        idle = round(c["firstFin"] - c["lastServerData"], 4)
        (late if idle >= 0.1 else quick).append(idle)
    if len(late) < 3 or max(late) > 0.25 or max(late) - min(late) > 0.05:
        fail(f"the busy processes' closes are not 3+ at 0.1-0.25 s within 50 ms: {sorted(late)}")
    for name, e in stale.items():
        c = conns[e["lport"]]
        if not (c["requestAfterServerFin"] and c["serverRst"]):
            fail(f"client {name}: no stale reuse reset by the server on port {e['lport']}")
    server_idle = sorted(round(c["firstFin"] - c["lastServerData"], 4) for c in conns.values() if c["finBy"] == "server")
    addr = "127.0.0.1"
    meta = {
        "scenario": "idle-timeout-mismatch-fetch-closes-when-done",
        "description": (
            "A Node http server (keepAliveTimeout 2000 ms: it sends Keep-Alive: timeout=2 and closes an idle connection after 3 s, "
            "Node 20's 1 s buffer) and two kinds of Node 20 clients on one host. Nine fetch (undici) processes: the hint less undici's "
            "keepAliveTimeoutThreshold (2 s) leaves nothing, so undici closes each connection once its response is read (client FIN first, "
            f"{len(quick)} connections within {max(quick) * 1000:.0f} ms); five of them were busy (a blocked event loop) while one response "
            f"arrived, so undici closed {len(late)} of those {min(late) * 1000:.0f}-{max(late) * 1000:.0f} ms after the response (the others under 100 ms): the same close delayed, no "
            "idle timer (undici's is 0 here). Four http.Agent processes (keepAlive, no idle timeout of their own): two reuse their connection "
            "about 3.1 s after the response, their event loops busy while the server's FIN arrived (stale reuse, reset: socket hang up); two let "
            "the server close theirs idle. Loopback in a namespace (blind round 12, S3: Node fetch and http.Agent against Apache)."
        ),
        "software": a.software,
        "configured": {"serverKeepAliveTimeout": 2.0, "serverIdleTimeout": 3.0},
        "configuredNotes": "No client idle timeout: undici keeps nothing (the hint 2 s less its 2 s threshold); http.Agent has none.",
        "observed": {
            "serverIdleCloseSeconds": server_idle,
            "fetchCloseAfterResponseSeconds": {"quick": sorted(quick), "busy": sorted(late)},
            "staleReuses": {f"{addr}:{e['lport']}": {"client": n, "clientError": f"{e.get('code')} {e['error']}"} for n, e in stale.items()},
        },
        "expect": [
            {"kind": "keepalive-race", "client": f"{addr}:{stale['a']['lport']}", "server": f"{addr}:8080",
             "notes": "client a (http.Agent): POST /echo on its pooled connection after the server's idle FIN had arrived (its loop busy): reset"},
            {"kind": "keepalive-race", "client": f"{addr}:{stale['b']['lport']}", "server": f"{addr}:8080",
             "notes": "client b (http.Agent): the same"},
            {"kind": "idle-timeout-mismatch", "client": None, "server": f"{addr}:8080",
             "notes": "the server closes idle connections after 3 s; http.Agent reused after about 3.1 s. No client idle timeout may be inferred from fetch's delayed closes"},
            {"kind": "connection-churn", "client": addr, "server": f"{addr}:8080",
             "notes": "fetch opens a connection per request and closes it right after (the Keep-Alive hint less undici's threshold leaves nothing): right, info"},
        ],
    }
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
