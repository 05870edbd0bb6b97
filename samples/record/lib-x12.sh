#!/usr/bin/env bash
# Helpers for the recorders of the HAProxy 2.6 `mode http` samples (cross-check round 12).
# Source after lib.sh and lib-b.sh, and call ccb_workdir first (everything goes to CCB_WORK).
#   x12_haproxy_start NS LISTEN SERVER_LINE DEFAULTS_LINES [MORE_SECTIONS]
#                      haproxy -db (foreground) in NS: one frontend on LISTEN, one backend with
#                      SERVER_LINE (`server s1 ...`), DEFAULTS_LINES added to `defaults` (timeouts,
#                      retries, retry-on, http-reuse); MORE_SECTIONS go at the end (another
#                      backend) and X12_FRONTEND lines into the frontend (use_backend). Its log goes to stderr → $CCB_WORK/haproxy.log
#                      in the X12 format below (one line per client request). Sets X12_HAPROXY_PID.
#   x12_haproxy_stop   SIGUSR1 (soft stop), bounded wait
set -euo pipefail

X12_HAPROXY_PID=""
# accept time (s.ms), client address:port, method, URI, status to the client, Tc/Tw/Tr/Ta (ms),
# termination state (4 chars), retries, the backend connection's source port, bytes read.
X12_LOG_FORMAT='%Ts.%ms %ci:%cp %HM %HU %ST %Tc/%Tw/%Tr/%Ta %tsc %rc %bp %B'

x12_haproxy_start() {
  local ns="$1" listen="$2" server="$3" defaults="$4" more="${5:-}"
  cat >"$CCB_WORK/haproxy.cfg" <<CONF
global
  log stderr format raw local0 info
defaults
  mode http
  log global
  option httplog
  log-format "$X12_LOG_FORMAT"
  timeout client 10s
$defaults
frontend fe
  bind $listen
${X12_FRONTEND:-}
  default_backend be
backend be
  # Node's \`Keep-Alive: timeout=0\` (its keepAliveTimeout rounded down) would make the clients'
  # agents close after each response: HAProxy passes the header on.
  http-response del-header keep-alive
  $server
$more
CONF
  ccb_bg "$ns" haproxy -db -f "$CCB_WORK/haproxy.cfg" 2>"$CCB_WORK/haproxy.log"
  X12_HAPROXY_PID="$CC_LAST_PID"
  sleep 0.3; kill -0 "$X12_HAPROXY_PID" 2>/dev/null || { cat "$CCB_WORK/haproxy.log" >&2; echo "record: haproxy did not start" >&2; exit 1; }
  ccb_wait_port "$ns" "${listen##*:}"
}

x12_haproxy_stop() {
  [ -n "$X12_HAPROXY_PID" ] || return 0
  kill -USR1 "$X12_HAPROXY_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 30); do kill -0 "$X12_HAPROXY_PID" 2>/dev/null || break; sleep 0.1; done
  kill "$X12_HAPROXY_PID" 2>/dev/null || true
  wait "$X12_HAPROXY_PID" 2>/dev/null || true
  X12_HAPROXY_PID=""
}
