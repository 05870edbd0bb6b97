#!/usr/bin/env bash
# keepalive-race-idle-reset: an HTTP/1.1 server (programs/idle-reset-http.py, python) that closes
# connections idle 2 s with SO_LINGER {1, 0}: a RST with no FIN (as Go's SetLinger(0), HAProxy
# `option nolinger`). 3 raw keep-alive clients, each GET /a, GET /b after 1.9 s idle (answered),
# GET /c after 2.2 s idle: the RST arrived 0.2 s before, so /c fails in the client with ECONNRESET
# and never reaches the wire (loopback: no path to cross it on). What the capture shows is 3 idle
# closes by RST after 2.0 s and reuses after 1.9 s: the idle timeout and how close the clients run
# to it. Loopback of a namespace of its own; bounded (client 15 s, server 30 s).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark ip
scenario=keepalive-race-idle-reset
out="$CC_SAMPLES_DIR/$scenario.pcap"
log="$(mktemp)"
port=8080
cc_netns_up "$(cc_c_ns "$scenario")"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/idle-reset-http.py" server "$port" 2.0 >>"$log"
cc_wait_port "$port"
cc_c_capture_start "$out" "tcp port $port"
cc_c_run 15 "$CC_C_PY" "$CC_C_PROGRAMS/idle-reset-http.py" client "$port" 3 1.9 2.2 >>"$log"
cc_c_capture_stop
cc_cleanup
"$CC_C_PY" "$CC_C_PROGRAMS/idle-reset-meta.py" local "$out" "$log" "$CC_SAMPLES_DIR/$scenario.meta.json" 2.0 1.9 2.2 "python $(cc_c_py_version) socket server (SO_LINGER 0 idle close) and raw keep-alive clients"
rm -f "$log"
