#!/usr/bin/env bash
# Varnish Cache 7.1's read timeouts seen from its client leg alone (blind test 8, v4slow-clientleg):
# the scene of gateway-timeout-varnish (varnishd on 127.0.0.2:8080, first_byte_timeout 1 s, a Node
# backend on 127.0.0.3:9001; curl: two fast GETs, three /slow?ms=2500 at once, two fast GETs), but
# tcpdump keeps only port 8080, so the capture holds no upstream leg. Varnish answers each slow
# request 503 "Backend fetch failed" 1 s after it: three 503s sharing one delay, all of the proxy's
# errors, each on a path seen once. gateway-timeout names them (a shared delay: the proxy's timer,
# upstreamTimeout ~1 s), so intermittent-5xx's own reading of 5xx sharing one delay (for errors
# gateway-timeout leaves, as in v4slow-clientleg, two timers among five errors) stays silent: the
# near miss. Writes samples/gateway-timeout-varnish-client-leg.pcap and .meta.json (checked against
# varnishlog's FetchError count and curl's statuses).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require varnishd varnishlog varnishadm node curl python3 tcpdump ip

SCENARIO=gateway-timeout-varnish-client-leg
cc_netns_up fxk-vgtc
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x8_varnish_start "$CC_NS" 127.0.0.3 9001 127.0.0.2:8080 first_byte_timeout=1
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080"
ccb_slow_clients http://127.0.0.2:8080 | tee "$WORK/curl.txt"
sleep 1.8
cc_capture_stop
x8_varnish_stop
TIMEOUTS="$(grep -c 'FetchError.*first byte timeout' "$WORK/varnishlog.txt" || true)"
SLOW503="$(grep -c '^503 ' "$WORK/curl.txt" || true)"
[ "$TIMEOUTS" = 3 ] && [ "$SLOW503" = 3 ] || { echo "record: expected 3 first-byte timeouts and 3 503s, got $TIMEOUTS and $SLOW503" >&2; exit 1; }
python3 - "$META" "$(varnishd -V 2>&1 | head -1 | sed 's/ revision.*//;s/[()]//g')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" <<'PY'
import json, sys
meta, *software = sys.argv[1:]
json.dump({
  "scenario": "gateway-timeout-varnish-client-leg",
  "description": "Varnish Cache 7.1 (first_byte_timeout 1 s) in front of a Node backend too slow for three requests, captured on the client leg only (port 8080): Varnish answers each slow request 503 'Backend fetch failed' 1 s after it (varnishlog FetchError 'first byte timeout'). Three 503s sharing one delay, each on its own path, no upstream leg in the capture: gateway-timeout names the proxy's timer; intermittent-5xx leaves them to it.",
  "software": software,
  "configured": {},
  "configuredNotes": "Varnish first_byte_timeout = 1 s (gateway-timeout's upstreamTimeout; configured left empty: the capture shows no upstream leg to time it by).",
  "observed": {"firstByteTimeouts": 3, "clientStatuses503": 3},
  "expect": [{"kind": "gateway-timeout", "server": "127.0.0.2:8080", "notes": "3 x 503 at ~1.00 s after the requests, upstream side not captured: the proxy's upstream timeout; no intermittent-5xx."}],
}, open(meta, "w"), indent=2)
PY
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
