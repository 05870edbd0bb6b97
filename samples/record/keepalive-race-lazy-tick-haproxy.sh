#!/usr/bin/env bash
# Keep-alive races on HAProxy 2.6's backend leg where the backend checks its idle timer on a 100 ms
# tick before reading (programs/lazy-tick-backend.py: idle 1.0 s): a request that arrives as the
# connection's idle time runs out is still unread when the next tick closes it, and the kernel
# resets the connection 0-100 ms after the request. HAProxy (mode http, http-reuse always, timeout
# http-keep-alive 4s) on 127.0.0.2:8080 connects to 127.0.0.3:8085 from 127.0.0.1, its clients' own
# address; it does not resend the request (default retry-on conn-failure) and closes its client's
# connection without an answer, logging nothing. One keep-alive client reuses its connection after
# 1.02-1.09 s idle (races) and after 0.5 s (near misses: answered). Both legs are captured.
# Writes samples/keepalive-race-lazy-tick-haproxy.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require haproxy python3 tcpdump ip

SCENARIO=keepalive-race-lazy-tick-haproxy
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up fxl-lazy
WORK="$(mktemp -d)"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cat >"$WORK/haproxy.cfg" <<CFG
global
  pidfile $WORK/haproxy.pid
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 2s
  timeout http-request 3s
  timeout http-keep-alive 4s
  option http-keep-alive
frontend fe
  bind 127.0.0.2:8080
  default_backend be
backend be
  http-reuse always
  server l 127.0.0.3:8085
CFG
cc_bg python3 "$CC_RECORD_DIR/programs/lazy-tick-backend.py" 127.0.0.3 8085 1.0 0.1 >"$WORK/backend.log"
cc_wait_port 8085
cc_bg haproxy -db -f "$WORK/haproxy.cfg"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8085"
# A race reuses the connection 1.02-1.09 s after its last answer; the client opens a new connection
# after each (its first request, answered, then a near miss after 0.5 s).
PLAN="0:GET:/l/first"
for gap in 1.03 1.06 1.045 1.08 1.05 1.07; do PLAN="$PLAN,$gap:GET:/l/race,0.2:GET:/l/new,0.5:GET:/l/near"; done
cc_in timeout 60 python3 "$CC_RECORD_DIR/programs/lazy-race-client.py" 127.0.0.2 8080 "$PLAN" C >"$WORK/client.log" || true
sleep 1.5                          # the backend's idle close of the last pooled connection
cc_capture_stop
cat "$WORK/client.log" >&2
RACES=$(grep -c 'status=[A-Za-z]' "$WORK/client.log" || true)
NEAR=$(grep '/l/near' "$WORK/client.log" | grep -c 'status=200' || true)
python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$RACES" "$NEAR" "$(haproxy -v | head -1 | cut -d' ' -f1-3)" "$(python3 -V)" <<'PY'
import json, sys
path, races, near, haproxy, python = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
meta = {
  "scenario": "keepalive-race-lazy-tick-haproxy",
  "description": "HAProxy 2.6 (http-reuse always, timeout http-keep-alive 4s) on 127.0.0.2:8080, connecting from 127.0.0.1 (its clients' own address), in front of a Python backend on 127.0.0.3:8085 that checks its 1.0 s idle timer on a 100 ms tick before reading: a request that arrives as the idle time runs out is reset unread by the next tick, 0-100 ms after it came. HAProxy does not resend it (retry-on conn-failure) and closes its client's connection without an answer. The client reuses its connection after 1.03-1.08 s idle (%d failed: races) and after 0.5 s (%d answered: near misses). Both legs captured." % (races, near),
  "software": [haproxy, python + " (lazy-tick-backend.py)"],
  "configured": {"backendIdleTimeout": "1.0s", "backendIdleTick": "100ms (its idle closes come at ~1.1 s)", "haproxyKeepAliveTimeout": "4s"},
  "expect": [
    {"kind": "keepalive-race", "server": "127.0.0.3:8085", "notes": "every failed request: closed on arrival by the backend's idle tick (a RST 0-100 ms after the request, at the idle age of its idle closes), each once, none a dying worker (reset-before-response)"},
    {"kind": "unanswered-request", "server": "127.0.0.2:8080", "notes": "HAProxy's close of its client's connection after each backend reset: forwarded on the raced backend connection, no idle timer or request timeout of the proxy's"},
    {"kind": None, "notes": "the 0.5 s reuses are answered; no keepalive-race at 127.0.0.2:8080"}
  ]
}
json.dump(meta, open(path, "w"), indent=2)
open(path, "a").write("\n")
PY
rm -rf "$WORK"
