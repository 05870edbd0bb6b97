#!/usr/bin/env bash
# intermittent-5xx-reuseport: two python http.server processes are bound to 8080 with
# SO_REUSEPORT, as after a botched reload: the current one answers 200, a stale one left
# behind answers 503. curl opens 20 connections one after the other, 3 GETs on each
# (keep-alive); the kernel hashes each new connection to one of the two listeners, so
# every request on a connection gets the same status: failures follow connections.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark curl ip
scenario=intermittent-5xx-reuseport
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-py-http.py" --port "$port" --reuseport --status 200 --name current --lifetime 30
cc_wait_port "$port"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-py-http.py" --port "$port" --reuseport --status 503 --name stale --lifetime 30
for i in $(seq 1 100); do
  [ "$(ip netns exec "$CC_NS" ss -Hltn "sport = :$port" | wc -l)" -ge 2 ] && break
  sleep 0.05
done

cc_c_capture_start "$out" "tcp port $port"
for i in $(seq 1 20); do
  cc_c_run 5 curl -sS -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} ' \
    "http://127.0.0.1:$port/api/items?c=$i&r=1" "http://127.0.0.1:$port/api/items?c=$i&r=2" \
    "http://127.0.0.1:$port/api/items?c=$i&r=3" || true
  sleep 0.05
done
echo
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"reuseportListeners": 2, "connections": 20, "requestsPerConnection": 3}' \
  "curl $(cc_c_curl_version)" "python $(cc_c_py_version) http.server x2 (SO_REUSEPORT: 200 and 503)"
