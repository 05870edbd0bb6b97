#!/usr/bin/env bash
# Shared by the round-21a recorders (keepalive-race-aiohttp.sh, keepalive-race-daphne.sh): Python
# servers at their idle timeouts behind a delay line, raced by the round-17p lane clients. Built on
# programs/x20h-lib.sh (x20h_setup) and programs/x19l-lib.sh (x19l_require, x19l_record_races,
# x19l_lanes, x19l_server_stop, x19l_client_software); source after lib.sh.
#   x21a_require TOOL...   x19l_require TOOL... and the Python modules of aiohttp and Daphne
#   x21a_setup PREFIX MS WIRE_S   x20h_setup: namespaces PREFIX-s (server; CC_NS) and PREFIX-c (clients;
#                          X19L_NS_C) joined by programs/x5-wire.py with MS ms one way (client 10.99.0.1,
#                          server 10.99.0.2), the wire ending by itself after WIRE_S s; CCB_WORK.
#   x21a_aiohttp_start     programs/x21a-aiohttp-server.py (aiohttp web.run_app, keepalive_timeout
#                          $X21A_AIOHTTP_KEEPALIVE) on 10.99.0.2:$X19L_PORT (log $CCB_WORK/server.log:
#                          requests and aiohttp's own keep-alive checks). Sets X19L_SERVER_PID.
#   x21a_daphne_start      Daphne (Debian daphne, run by programs/x21a-daphne-run.py, which adds a Twisted
#                          log observer) with $X21A_DAPHNE_ARGS, serving programs/x20h-asgi-app.py on
#                          10.99.0.2:$X19L_PORT (log $CCB_WORK/server.log: the app's requests and Twisted's
#                          "Timing out client" events; Daphne's access log $CCB_WORK/daphne-access.log).
#                          Sets X19L_SERVER_PID.
#   x21a_record_races SCENARIO START NEED_RACES GAPS NODE_LANES PY_LANES ROUNDS TAIL_S MAX_S META_ARGS...
#                          x19l_record_races with the clients' time limit MAX_S s (x19l_lanes's default,
#                          50 s, is too short for pauses of a minute) and programs/x21a-meta.py (x20h-meta.py,
#                          plus RST closes and aiohttp's checks) as the meta writer: up to 3 attempts of
#                          START, a server-side capture, x19l_lanes, TAIL_S s, stop, meta; copies the
#                          capture and meta to the samples.
set -euo pipefail

. "$CC_RECORD_DIR/programs/x20h-lib.sh"

X21A_AIOHTTP_KEEPALIVE=2
X21A_DAPHNE_ARGS=()

x21a_require() {
  x19l_require "$@"
  /usr/bin/python3 -c 'import aiohttp, daphne, twisted.web' 2>/dev/null ||
    { echo "record: apt-get install -y python3-aiohttp daphne" >&2; exit 2; }
}

x21a_setup() { x20h_setup "$@"; }

x21a_aiohttp_start() {
  : >"$CCB_WORK/server.log"
  cc_bg /usr/bin/python3 "$X19L_PROGRAMS/x21a-aiohttp-server.py" --host "$CCB_SERVER_IP" --port "$X19L_PORT" \
    --log "$CCB_WORK/server.log" --keepalive-timeout "$X21A_AIOHTTP_KEEPALIVE" 2>>"$CCB_WORK/aiohttp.err"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x21a_daphne_start() {
  : >"$CCB_WORK/server.log"
  cc_bg env X20H_SERVER_LOG="$CCB_WORK/server.log" /usr/bin/python3 "$X19L_PROGRAMS/x21a-daphne-run.py" \
    --idle-log "$CCB_WORK/server.log" --app-file "$X19L_PROGRAMS/x20h-asgi-app.py" "${X21A_DAPHNE_ARGS[@]}" \
    --access-log "$CCB_WORK/daphne-access.log" -b "$CCB_SERVER_IP" -p "$X19L_PORT" x21a_app:app 2>>"$CCB_WORK/daphne.err"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x21a_record_races() {
  local X19L_META=("$X19L_PROGRAMS/x21a-meta.py")
  local X19L_LANES_MAX_S="$9"
  x19l_record_races "${@:1:8}" "${@:10}"
  # X21A_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X21A_LOG_DIR:-}" ]; then mkdir -p "$X21A_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK"/*.err "$X21A_LOG_DIR/" 2>/dev/null || true; fi
}
