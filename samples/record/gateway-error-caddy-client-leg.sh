#!/usr/bin/env bash
# Caddy 2.6's 502s after a wait, seen from its client leg alone (blind round 13, proxies s13 single
# and s14): Caddy reverse_proxy on 127.0.0.2:8080 sends /bh/* to 127.0.0.4:9009, whose SYNs an
# nftables rule drops (transport http { dial_timeout 2s }), and everything else to uWSGI 2.0
# (--http11-socket 127.0.0.3:9002, --harakiri 2: a request still running after 2 s has its worker
# killed, on uWSGI's 1 s check, so at 2-3 s, and its connection ends with no response).
# curl: /ok/1, /bh/1 (one 502 after Caddy's 2 s dial timeout), /ok/2 on one connection; then
# /slow/10 at once, which Caddy sends on the idle upstream connection of /ok/2: uWSGI kills it, and
# Go's transport re-sends the GET on a new connection (a reused connection that closed before any
# answer), killed again: one 502 after two kills; then /slow/11 on a new upstream connection: one
# kill, one 502; then /app503, which the application answers 503 itself after 0.5 s (Caddy passes
# it on): the near miss, no proxy named for a 503. tcpdump keeps port 8080 only: no upstream leg.
# Writes samples/gateway-error-caddy-client-leg.pcap and .meta.json (checked against Caddy's
# access log and uWSGI's HARAKIRI lines).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require caddy uwsgi curl nft python3 tcpdump ip

SCENARIO=gateway-error-caddy-client-leg
cc_netns_up ccgw-caddy
WORK="$(mktemp -d)"

