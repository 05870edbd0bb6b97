#!/usr/bin/env bash
# Shared by the round-23j recorder (keepalive-race-jdk-httpserver.sh): the JDK's built-in HTTP server
# (com.sun.net.httpserver) at its ticked idle timeout behind a delay line, raced by
# java.net.http.HttpClient lanes (programs/x23j-Lanes.java) and the python requests lanes
# (programs/x17p-requests-lanes.py). Built on programs/x20h-lib.sh (x20h_setup) and
# programs/x19l-lib.sh (x19l_record_races, x19l_server_stop); source after lib.sh.
#   x23j_require           x19l_require and java, javac
#   x23j_compile           javac programs/x23j-Server.java and programs/x23j-Lanes.java into
#                          $CCB_WORK/java (call after x20h_setup)
#   x23j_server_start      X23jServer on 10.99.0.2:$X19L_PORT with -Dsun.net.httpserver.idleInterval=
#                          $X23J_IDLE_INTERVAL (s) -Dsun.net.httpserver.clockTick=$X23J_CLOCK_TICK_MS
#                          (ms) and nothing else set (log $CCB_WORK/server.log). Sets X19L_SERVER_PID.
#   x19l_lanes GAPS JAVA_LANES PY_LANES ROUNDS [MAX_S]   (replaces x19l-lib.sh's, which runs Node and
#                          requests: x19l_record_races calls it by name) in X19L_NS_C at once:
#                          X23jLanes (JAVA_LANES lanes, tag j) and programs/x17p-requests-lanes.py
#                          (PY_LANES, tag p), GAPS dealt alternately (even-numbered to Java, odd to
#                          requests), each ending after MAX_S s; log $CCB_WORK/client.log
#   x23j_client_software   the clients' versions and the delay line, one a line
#   x23j_record_races SCENARIO NEED_RACES GAPS JAVA_LANES PY_LANES ROUNDS TAIL_S META_ARGS...
#                          x19l_record_races with x23j_server_start and programs/x23j-meta.py as the
#                          meta writer (up to 3 attempts).
set -euo pipefail

. "$CC_RECORD_DIR/programs/x20h-lib.sh"

X23J_IDLE_INTERVAL=2
X23J_CLOCK_TICK_MS=100

x23j_require() {
  x19l_require java javac "$@"
}

x23j_compile() {
  mkdir -p "$CCB_WORK/java"
  cp "$X19L_PROGRAMS/x23j-Server.java" "$CCB_WORK/java/X23jServer.java"
  cp "$X19L_PROGRAMS/x23j-Lanes.java" "$CCB_WORK/java/X23jLanes.java"
  javac -d "$CCB_WORK/java" "$CCB_WORK/java/X23jServer.java" "$CCB_WORK/java/X23jLanes.java"
}

x23j_server_start() {
  : >"$CCB_WORK/server.log"
  cc_bg java -Dsun.net.httpserver.idleInterval="$X23J_IDLE_INTERVAL" -Dsun.net.httpserver.clockTick="$X23J_CLOCK_TICK_MS" \
    -cp "$CCB_WORK/java" X23jServer "$CCB_SERVER_IP" "$X19L_PORT" "$CCB_WORK/server.log" 2>>"$CCB_WORK/server.err"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x19l_lanes() {
  local gaps="$1" java_lanes="$2" py_lanes="$3" rounds="$4" max_s="${5:-50}" base="http://$CCB_SERVER_IP:$X19L_PORT" java_gaps py_gaps
  java_gaps=$(python3 -c "import sys; v=sys.argv[1].split(','); print(','.join(v[0::2]))" "$gaps")
  py_gaps=$(python3 -c "import sys; v=sys.argv[1].split(','); print(','.join(v[1::2]))" "$gaps")
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 5))" java -cp "$CCB_WORK/java" X23jLanes "$base" "$CCB_WORK/client.log" \
    "$java_lanes" "$rounds" "$java_gaps" 0.13 j "$max_s" 2>>"$CCB_WORK/lanes.err" &
  local java_pid=$!
  sleep 0.065
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 5))" /usr/bin/python3 "$X19L_PROGRAMS/x17p-requests-lanes.py" --base "$base" --log "$CCB_WORK/client.log" \
    --lanes "$py_lanes" --rounds "$rounds" --gaps "$py_gaps" --stagger 0.13 --tag p --max-seconds "$max_s" &
  local py_pid=$!
  wait "$java_pid" || true
  wait "$py_pid" || true
}

x23j_client_software() {
  echo "java.net.http.HttpClient $(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.runtime.version = //p') (OpenJDK, Debian openjdk-17-jre-headless $(dpkg-query -W -f='${Version}' openjdk-17-jre-headless 2>/dev/null); programs/x23j-Lanes.java: HTTP/1.1 forced, one HttpClient per lane, every other setting at its default)"
  x19l_client_software | sed -n 2,3p
}

x23j_record_races() {
  local scenario="$1" need="$2"
  shift 2
  local X19L_META=("$X19L_PROGRAMS/x23j-meta.py")
  x19l_record_races "$scenario" x23j_server_start "$need" "$@"
  # X23J_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X23J_LOG_DIR:-}" ]; then mkdir -p "$X23J_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK"/*.err "$X23J_LOG_DIR/" 2>/dev/null || true; fi
}
