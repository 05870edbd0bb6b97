#!/usr/bin/env bash
# zero-window-stall: a python client with a 4 KiB SO_RCVBUF asks a Node http server for a
# 64 KiB body, reads the first 2 KiB, then stops reading for 2 s (a blocked worker). Its
# receive buffer fills, it advertises a zero window, the server's kernel sends
# zero-window probes (seq = next - 1) with backoff; when the client reads again it opens
# the window and the transfer completes. (Connection: close; the server closes first.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark node ip
scenario=zero-window-stall
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg node "$CC_C_PROGRAMS/c-node-server.js" --port "$port" --lifetime 20
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
cc_c_run 10 "$CC_C_PY" "$CC_C_PROGRAMS/c-slow-reader-client.py" --port "$port" --path /size/65536 \
  --rcvbuf 4096 --first 2048 --pause 2.0
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"clientRcvBuf": 4096, "clientPause": 2.0, "responseBodyBytes": 65536}' \
  "node $(cc_c_node_version) http server" "python $(cc_c_py_version) socket client (SO_RCVBUF 4096)"
