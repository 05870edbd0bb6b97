#!/usr/bin/env bash
# Shared by the waitress / CherryPy recorders with PHP curl and Perl LWP clients
# (keepalive-race-waitress-php-curl.sh, keepalive-race-cherrypy-lwp.sh, healthy-cherrypy-php-curl-lwp.sh).
# Source after lib.sh (it sources lib-b.sh when that is not loaded yet).
#   x19w_require        cc_require of the tools the recorders and these helpers run
#   x19w_server NS waitress|cherrypy HOST PORT LOG ARGS...   programs/x19w-server.py (Debian's
#       /usr/bin/python3) in namespace NS with ARGS (--channel-timeout/--cleanup-interval or
#       --socket-timeout); its log (requests, idle closes) to LOG; ended by PID (X19W_SERVER_PID)
#   x19w_stop_server    SIGTERM to it, by PID, and wait
#   x19w_lanes NS php|lwp LANES LOG CLIENT_ARGS...   LANES client processes at once in NS (lane 0..LANES-1,
#       each its own curl handle / LWP::UserAgent), each bounded by timeout 45; waits for all
#   x19w_software       one line per piece of software (waitress, CherryPy/cheroot, PHP/libcurl, LWP)
#   x19w_meta SCENARIO ARGS...   programs/x19w-meta.py on samples/SCENARIO.pcap with the work dir's logs
#   x19w_gaps N FIRST STEP      N pauses (s) from FIRST in steps of STEP, in a fixed shuffled order
#       (seed 19), comma-separated: dealt round-robin to the lanes' rounds
#   x19w_record SCENARIO        the keep-alive race recording (namespaces, delay link, up to 3
#       attempts, each checked by x19w-meta.py): see there for the variables it reads

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X19W_PROGRAMS="$CC_RECORD_DIR/programs"

x19w_require() {
  cc_require /usr/bin/python3 php perl tcpdump tshark ip python3 timeout
  /usr/bin/python3 -c 'import waitress, cherrypy, cheroot' 2>/dev/null \
    || { echo "record: apt-get install python3-waitress python3-cherrypy3" >&2; exit 2; }
  php -r 'exit(function_exists("curl_init") ? 0 : 1);' || { echo "record: apt-get install php-cli php-curl" >&2; exit 2; }
  perl -MLWP::UserAgent -e 1 || { echo "record: apt-get install libwww-perl" >&2; exit 2; }
}

x19w_server() {
  local ns="$1" kind="$2" host="$3" port="$4" log="$5"
  shift 5
  ccb_bg "$ns" /usr/bin/python3 "$X19W_PROGRAMS/x19w-server.py" "$kind" --host "$host" --port "$port" --log "$log" "$@"
  X19W_SERVER_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "$port"
}

x19w_stop_server() {
  ccb_stop "$X19W_SERVER_PID"
}

x19w_lanes() {
  local ns="$1" kind="$2" lanes="$3" log="$4" lane
  shift 4
  local pids=()
  for ((lane = 0; lane < lanes; lane++)); do
    if [ "$kind" = php ]; then
      ip netns exec "$ns" timeout 45 php "$X19W_PROGRAMS/x19w-php-curl-client.php" --log "$log" --lane "$lane" --lanes "$lanes" "$@" &
    else
      ip netns exec "$ns" timeout 45 perl "$X19W_PROGRAMS/x19w-lwp-client.pl" --log "$log" --lane "$lane" --lanes "$lanes" "$@" &
    fi
    pids+=("$!")
  done
  local pid
  for pid in "${pids[@]}"; do wait "$pid" || true; done
}

