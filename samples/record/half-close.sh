#!/usr/bin/env bash
# half-close (silent trap): a python client sends a request and immediately shuts down
# its write side (FIN right after the request: "no more requests"). A python
# http.server, answering after 0.3 s, still sends its full response on the half-closed
# connection and then closes its side. Two connections: a GET and a small POST.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark ip
scenario=half-close
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-py-http.py" --port "$port" --delay 0.3 --lifetime 20
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
cc_c_run 8 "$CC_C_PY" "$CC_C_PROGRAMS/c-half-close-client.py" --port "$port" --path /report
sleep 0.2
cc_c_run 8 "$CC_C_PY" "$CC_C_PROGRAMS/c-half-close-client.py" --port "$port" --path /submit --method POST --body 100
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"serverResponseDelay": 0.3}' \
  "python $(cc_c_py_version) http.server" "python $(cc_c_py_version) socket client (shutdown SHUT_WR)"
