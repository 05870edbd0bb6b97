#!/usr/bin/env bash
# Varnish Cache 7.1's 503s of two mechanisms on one client leg (blind round 13, proxies s12): varnishd
# on 127.0.0.2:8080 sends /dead/* to 127.0.0.3:9089, where nothing listens, and everything else to a
# Node backend on 127.0.0.3:9001 with first_byte_timeout 1.5 s. curl, on one connection: /get?i=1,
# /slow?ms=4000&i=1 and i=2 (503 "Backend fetch failed" when first_byte_timeout fires, 1.5 s after
# each), /get?i=2, /dead/1..3 (503 at once: the connect is refused, then Varnish holds the backend
# down and fails the others without a SYN), /get?i=3. tcpdump keeps port 8080 only: no upstream leg.
# The three fast 503s are no timer's and must not make the two at 1.5 s chance (an intermittent-5xx
# warning instead of gateway-timeout's error, before). Writes
# samples/gateway-error-varnish-held-down-client-leg.pcap and .meta.json (checked against
# varnishlog's FetchError lines and curl's statuses and times).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require varnishd varnishlog varnishadm node curl python3 tcpdump ip

SCENARIO=gateway-error-varnish-held-down-client-leg
cc_netns_up ccgw-vhd
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
cat >"$WORK/held-down.vcl" <<'VCL'
vcl 4.1;
backend origin {
  .host = "127.0.0.3";
  .port = "9001";
  .first_byte_timeout = 1.5s;
}
backend dead {
  .host = "127.0.0.3";
  .port = "9089";
}
sub vcl_recv {
  if (req.url ~ "^/dead/") {
    set req.backend_hint = dead;
  } else {
    set req.backend_hint = origin;
  }
  return (pass);
}
VCL
x8_varnish_start_vcl "$CC_NS" "$WORK/held-down.vcl" 127.0.0.2:8080
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080"
B=http://127.0.0.2:8080
W='%{url_effective} %{http_code} %{time_total}\n'
cc_in curl -s -m 10 -w "$W" -o /dev/null "$B/get?i=1" -o /dev/null "$B/slow?ms=4000&i=1" -o /dev/null "$B/slow?ms=4000&i=2" \
  -o /dev/null "$B/get?i=2" -o /dev/null "$B/dead/1" -o /dev/null "$B/dead/2" -o /dev/null "$B/dead/3" -o /dev/null "$B/get?i=3" | tee "$WORK/curl.txt"
cc_capture_stop
x8_varnish_stop
python3 - "$META" "$WORK" "$(varnishd -V 2>&1 | head -1 | sed 's/ revision.*//;s/[()]//g')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" <<'PY'
import json, sys
meta, work, *software = sys.argv[1:]
curl = [l.split() for l in open(f"{work}/curl.txt") if l.strip()]
statuses = {u.split("8080", 1)[1]: (int(s), round(float(t), 3)) for u, s, t in curl}
log = open(f"{work}/varnishlog.txt", errors="replace").read()
first_byte = log.count("first byte timeout")
dead = sum(1 for l in log.splitlines() if "FetchError" in l and ("errno 111" in l or "backend dead" in l.lower() or "no backend connection" in l.lower()))
slow = [v for k, v in statuses.items() if k.startswith("/slow")]
fast = [v for k, v in statuses.items() if k.startswith("/dead/")]
ok = [v for k, v in statuses.items() if k.startswith("/get")]
if not (first_byte == 2 and len(slow) == 2 and all(s == 503 and 1.4 < t < 1.7 for s, t in slow)):
    sys.exit(f"record: expected two 503s at first_byte_timeout 1.5 s: {statuses}, first byte timeouts {first_byte}")
if not (len(fast) == 3 and all(s == 503 and t < 0.1 for s, t in fast) and dead >= 1):
    sys.exit(f"record: expected three 503s at once for the dead backend: {statuses}, dead fetch errors {dead}")
if not (len(ok) == 3 and all(s == 200 for s, _ in ok)):
    sys.exit(f"record: expected three 200s: {statuses}")
json.dump({
  "scenario": "gateway-error-varnish-held-down-client-leg",
  "description": "Varnish Cache 7.1 on 127.0.0.2:8080, captured on its client leg only (port 8080): /slow (Node backend, first_byte_timeout 1.5 s) answered 503 'Backend fetch failed' 1.5 s after each of two requests (varnishlog FetchError 'first byte timeout'); /dead/1..3 (a backend port where nothing listens) answered 503 at once (connect refused, then the backend held down). The three fast 503s are another mechanism and no sample of the timer: gateway-timeout reports the two 1.5 s 503s as the proxy's upstream timeout, an error, and counts the fast ones apart in its diagnosis.",
  "software": software,
  "configured": {"upstreamTimeout": 1.5},
  "observed": {"curl": statuses, "firstByteTimeouts": first_byte, "deadBackendFetchErrors": dead},
  "expect": [
    {"kind": "gateway-timeout", "server": "127.0.0.2:8080", "notes": "2 x 503 at 1.5 s (first_byte_timeout), the proxy's upstream timer; the 3 fast 503s counted apart, no intermittent-5xx warning."},
  ],
}, open(meta, "w"), indent=2)
PY
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
