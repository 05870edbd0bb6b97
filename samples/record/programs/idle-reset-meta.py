#!/usr/bin/env python3
"""Check keepalive-race-idle-reset's (mode `local`) or keepalive-race-idle-reset-far's (mode `far`) capture against its programs' log (idle-reset-http.py, one JSON
object a line) and write its meta.json; exit 1 and write nothing when the capture does not show the
scenario. Capture measured with tshark through c-meta.py's reader (loaded, not changed).

In `local` (loopback) the stale GET /c fails in the client (its RST had arrived) and is not on the wire;
in `far` (server-side capture, 60 ms one way) /c crosses the RST: on the wire after it, answered by
another RST, the client's read failing with ECONNRESET.

Usage: idle-reset-meta.py MODE CAPTURE LOG OUT IDLE REUSE STALE SOFTWARE
"""
import importlib.util
import json
import os
import sys

spec = importlib.util.spec_from_file_location("c_meta", os.path.join(os.path.dirname(__file__), "c-meta.py"))
cm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cm)


def main():
    mode, capture, log_path, out, idle, reuse, stale, software = sys.argv[1:9]
    far = mode == "far"
    idle, reuse, stale = float(idle), float(reuse), float(stale)
    log = [json.loads(l) for l in open(log_path) if l.strip()]
    conns = cm.connections(cm.read_packets(capture, 8080), 8080)
    ports = {e["port"] for e in log if e["role"] == "client"}
    conns = [c for c in conns if int(c.client.rsplit(":", 1)[1]) in ports]
    cm.check(len(conns) == 3, f"{len(conns)} connections")
    server_closes = {e["port"]: e for e in log if e["role"] == "server" and e["event"] == "idle-close-rst"}
    failed = {e["port"]: e for e in log if e["role"] == "client" and e["uri"] == "/c"}
    measured = {}
    expect = []
    for c in conns:
        port = int(c.client.rsplit(":", 1)[1])
        reqs = c.requests()
        cm.check([r.uri.split("?")[0] for r in reqs] == (["/a", "/b", "/c"] if far else ["/a", "/b"]), f"{c.client}: requests on the wire {[r.uri for r in reqs]}")
        cm.check([p.status for p in c.s2c() if p.status] == [200, 200], f"{c.client}: responses")
        first = c.first_close()
        cm.check(first is not None and first[:2] == ("server", "rst"), f"{c.client}: first close {first and first[:2]}")
        rst = first[2]
        cm.check(rst.ack, f"{c.client}: the RST has no ACK flag (not an abort of a live socket)")
        cm.check(not c.fins("client") and not c.fins("server"), f"{c.client}: a FIN")
        last_resp = [p for p in c.s2c() if p.len > 0][-1]
        late = [p for p in c.c2s() if p.len > 0 and p.t > last_resp.t]
        if far:
            # Seen at the server: /c arrives after the RST that closed the connection, and draws another.
            cm.check(late and late[0].uri.startswith("/c?") and late[0].t > rst.t, f"{c.client}: /c not after the idle RST")
            cm.check([p for p in c.rsts("server") if p.t > late[0].t], f"{c.client}: no RST answering /c")
        else:
            cm.check(not late, f"{c.client}: client data after the last response")
        silence = rst.t - last_resp.t
        cm.check(port in server_closes and abs(server_closes[port]["idle"] - silence) < 0.02, f"{c.client}: server log {server_closes.get(port)} vs silence {silence:.4f}")
        cm.check(abs(silence - idle) < 0.05, f"{c.client}: {silence:.3f} s idle before the RST")
        cm.check(port in failed and failed[port].get("errno") == 104, f"{c.client}: /c {failed.get(port)}")
        reuse_gap = reqs[1].t - [p for p in c.s2c() if p.len > 0 and p.t < reqs[1].t][-1].t
        measured[c.client] = {"reusedAfter": cm.r3(reuse_gap), "idleBeforeRst": cm.r3(silence), "serverLoggedIdle": server_closes[port]["idle"],
                              "staleReuse": (f"GET /c after {stale} s idle (client clock) arrived {cm.r3(late[0].t - rst.t)} s after the idle RST: "
                                             f"{failed[port]['error']} (errno 104) on the client's read" if far else
                                             f"GET /c after {stale} s idle: {failed[port]['error']} (errno 104) in the client, nothing on the wire")}
    if far:
        for c in conns:
            expect.append({"kind": "keepalive-race", "client": c.client, "server": c.server,
                           "notes": f"GET /c crossed the server's idle close, a RST with no FIN after {idle} s idle; the client's read got ECONNRESET"})
        expect.append({"kind": "idle-timeout-mismatch", "client": None, "server": conns[0].server,
                       "notes": f"the same idle closes by RST tell the {idle} s idle timeout; the raced reuses came after it"})
    else:
        expect.append({"kind": "idle-timeout-mismatch", "client": None, "server": conns[0].server,
                       "notes": f"3 idle closes by RST (no FIN) after {idle} s; clients reuse after {reuse} s, within the margin: "
                                "the server's idle timeout inferred as with FINs. The failed reuses (ECONNRESET) never reached the wire."})
        for c in conns:
            expect.append({"kind": None, "client": c.client, "server": c.server,
                           "notes": "its stale reuse failed in the client (ECONNRESET on the write) and is not on the wire: no keepalive-race"})
    description = (
            "keepalive-race-idle-reset's python HTTP/1.1 server (samples/record/programs/idle-reset-http.py: connections idle 2 s "
            "closed with SO_LINGER {1, 0}, a RST with no FIN, as Go's SetLinger(0) or HAProxy `option nolinger` do) 60 ms one way "
            "from its clients (user-space wires), captured at the server. 3 raw keep-alive clients each send GET /a, GET /b after "
            "1.5 s idle (answered) and GET /c after 1.95 s idle: /c left before the idle RST reached the client and arrived after "
            "the server sent it (a crossing); the server's kernel answered it with another RST, and the client's read failed with "
            "ConnectionResetError (errno 104), not EOF.") if far else (
            "A python HTTP/1.1 server (samples/record/programs/idle-reset-http.py) closes connections idle 2 s with SO_LINGER {1, 0}: "
            "a RST with no FIN, as Go's SetLinger(0) or HAProxy `option nolinger` do. 3 raw keep-alive clients each send GET /a, "
            "GET /b after 1.9 s idle (answered) and GET /c after 2.2 s idle: the RST had arrived 0.2 s before, so /c fails in the "
            "client with ConnectionResetError (errno 104) and never reaches the wire (loopback: no path for it to cross the RST on). "
            "The capture shows 3 idle closes by RST after 2.0 s and reuses after 1.9 s: the idle timeout is inferred as from FINs.")
    meta = {
        "scenario": "keepalive-race-idle-reset-far" if far else "keepalive-race-idle-reset",
        "description": description,
        "software": [software],
        "configured": {"serverIdleTimeout": idle},
        "expect": expect,
        "silent": False,
        "facts": cm.facts_of(conns),
        "measured": measured,
        "observed": log,
    }
    with open(out, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"idle-reset-meta: ok, {len(conns)} connections")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except cm.CheckFailed as e:
        print(f"idle-reset-meta: the capture does not show the scenario: {e}", file=sys.stderr)
        sys.exit(1)
