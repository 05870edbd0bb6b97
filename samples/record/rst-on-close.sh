#!/usr/bin/env bash
# rst-on-close: a python server reads only the first 4 KiB of each request; when the
# announced body is larger than 1 KiB it answers 413 (Connection: close) and closes
# without reading the rest, so the kernel sends RST instead of FIN (unread data in the
# receive queue) while curl is still uploading: curl fails with a reset and may lose
# the 413. The server's small receive buffer (16 KiB) keeps the window small, so the
# 100 KB uploads are still in progress at the close, as they would be on a real network.
# Two such uploads show it; a small 200-byte POST, read completely and closed with FIN,
# stays clean.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark curl ip
scenario=rst-on-close
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-partial-read-server.py" --port "$port" --read 4096 --max-body 1024 --rcvbuf 16384 --lifetime 20
cc_wait_port "$port"
big="$(mktemp)"; small="$(mktemp)"
head -c 100000 /dev/zero | tr '\0' 'x' >"$big"
head -c 200 /dev/zero | tr '\0' 'y' >"$small"

cc_c_capture_start "$out" "tcp port $port"
# -H 'Expect:': send the body at once instead of waiting for 100-continue.
cc_c_run 5 curl -sS -o /dev/null -w '%{http_code}\n' -H 'Expect:' --data-binary "@$big" "http://127.0.0.1:$port/upload/1" || true
sleep 0.2
cc_c_run 5 curl -sS -o /dev/null -w '%{http_code}\n' --data-binary "@$small" "http://127.0.0.1:$port/upload/small" || true
sleep 0.2
cc_c_run 5 curl -sS -o /dev/null -w '%{http_code}\n' -H 'Expect:' --data-binary "@$big" "http://127.0.0.1:$port/upload/2" || true
cc_c_capture_stop
rm -f "$big" "$small"

cc_c_meta "$scenario" "$out" '{"requestBodyBytes": 100000, "serverReadBytes": 4096, "serverMaxBody": 1024, "serverRcvBuf": 16384}' \
  "curl $(cc_c_curl_version)" "python $(cc_c_py_version) socket server (partial read, close)"
