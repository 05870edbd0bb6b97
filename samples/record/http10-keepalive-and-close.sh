#!/usr/bin/env bash
# http10-keepalive-and-close (silent trap): a python http.server (HTTP/1.1 server that
# keeps alive HTTP/1.0 clients only when they ask) and curl:
#  1. curl --http1.0, no keep-alive: the response has no Content-Length; its body ends
#     when the server closes (close-delimited), as HTTP/1.0 allows;
#  2. curl --http1.0 with "Connection: keep-alive", two URLs: the server answers with
#     Content-Length and "Connection: keep-alive" and curl reuses the connection, then
#     closes it itself;
#  3. curl HTTP/1.1 with "Connection: close": a close-delimited HTTP/1.1 response.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark curl ip
scenario=http10-keepalive-and-close
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080
url="http://127.0.0.1:$port"

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-py-http.py" --port "$port" --lifetime 20
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
cc_c_run 5 curl -sS -o /dev/null --http1.0 "$url/one-shot"
sleep 0.2
cc_c_run 5 curl -sS -o /dev/null -o /dev/null --http1.0 -H 'Connection: keep-alive' "$url/ka-1" "$url/ka-2"
sleep 0.2
cc_c_run 5 curl -sS -o /dev/null -H 'Connection: close' "$url/close-11"
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{}' \
  "curl $(cc_c_curl_version)" "python $(cc_c_py_version) http.server"
