#!/usr/bin/env bash
# Shared by the round-23r recorder (keepalive-race-webrick.sh): Ruby WEBrick at a low RequestTimeout
# behind a delay line, raced by Node's http.Agent (programs/x17p-node-lanes.js) and Ruby's Net::HTTP
# (programs/x17r-net-http-client.rb sweep: one persistent Net::HTTP session per lane). Built on
# programs/x20h-lib.sh (x20h_setup) and programs/x19l-lib.sh (x19l_record_races, x19l_server_stop);
# source after lib.sh.
#   x23r_require TOOL...   x19l_require TOOL..., ruby and its webrick library
#   x23r_webrick_start     programs/x23r-webrick-server.rb (WEBrick::HTTPServer, :RequestTimeout
#                          $X23R_REQUEST_TIMEOUT) on 10.99.0.2:$X19L_PORT (log $CCB_WORK/server.log,
#                          stderr $CCB_WORK/webrick.err). Sets X19L_SERVER_PID.
#   x23r_lanes GAPS NODE_LANES RUBY_LANES ROUNDS [MAX_S]   in X19L_NS_C at once: x17p-node-lanes.js
#                          (tag n) and x17r-net-http-client.rb sweep (keep_alive_timeout
#                          $X23R_NETHTTP_KEEPALIVE s, max_retries left at 1); the reuse pauses GAPS
#                          dealt alternately, even-numbered to Node, odd-numbered to Net::HTTP; each
#                          ends after MAX_S s (50 by default); both log to $CCB_WORK/client.log.
#                          This library makes x19l_lanes run x23r_lanes (the Net::HTTP lanes in place
#                          of x19l's python requests lanes), so that x19l_record_races drives them.
#   x23r_client_software   the clients' versions and the delay line, one a line
#   x23r_record_races SCENARIO START NEED_RACES GAPS NODE_LANES RUBY_LANES ROUNDS TAIL_S META_ARGS...
#                          x19l_record_races with programs/x23r-meta.py as the meta writer (up to 3
#                          attempts); X23R_LOG_DIR=DIR keeps the programs' logs.
set -euo pipefail

. "$CC_RECORD_DIR/programs/x20h-lib.sh"

X23R_REQUEST_TIMEOUT=2
X23R_NETHTTP_KEEPALIVE=30

x23r_require() {
  x19l_require /usr/bin/ruby "$@"
  /usr/bin/ruby -rwebrick -rnet/http -e 'exit 0' 2>/dev/null || { echo "record: apt-get install -y ruby ruby-webrick" >&2; exit 2; }
}

x23r_webrick_start() {
  : >"$CCB_WORK/server.log"
  cc_bg /usr/bin/ruby "$X19L_PROGRAMS/x23r-webrick-server.rb" --host "$CCB_SERVER_IP" --port "$X19L_PORT" \
    --log "$CCB_WORK/server.log" --request-timeout "$X23R_REQUEST_TIMEOUT" 2>>"$CCB_WORK/webrick.err"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x23r_lanes() {
  local gaps="$1" node_lanes="$2" ruby_lanes="$3" rounds="$4" max_s="${5:-50}" base="http://$CCB_SERVER_IP:$X19L_PORT" node_gaps ruby_gaps
  node_gaps=$(python3 -c "import sys; v=sys.argv[1].split(','); print(','.join(v[0::2]))" "$gaps")
  ruby_gaps=$(python3 -c "import sys; v=sys.argv[1].split(','); print(','.join(v[1::2]))" "$gaps")
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 5))" node "$X19L_PROGRAMS/x17p-node-lanes.js" --base "$base" --log "$CCB_WORK/client.log" \
    --lanes "$node_lanes" --rounds "$rounds" --gaps "$node_gaps" --stagger 0.13 --tag n --max-seconds "$max_s" &
  local node_pid=$!
  sleep 0.065
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 5))" /usr/bin/ruby "$X19L_PROGRAMS/x17r-net-http-client.rb" sweep --base "$base" \
    --log "$CCB_WORK/client.log" --lanes "$ruby_lanes" --rounds "$rounds" --gaps "$ruby_gaps" --stagger 0.13 \
    --keep-alive-timeout "$X23R_NETHTTP_KEEPALIVE" --max-seconds "$max_s" &
  local ruby_pid=$!
  wait "$node_pid" || true
  wait "$ruby_pid" || true
}

# x19l_record_races runs x19l_lanes: here, the Node and Net::HTTP lanes.
x19l_lanes() { x23r_lanes "$@"; }

x23r_client_software() {
  echo "node $(node -v) http.Agent (programs/x17p-node-lanes.js: keepAlive, maxSockets 1 per lane, no retry)"
  echo "Ruby $(/usr/bin/ruby -e 'print RUBY_VERSION') Net::HTTP $(/usr/bin/ruby -rnet/http -e 'print Net::HTTP::VERSION') (Debian ruby$(/usr/bin/ruby -e 'print RUBY_VERSION[/\A\d+\.\d+/]') $(dpkg-query -W -f='${Version}' "ruby$(/usr/bin/ruby -e 'print RUBY_VERSION[/\A\d+\.\d+/]')" 2>/dev/null || echo '?'); programs/x17r-net-http-client.rb sweep: one persistent Net::HTTP session per lane, keep_alive_timeout $X23R_NETHTTP_KEEPALIVE s, max_retries 1 (its default))"
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}

x23r_record_races() {
  local X19L_META=("$X19L_PROGRAMS/x23r-meta.py")
  x19l_record_races "$@"
  if [ -n "${X23R_LOG_DIR:-}" ]; then mkdir -p "$X23R_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK"/*.err "$X23R_LOG_DIR/" 2>/dev/null || true; fi
}
