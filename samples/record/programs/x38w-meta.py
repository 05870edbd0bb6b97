#!/usr/bin/env python3
"""x38w-meta: checks a keepalive-race-nginx-worker-connections recording against the programs' own logs
and writes its meta.json, or refuses (exit 1) when the recording does not show the scenario.

  x38w-meta.py --capture PCAP --meta OUT --client-log F --access-log F --error-log F
               --worker-connections N --threads N --requests N --gap S --software S...

Ground truth:
  client log   x38w-pool.py, one JSON line per request (thread, uri, localPort, reused, tStart, tEnd,
               status or error);
  access log   nginx: $msec $remote_port "$request" $status conn=$connection reqs=$connection_requests;
  error log    nginx at info level: "N worker_connections are not enough, reusing connections" (warn,
               written at most once a second).

Refused when: a request failed on a connection it had not used before (nginx refused a new connection:
another scenario); nginx's error log lacks the "not enough" warning; a failed request is in nginx's access
log (nginx never read it) or an answered one is not; the capture does not show, for every failed request,
nginx's FIN on that connection before the request and a RST after it; or no request failed.
"""
import argparse
import json
import re
import subprocess
import sys
from collections import defaultdict

SERVER = "127.0.0.1:8080"


def refuse(why):
    print(f"x38w-meta: refused: {why}", file=sys.stderr)
    sys.exit(1)


