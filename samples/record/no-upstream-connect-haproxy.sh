#!/usr/bin/env bash
# No upstream connect: HAProxy in front of a slow Node backend limited to one concurrent
# connection (server maxconn 1, timeout queue 1s). Four curl clients at once: one is
# forwarded (answered after 2.5 s), three wait in HAProxy's queue and get 503 after 1 s
# without any backend connection being opened for them; a fifth, later, waits < 1 s in the
# queue and is served. Clients 127.0.0.1 -> HAProxy 127.0.0.2:8080; HAProxy 127.0.0.2
# (source) -> backend 127.0.0.3:9001. Writes samples/no-upstream-connect-haproxy.pcap + meta.
# no-upstream-connect-haproxy-loopback.sh runs this with every address set to 127.0.0.1, and
# no-upstream-connect-haproxy-other-address.sh with HAProxy connecting to the backend from
# another address than it listens on (NUC_SCENARIO, NUC_NETNS, NUC_PROXY_IP, NUC_SOURCE_IP,
# NUC_BACKEND_IP).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip haproxy curl

SCENARIO=${NUC_SCENARIO:-no-upstream-connect-haproxy}
PROXY_IP=${NUC_PROXY_IP:-127.0.0.2}
SOURCE_IP=${NUC_SOURCE_IP:-$PROXY_IP}
BACKEND_IP=${NUC_BACKEND_IP:-127.0.0.3}
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up "${NUC_NETNS:-cc-b-nuch}"
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
  server s1 $BACKEND_IP:9001 maxconn 1 source $SOURCE_IP
CONF

cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host "$BACKEND_IP" --port 9001 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
CURL=(curl -sS -o /dev/null -w '%{url} %{http_code} %{time_total} %{local_port}\n' --max-time 8)
pids=()
for i in 1 2 3 4; do
  cc_in "${CURL[@]}" "http://$PROXY_IP:8080/slow?ms=2500&client=$i" >>"$WORK/client.log" &
  pids+=("$!")
  sleep 0.03
done
sleep 1.7
cc_in "${CURL[@]}" "http://$PROXY_IP:8080/slow?ms=2500&client=5" >>"$WORK/client.log" &
pids+=("$!")
wait "${pids[@]}"
cc_capture_stop
cat "$WORK/client.log"
ccb_meta "$SCENARIO" --http-port 9001
grep -E "be/|fe " "$WORK/haproxy.log" | head -8 || true
