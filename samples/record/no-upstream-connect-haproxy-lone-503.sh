#!/usr/bin/env bash
# A single queue-timeout 503 of HAProxy's, both legs captured (blind round 14, S6b): HAProxy 2.6 on
# 127.0.0.2:8080 in front of a Python backend on 127.0.0.3:9001 that answers each request after
# 1.2 s, server maxconn 1, timeout queue 1500ms. Three curl clients 50 ms apart: q1 is served at
# once (1.2 s), q2 waits in the queue for q1's slot (about 1.15 s) and is served, q3 waits for the
# same slot, which q2 takes, and gets HAProxy's own 503 after 1.5 s (log: be/<NOSRV> 503 sQ--),
# never sent upstream. One such 503: the queue shows in the backend being busy with the others'
# requests meanwhile (q1 in flight when q3 came, q2 sent while it waited). Writes
# samples/no-upstream-connect-haproxy-lone-503.pcap and .meta.json (checked against HAProxy's log).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require haproxy python3 curl tcpdump ip

SCENARIO=no-upstream-connect-haproxy-lone-503
cc_netns_up cc-lone503-q
WORK="$(mktemp -d)"
trap 'cc_cleanup; rm -rf "$WORK"' EXIT

cat >"$WORK/backend.py" <<'PY'
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        time.sleep(1.2)
        body = ('served %s\n' % self.path).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        sys.stderr.write('%.6f %s\n' % (time.time(), fmt % args))
        sys.stderr.flush()
ThreadingHTTPServer(('127.0.0.3', 9001), H).serve_forever()
PY
cat >"$WORK/haproxy.cfg" <<CONF
global
  log stderr format short local0 info
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  timeout queue 1500ms
frontend fe
  bind 127.0.0.2:8080
  default_backend be
backend be
  server s1 127.0.0.3:9001 maxconn 1 source 127.0.0.2
CONF

cc_bg python3 "$WORK/backend.py" 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
HAPROXY_PID="$CC_LAST_PID"
cc_wait_port 8080
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
pids=()
for i in 1 2 3; do
  cc_in curl -sS -o /dev/null -w "q$i %{http_code} %{time_total} %{local_port}\n" --max-time 6 "http://127.0.0.2:8080/q$i" >>"$WORK/clients.log" &
  pids+=("$!")
  sleep 0.05
done
wait "${pids[@]}"
sleep 0.2
cc_capture_stop
kill "$HAPROXY_PID" 2>/dev/null || true
wait "$HAPROXY_PID" 2>/dev/null || true
cat "$WORK/clients.log"

python3 - "$META" "$WORK" "$(haproxy -v | head -1)" "Python $(python3 -c 'import platform; print(platform.python_version())') http.server" "$(curl --version | head -1 | cut -d' ' -f1-2)" <<'PY'
import json, re, sys
meta, work, *software = sys.argv[1:]
# HAProxy httplog: ... fe be/server Tq/Tw/Tc/Tr/Ta status bytes - - TERM ... "GET /qN HTTP/1.1"
line_re = re.compile(r'127\.0\.0\.1:(\d+) .* fe be/(\S+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(\d+) (\d{3}) \d+ \S+ \S+ (\S{4}) .*"GET (\S+) ')
log = {}
for line in open(f"{work}/haproxy.log", errors="replace"):
    m = line_re.search(line)
    if m:
        port, server, tq, tw, tc, tr, ta, status, term, uri = m.groups()
        log[uri] = {"clientPort": int(port), "server": server, "Tw": int(tw), "Tc": int(tc), "Tr": int(tr), "Ta": int(ta), "status": int(status), "termination": term}
def need(cond, what):
    if not cond:
        sys.exit(f"record: {what}: haproxy log {log}")
need(set(log) == {"/q1", "/q2", "/q3"}, "three logged requests")
need(log["/q1"]["status"] == 200 and log["/q2"]["status"] == 200, "q1 and q2 must be served")
need(log["/q2"]["Tw"] > 900, "q2 must have waited in the queue")
q3 = log["/q3"]
need(q3["status"] == 503 and q3["termination"].startswith("sQ") and q3["server"] == "<NOSRV>", "q3 must be a queue-timeout 503 (sQ, <NOSRV>)")
need(1400 <= q3["Tw"] <= 1700, "q3's queue wait must be about 1.5 s")
json.dump({
  "scenario": "no-upstream-connect-haproxy-lone-503",
  "description": "HAProxy 2.6 on 127.0.0.2:8080, server maxconn 1, timeout queue 1500ms, in front of a Python http.server backend on 127.0.0.3:9001 that answers each request after 1.2 s; both legs captured on the namespace's loopback. Three curl clients 50 ms apart: q1 served (1.2 s), q2 queued behind it and then served, q3 queued for the same slot, which q2 took, and answered HAProxy's own 503 after 1.5 s (be/<NOSRV> 503 sQ--) without ever being sent upstream: one lone queue-timeout 503 (blind round 14, S6b).",
  "software": software,
  "configured": {"queueTimeout": 1.5, "serverMaxconn": 1, "backendDelaySeconds": 1.2, "timeoutConnect": 1.0},
  "configuredNotes": "No value is inferred: one 503 names no exact timer value; the finding's delay is HAProxy's timeout queue (1.5 s) as it fired.",
  "observed": {"haproxyLog": log},
  "expect": [
    {"kind": "no-upstream-connect", "server": "127.0.0.2:8080", "notes": f"GET /q3 answered 503 by HAProxy after its queue wait of {q3['Tw']} ms (sQ--, <NOSRV>): never sent upstream while the backend served q1 (in flight when q3 came) and q2 (sent while q3 waited). One sample: no proxyQueueTimeout value inferred.", "evidence": {"status": 503}},
  ],
  "nearMiss": "q1 and q2 are served (200) and their backend legs answered: no finding; gateway-timeout must not read q2's backend request as q3's copy.",
}, open(meta, "w"), indent=2)
PY
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E 'fe be/' "$WORK/haproxy.log" || true