def packets(capture):
    out = subprocess.run(
        ["tshark", "-r", capture, "-T", "fields", "-E", "separator=|", "-e", "frame.time_epoch", "-e", "tcp.srcport",
         "-e", "tcp.dstport", "-e", "tcp.flags.syn", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset", "-e", "tcp.len"],
        check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        ts, sp, dp, syn, fin, rst, ln = line.split("|")
        yield float(ts), int(sp), int(dp), syn in ("1", "True"), fin in ("1", "True"), rst in ("1", "True"), int(ln or 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--client-log", required=True)
    ap.add_argument("--access-log", required=True)
    ap.add_argument("--error-log", required=True)
    ap.add_argument("--worker-connections", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--gap", type=float, required=True)
    ap.add_argument("--software", nargs="+", required=True)
    a = ap.parse_args()

    reqs = [json.loads(l) for l in open(a.client_log) if l.strip()]
    if len(reqs) != a.threads * a.requests:
        refuse(f"{len(reqs)} requests logged, {a.threads * a.requests} expected")
    failed = [r for r in reqs if "error" in r]
    answered = [r for r in reqs if r.get("status") == 200]
    if len(failed) + len(answered) != len(reqs):
        refuse("a request neither failed nor answered 200")
    if not failed:
        refuse("no request failed: nginx had enough slots")
    fresh = [r for r in failed if not r["reused"]]
    if fresh:
        refuse(f"{len(fresh)} requests failed on connections never used before (nginx refused them)")

    warnings = [l for l in open(a.error_log) if "worker_connections are not enough, reusing connections" in l]
    if not warnings:
        refuse("nginx did not log 'worker_connections are not enough, reusing connections'")
    others = [l for l in open(a.error_log) if re.search(r"\[(alert|crit|error|emerg)\]", l)]
    if others:
        refuse(f"nginx logged errors: {others[0].strip()}")

    access = defaultdict(list)
    for l in open(a.access_log):
        m = re.match(r'(\S+) (\d+) "GET (\S+) HTTP/1.1" (\d+) conn=(\d+) reqs=(\d+)', l)
        if m:
            access[m.group(3)].append(int(m.group(4)))
    for r in failed:
        if r["uri"] in access:
            refuse(f"failed {r['uri']} is in nginx's access log")
    for r in answered:
        if access.get(r["uri"]) != [200]:
            refuse(f"answered {r['uri']} is not once in nginx's access log with 200")

    # Per client port: the connections in the capture (a port may be used once only here).
    conns = defaultdict(lambda: {"syn": None, "srvFin": None, "lastSrvData": None, "cliData": [], "rst": None, "cliFin": None})
    held = []  # (ts, +1/-1): connections nginx was serving (first response .. first FIN/RST)
    for ts, sp, dp, syn, fin, rst, ln in packets(a.capture):
        from_server = sp == 8080
        port = dp if from_server else sp
        c = conns[port]
        if syn and not from_server:
            if c["syn"] is not None:
                refuse(f"port {port} used twice")
            c["syn"] = ts
        if from_server and ln > 0:
            if c["lastSrvData"] is None:
                held.append((ts, 1))
                c["served"] = True
            c["lastSrvData"] = ts
        if not from_server and ln > 0:
            c["cliData"].append(ts)
        if fin and from_server and c["srvFin"] is None:
            c["srvFin"] = ts
        if fin and not from_server and c["cliFin"] is None:
            c["cliFin"] = ts
        if rst and from_server and c["rst"] is None:
            c["rst"] = ts
        if (fin or rst) and c.get("served") and not c.get("ended"):
            c["ended"] = True
            held.append((ts, -1))
    serving = peak = 0
    for _, d in sorted(held):
        serving += d
        peak = max(peak, serving)

    expect = []
    deltas, idles = [], []
    forms = defaultdict(int)
    for r in sorted(failed, key=lambda r: r["tStart"]):
        c = conns.get(r["localPort"])
        if c is None or c["rst"] is None or not c["cliData"]:
            refuse(f"failed request on port {r['localPort']}: no RST from nginx in the capture")
        if c["srvFin"] is not None:
            # nginx closed it idle (FIN); the next request met its kernel's RST.
            late = [t for t in c["cliData"] if t > c["srvFin"]]
            if not late or not c["rst"] >= late[0]:
                refuse(f"port {r['localPort']}: no request after nginx's FIN, answered by its RST")
            deltas.append((late[0] - c["srvFin"]) * 1000)
            idles.append(c["srvFin"] - c["lastSrvData"])
            how = f"sent {deltas[-1]:.1f} ms after nginx's FIN (idle {idles[-1]:.3f} s when nginx closed it to take a new connection); RST"
            forms["after FIN"] += 1
        else:
            # nginx closed it just as the request arrived, the request unread: its kernel reset it (no FIN).
            req = c["cliData"][-1]
            if not (0 <= c["rst"] - req < 0.005):
                refuse(f"port {r['localPort']}: RST without FIN not right after the request")
            how = f"reached nginx as it closed the connection to take a new one ({(c['rst'] - req) * 1000:.2f} ms before its RST, no FIN: the request unread)"
            forms["closed on arrival (RST)"] += 1
        expect.append({
            "kind": "keepalive-race",
            "client": f"127.0.0.1:{r['localPort']}",
            "server": SERVER,
            "notes": f"GET {r['uri']} {how}; the client got {r['error'].split(':')[0]}.",
        })
    server_fins = sum(1 for c in conns.values() if c["srvFin"] is not None and (c["cliFin"] is None or c["srvFin"] < c["cliFin"]))
    errors = defaultdict(int)
    for r in failed:
        errors[r["error"].split(":")[0]] += 1

    meta = {
        "scenario": "keepalive-race-nginx-worker-connections",
        "description": (
            f"Keep-alive races against nginx out of connection slots, on loopback. nginx (one worker, `worker_connections {a.worker_connections}` "
            f"with one listener: {a.worker_connections - 1} client connections at most; `keepalive_timeout 60s`) serves {a.threads} Python http.client threads, "
            f"each keeping one connection alive and sending a GET every {a.gap} s. With all its slots taken nginx accepts each new connection by closing its "
            f"longest-idle keep-alive connection (\"{a.worker_connections} worker_connections are not enough, reusing connections\", {len(warnings)} times in its "
            f"error log: it writes it at most once a second); that connection's thread sends its next request on it, nginx's kernel answers RST, and the thread "
            f"opens a new connection, which closes another: {len(failed)} of {len(reqs)} requests failed, no idle timer behind any (60 s is never reached)."
        ),
        "software": a.software,
        "configured": {
            "serverIdleTimeout": 60.0,
            "nginxKeepaliveTimeout": 60.0,
            "nginxWorkerConnections": a.worker_connections,
        },
        "configuredNotes": "serverIdleTimeout is nginx's keepalive_timeout, which no connection reaches here: an idle timeout inferred from these closes must be it or none. nginxWorkerConnections counts the listener too.",
        "observed": {
            "failedRequests": len(failed),
            "answeredRequests": len(answered),
            "clientErrors": dict(errors),
            "forms": dict(forms),
            "staleDeltaMs": [round(min(deltas), 1), round(max(deltas), 1)],
            "idleAtCloseSeconds": [round(min(idles), 3), round(max(idles), 3)],
            "mostConnectionsServedAtOnce": peak,
            "nginxReuseWarnings": len(warnings),
        },
        "notes": (
            "nginx's closes come as it accepts new connections, whatever their idle age (ngx_drain_connections closes the least recently used idle "
            "connection); the idle ages at close follow the clients' pauses. Raising worker_connections (or fewer connections in the pool) removes them; "
            "no client idle timeout does. The failed requests never reached nginx's access log."
        ),
        "expect": expect,
        "silent": False,
        "facts": {
            "connections": len(conns),
            "serverIdleCloses": server_fins,
            "requests": len(reqs),
            "captureFile": "keepalive-race-nginx-worker-connections.pcap",
        },
    }
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"x38w-meta: {len(failed)} races of {len(reqs)} requests, {len(conns)} connections, peak served {peak}, {len(warnings)} warnings")


if __name__ == "__main__":
    main()
