#!/usr/bin/env bash
# Healthy keep-alive against Eclipse Jetty 9.4 (Debian libjetty9-java, embedded: one ServerConnector
# with idleTimeout 2000 ms). Clients, one after the other, each reusing its connection well inside
# Jetty's idle timeout (pauses 0.05-1.2 s) and then closing it: python requests (Debian
# python3-requests; one Session: 12 GETs and POSTs, then Session.close()) and Java 17's
# java.net.http.HttpClient (one client: 10 GETs and POSTs, then the program exits, which closes
# its connection). Loopback of one namespace. conncheck must report nothing.
# Writes samples/healthy-jetty.pcap and .meta.json (x16j-meta.py checks it against the logs: every
# request answered, no client error, no idle close by Jetty, no reset).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x16j-lib.sh"
x16j_require

SCENARIO=healthy-jetty
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
IDLE_MS=2000
PORT=8080
NS=ccx16j-h

cc_netns_up "$NS"
ccb_workdir
x16j_compile
x16j_jetty "$NS" 127.0.0.1 "$PORT" "$IDLE_MS"
mapfile -t SOFTWARE < <(x16j_software)
BASE="http://127.0.0.1:$PORT"
cc_capture_start "$OUT" "tcp port $PORT"
cc_in timeout 30 "$X16J_PY" "$X16J_PROGRAMS/x16j-pool-client.py" healthy --base "$BASE" --log "$CCB_WORK/py.log" --max-seconds 25 \
  --steps GET:/items/py-a,sleep:0.05,GET:/items/py-b,sleep:0.3,POST:/items/py-c,sleep:0.8,GET:/items/py-d,sleep:1.2,POST:/items/py-e,sleep:0.1,GET:/items/py-f,sleep:1.0,POST:/items/py-g,sleep:0.5,GET:/items/py-h,sleep:1.2,GET:/items/py-i,sleep:0.05,POST:/items/py-j,sleep:0.7,GET:/items/py-k,sleep:0.2,POST:/items/py-l
x16j_java "$NS" healthy "$BASE" "$CCB_WORK/java.log" GET:/items/j-a sleep:0.05 POST:/items/j-b sleep:0.4 GET:/items/j-c sleep:1.2 \
  POST:/items/j-d sleep:0.9 GET:/items/j-e sleep:0.1 GET:/items/j-f sleep:1.1 POST:/items/j-g sleep:0.3 GET:/items/j-h sleep:1.2 \
  POST:/items/j-i sleep:0.6 GET:/items/j-j
cc_capture_stop
python3 "$X16J_PROGRAMS/x16j-meta.py" healthy --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --server-log "$CCB_WORK/server.log" --client-log "$CCB_WORK/py.log" "$CCB_WORK/java.log" --server-port "$PORT" \
  --set serverIdleTimeout="$((IDLE_MS / 1000))" --capture-side "loopback (one namespace)" \
  --description "Healthy keep-alive against Eclipse Jetty 9.4.57 (embedded, Debian libjetty9-java; one ServerConnector with idleTimeout=2000 ms). python requests 2.28 / urllib3 1.26 (Debian; one Session: 12 GETs and POSTs with pauses of 0.05-1.2 s, all on one connection, then Session.close(): the client closes first) and then Java 17's java.net.http.HttpClient (one client, HTTP/1.1: 10 GETs and POSTs with pauses of 0.05-1.2 s on one connection, then the program exits and its connection is closed by the client). Every pause is well inside Jetty's 2 s idle timeout: Jetty never closes a connection, no reset, every request answered 200. Loopback. Nothing is wrong: conncheck must report nothing." \
  --software "${SOFTWARE[@]}"
[ -n "${X16J_LOG_DIR:-}" ] && { mkdir -p "$X16J_LOG_DIR"; cp "$CCB_WORK"/*.log "$X16J_LOG_DIR/"; }
exit 0