x19w_software() {
  local w c ch php curl lwp
  w="$(/usr/bin/python3 -c 'import importlib.metadata as m; print(m.version("waitress"))')"
  c="$(/usr/bin/python3 -c 'import cherrypy; print(cherrypy.__version__)')"
  ch="$(/usr/bin/python3 -c 'import cheroot; print(cheroot.__version__)')"
  php="$(php -r 'echo PHP_VERSION;')"
  curl="$(php -r 'echo curl_version()["version"];')"
  lwp="$(perl -MLWP -e 'print $LWP::VERSION')"
  echo "waitress $w (Debian python3-waitress $(dpkg-query -W -f='${Version}' python3-waitress), Python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
  echo "CherryPy $c on cheroot $ch (Debian python3-cherrypy3 $(dpkg-query -W -f='${Version}' python3-cherrypy3), python3-cheroot $(dpkg-query -W -f='${Version}' python3-cheroot))"
  echo "PHP $php curl extension, libcurl $curl (Debian php8.2-curl $(dpkg-query -W -f='${Version}' php8.2-curl), libcurl4 $(dpkg-query -W -f='${Version}' libcurl4))"
  echo "Perl LWP::UserAgent $lwp (Debian libwww-perl $(dpkg-query -W -f='${Version}' libwww-perl), Perl $(perl -e 'printf "%vd", $^V'))"
}

x19w_meta() {
  local scenario="$1"; shift
  python3 "$X19W_PROGRAMS/x19w-meta.py" "$scenario" --capture "$CC_SAMPLES_DIR/$scenario.pcap" \
    --meta "$CC_SAMPLES_DIR/$scenario.meta.json" --client-log "$CCB_WORK/client.log" --server-log "$CCB_WORK/server.log" "$@"
}

x19w_gaps() {
  python3 -c "
import random, sys
n, first, step = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
v = [round(first + step * k, 4) for k in range(n)]
random.Random(19).shuffle(v)
print(','.join(map(str, v)))" "$@"
}

# x19w_record SCENARIO: the server's namespace X19W_NSS and the clients' X19W_NSC joined by a
# X19W_DELAY_MS ms link, then up to 3 attempts, each: the server (X19W_SERVER: waitress or cherrypy,
# options X19W_SERVER_ARGS) on X19W_PORT, a capture on its side (samples/SCENARIO.pcap),
# X19W_LANES client lanes at once (X19W_CLIENT: php or lwp, options X19W_CLIENT_ARGS), X19W_LINGER
# seconds for the server's last idle closes, and x19w_meta with X19W_META_ARGS (it refuses a
# recording that does not show what is asked). Then the client log's lines matching X19W_SHOW.
x19w_record() {
  local scenario="$1" attempt
  local out="$CC_SAMPLES_DIR/$scenario.pcap"
  ccb_delay_namespaces "$X19W_NSS" "$X19W_NSC" "$X19W_DELAY_MS"
  for attempt in 1 2 3; do
    rm -f "$CCB_WORK/client.log" "$CCB_WORK/server.log"
    x19w_server "$X19W_NSS" "$X19W_SERVER" "$CCB_SERVER_IP" "$X19W_PORT" "$CCB_WORK/server.log" "${X19W_SERVER_ARGS[@]}"
    ccb_capture_start "$X19W_NSS" ccbs "$out" "tcp port $X19W_PORT"
    x19w_lanes "$X19W_NSC" "$X19W_CLIENT" "$X19W_LANES" "$CCB_WORK/client.log" --base "http://$CCB_SERVER_IP:$X19W_PORT" \
      "${X19W_CLIENT_ARGS[@]}"
    sleep "$X19W_LINGER"
    cc_capture_stop
    x19w_stop_server
    if x19w_meta "$scenario" --server-port "$X19W_PORT" --capture-side "server (tun ccbs in the server namespace)" \
        "${X19W_META_ARGS[@]}"; then break; fi
    [ "$attempt" = 3 ] && { echo "record: $scenario: no usable recording in 3 attempts" >&2; exit 1; }
  done
  grep -h "$X19W_SHOW" "$CCB_WORK/client.log" | cut -c1-400 || true
  # X19W_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X19W_LOG_DIR:-}" ]; then mkdir -p "$X19W_LOG_DIR"; cp "$CCB_WORK"/*.log "$X19W_LOG_DIR/"; fi
  return 0
}
