#!/usr/bin/env bash
# keepalive-race-idle-reset-far: keepalive-race-idle-reset's server (programs/idle-reset-http.py:
# connections idle 2 s closed with SO_LINGER {1, 0}, a RST with no FIN) 60 ms one way from its
# clients (client, router and server namespaces joined by user-space wires: this kernel has no
# netem), captured at the server. 3 raw keep-alive clients each send GET /a, GET /b after 1.5 s idle
# (answered) and GET /c after 1.95 s idle (its client's clock): /c leaves the client before the server's idle RST reaches
# it and arrives after the server sent it (a crossing), the server's kernel answers it with another
# RST, and the client's read fails with ConnectionResetError (errno 104), not EOF. Bounded (client
# 20 s, server 30 s). Writes samples/keepalive-race-idle-reset-far.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require python3 tcpdump tshark ip

SCENARIO=keepalive-race-idle-reset-far
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
ONE_WAY_MS=60
PY="$(python3 -c 'import sys; print(sys.executable)')"

ccb_workdir
WORK="$CCB_WORK"
x5_topology_up "${RECORD_NS:-x5-idlerst}" "$ONE_WAY_MS"
S="$X5_SERVER_IP"
ccb_bg "$X5_S" "$PY" "$HERE/programs/idle-reset-http.py" server 8080 2.0 "$S" >>"$WORK/programs.log"
ccb_wait_port "$X5_S" 8080
x5_path_check "$X5_C" "$S" 8080
# The path check's own connection: let the server's idle timer close it before recording.
sleep 2.5
x5_capture_start "$X5_S" x5s "$OUT" "tcp port 8080"
ip netns exec "$X5_C" timeout 20 "$PY" "$HERE/programs/idle-reset-http.py" client 8080 3 1.5 1.95 "$S" >>"$WORK/programs.log"
sleep 0.5
x5_capture_stop_all
"$PY" "$HERE/programs/idle-reset-meta.py" far "$OUT" "$WORK/programs.log" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" 2.0 1.5 1.95 \
  "python $("$PY" -c 'import platform; print(platform.python_version())') socket server (SO_LINGER 0 idle close) and raw keep-alive clients, ${ONE_WAY_MS} ms one way, captured at the server"
