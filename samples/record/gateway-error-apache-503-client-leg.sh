#!/usr/bin/env bash
# Apache 2.4 mod_proxy's own 503s, seen from its client leg alone (blind round 14, S2d): Apache on
# 127.0.0.2:8080 proxies /slow/ to 127.0.0.4:9009, whose SYNs an nftables rule drops
# (connectiontimeout=2500ms retry=0): AH00957 "(70007)The timeout specified has expired", 503
# after 2.5 s; /refused/ to 127.0.0.3:9010, where nothing listens (retry=0): "(111)Connection
# refused", 503 at once (the near miss: no timer, not called a timeout); /ok/ to a Python
# http.server on 127.0.0.3:9001. curl asks /ok/1, /slow/1, /refused/1, one connection each.
# tcpdump keeps port 8080 only: no upstream leg. Writes samples/gateway-error-apache-503-client-leg.pcap
# and .meta.json (checked against Apache's error and access logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-apache-proxy.sh"
cc_require apache2 python3 curl nft tcpdump ip

SCENARIO=gateway-error-apache-503-client-leg
cc_netns_up cc-lone503-a
ccb_workdir
WORK="$CCB_WORK"
cat >"$WORK/backend.py" <<'PY'
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        body = ('ok %s\n' % self.path).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        pass
ThreadingHTTPServer(('127.0.0.3', 9001), H).serve_forever()
PY
ccp_apache_proxy_conf "$WORK/apache.conf" "Listen 127.0.0.2:8080" "ProxySourceAddress 127.0.0.2" \
  "ProxyPass /ok/ http://127.0.0.3:9001/ok/" \
  "ProxyPass /slow/ http://127.0.0.4:9009/slow/ connectiontimeout=2500ms retry=0" \
  "ProxyPass /refused/ http://127.0.0.3:9010/refused/ retry=0"
cc_bg python3 "$WORK/backend.py"
cc_wait_port 9001
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_wait_port 8080
# The blackholed backend: its SYNs are dropped as they leave (the capture does not hold them anyway).
cc_in nft add table inet cc_lone503a
cc_in nft add chain inet cc_lone503a out '{ type filter hook output priority 0; }'
cc_in nft add rule inet cc_lone503a out ip daddr 127.0.0.4 tcp dport 9009 drop
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080"
for path in /ok/1 /slow/1 /refused/1; do
  cc_in curl -s -o /dev/null -m 8 -w "$path %{http_code} %{time_total}\n" "http://127.0.0.2:8080$path" | tee -a "$WORK/clients.log"
done
sleep 0.2
cc_capture_stop
cc_in nft delete table inet cc_lone503a

python3 - "$META" "$WORK" "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_proxy_http)" "Python $(python3 -c 'import platform; print(platform.python_version())') http.server" "$(curl --version | head -1 | cut -d' ' -f1-2)" <<'PY'
import json, re, sys
meta, work, *software = sys.argv[1:]
ACCESS = re.compile(r'^(\S+) (\S+):(\d+) "(\S+) (\S+) HTTP/1\.[01]" (\d+) (\S+) conn=(\S) D=(\d+) backend=(\S+)$')
access = {}
for line in open(f"{work}/proxy-access.log"):
    m = ACCESS.match(line.strip())
    if m:
        access[m.group(5)] = {"clientPort": int(m.group(3)), "status": int(m.group(6)), "tookMs": round(int(m.group(9)) / 1000, 1)}
errors = [l.strip() for l in open(f"{work}/apache-error.log") if ":error]" in l]
def need(cond, what):
    if not cond:
        sys.exit(f"record: {what}: access {access}, errors {errors}")
need(access.get("/ok/1", {}).get("status") == 200, "/ok/1 must be 200")
slow, refused = access.get("/slow/1", {}), access.get("/refused/1", {})
need(slow.get("status") == 503 and 2400 <= slow.get("tookMs", 0) <= 2700, "/slow/1 must be a 503 after about 2.5 s")
need(any("AH00957" in e and "70007" in e for e in errors), "Apache must log AH00957 (70007) for the connect timeout")
need(refused.get("status") == 503 and refused.get("tookMs", 1e9) < 100, "/refused/1 must be a 503 at once")
need(any("111" in e and "refused" in e.lower() for e in errors), "Apache must log the refused connect (111)")
json.dump({
  "scenario": "gateway-error-apache-503-client-leg",
  "description": "Apache 2.4 mod_proxy on 127.0.0.2:8080, captured on its client leg only (port 8080). /slow/1: backend 127.0.0.4:9009 whose SYNs an nftables rule drops, ProxyPass connectiontimeout=2500ms: AH00957 (70007), Apache's own 503 (Server: Apache) after 2.5 s. /refused/1: nothing listens on 127.0.0.3:9010, 503 at once ((111) Connection refused). /ok/1: 200 from a Python http.server (blind round 14, S2d client leg).",
  "software": software,
  "configured": {"connectionTimeout": 2.5, "retry": 0},
  "configuredNotes": "No value is inferred from one wait; the 2.5 s is Apache's connectiontimeout= as it fired.",
  "observed": {"apacheAccess": access, "apacheErrors": [re.sub(r'^\[[^]]*\] ', '', e) for e in errors]},
  "expect": [
    {"kind": "gateway-timeout", "server": "127.0.0.2:8080", "notes": f"GET /slow/1: Apache's own 503 after {slow['tookMs']} ms (connectiontimeout=2500ms, AH00957): a gateway error after a wait (phase waited), Apache mod_proxy's causes named, the fast 503 beside it counted apart.", "evidence": {"status": 503, "upstreamPhase": "waited"}},
  ],
  "nearMiss": "GET /refused/1: Apache's 503 at once for a refused connect: no timer, no finding of its own (counted apart in the diagnosis).",
}, open(meta, "w"), indent=2)
PY
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E 'AH00957|AH00959|111' "$WORK/apache-error.log" | sed 's/^\[[^]]*\] //' || true
