#!/usr/bin/env bash
# Shared by the round-21a recorders (keepalive-race-aiohttp.sh, keepalive-race-daphne.sh): Python
# servers at their idle timeouts behind a delay line, raced by the round-17p lane clients. Built on
# programs/x20h-lib.sh (x20h_setup) and programs/x19l-lib.sh (x19l_require, x19l_server_stop,
# x19l_client_software); source after lib.sh.
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
#   x21a_lanes GAPS NODE_LANES PY_LANES ROUNDS MAX_S   x19l_lanes with the clients' time limit MAX_S s
#                          (x19l_lanes has 50 s: too short for pauses of a minute)
#   x21a_record_races SCENARIO START NEED_RACES GAPS NODE_LANES PY_LANES ROUNDS TAIL_S MAX_S META_ARGS...
#                          up to 3 attempts of START, a server-side capture, x21a_lanes, TAIL_S s, stop,
#                          programs/x21a-meta.py (x20h-meta.py, plus RST closes and aiohttp's checks);
#                          copies the capture and meta to the samples.
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

x21a_lanes() {
  local gaps="$1" node_lanes="$2" py_lanes="$3" rounds="$4" max_s="$5" base="http://$CCB_SERVER_IP:$X19L_PORT" node_gaps py_gaps
  node_gaps=$(python3 -c "import sys; v=sys.argv[1].split(','); print(','.join(v[0::2]))" "$gaps")
  py_gaps=$(python3 -c "import sys; v=sys.argv[1].split(','); print(','.join(v[1::2]))" "$gaps")
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 5))" node "$X19L_PROGRAMS/x17p-node-lanes.js" --base "$base" --log "$CCB_WORK/client.log" \
    --lanes "$node_lanes" --rounds "$rounds" --gaps "$node_gaps" --stagger 0.13 --tag n --max-seconds "$max_s" &
  local node_pid=$!
  sleep 0.065
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 5))" /usr/bin/python3 "$X19L_PROGRAMS/x17p-requests-lanes.py" --base "$base" --log "$CCB_WORK/client.log" \
    --lanes "$py_lanes" --rounds "$rounds" --gaps "$py_gaps" --stagger 0.13 --tag p --max-seconds "$max_s" &
  local py_pid=$!
  wait "$node_pid" || true
  wait "$py_pid" || true
}

x21a_record_races() {
  local scenario="$1" start="$2" need="$3" gaps="$4" node_lanes="$5" py_lanes="$6" rounds="$7" tail_s="$8" max_s="$9" attempt
  shift 9
  local out="$CCB_WORK/$scenario.pcap" meta="$CCB_WORK/$scenario.meta.json"
  for attempt in 1 2 3; do
    rm -f "$CCB_WORK/client.log" "$CCB_WORK/server.log"
    "$start"
    ccb_capture_start "$CC_NS" ccbs "$out" "tcp port $X19L_PORT"
    x21a_lanes "$gaps" "$node_lanes" "$py_lanes" "$rounds" "$max_s"
    sleep "$tail_s"     # the server's idle close of connections the clients left open, if any
    cc_capture_stop
    x19l_server_stop
    if python3 "$X19L_PROGRAMS/x21a-meta.py" "$scenario" --capture "$out" --meta "$meta" --server-port "$X19L_PORT" \
        --client-log "$CCB_WORK/client.log" --server-log "$CCB_WORK/server.log" --need-races "$need" "$@"; then
      break
    fi
    echo "record: $scenario: attempt $attempt not usable" >&2
    [ "$attempt" = 3 ] && { echo "record: $scenario: no usable recording in 3 attempts" >&2; exit 1; }
  done
  cp "$out" "$meta" "$CC_SAMPLES_DIR/"
  grep '"error"' "$CCB_WORK/client.log" | cut -c1-260 || true
  # X21A_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X21A_LOG_DIR:-}" ]; then mkdir -p "$X21A_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK"/*.err "$X21A_LOG_DIR/" 2>/dev/null || true; fi
}
