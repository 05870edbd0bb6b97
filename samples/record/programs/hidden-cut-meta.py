"""Checks response-truncated-hidden-by-caddy.sh's run against its programs' logs and writes the meta.

argv: META WORK SOFTWARE... ; WORK holds curl.txt ("QUERY STATUS SIZE EXITCODE" per request),
gosrv.log (the backend's START / WRITE-ERR / DONE lines) and caddy.log (Caddy's JSON log).
Refuses (exit status) unless both long streams hit the backend's WriteTimeout and reached curl as a
200 with a short body and exit code 0, the short stream completed whole, and Caddy logged the aborts.
"""
import json
import re
import sys

meta, work, *software = sys.argv[1:]
curl = {}
for line in open(f"{work}/curl.txt"):
    q, code, size, rc = line.split()
    curl[q] = {"status": int(code), "bodyBytes": int(size), "exitCode": int(rc)}
backend = {}
for line in open(f"{work}/gosrv.log"):
    m = re.match(r"[\d.]+ (WRITE-ERR|DONE) \S+ /slow\?(\S+) (?:after )?(\d+) bytes(.*)", line)
    if m:
        backend[m.group(2)] = {"outcome": m.group(1), "bytesWritten": int(m.group(3)), "error": m.group(4).lstrip(": ").strip() or None}
aborts = sum(1 for line in open(f"{work}/caddy.log") if "aborting with incomplete response" in line)
cut = ["chunks=10&ms=200", "chunks=8&ms=300"]


def need(cond, what):
    if not cond:
        sys.exit(f"record: {what}: curl {curl}, backend {backend}, caddy aborts {aborts}")


for q in cut:
    need(backend.get(q, {}).get("outcome") == "WRITE-ERR", f"{q} must hit the backend's WriteTimeout")
    need(curl.get(q, {}).get("status") == 200 and curl[q]["exitCode"] == 0, f"{q} must reach curl as a 200 without an error")
    need(curl[q]["bodyBytes"] < 64 * int(q.split("&")[0].split("=")[1]), f"{q} must reach curl short")
need(backend.get("chunks=3&ms=200", {}).get("outcome") == "DONE", "the short stream must complete")
need(curl.get("chunks=3&ms=200", {}).get("bodyBytes") == 192, "the short stream must reach curl whole")
need(aborts >= 2, "Caddy must log two aborted responses")
json.dump({
    "scenario": "response-truncated-hidden-by-caddy",
    "description": "Caddy 2.6 reverse_proxy (127.0.0.2:8080, handle_path /stream/*) in front of a Go net/http backend with WriteTimeout 1 s "
    "(127.0.0.3:9003) streaming 64-byte chunks. Two streams outlast 1 s: the backend's next write fails and net/http closes the upstream "
    "connection without the last chunk; Caddy logs 'aborting with incomplete response' but ends its chunked response to curl with the last "
    "chunk: curl gets a 200, a short body and exit code 0 (silent data loss). A 0.4 s stream completes on both legs (the near miss). "
    "Both legs captured.",
    "software": software,
    "configured": {"backendWriteTimeout": 1.0},
    "configuredNotes": "Go http.Server WriteTimeout 1 s, timed from the end of the request head; it takes effect at the handler's next "
    "write (every 200 / 300 ms here), so the cuts come after different silences.",
    "observed": {"curl": curl, "backend": backend, "caddyAbortedResponses": aborts},
    "facts": {"hiddenCuts": len(cut), "clientErrors": sum(1 for q in curl.values() if q["exitCode"] != 0)},
    "expect": [
        {"kind": "response-truncated", "server": "127.0.0.3:9003", "notes": "GET /slow?chunks=10&ms=200: the backend's cut (WriteTimeout); Caddy ended its client's chunked response whole (hiddenByProxy 127.0.0.2:8080)."},
        {"kind": "response-truncated", "server": "127.0.0.3:9003", "notes": "GET /slow?chunks=8&ms=300: the same, hidden too."},
    ],
    "nearMiss": "GET /stream/slow?chunks=3&ms=200: whole on both legs, no finding. The client legs of the two cuts end whole: no finding of the proxy's own.",
}, open(meta, "w"), indent=2)
