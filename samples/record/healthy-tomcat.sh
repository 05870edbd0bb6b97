#!/usr/bin/env bash
# Healthy keep-alive against Tomcat 10 (NIO connector, maxKeepAliveRequests="5",
# keepAliveTimeout="2000", connectionTimeout="2000"): Tomcat answers the 5th request on a
# connection with Connection: close and closes it (its access log's %X says "-"), and the client
# opens a new one; a connection left idle is closed by Tomcat after its keep-alive timeout, and
# the next request (requests.Session: urllib3 sees the dropped connection) goes on a new
# connection. Clients: python requests (one Session, 12 GETs and POSTs, an idle pause, 2 more)
# and curl (7 URLs on one command line). Loopback. conncheck must report nothing.
# Writes samples/healthy-tomcat.pcap and .meta.json (x9-meta.py checks it against the logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
cc_require python3 tcpdump tshark ip java javac curl

SCENARIO=healthy-tomcat
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up ccx9-ht
ccb_workdir
X9_WORK="$CCB_WORK"
x9_tomcat ccx9-ht 127.0.0.1 8082 'connectionTimeout="2000" keepAliveTimeout="2000" maxKeepAliveRequests="5"'
mapfile -t SOFTWARE < <(x9_software_tomcat; curl --version | head -1 | cut -d' ' -f1-2)
BASE=http://127.0.0.1:8082
cc_capture_start "$OUT" "tcp port 8082"
R=()
for i in $(seq 1 12); do
  if [ $((i % 3)) = 0 ]; then R+=("POST:/items/s$i"); else R+=("GET:/items/s$i"); fi
done
cc_in timeout 30 python3 "$X9_PROGRAMS/x9-timeout-client.py" --base "$BASE" --log "$X9_WORK/client.log" --pause 0.05 --shared \
  "${R[@]}" sleep:2.6 GET:/items/after-idle-1 POST:/items/after-idle-2
URLS=()
for i in $(seq 1 7); do URLS+=(-o /dev/null "$BASE/items/c$i"); done
cc_in timeout 10 curl -sS -w '{"event": "response", "lib": "curl", "uri": "%{url}", "status": %{http_code}, "port": %{local_port}}\n' "${URLS[@]}" >>"$X9_WORK/client.log"
cc_capture_stop
python3 "$X9_PROGRAMS/x9-meta.py" healthy --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$X9_WORK/client.log" --access-log "$X9_WORK/tomcat/logs/access.log" --server-port 8082 \
  --max-keepalive 5 --expect-idle-closes 1 --set maxKeepAliveRequests=5 --set keepAliveTimeout=2 \
  --description "Healthy keep-alive against Tomcat 10 (NIO connector; maxKeepAliveRequests=5, keepAliveTimeout=2000 ms, connectionTimeout=2000 ms): Tomcat answers the 5th request on each connection with Connection: close (access log %X '-') and closes it; the client opens a new connection. python requests (one Session: 12 GETs and POSTs 50 ms apart, then 2.6 s idle, during which Tomcat closes the idle connection after its keep-alive timeout; urllib3 notices the dropped connection and sends the next 2 requests on a new one) and curl (7 URLs on one command line: 5 on the first connection, 2 on the second). Loopback. Nothing is wrong: conncheck must report nothing." \
  --software "${SOFTWARE[@]}"
cat "$X9_WORK/client.log" | grep -v DEBUG; cat "$X9_WORK/tomcat/logs/access.log"
