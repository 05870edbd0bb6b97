#!/usr/bin/env bash
# response-abandoned-rest-after-close: clients that give up mid-body at their own timeout, the rest of the
# body arriving only after their close. A python server (programs/c-drip-server.py) sends each /drip
# response's head (Content-Length 4000) and 2000 body bytes at once, stalls 3.3 s, then sends the other
# 2000. curl --max-time 1.3, three times: each exits 28 at 1.3 s with 2000 of 4000 bytes, closing (FIN);
# the server's late 2000 bytes meet the closed socket, whose kernel answers with a RST. Near misses that
# must stay complete: a python client that half-closes right after its request (shutdown(SHUT_WR)) and
# reads the whole /drip response, the rest arriving after its FIN; and curl fetching a whole response
# with Connection: close, closing after it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark ip curl
scenario=response-abandoned-rest-after-close
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "fxa-$$"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-drip-server.py" --port "$port" --length 4000 --first 2000 --stall 3.3 --lifetime 30
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
for k in 1 2 3; do
  cc_c_run 5 curl -s -o /dev/null --max-time 1.3 "http://127.0.0.1:$port/drip?id=$k" || true
  sleep 0.2
done
cc_c_run 8 "$CC_C_PY" "$CC_C_PROGRAMS/c-half-close-client.py" --port "$port" --path /drip --timeout 6
cc_c_run 5 curl -s -o /dev/null "http://127.0.0.1:$port/whole"
sleep 3.5   # the last abandoned response's rest is sent and reset
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"clientTimeout": 1.3, "serverStall": 3.3, "bodyLength": 4000, "bodyBeforeStall": 2000}' \
  "python $(cc_c_py_version) socket server (programs/c-drip-server.py)" "curl $(cc_c_curl_version) --max-time 1.3" \
  "python $(cc_c_py_version) socket client (shutdown SHUT_WR)"