cat >"$WORK/app.py" <<'PY'
import time
def application(env, start_response):
    path = env.get('PATH_INFO', '/')
    if path.startswith('/slow/'):
        time.sleep(float(path.split('/')[2]))
    if path == '/app503':
        time.sleep(0.5)
        body = b"maintenance\n"
        start_response('503 Service Unavailable', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
        return [body]
    body = ("ok %s\n" % path).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
PY
cat >"$WORK/Caddyfile" <<EOF
{
	admin off
	auto_https off
	log {
		output file $WORK/caddy.log
		format json
		level DEBUG
	}
}
http://127.0.0.2:8080 {
	log {
		output file $WORK/caddy-access.log
		format json
	}
	reverse_proxy /bh/* 127.0.0.4:9009 {
		transport http {
			dial_timeout 2s
		}
	}
	reverse_proxy 127.0.0.3:9002
}
EOF

# The blackholed backend: its SYNs are dropped as they leave (the capture does not hold them anyway).
cc_in nft add table inet ccgw_caddy
cc_in nft add chain inet ccgw_caddy out '{ type filter hook output priority 0; }'
cc_in nft add rule inet ccgw_caddy out ip daddr 127.0.0.4 tcp dport 9009 drop

# --die-on-term: uWSGI's master otherwise ignores the SIGTERM that cleanup sends by PID.
cc_bg uwsgi --plugin python3 --http11-socket 127.0.0.3:9002 --wsgi-file "$WORK/app.py" --master --processes 2 \
  --harakiri 2 --die-on-term --logto "$WORK/uwsgi.log"
UWSGI_PID="$CC_LAST_PID"
cc_wait_port 9002
cc_bg caddy run --config "$WORK/Caddyfile" --adapter caddyfile
CADDY_PID="$CC_LAST_PID"
cc_wait_port 8080

OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080"
W='%{url_effective} %{http_code} %{time_total}\n'
cc_in curl -s -o /dev/null -w "$W" -m 20 http://127.0.0.2:8080/ok/1 http://127.0.0.2:8080/bh/1 http://127.0.0.2:8080/ok/2 | tee "$WORK/curl.txt"
cc_in curl -s -o /dev/null -w "$W" -m 20 http://127.0.0.2:8080/slow/10 | tee -a "$WORK/curl.txt"
cc_in curl -s -o /dev/null -w "$W" -m 20 http://127.0.0.2:8080/slow/11 http://127.0.0.2:8080/app503 | tee -a "$WORK/curl.txt"
cc_capture_stop
kill "$CADDY_PID" 2>/dev/null || true
wait "$CADDY_PID" 2>/dev/null || true
kill "$UWSGI_PID" 2>/dev/null || true
wait "$UWSGI_PID" 2>/dev/null || true
cc_in nft delete table inet ccgw_caddy

python3 - "$META" "$WORK" "caddy $(caddy version | cut -d' ' -f1)" "uwsgi $(uwsgi --version)" "$(curl --version | head -1 | cut -d' ' -f1-2)" <<'PY'
import json, sys, re
meta, work, *software = sys.argv[1:]
access = [json.loads(l) for l in open(f"{work}/caddy-access.log") if l.strip()]
by_uri = {a["request"]["uri"]: {"status": a["status"], "duration": round(a["duration"], 3)} for a in access}
kills = {}
for line in open(f"{work}/uwsgi.log", errors="replace"):
    m = re.search(r"HARAKIRI ON WORKER \d+ \(pid: \d+, try: \d+\).*", line)
    m2 = re.search(r"HARAKIRI \[core \d+\] [\d.]+ - (GET) (\S+)", line)
    if m2:
        kills[m2.group(2)] = kills.get(m2.group(2), 0) + 1
errors = [json.loads(l) for l in open(f"{work}/caddy.log") if l.strip()]
upstream_errors = {}
for e in errors:
    if e.get("msg") in ("upstream roundtrip", "handled request") and "error" in e:
        uri = e.get("request", {}).get("uri")
        upstream_errors.setdefault(uri, []).append(e["error"])
def need(cond, what):
    if not cond:
        sys.exit(f"record: {what}: access {by_uri}, kills {kills}, errors {upstream_errors}")
need(by_uri.get("/bh/1", {}).get("status") == 502, "/bh/1 must be a 502")
need(by_uri.get("/slow/10", {}).get("status") == 502 and kills.get("/slow/10") == 2, "/slow/10 must be a 502 after two kills")
need(by_uri.get("/slow/11", {}).get("status") == 502 and kills.get("/slow/11") == 1, "/slow/11 must be a 502 after one kill")
need(by_uri.get("/app503", {}).get("status") == 503, "/app503 must be the application's 503")
need(all(by_uri.get(u, {}).get("status") == 200 for u in ("/ok/1", "/ok/2")), "/ok/1 and /ok/2 must be 200")
json.dump({
  "scenario": "gateway-error-caddy-client-leg",
  "description": "Caddy 2.6 reverse_proxy on 127.0.0.2:8080, captured on its client leg only (port 8080). /bh/* goes to 127.0.0.4:9009 whose SYNs an nftables rule drops (dial_timeout 2s): 502 after 2 s. Everything else goes to uWSGI 2.0 (--http11-socket, --harakiri 2: a worker still busy after 2 s is killed on its 1 s check, its connection ended with no response). /slow/10 went on a reused upstream connection: killed, re-sent by Go's transport on a new one, killed again: one 502 after two kills. /slow/11 on a new connection: one kill, one 502. /app503: the application's own 503 after 0.5 s, passed on by Caddy (no proxy named for a 503: the near miss).",
  "software": software,
  "configured": {},
  "configuredNotes": "Caddy dial_timeout 2 s for /bh/*; uWSGI harakiri 2 s (kills at 2-3 s). No value is inferred: one 502 per cause, and the retried one waits two kills.",
  "observed": {"caddyAccess": by_uri, "harakiriKills": kills, "caddyUpstreamErrors": upstream_errors},
  "expect": [
    {"kind": "gateway-timeout", "server": "127.0.0.2:8080", "notes": "GET /bh/1: 502 after ~2 s (Caddy's dial_timeout), reported as a gateway error after a wait (phase waited)."},
    {"kind": "gateway-timeout", "server": "127.0.0.2:8080", "notes": "GET /slow/10: 502 after two harakiri kills (Caddy re-sent the GET): not one timer of the proxy's."},
    {"kind": "gateway-timeout", "server": "127.0.0.2:8080", "notes": "GET /slow/11: 502 after one harakiri kill."},
  ],
  "nearMiss": "GET /app503: the application's own 503 after 0.5 s, Server: Caddy (Caddy answers no 503 of its own for its upstream): no finding.",
}, open(meta, "w"), indent=2)
PY
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
rm -rf "$WORK"
