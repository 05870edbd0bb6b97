#!/usr/bin/env bash
# No upstream connect while the slot serves others (blind round 13b, S8): HAProxy with server
# maxconn 1 and timeout queue 1s in front of a Node backend answering /slow?ms=300 after 0.3 s.
# Seven curl clients ask the same GET /slow?ms=300 at once: four are served one after another,
# three wait in HAProxy's queue and get its 503 after 1 s, never forwarded. The backend requests
# sent meanwhile are identical to theirs and answered 200 (one after the 503s), each relayed to its
# own client: none is a failed request's copy. Clients 127.0.0.1 -> HAProxy 127.0.0.2:8080;
# HAProxy 127.0.0.2 -> backend 127.0.0.3:9001. Writes samples/<scenario>.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip haproxy curl

SCENARIO=no-upstream-connect-haproxy-served-meanwhile
PROXY_IP=127.0.0.2
BACKEND_IP=127.0.0.3
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up cc-b-nucs
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
  bind $PROXY_IP:8080
  default_backend be
backend be
  server s1 $BACKEND_IP:9001 maxconn 1 source $PROXY_IP
CONF

cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host "$BACKEND_IP" --port 9001 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
CURL=(curl -sS -o /dev/null -w '%{url} %{http_code} %{time_total} %{local_port}\n' --max-time 5)
pids=()
for i in 1 2 3 4 5 6 7; do
  cc_in "${CURL[@]}" "http://$PROXY_IP:8080/slow?ms=300" >>"$WORK/client.log" &
  pids+=("$!")
  sleep 0.005
done
wait "${pids[@]}"
sleep 0.2
cc_capture_stop
cat "$WORK/client.log"
ccb_meta "$SCENARIO" --http-port 9001
grep -E "be/|fe " "$WORK/haproxy.log" | head -10 || true
