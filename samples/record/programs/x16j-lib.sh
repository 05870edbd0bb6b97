#!/usr/bin/env bash
# Helpers of the x16j recorders (Eclipse Jetty 9.4 from Debian's libjetty9-java; clients: python
# requests from Debian's python3-requests, run by /usr/bin/python3, and Java 17's
# java.net.http.HttpClient). Source after lib.sh (it sources lib-b.sh when that is not loaded yet).
#   x16j_require                 cc_require of the tools the recorders and these helpers run
#   x16j_compile                 compile programs/x16j-jetty-server.java and x16j-java-pool-client.java
#                                into $CCB_WORK/classes (never into the repository)
#   x16j_jetty NS ADDR PORT MS   the embedded Jetty (one ServerConnector, idleTimeout MS) in NS, its log
#                                in $CCB_WORK/server.log; returns once it listens (bounded, 30 s)
#   x16j_software                the versions, one a line, for the meta
set -euo pipefail

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X16J_PROGRAMS="$CC_RECORD_DIR/programs"
X16J_PY=/usr/bin/python3   # Debian's python3 with python3-requests / python3-urllib3
X16J_JARS=/usr/share/java
X16J_JETTY_CP="$X16J_JARS/jetty9-server.jar:$X16J_JARS/jetty9-http.jar:$X16J_JARS/jetty9-io.jar:$X16J_JARS/jetty9-util.jar:$X16J_JARS/servlet-api.jar"

x16j_require() {
  cc_require tcpdump tshark ip java javac "$X16J_PY"
}

x16j_compile() {
  mkdir -p "$CCB_WORK/src" "$CCB_WORK/classes"
  cp "$X16J_PROGRAMS/x16j-jetty-server.java" "$CCB_WORK/src/X16jJettyServer.java"
  cp "$X16J_PROGRAMS/x16j-java-pool-client.java" "$CCB_WORK/src/X16jJavaPoolClient.java"
  javac -nowarn -cp "$X16J_JETTY_CP" -d "$CCB_WORK/classes" "$CCB_WORK/src/X16jJettyServer.java" "$CCB_WORK/src/X16jJavaPoolClient.java"
}

x16j_jetty() {
  local ns="$1" addr="$2" port="$3" idle="$4" i
  : >"$CCB_WORK/server.log"
  ccb_bg "$ns" java -Xms32m -Xmx128m -Dorg.eclipse.jetty.LEVEL=WARN -cp "$CCB_WORK/classes:$X16J_JETTY_CP" \
    X16jJettyServer "$addr" "$port" "$idle" "$CCB_WORK/server.log" 2>"$CCB_WORK/jetty.err"
  for i in $(seq 1 300); do
    grep -q '"started"' "$CCB_WORK/server.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '"started"' "$CCB_WORK/server.log" || { cat "$CCB_WORK/jetty.err" >&2; echo "record: Jetty did not start" >&2; exit 1; }
  ccb_wait_port "$ns" "$port"
}

# The Java client, in NS: x16j_java NS ARGS...
x16j_java() {
  local ns="$1"; shift
  ip netns exec "$ns" timeout 50 java -Xmx128m -cp "$CCB_WORK/classes" X16jJavaPoolClient "$@"
}

x16j_software() {
  echo "Eclipse Jetty $(sed -n 's/.*"jetty":"\([^"]*\)".*/\1/p' "$CCB_WORK/server.log" | head -1) (Debian libjetty9-java, embedded: one ServerConnector, HTTP/1.1) on OpenJDK $(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p')"
  "$X16J_PY" -c 'import sys, urllib3, requests; print(f"Python {sys.version.split()[0]} (Debian) requests {requests.__version__} urllib3 {urllib3.__version__} (Debian python3-requests, python3-urllib3)")'
  echo "java.net.http.HttpClient (OpenJDK $(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p'), HTTP/1.1)"
}
