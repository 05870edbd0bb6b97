#!/usr/bin/env bash
# Shared by the round-24t recorder (unanswered-request-jvm-ruby-erlang-timeouts.sh): a Node http
# server that never answers /hang... (programs/b-http-server.js) behind a delay line, asked by three
# clients that each give up at a request timeout of their own: Java's java.net.http.HttpClient
# (programs/x24t-java-client.java), Ruby's Net::HTTP (programs/x24t-net-http-client.rb) and
# Erlang's httpc (programs/x24t-httpc.escript). Built on programs/x20h-lib.sh (x20h_setup) and
# programs/x19l-lib.sh (x19l_server_stop); source after lib.sh.
#   x24t_require           x19l_require of java, javac, ruby, escript and what the others need
#   x24t_setup PREFIX MS WIRE_S   x20h_setup (namespaces PREFIX-s and PREFIX-c, MS ms one way, the
#                          scratch dir CCB_WORK), then compiles the Java client into $CCB_WORK/java
#   x24t_server_start      b-http-server.js on 10.99.0.2:$X19L_PORT, keepAliveTimeout
#                          $X24T_SERVER_KEEPALIVE_MS (its request log, JSON lines on stderr:
#                          $CCB_WORK/server.log). Sets X19L_SERVER_PID.
#   x24t_clients MAX_S     the three clients at once in X19L_NS_C, each with its own plan
#                          (X24T_JAVA_STEPS, X24T_RUBY_STEPS, X24T_ERLANG_STEPS: METHOD:PATH words) and
#                          timeout (X24T_JAVA_TIMEOUT_MS, X24T_RUBY_READ_TIMEOUT, X24T_ERLANG_TIMEOUT_MS),
#                          logs $CCB_WORK/{java,ruby,erlang}.log; each ends after MAX_S s at most.
#   x24t_software          the programs' versions and the delay line, one a line
set -euo pipefail

. "$CC_RECORD_DIR/programs/x20h-lib.sh"

X24T_SERVER_KEEPALIVE_MS=30000
X24T_JAVA_TIMEOUT_MS=2500
X24T_RUBY_READ_TIMEOUT=3
X24T_ERLANG_TIMEOUT_MS=3500
X24T_JAVA_STEPS=()
X24T_RUBY_STEPS=()
X24T_ERLANG_STEPS=()

x24t_require() {
  x19l_require java javac /usr/bin/ruby escript "$@"
  /usr/bin/ruby -rnet/http -e 'exit 0' 2>/dev/null || { echo "record: apt-get install -y ruby" >&2; exit 2; }
  erl -noshell -eval 'ok = inets:start(), halt(0).' >/dev/null 2>&1 || { echo "record: apt-get install -y erlang-inets" >&2; exit 2; }
}

x24t_setup() {
  x20h_setup "$@"
  mkdir -p "$CCB_WORK/java"
  javac -d "$CCB_WORK/java" "$X19L_PROGRAMS/x24t-java-client.java"
}

x24t_server_start() {
  : >"$CCB_WORK/server.log"
  cc_bg node "$X19L_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port "$X19L_PORT" \
    --keep-alive-timeout "$X24T_SERVER_KEEPALIVE_MS" 2>>"$CCB_WORK/server.log"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x24t_clients() {
  local max_s="$1" base="http://$CCB_SERVER_IP:$X19L_PORT" pids=()
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 10))" java -cp "$CCB_WORK/java" X24tJavaClient --base "$base" \
    --log "$CCB_WORK/java.log" --timeout-ms "$X24T_JAVA_TIMEOUT_MS" --max-seconds "$max_s" "${X24T_JAVA_STEPS[@]}" &
  pids+=($!)
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 10))" /usr/bin/ruby "$X19L_PROGRAMS/x24t-net-http-client.rb" --base "$base" \
    --log "$CCB_WORK/ruby.log" --read-timeout "$X24T_RUBY_READ_TIMEOUT" --max-seconds "$max_s" "${X24T_RUBY_STEPS[@]}" &
  pids+=($!)
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 10))" escript "$X19L_PROGRAMS/x24t-httpc.escript" --base "$base" \
    --log "$CCB_WORK/erlang.log" --timeout-ms "$X24T_ERLANG_TIMEOUT_MS" --max-seconds "$max_s" "${X24T_ERLANG_STEPS[@]}" &
  pids+=($!)
  wait "${pids[@]}" || true
}

x24t_software() {
  echo "$(java -version 2>&1 | sed -n 2p | sed 's/ (build.*//') $(java -version 2>&1 | head -1 | cut -d'"' -f2) java.net.http.HttpClient, HTTP/1.1 (Debian openjdk-17-jre-headless $(dpkg-query -W -f='${Version}' openjdk-17-jre-headless 2>/dev/null || echo '?'); programs/x24t-java-client.java: HttpRequest.Builder timeout($X24T_JAVA_TIMEOUT_MS ms), everything else at its default)"
  echo "Ruby $(/usr/bin/ruby -e 'print RUBY_VERSION') Net::HTTP $(/usr/bin/ruby -rnet/http -e 'print Net::HTTP::VERSION') (Debian ruby3.1 $(dpkg-query -W -f='${Version}' ruby3.1 2>/dev/null || echo '?'); programs/x24t-net-http-client.rb: one Net::HTTP.start session, read_timeout $X24T_RUBY_READ_TIMEOUT s, max_retries 1 (its default))"
  echo "Erlang/OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().') httpc (inets $(erl -noshell -eval 'application:load(inets), {ok, V} = application:get_key(inets, vsn), io:put_chars(V), halt().'), Debian erlang-inets $(dpkg-query -W -f='${Version}' erlang-inets 2>/dev/null || echo '?'); programs/x24t-httpc.escript: httpc:request(M, Req, [{timeout, $X24T_ERLANG_TIMEOUT_MS}], []), default profile)"
  echo "node $(node -v) http.Server (programs/b-http-server.js: /hang... read and never answered; keepAliveTimeout $X24T_SERVER_KEEPALIVE_MS ms)"
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}
