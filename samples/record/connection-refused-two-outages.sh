#!/usr/bin/env bash
# connection-refused-two-outages: two Node http servers (clean-http-server.js, keepAliveTimeout 30 s: no
# idle close by timer in the recording) on 127.0.0.1:8080 and :8081, each under a keep-alive client lane
# (http.Agent keepAlive, maxSockets 1) and a connection-per-request lane (agent: false), a GET every 100 ms
# per lane (programs/fxo-clients.js), for 12 s.
#   8080: killed (SIGKILL) at 2.0 s, restarted at 3.5 s (down ~1.5 s), 5 s of normal service, then SIGTERM
#         at 8.5 s (Node exits at once) and restarted at 9.5 s (down ~1.0 s): two separate outages, with
#         connections accepted between them.
#   8081: the near miss: killed at 2.0 s and restarted once at 5.0 s (down ~3 s): one outage.
# Ground truth: events.log (each kill and restart, when the new process listened), the clients' log (every
# request's outcome); programs/fxo-outages-meta.py checks the capture against them (the refusals of each
# port fall in its down windows, connections accepted between 8080's two) and writes the meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-a.sh"
cc_require tcpdump tshark node python3 ip

SCENARIO=connection-refused-two-outages
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
P="$CC_A_PROGRAMS"
declare -A SRV

cc_netns_up fxo-outages

event() { echo "{\"t\":$(date +%s.%N),$1}" >>"$WORK/events.log"; }

# start PORT: a server on PORT; returns once it listens (bounded), noting when.
start() {
  cc_bg node "$P/clean-http-server.js" --host 127.0.0.1 --port "$1" --keep-alive-timeout 30000
  SRV[$1]="$CC_LAST_PID"
  cc_wait_port "$1"
  event "\"event\":\"listening\",\"port\":$1,\"pid\":${SRV[$1]}"
}
# stop PORT SIGNAL: that port's server (its PID only), noting when.
stop() {
  event "\"event\":\"kill\",\"port\":$1,\"signal\":\"$2\",\"pid\":${SRV[$1]}"
  kill "-$2" "${SRV[$1]}"
  wait "${SRV[$1]}" 2>/dev/null || true
}
# at SECONDS: sleep until SECONDS after the load began.
at() { sleep "$(awk -v t0="$T0" -v now="$(date +%s.%N)" -v d="$1" 'BEGIN { s = t0 + d - now; print (s > 0 ? s : 0) }')"; }

start 8080
start 8081
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081"
T0=$(date +%s.%N)
event "\"event\":\"load\""
for port in 8080 8081; do
  cc_bg timeout 20 node "$P/fxo-clients.js" --host 127.0.0.1 --port "$port" --seconds 12 --interval 100 --log "$WORK/clients.log"
done
at 2.0; stop 8080 KILL; stop 8081 KILL
at 3.5; start 8080
at 5.0; start 8081
at 8.5; stop 8080 TERM
at 9.5; start 8080
at 12.6
cc_capture_stop
python3 "$P/fxo-outages-meta.py" --capture "$OUT" --meta "$META" --events "$WORK/events.log" --clients "$WORK/clients.log" \
  --software "node $(node -v) http server (clean-http-server.js, keepAliveTimeout 30 s)" "node $(node -v) http.Agent keepAlive / agent: false (fxo-clients.js)"
rm -rf "$WORK"
