#!/usr/bin/env python3
"""Check keepalive-race-proxy-protocol's capture and write its meta.json.

Usage: proxy-protocol-meta.py --capture FILE --back-meta FILE --access-log FILE --scenario NAME --meta OUT
                              --front-server IP:PORT --back-port PORT

A TCP proxy (HAProxy in mode tcp, as an AWS NLB with proxy protocol) opens a backend connection
per client connection and writes a PROXY protocol version 2 header first, naming the client; the
backend (nginx, `listen ... proxy_protocol`) closes idle keep-alive connections, the client's
stale reuse reaches nginx through the proxy and nginx answers RST. b-meta.py has checked the
backend leg (--back-meta: the race, the RSTs, the retries). This checks, with tshark, what the
capture adds: every backend connection opens with a PROXY v2 header whose source is a client
connection of the front leg, and nginx's access log names the same client ports
($proxy_protocol_port); on the front leg, each raced request was sent after the proxy relayed
nginx's FIN and got no response. It then writes the meta: the backend leg's expectations and the
same findings on the matching front-leg connections. Fails (exit 1, nothing written) otherwise.
"""
import argparse
import json
import re
import sys

from any_capture import tshark_fields


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--back-meta", required=True)
    ap.add_argument("--access-log", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--front-server", required=True, help="the proxy's listening ip:port")
    ap.add_argument("--back-port", required=True)
    a = ap.parse_args()
    front_port = a.front_server.rsplit(":", 1)[1]
    with open(a.back_meta) as f:
        meta = json.load(f)
    rows = tshark_fields(a.capture, ["frame.number", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags",
                                     "tcp.len", "proxy.src.ipv4", "proxy.srcport", "http.request.method"])
    problems = []
    # Backend connection (client endpoint) -> the front-leg client it serves, from its PROXY header.
    serves = {}
    first_payload_seen = set()
    for r in rows:
        if r[4] == front_port or r[2] == front_port or r[6] in ("", "0"):
            continue
        conn = f"{r[1]}:{r[2]}"
        if r[4] != a.back_port or conn in first_payload_seen:
            continue
        first_payload_seen.add(conn)
        if not r[8]:
            problems.append(f"backend connection {conn}: first payload (frame {r[0]}) is not a PROXY v2 header")
            continue
        serves[conn] = f"{r[7]}:{r[8]}"
    front_clients = {f"{r[1]}:{r[2]}" for r in rows if r[4] == front_port}
    for back, front in serves.items():
        if front not in front_clients:
            problems.append(f"{back}'s PROXY header names {front}, not a front-leg client")
    with open(a.access_log) as f:
        logged = {line.split()[0] for line in f if line.strip()}
    logged_ports = {x.rsplit(":", 1)[1] for x in logged}
    used_ports = {f.rsplit(":", 1)[1] for f in serves.values()}
    if not logged_ports <= used_ports:
        problems.append(f"nginx logged PROXY ports {sorted(logged_ports)}, the headers carry {sorted(used_ports)}")
    front_expect = []
    for e in meta["expect"]:
        front = serves.get(e["client"])
        if front is None:
            problems.append(f"no PROXY header for {e['client']}")
            continue
        f = dict(e)
        f["client"] = front
        f["server"] = a.front_server
        f["notes"] = f"The front leg of {e['client']} (its PROXY header names {front}): " + e["notes"]
        f.pop("evidence", None)
        if e["kind"] == "keepalive-race":
            # On the front leg the proxy relayed nginx's FIN; the raced request must have no response there.
            conn_rows = [r for r in rows if f"{r[1]}:{r[2]}" == front or f"{r[3]}:{r[4]}" == front]
            req = [r for r in conn_rows if r[9] and f"{r[1]}:{r[2]}" == front]
            fin = [r for r in conn_rows if int(r[5], 16) & 0x01 and f"{r[3]}:{r[4]}" == front]
            if len(req) < 2 or not fin or int(req[-1][0]) < int(fin[0][0]):
                problems.append(f"front {front}: the raced request does not follow the proxy's FIN")
            f["notes"] += " Here the proxy closed the client's connection without a response: the client saw EOF."
        front_expect.append(f)
    if problems:
        print(f"proxy-protocol-meta: {a.capture}: " + "; ".join(problems[:5]), file=sys.stderr)
        return 1
    meta["scenario"] = a.scenario
    meta["description"] = (
        "Keep-alive race through a TCP proxy that speaks the PROXY protocol, as an AWS NLB with proxy protocol v2 or "
        "HAProxy `send-proxy-v2` in front of nginx: HAProxy 2.6 in mode tcp on 127.0.0.2:8080 opens one backend connection "
        "per client connection to nginx 1.22 on 127.0.0.3:9001 (`listen ... proxy_protocol`, keepalive_timeout 2s) and "
        "writes a PROXY v2 header (28 bytes, in a segment of its own) naming the client before relaying its bytes. A raw "
        "Node net client acting as a pool that ignores 'end' reuses two connections 25 and 50 ms after nginx's idle FIN "
        "(relayed by HAProxy) arrived (GET, then POST): nginx answers RST on the backend leg, HAProxy closes the client's "
        "connection without a response, the client retries on a new connection. conncheck must read the PROXY header off "
        "the backend leg (before, version 2 made the whole direction 'not HTTP' and the backend leg's race went unseen) "
        "and find the race on both legs.")
    meta["software"] = ["HAProxy 2.6 (mode tcp, send-proxy-v2)", "nginx 1.22 (proxy_protocol)", "node net (raw client acting as a buggy pool)"]
    meta["configured"] = {"serverIdleTimeout": 2.0, "staleDelaysMs": [25, 50]}
    meta.pop("configuredNotes", None)
    meta["expect"] = meta["expect"] + front_expect
    meta["facts"] = {
        "captureFile": a.capture.rsplit("/", 1)[-1],
        "backendLeg": meta["facts"],
        "proxyProtocolHeaders": {b: f for b, f in sorted(serves.items())},
    }
    with open(a.meta, "w") as f:
        f.write(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
