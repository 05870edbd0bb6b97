#!/usr/bin/env python3
"""Check gateway-timeout-apache-cgid against Apache's own logs and write its meta.json.

Usage: apache-cgid-meta.py SCENARIO --capture FILE --meta OUT --error-log FILE --access-log FILE
                           --cgid-timeout S [--client-log FILE] [--port P] [--software S ...]

The capture is rebuilt with b-meta.py's tshark reader. Every 504 in the capture must be one Apache's
access log lists as 504 for the slow CGI, with a mod_cgid "Script timed out before returning headers" in its error log for
that client port, about CGIDScriptTimeout after the request;
every other answer a 2xx; and no connection may leave Apache's host for another server (no upstream
leg: mod_cgid talks to its script over a Unix socket). A failing check prints why and exits 1
without writing the meta.
"""
import argparse
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("b_meta", os.path.join(HERE, "b-meta.py"))
bm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bm)
check = bm.check

# cca_apache_conf's format: %{%s}t.%{usec_frac}t %a:%{remote}p "%r" %>s %b conn=%X
ACCESS = re.compile(r'^(\S+) (\S+):(\d+) "(\S+) (\S+) HTTP/1\.[01]" (\d+) (\S+) conn=(\S)$')


def read_access(path):
    out = []
    for line in open(path):
        m = ACCESS.match(line.strip())
        check(m, f"access log line not understood: {line.strip()}")
        out.append({"clientPort": int(m.group(3)), "method": m.group(4), "uri": m.group(5), "status": int(m.group(6))})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["gateway-timeout-apache-cgid"])
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--error-log", required=True)
    ap.add_argument("--access-log", required=True)
    ap.add_argument("--client-log")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--cgid-timeout", type=float, required=True)
    ap.add_argument("--software", nargs="*", default=[])
    a = ap.parse_args()
    try:
        conns = bm.load(a.capture, [a.port])
        check(conns, "no connection in the capture")
        check(all(c.server[1] == a.port for c in conns), "a connection to another port: an upstream leg")
        access = read_access(a.access_log)
        errors = [l.strip() for l in open(a.error_log) if "[cgid:error]" in l and "Script timed out before returning headers" in l]
        expect, waits = [], []
        for c in conns:
            fives = [x for x in c.responses if x["status"] == 504]
            check(all(200 <= x["status"] < 300 or x["status"] == 504 for x in c.responses), f"{c.cid}: an answer neither 2xx nor 504")
            check(len(c.responses) == len(c.requests), f"{c.cid}: {len(c.requests)} requests, {len(c.responses)} answers")
            for r, x in zip(c.requests, c.responses):
                if x["status"] != 504:
                    continue
                check("/cgi-bin/slow.sh" in r["uri"], f"{c.cid}: 504 for {r['uri']}")
                check(x["headers"].get("server", "").startswith("Apache/"), f"{c.cid}: the 504 does not say Server: Apache")
                logged = [e for e in access if e["clientPort"] == c.client[1] and e["uri"] == r["uri"] and e["status"] == 504]
                check(len(logged) == 1, f"{c.cid} {r['uri']}: {len(logged)} 504s in the access log")
                wait = x["t"] - r["t"]
                check(abs(wait - a.cgid_timeout) < 0.1, f"{c.cid}: 504 after {wait:.3f} s, not CGIDScriptTimeout {a.cgid_timeout}")
                waits.append(bm.r3(wait))
                expect.append(bm.entry("gateway-timeout", c, f"GET {r['uri']}: mod_cgid gave up on the CGI script after CGIDScriptTimeout {a.cgid_timeout:g} s ([cgid:error] "
                                       f"Script timed out before returning headers\") and Apache answered 504 itself {bm.r3(wait)} s after the request; no proxy, no upstream connection.",
                                       uri=r["uri"], requestAt=bm.r3(r["t"]), status504At=bm.r3(x["t"]), waitSeconds=bm.r3(wait)))
            if not fives:
                expect.append(bm.entry(None, c, "answered 2xx by Apache (a static file, a quick CGI)."))
        check(len(waits) >= 2, f"{len(waits)} 504s")
        check(len(errors) == len(waits), f"{len(errors)} timed-out script lines for {len(waits)} 504s")
    except bm.CheckFailed as e:
        print(f"{a.scenario}: check failed: {e}", file=sys.stderr)
        sys.exit(1)
    desc = (f"Apache's own 504, no proxy: Apache 2.4 (event MPM, mod_cgid, no mod_proxy loaded) on 127.0.0.1:{a.port} with CGIDScriptTimeout {a.cgid_timeout:g} "
            f"(Timeout 10) runs /cgi-bin/slow.sh, which sleeps 4 s before its headers. curl fetches /index.html and a quick CGI (POST, 201) on one connection, "
            f"then on another the slow script twice and /index.html: mod_cgid gives up on each slow script after {a.cgid_timeout:g} s (error log [cgid:error] "
            f"\"Script timed out before returning headers: slow.sh\", with the client's port) and Apache answers 504 Gateway Timeout itself, `Server: Apache`, keeping the connection alive. "
            f"mod_cgid talks to its scripts over a Unix socket: no upstream connection is in the capture, and none exists.")
    meta = {"scenario": a.scenario, "description": desc, "software": a.software,
            "configured": {"cgidScriptTimeout": a.cgid_timeout, "timeout": 10.0},
            "observed": {"waits": waits, "capture": bm.summary(conns)}, "expect": expect}
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
