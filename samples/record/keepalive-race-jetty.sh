#!/usr/bin/env bash
# The keep-alive race against Eclipse Jetty 9.4 (Debian libjetty9-java, embedded: one
# ServerConnector with idleTimeout 2000 ms), with python requests (Debian python3-requests: a fresh
# Session per round, no idle timeout, no retries) and Java 17's java.net.http.HttpClient (a fresh
# client per round) at once, behind a 5 ms one-way-latency link, captured on the server side.
# Each round: a warm GET, a pause of GAP ms after its response, then a GET or a POST on the pooled
# connection; GAP sweeps 1.964-2.036 s in 3 ms steps (25 rounds per client, 5 threads each), so
# some requests cross Jetty's idle-close FIN. The clients log every outcome (ground truth); Jetty
# logs connection open/close and the requests that reached its handler.
# Writes samples/keepalive-race-jetty.pcap and .meta.json (x16j-meta.py checks the capture against
# the logs, and wants races from both clients and a POST among them, else the attempt is redone,
# at most 3 times).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x16j-lib.sh"
x16j_require

SCENARIO=keepalive-race-jetty
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
DELAY_MS=5
IDLE_MS=2000
PORT=8080
NSS=ccx16j-ks
NSC=ccx16j-kc

cc_netns_up "$NSS"
ccb_workdir
ccb_netns_add "$NSC"
ccb_delay_link "$NSC" "$NSS" "$DELAY_MS"
x16j_compile
x16j_jetty "$NSS" "$CCB_SERVER_IP" "$PORT" "$IDLE_MS"
mapfile -t SOFTWARE < <(x16j_software; echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency")
BASE="http://$CCB_SERVER_IP:$PORT"
GAPS=$(seq -s, 1964 3 2036)
for attempt in 1 2 3; do
  rm -f "$CCB_WORK/py.log" "$CCB_WORK/java.log"
  : >"$CCB_WORK/server.log.tmp"; grep '"started"' "$CCB_WORK/server.log" >"$CCB_WORK/server.log.tmp" || true
  cat "$CCB_WORK/server.log.tmp" >"$CCB_WORK/server.log"
  ccb_capture_start "$NSS" ccbs "$OUT" "tcp port $PORT"
  x16j_java "$NSC" sweep "$BASE" "$CCB_WORK/java.log" 5 j ${GAPS//,/ } &
  JAVA_PID=$!
  sleep 0.3
  ip netns exec "$NSC" timeout 50 "$X16J_PY" "$X16J_PROGRAMS/x16j-pool-client.py" sweep --base "$BASE" \
    --log "$CCB_WORK/py.log" --gaps-ms "$GAPS" --threads 5 --tag p --max-seconds 40 || true
  wait "$JAVA_PID" || true
  sleep 2.5   # Jetty's idle closes of the last connections, and the clients' FINs
  cc_capture_stop
  if python3 "$X16J_PROGRAMS/x16j-meta.py" keepalive-race --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
      --server-log "$CCB_WORK/server.log" --client-log "$CCB_WORK/py.log" "$CCB_WORK/java.log" --server-port "$PORT" \
      --set serverIdleTimeout="$((IDLE_MS / 1000))" --set oneWayDelayMs="$DELAY_MS" \
      --capture-side "server (tun ccbs in the server namespace)" \
      --description "The keep-alive race against Eclipse Jetty 9.4.57 (embedded, Debian libjetty9-java; one ServerConnector with idleTimeout=2000 ms) with python requests 2.28 / urllib3 1.26 (Debian; a fresh requests.Session per round: no pool idle timeout, no retries) and Java 17's java.net.http.HttpClient (a fresh client per round, HTTP/1.1) at once. 5 ms one-way latency, captured on the server side. Each round: a warm GET, then after a pause of 1.964-2.036 s (3 ms steps) a GET or a POST on the pooled connection. Jetty closes an idle connection about 2.001 s (2.000-2.002 s) after its last response by shutting its output only (FIN); a request that crosses that FIN is ACKed by the kernel, read and dropped by Jetty (no response, no RST) and the connection ends when the client closes its side (Jetty then closes). requests raises ConnectionError ('Connection aborted.', RemoteDisconnected); HttpClient fails a POST with IOException 'HTTP/1.1 header parser received no bytes' and sends a GET again on a new connection (the application sees 200). A request sent after the FIN reached the client goes on a new connection in both clients (urllib3 and HttpClient's pool see the dropped connection): no error." \
      --software "${SOFTWARE[@]}"; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
grep -h '"error"' "$CCB_WORK/py.log" "$CCB_WORK/java.log" || true
# X16J_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
[ -n "${X16J_LOG_DIR:-}" ] && { mkdir -p "$X16J_LOG_DIR"; cp "$CCB_WORK"/*.log "$X16J_LOG_DIR/"; }
exit 0
