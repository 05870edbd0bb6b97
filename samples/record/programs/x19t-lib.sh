#!/usr/bin/env bash
# Helpers of the x19t recorders: servers Tornado 6.2 (Debian python3-tornado, run by
# /usr/bin/python3) and Mojolicious 9.31 (Debian libmojolicious-perl); clients OkHttp 3.13 (Debian
# libokhttp-java + libokio-java) and Apache HttpClient 5.2 (Debian libhttpclient5-java +
# libhttpcore5-java, slf4j-nop) in one Java 17 program. Source after lib.sh (it sources lib-b.sh
# when that is not loaded yet).
#   x19t_require                  cc_require of the tools, and the Debian packages' files
#   x19t_setup                    the recorder's namespaces NSS (server) and NSC (client) joined by a
#                                 DELAY_MS link (ccb_delay_namespaces), then x19t_compile
#   x19t_compile                  compile programs/x19t-java-clients.java (with the sweep it shares,
#                                 programs/x16j-java-pool-client.java) into $CCB_WORK/classes
#   x19t_tornado NS ADDR PORT S   Tornado (idle_connection_timeout S) in NS, its log $CCB_WORK/tornado.log
#   x19t_mojo NS ADDR PORT S      Mojolicious' daemon (keep_alive_timeout S, or "default") in NS,
#                                 its log $CCB_WORK/mojo.log
#   x19t_java NS ARGS...          the Java clients in NS (bounded, 55 s)
#   x19t_software                 the versions, one a line, for the meta
#   x19t_gaps FIRST STEP LAST MORE...   the sweep's pauses (ms): FIRST to LAST in steps of STEP,
#                                 then MORE, each twice (a GET round and a POST round), comma-separated
#   x19t_race SCENARIO PORT IDLE LIB THREADS GAPS META_ARGS...   the keep-alive race recording:
#                                 up to 3 attempts of a capture of the client sweep (LIB: okhttp or
#                                 hc5; GAPS: comma-separated ms) against the server already
#                                 running on PORT, each checked by x19t-meta.py (META_ARGS added)
set -euo pipefail

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X19T_PROGRAMS="$CC_RECORD_DIR/programs"
X19T_PY=/usr/bin/python3   # Debian's python3 with python3-tornado
X19T_JARS=/usr/share/java
X19T_CP="$X19T_JARS/okhttp.jar:$X19T_JARS/okio.jar:$X19T_JARS/httpclient5.jar:$X19T_JARS/httpcore5.jar:$X19T_JARS/httpcore5-h2.jar:$X19T_JARS/slf4j-api.jar:$X19T_JARS/slf4j-nop.jar"

