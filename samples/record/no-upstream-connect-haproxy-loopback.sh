#!/usr/bin/env bash
# no-upstream-connect-haproxy with everything on one address, as when a proxy is tried out on
# one host: clients 127.0.0.1 -> HAProxy 127.0.0.1:8080; HAProxy 127.0.0.1 -> backend
# 127.0.0.1:9001. The proxy's upstream connections come from the address its clients use, and
# the analysis must still tell its upstream leg (to another endpoint) from its downstream one.
# Writes samples/no-upstream-connect-haproxy-loopback.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip haproxy curl

SCENARIO=no-upstream-connect-haproxy-loopback
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up cc-b-nucl
ccb_workdir
WORK="$CCB_WORK"
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
  timeout queue 1s
frontend fe
  bind 127.0.0.1:8080
  default_backend be
backend be
  server s1 127.0.0.1:9001 maxconn 1
CONF

cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 9001 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
CURL=(curl -sS -o /dev/null -w '%{url} %{http_code} %{time_total} %{local_port}\n' --max-time 8)
pids=()
for i in 1 2 3 4; do
  cc_in "${CURL[@]}" "http://127.0.0.1:8080/slow?ms=2500&client=$i" >>"$WORK/client.log" &
  pids+=("$!")
  sleep 0.03
done
sleep 1.7
cc_in "${CURL[@]}" "http://127.0.0.1:8080/slow?ms=2500&client=5" >>"$WORK/client.log" &
pids+=("$!")
wait "${pids[@]}"
cc_capture_stop
cat "$WORK/client.log"
ccb_meta "$SCENARIO" --http-port 9001
grep -E "be/|fe " "$WORK/haproxy.log" | head -8 || true
