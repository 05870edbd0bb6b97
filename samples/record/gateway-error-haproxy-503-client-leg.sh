#!/usr/bin/env bash
# HAProxy 2.6's own 503s after a wait, seen from its client leg alone (blind round 14, S2c and its
# refused run): HAProxy on 127.0.0.2:8080, timeout connect 1500ms, retries 2. /dead/ goes to
# 127.0.0.4:9009, whose SYNs an nftables rule drops: three connect attempts of 1.5 s each, 503
# after 4.5 s (log sC--). /refused/ goes to 127.0.0.3:9010, where nothing listens: three refused
# connects with HAProxy's 1 s turn-around pause between them, 503 after about 2 s (SC--).
# Everything else goes to a Python http.server on 127.0.0.3:9001 (its answers say
# `Server: BaseHTTP/...`, passed on by HAProxy, whose own 503s carry no Server): /ok/1 is 200, and
# /app503 is the application's own 503 after 0.5 s, named by its Server header: the near miss
# (no proxy's error). tcpdump keeps port 8080 only: no upstream leg. Writes
# samples/gateway-error-haproxy-503-client-leg.pcap and .meta.json (checked against HAProxy's log).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require haproxy python3 curl nft tcpdump ip

SCENARIO=gateway-error-haproxy-503-client-leg
cc_netns_up cc-lone503-c
WORK="$(mktemp -d)"
trap 'cc_cleanup; rm -rf "$WORK"' EXIT

cat >"$WORK/backend.py" <<'PY'
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        if self.path == '/app503':
            time.sleep(0.5)
            code, body = 503, b'maintenance\n'
        else:
            code, body = 200, ('ok %s\n' % self.path).encode()
        self.send_response(code)
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
  timeout connect 1500ms
  timeout client 10s
  timeout server 10s
  retries 2
frontend fe
  bind 127.0.0.2:8080
  use_backend dead if { path_beg /dead/ }
  use_backend refused if { path_beg /refused/ }
  default_backend app
backend dead
  server s1 127.0.0.4:9009
backend refused
  server s1 127.0.0.3:9010
backend app
  server s1 127.0.0.3:9001
CONF

# The blackholed backend: its SYNs are dropped as they leave (the capture does not hold them anyway).
cc_in nft add table inet cc_lone503
cc_in nft add chain inet cc_lone503 out '{ type filter hook output priority 0; }'
cc_in nft add rule inet cc_lone503 out ip daddr 127.0.0.4 tcp dport 9009 drop

cc_bg python3 "$WORK/backend.py" 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
HAPROXY_PID="$CC_LAST_PID"
cc_wait_port 8080
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080"
W='%{url_effective} %{http_code} %{time_total}\n'
for path in /ok/1 /dead/1 /refused/1 /app503; do
  cc_in curl -s -o /dev/null -w "$W" -m 8 "http://127.0.0.2:8080$path" | tee -a "$WORK/clients.log"
done
cc_capture_stop
kill "$HAPROXY_PID" 2>/dev/null || true
wait "$HAPROXY_PID" 2>/dev/null || true
cc_in nft delete table inet cc_lone503

python3 - "$META" "$WORK" "$(haproxy -v | head -1)" "Python $(python3 -c 'import platform; print(platform.python_version())') http.server" "$(curl --version | head -1 | cut -d' ' -f1-2)" <<'PY'
import json, re, sys
meta, work, *software = sys.argv[1:]
# HAProxy httplog: ... fe backend/server Tq/Tw/Tc/Tr/Ta status bytes - - TERM ... retries ... "GET /x HTTP/1.1"
line_re = re.compile(r'127\.0\.0\.1:(\d+) .* fe (\S+)/(\S+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(\d+) (\d{3}) \d+ \S+ \S+ (\S{4}) \d+/\d+/\d+/\d+/\+?(\d+) .*"GET (\S+) ')
log = {}
for line in open(f"{work}/haproxy.log", errors="replace"):
    m = line_re.search(line)
    if m:
        port, backend, server, tq, tw, tc, tr, ta, status, term, retries, uri = m.groups()
        log[uri] = {"backend": backend, "Tc": int(tc), "Ta": int(ta), "status": int(status), "termination": term, "retries": int(retries)}
def need(cond, what):
    if not cond:
        sys.exit(f"record: {what}: haproxy log {log}")
need(set(log) == {"/ok/1", "/dead/1", "/refused/1", "/app503"}, "four logged requests")
need(log["/ok/1"]["status"] == 200, "/ok/1 must be 200")
dead, refused, app = log["/dead/1"], log["/refused/1"], log["/app503"]
need(dead["status"] == 503 and dead["termination"].startswith("sC") and dead["retries"] == 2 and 4400 <= dead["Ta"] <= 4700, "/dead/1 must be a 503 after three 1.5 s connect timeouts (sC, 2 retries)")
need(refused["status"] == 503 and refused["termination"].startswith("SC") and refused["retries"] == 2 and 1900 <= refused["Ta"] <= 2200, "/refused/1 must be a 503 after three refused connects 1 s apart (SC, 2 retries)")
need(app["status"] == 503 and app["termination"] == "----" and 450 <= app["Ta"] <= 700, "/app503 must be the application's own 503 after 0.5 s, passed on")
json.dump({
  "scenario": "gateway-error-haproxy-503-client-leg",
  "description": "HAProxy 2.6 on 127.0.0.2:8080 (timeout connect 1500ms, retries 2), captured on its client leg only (port 8080). /dead/1: backend 127.0.0.4:9009 whose SYNs an nftables rule drops, three connect attempts of 1.5 s, HAProxy's own 503 after 4.5 s (sC--). /refused/1: nothing listens on 127.0.0.3:9010, three refused connects with HAProxy's 1 s turn-around between them, 503 after 2 s (SC--). /ok/1 (200) and /app503 (the application's own 503 after 0.5 s) come from a Python http.server whose `Server: BaseHTTP` HAProxy passes on; HAProxy's own 503s carry no Server header (blind round 14, S2c client leg and its refused run).",
  "software": software,
  "configured": {"timeoutConnect": 1.5, "retries": 2, "appDelaySeconds": 0.5},
  "configuredNotes": "No value is inferred: each 503 has its own cause (4.5 s = timeout connect × 3 attempts; 2 s = two 1 s turn-around pauses after refused connects), and the client leg does not show the attempts.",
  "observed": {"haproxyLog": log},
  "expect": [
    {"kind": "gateway-timeout", "server": "127.0.0.2:8080", "notes": f"GET /dead/1: HAProxy's own 503 (no Server header) after {dead['Ta']} ms, three connect timeouts (sC--, retries 2): a gateway error after a wait (phase waited), HAProxy's causes named.", "evidence": {"status": 503, "upstreamPhase": "waited"}},
    {"kind": "gateway-timeout", "server": "127.0.0.2:8080", "notes": f"GET /refused/1: HAProxy's own 503 after {refused['Ta']} ms, three refused connects 1 s apart (SC--): a gateway error after a wait.", "evidence": {"status": 503, "upstreamPhase": "waited"}},
  ],
  "nearMiss": "GET /app503: the application's own 503 after 0.5 s, its `Server: BaseHTTP` passed on by HAProxy: no finding.",
}, open(meta, "w"), indent=2)
PY
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E ' fe ' "$WORK/haproxy.log" || true