x19t_require() {
  cc_require tcpdump tshark ip java javac perl "$X19T_PY"
  local f
  for f in ${X19T_CP//:/ }; do
    [ -f "$f" ] || { echo "record: $f missing (apt-get install libokhttp-java libhttpclient5-java libhttpcore5-java libslf4j-java)" >&2; exit 2; }
  done
  "$X19T_PY" -c 'import tornado' 2>/dev/null || { echo "record: apt-get install python3-tornado" >&2; exit 2; }
  perl -MMojolicious -e1 2>/dev/null || { echo "record: apt-get install libmojolicious-perl" >&2; exit 2; }
}

x19t_setup() {
  ccb_delay_namespaces "$NSS" "$NSC" "$DELAY_MS"
  x19t_compile
}

x19t_compile() {
  mkdir -p "$CCB_WORK/src" "$CCB_WORK/classes"
  cp "$X19T_PROGRAMS/x19t-java-clients.java" "$CCB_WORK/src/X19tJavaClients.java"
  cp "$X19T_PROGRAMS/x16j-java-pool-client.java" "$CCB_WORK/src/X16jJavaPoolClient.java"
  javac -nowarn -cp "$X19T_CP" -d "$CCB_WORK/classes" "$CCB_WORK/src/X19tJavaClients.java" "$CCB_WORK/src/X16jJavaPoolClient.java"
}

x19t_gaps() {
  local first="$1" step="$2" last="$3" g gaps=""
  shift 3
  for g in $(seq "$first" "$step" "$last") "$@"; do gaps+="$g,$g,"; done
  echo "${gaps%,}"
}

# x19t_started LOG NAME: bounded wait (30 s) for a server's "started" line.
x19t_started() {
  local log="$1" name="$2" i
  for i in $(seq 1 300); do
    grep -q '"started"' "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "record: $name did not start" >&2; exit 1
}

x19t_tornado() {
  local ns="$1" addr="$2" port="$3" idle="$4"
  : >"$CCB_WORK/tornado.log"
  ccb_bg "$ns" "$X19T_PY" "$X19T_PROGRAMS/x19t-tornado-server.py" "$addr" "$port" "$idle" "$CCB_WORK/tornado.log" 2>"$CCB_WORK/tornado.err"
  x19t_started "$CCB_WORK/tornado.log" Tornado
  ccb_wait_port "$ns" "$port"
}

x19t_mojo() {
  local ns="$1" addr="$2" port="$3" idle="$4"
  : >"$CCB_WORK/mojo.log"
  ccb_bg "$ns" perl "$X19T_PROGRAMS/x19t-mojo-server.pl" "$addr" "$port" "$idle" "$CCB_WORK/mojo.log" 2>"$CCB_WORK/mojo.err"
  x19t_started "$CCB_WORK/mojo.log" Mojolicious
  ccb_wait_port "$ns" "$port"
}

x19t_java() {
  local ns="$1"; shift
  ip netns exec "$ns" timeout 55 java -Xmx128m -cp "$CCB_WORK/classes:$X19T_CP" X19tJavaClients "$@"
}

x19t_software() {
  local jv
  jv="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p')"
  if [ -s "$CCB_WORK/tornado.log" ]; then
    "$X19T_PY" -c 'import sys, tornado; print(f"Tornado {tornado.version} (Debian python3-tornado) on Python {sys.version.split()[0]} (Debian /usr/bin/python3)")'
  fi
  if [ -s "$CCB_WORK/mojo.log" ]; then
    perl -MMojolicious -e 'printf "Mojolicious %s (Debian libmojolicious-perl; Mojo::Server::Daemon, reactor %s) on Perl %vd\n", $Mojolicious::VERSION, (eval { require EV; 1 } ? "EV" : "Poll"), $^V'
  fi
  echo "OkHttp $(dpkg-query -W -f '${Version}' libokhttp-java) with Okio $(dpkg-query -W -f '${Version}' libokio-java) (Debian libokhttp-java, libokio-java) on OpenJDK $jv"
  echo "Apache HttpClient $(dpkg-query -W -f '${Version}' libhttpclient5-java) / HttpCore $(dpkg-query -W -f '${Version}' libhttpcore5-java) (Debian libhttpclient5-java, libhttpcore5-java) on OpenJDK $jv"
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}

# x19t_race SCENARIO PORT IDLE_S LIB THREADS GAPS META_ARGS...: needs NSS, NSC, OUT, DELAY_MS set
# by the recorder and the server running; the client sweep in NSC, the capture on ccbs in NSS.
x19t_race() {
  local scenario="$1" port="$2" idle="$3" lib="$4" threads="$5" gaps="$6" attempt
  shift 6
  local base="http://$CCB_SERVER_IP:$port"
  local server_logs=() f
  for f in tornado mojo; do if [ -s "$CCB_WORK/$f.log" ]; then server_logs+=("$CCB_WORK/$f.log"); fi; done
  local software
  mapfile -t software < <(x19t_software)
  for attempt in 1 2 3; do
    rm -f "$CCB_WORK/client.log"
    ccb_capture_start "$NSS" ccbs "$OUT" "tcp port $port"
    x19t_java "$NSC" sweep "$lib" "$base" "$CCB_WORK/client.log" "$threads" "${lib:0:1}" ${gaps//,/ } || true
    sleep "$(awk -v s="$idle" 'BEGIN { print s + 0.6 }')"   # the server's idle closes of the last connections
    cc_capture_stop
    if python3 "$X19T_PROGRAMS/x19t-meta.py" keepalive-race --capture "$OUT" --meta "$CC_SAMPLES_DIR/$scenario.meta.json" \
        --server-log "${server_logs[@]}" --client-log "$CCB_WORK/client.log" --server-port "$port" \
        --set serverIdleTimeout="$idle" --set oneWayDelayMs="$DELAY_MS" \
        --capture-side "server (tun ccbs in the server namespace)" --software "${software[@]}" "$@"; then
      break
    fi
    [ "$attempt" = 3 ] && { echo "record: $scenario: no usable recording in 3 attempts" >&2; exit 1; }
  done
  grep -h '"error"\|attempt-failed' "$CCB_WORK/client.log" || true
  # X19T_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X19T_LOG_DIR:-}" ]; then mkdir -p "$X19T_LOG_DIR"; cp "$CCB_WORK"/*.log "$X19T_LOG_DIR/"; fi
  return 0
}
