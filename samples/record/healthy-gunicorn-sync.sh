#!/usr/bin/env bash
# Healthy traffic to gunicorn's default sync workers: one request per connection, every response
# with Connection: close, gunicorn closes the connection after it (first FIN from the server).
# Clients: python requests (one Session: its pool reconnects after each Connection: close; 8 GETs
# and POSTs) and curl (4 URLs on one command line). Loopback. conncheck must report nothing (no
# churn: the server does not offer keep-alive; no request after the close notice).
# Writes samples/healthy-gunicorn-sync.pcap and .meta.json (x9-meta.py checks it against the logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
cc_require python3 tcpdump tshark ip gunicorn curl

SCENARIO=healthy-gunicorn-sync
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up ccx9-hg
ccb_workdir
X9_WORK="$CCB_WORK"
CCB_SERVER_IP=127.0.0.1
x9_gunicorn ccx9-hg 8081 -w 2 -k sync
mapfile -t SOFTWARE < <(x9_software_gunicorn | grep -v 'delay line'; curl --version | head -1 | cut -d' ' -f1-2)
BASE=http://127.0.0.1:8081
cc_capture_start "$OUT" "tcp port 8081"
cc_in timeout 30 python3 "$X9_PROGRAMS/x9-timeout-client.py" --base "$BASE" --log "$X9_WORK/client.log" --pause 0.05 --shared \
  GET:/items/s1 POST:/items/s2 GET:/items/s3 GET:/items/s4 POST:/items/s5 GET:/items/s6 GET:/items/s7 POST:/items/s8
URLS=()
for i in $(seq 1 4); do URLS+=(-o /dev/null "$BASE/items/c$i"); done
cc_in timeout 10 curl -sS -w '{"event": "response", "lib": "curl", "uri": "%{url}", "status": %{http_code}, "port": %{local_port}}\n' "${URLS[@]}" >>"$X9_WORK/client.log"
cc_capture_stop
python3 "$X9_PROGRAMS/x9-meta.py" healthy --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$X9_WORK/client.log" --app-log "$X9_WORK/app.log" --server-port 8081 --close-every-response \
  --description "Healthy traffic to gunicorn's default sync workers (-w 2 -k sync): each connection carries one request, every response says Connection: close and gunicorn closes the connection right after it. python requests (one Session, 8 GETs and POSTs 50 ms apart: its pool opens a new connection for each) and curl (4 URLs on one command line, a connection each). Loopback. Nothing is wrong: conncheck must report nothing (no connection churn, since the server does not offer keep-alive)." \
  --software "${SOFTWARE[@]}"
grep -v '"DEBUG"' "$X9_WORK/client.log"; cat "$X9_WORK/access.log"
