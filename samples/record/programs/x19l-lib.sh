#!/usr/bin/env bash
# Shared by the round-19l recorders (keepalive-race-lighttpd.sh, keepalive-race-starman.sh,
# unanswered-request-client-timeouts.sh): servers at their own default timeouts behind a delay line,
# with clients that already exist here. Source after lib.sh (it sources lib-b.sh when not loaded).
#   x19l_require TOOL...   cc_require of TOOL... and the tools every recorder runs; python3-requests
#   x19l_setup PREFIX MS   namespaces PREFIX-s (server; CC_NS) and PREFIX-c (clients; X19L_NS_C) joined
#                          by ccb_delay_link with MS ms one way (client 10.99.0.1, server 10.99.0.2);
#                          a scratch dir CCB_WORK. The server listens on 10.99.0.2:$X19L_PORT.
#   x19l_lighttpd_start    lighttpd (Debian lighttpd, -D) with no keep-alive setting of its own (so
#                          server.max-keep-alive-idle is its default): GET /warm/* and /items/* answer
#                          a static file (mod_rewrite), POST /orders?... a CGI (programs' orders CGI,
#                          201) that logs its REMOTE_PORT; access log $CCB_WORK/access.log, CGI log
#                          $CCB_WORK/server.log. Sets X19L_SERVER_PID.
#   x19l_starman_start     Starman (Debian starman) with its defaults but --workers 16, serving
#                          programs/x19l-app.psgi (log $CCB_WORK/server.log). Sets X19L_SERVER_PID.
#   x19l_hang_start        programs/x19l-hang-server.py (log $CCB_WORK/server.log). Sets X19L_SERVER_PID.
#   x19l_server_stop       SIGTERM the server, wait (by PID)
#   x19l_lanes GAPS NODE_LANES PY_LANES ROUNDS [MAX_S]   in X19L_NS_C at once: programs/x17p-node-lanes.js
#                          and programs/x17p-requests-lanes.py (their reuse pauses: GAPS dealt alternately,
#                          even-numbered to Node, odd-numbered to requests), each ending after MAX_S s
#                          (50 by default); log $CCB_WORK/client.log
#   x19l_client_software   the clients' versions and the delay line, one a line
#   x19l_record_races SCENARIO START NEED_RACES GAPS NODE_LANES PY_LANES ROUNDS TAIL_S META_ARGS...
#                          up to 3 attempts of: START (x19l_lighttpd_start or x19l_starman_start), a
#                          server-side capture, x19l_lanes (MAX_S: $X19L_LANES_MAX_S), TAIL_S s for the
#                          last idle closes, stop; the meta writer writes the meta when capture and logs
#                          agree and there are NEED_RACES races. Copies the capture and meta to the samples.
#                          The meta writer is X19L_META (array: the program and its first arguments;
#                          programs/x19l-meta.py races when empty), which x20h_record_races and
#                          x21a_record_races set.
set -euo pipefail

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X19L_PROGRAMS="$CC_RECORD_DIR/programs"
X19L_PORT=8080
X19L_NS_C=""
X19L_SERVER_PID=""
X19L_META=()
X19L_LANES_MAX_S=50

x19l_require() {
  cc_require "$@" node /usr/bin/python3 python3 tcpdump tshark ip
  /usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }
}

x19l_setup() {
  local prefix="$1" delay="$2"
  cc_netns_up "$prefix-s"
  ccb_workdir
  ccb_netns_add "$prefix-c"
  X19L_NS_C="$prefix-c"
  ccb_delay_link "$prefix-c" "$prefix-s" "$delay"
}

