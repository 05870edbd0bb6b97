#!/usr/bin/env bash
# Shared by the round-20h recorders (keepalive-race-hypercorn.sh, keepalive-race-twisted.sh): Python
# servers at their idle timeouts behind a delay line, raced by the round-17p lane clients. Built on
# programs/x19l-lib.sh (its x19l_record_races, x19l_lanes, x19l_server_stop, x19l_client_software);
# source after lib.sh.
#   x20h_require TOOL...   x19l_require TOOL... and the Python modules of both servers' packages
#   x20h_setup PREFIX MS WIRE_S   namespaces PREFIX-s (server; CC_NS) and PREFIX-c (clients; X19L_NS_C)
#                          joined by programs/x5-wire.py with MS ms one way (client 10.99.0.1, server
#                          10.99.0.2), the wire ending by itself after WIRE_S s (ccb_delay_link's is
#                          120 s, too short for three attempts at Hypercorn's 5 s); a scratch dir CCB_WORK.
#   x20h_hypercorn_start   Hypercorn (Debian python3-hypercorn, /usr/bin/hypercorn) with $X20H_HYPERCORN_ARGS
#                          serving programs/x20h-asgi-app.py:app on 10.99.0.2:$X19L_PORT (app log
#                          $CCB_WORK/server.log, Hypercorn's stderr $CCB_WORK/hypercorn.err). Sets X19L_SERVER_PID.
#   x20h_twisted_start     programs/x20h-twisted-server.py (Twisted Web Site, timeout $X20H_TWISTED_TIMEOUT)
#                          on 10.99.0.2:$X19L_PORT (log $CCB_WORK/server.log). Sets X19L_SERVER_PID.
#   x20h_record_races SCENARIO START NEED_RACES GAPS NODE_LANES PY_LANES ROUNDS TAIL_S META_ARGS...
#                          x19l_record_races, with programs/x20h-meta.py (x19l-meta.py races, plus its
#                          --idle-log check) as the meta writer: up to 3 attempts of START, a
#                          server-side capture, x19l_lanes, TAIL_S s, stop, meta; copies the capture
#                          and meta to the samples.
set -euo pipefail

. "$CC_RECORD_DIR/programs/x19l-lib.sh"

X20H_HYPERCORN_ARGS=()
X20H_TWISTED_TIMEOUT=2

x20h_require() {
  x19l_require "$@"
  /usr/bin/python3 -c 'import hypercorn, twisted.web, trio' 2>/dev/null ||
    { echo "record: apt-get install -y python3-hypercorn python3-twisted python3-trio" >&2; exit 2; }
}

x20h_setup() {
  local prefix="$1" delay="$2" wire_s="$3"
  cc_netns_up "$prefix-s"
  ccb_workdir
  ccb_netns_add "$prefix-c"
  X19L_NS_C="$prefix-c"
  ccb_wire "$prefix-c" ccbc "$prefix-s" ccbs --delay-ms "$delay" --max-seconds "$wire_s"
  ip netns exec "$prefix-c" ip addr add "$CCB_CLIENT_IP" peer "$CCB_SERVER_IP" dev ccbc
  ip netns exec "$prefix-c" ip link set ccbc up
  ip netns exec "$prefix-s" ip addr add "$CCB_SERVER_IP" peer "$CCB_CLIENT_IP" dev ccbs
  ip netns exec "$prefix-s" ip link set ccbs up
}

x20h_hypercorn_start() {
  : >"$CCB_WORK/server.log"
  cc_bg env X20H_SERVER_LOG="$CCB_WORK/server.log" /usr/bin/hypercorn "${X20H_HYPERCORN_ARGS[@]}" \
    --bind "$CCB_SERVER_IP:$X19L_PORT" "$X19L_PROGRAMS/x20h-asgi-app.py:app" 2>>"$CCB_WORK/hypercorn.err"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x20h_twisted_start() {
  : >"$CCB_WORK/server.log"
  cc_bg /usr/bin/python3 "$X19L_PROGRAMS/x20h-twisted-server.py" --host "$CCB_SERVER_IP" --port "$X19L_PORT" \
    --log "$CCB_WORK/server.log" --timeout "$X20H_TWISTED_TIMEOUT" 2>>"$CCB_WORK/twisted.err"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x20h_record_races() {
  local X19L_META=("$X19L_PROGRAMS/x20h-meta.py")
  x19l_record_races "$@"
  # X20H_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X20H_LOG_DIR:-}" ]; then mkdir -p "$X20H_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK"/*.err "$X20H_LOG_DIR/" 2>/dev/null || true; fi
}