x19l_lighttpd_start() {
  local www="$CCB_WORK/www"
  mkdir -p "$www/cgi-bin"
  printf 'an item, served as a static file by lighttpd\n' >"$www/item.txt"
  # The POST handler: reads the body, logs its connection's client port (CGI REMOTE_PORT), answers 201.
  cat >"$www/cgi-bin/orders.sh" <<CGI
#!/bin/sh
n=\$(cat | wc -c)
printf '{"event":"request","t":%s,"port":%s,"method":"%s","uri":"%s","status":201,"bodyBytes":%s}\n' \
  "\$(date +%s.%N)" "\$REMOTE_PORT" "\$REQUEST_METHOD" "\$REQUEST_URI" "\$n" >>"$CCB_WORK/server.log"
printf 'Status: 201 Created\r\nContent-Type: application/json\r\n\r\n{"ok":true}\n'
CGI
  chmod 755 "$www/cgi-bin/orders.sh"
  : >"$CCB_WORK/server.log"
  # No server.max-keep-alive-* line: lighttpd's defaults (idle 5 s, 100 requests per connection).
  cat >"$CCB_WORK/lighttpd.conf" <<CONF
server.document-root = "$www"
server.bind = "$CCB_SERVER_IP"
server.port = $X19L_PORT
server.modules = ( "mod_access", "mod_rewrite", "mod_cgi", "mod_accesslog" )
server.errorlog = "$CCB_WORK/lighttpd-error.log"
accesslog.filename = "$CCB_WORK/access.log"
mimetype.assign = ( ".txt" => "text/plain" )
url.rewrite-once = ( "^/orders(\\?.*)?\$" => "/cgi-bin/orders.sh\$1", "^/(warm|items)/" => "/item.txt" )
cgi.assign = ( ".sh" => "/bin/sh" )
CONF
  : >"$CCB_WORK/access.log"
  cc_bg lighttpd -D -f "$CCB_WORK/lighttpd.conf"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x19l_starman_start() {
  : >"$CCB_WORK/server.log"
  # Every Starman option at its default (keepalive on, --keepalive-timeout 1, --read-timeout 5)
  # except --workers: each idle keep-alive connection holds a worker, and the lanes keep up to 14.
  cc_bg env X19L_SERVER_LOG="$CCB_WORK/server.log" /usr/bin/starman --listen "$CCB_SERVER_IP:$X19L_PORT" --workers 16 \
    "$X19L_PROGRAMS/x19l-app.psgi" 2>"$CCB_WORK/starman.err"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x19l_hang_start() {
  : >"$CCB_WORK/server.log"
  cc_bg /usr/bin/python3 "$X19L_PROGRAMS/x19l-hang-server.py" --host "$CCB_SERVER_IP" --port "$X19L_PORT" --log "$CCB_WORK/server.log"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x19l_server_stop() {
  [ -n "$X19L_SERVER_PID" ] || return 0
  kill -TERM "$X19L_SERVER_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 30); do kill -0 "$X19L_SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$X19L_SERVER_PID" 2>/dev/null || true
  wait "$X19L_SERVER_PID" 2>/dev/null || true
  X19L_SERVER_PID=""
}

x19l_lanes() {
  local gaps="$1" node_lanes="$2" py_lanes="$3" rounds="$4" max_s="${5:-50}" base="http://$CCB_SERVER_IP:$X19L_PORT" node_gaps py_gaps
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

x19l_client_software() {
  echo "node $(node -v) http.Agent (programs/x17p-node-lanes.js: keepAlive, maxSockets 1 per lane, no retry)"
  echo "python requests $(/usr/bin/python3 -c 'import requests; print(requests.__version__)') (Debian python3-requests; urllib3 $(/usr/bin/python3 -c 'import urllib3; print(urllib3.__version__)'), /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'); programs/x17p-requests-lanes.py, max_retries 0)"
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}

x19l_record_races() {
  local scenario="$1" start="$2" need="$3" gaps="$4" node_lanes="$5" py_lanes="$6" rounds="$7" tail_s="$8" attempt
  shift 8
  local out="$CCB_WORK/$scenario.pcap" meta="$CCB_WORK/$scenario.meta.json" writer=("${X19L_META[@]}")
  [ "${#writer[@]}" -gt 0 ] || writer=("$X19L_PROGRAMS/x19l-meta.py" races)
  for attempt in 1 2 3; do
    rm -f "$CCB_WORK/client.log" "$CCB_WORK/server.log"
    "$start"
    ccb_capture_start "$CC_NS" ccbs "$out" "tcp port $X19L_PORT"
    x19l_lanes "$gaps" "$node_lanes" "$py_lanes" "$rounds" "$X19L_LANES_MAX_S"
    sleep "$tail_s"     # the server's idle close of the connections used last (or left open, if any)
    cc_capture_stop
    x19l_server_stop
    if python3 "${writer[@]}" "$scenario" --capture "$out" --meta "$meta" --server-port "$X19L_PORT" \
        --client-log "$CCB_WORK/client.log" --server-log "$CCB_WORK/server.log" --need-races "$need" "$@"; then
      break
    fi
    echo "record: $scenario: attempt $attempt not usable" >&2
    [ "$attempt" = 3 ] && { echo "record: $scenario: no usable recording in 3 attempts" >&2; exit 1; }
  done
  cp "$out" "$meta" "$CC_SAMPLES_DIR/"
  grep '"error"' "$CCB_WORK/client.log" | cut -c1-260 || true
  # X19L_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X19L_LOG_DIR:-}" ]; then mkdir -p "$X19L_LOG_DIR"; cp "$CCB_WORK"/*.log "$X19L_LOG_DIR/" 2>/dev/null || true; fi
}
