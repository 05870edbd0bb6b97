#!/usr/bin/env bash
# Keep-alive race, crossing form, Apache 2.4 (event MPM, KeepAliveTimeout 1) and Java 17's
# java.net.http.HttpClient behind a 5 ms one-way-latency link, captured on the server side.
# One pair per argument of JavaHttpClients race-pairs, each with a fresh HttpClient: GET /cart.json,
# an idle gap just under the timeout, then a second request on the same pooled connection, which
# crosses Apache's idle FIN. Apache closes with a lingering close (FIN, then reads and drops the
# late request: no RST). HttpClient retries the GETs silently on a new connection; it never
# retries a POST (the caller gets an IOException). A last POST pair idles past the timeout, so
# its POST goes first on a fresh connection a second after a failed POST: not a retry.
# Writes samples/keepalive-race-apache-java.pcap and .meta.json (the meta script checks the
# capture shows all that, else the recording is redone, at most 3 times, and nothing is written).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
cc_require apache2 java javac python3 tcpdump tshark ip

SCENARIO=keepalive-race-apache-java
DELAY_MS=5
KEEPALIVE_S=1
PORT=8081
# Warm-up pairs (JIT, class loading) reuse their connection well within the timeout; the race
# gaps put the second request's arrival within one round trip after Apache's FIN (a request sent
# at gap + ~5 ms after the response was sent reaches the server ~10 ms later).
PAIRS=(GET:200 POST:200 GET:987 GET:990 GET:993 POST:987 POST:990 POST:993 POST:1050)

cc_netns_up cc-x-ajr-s           # server side (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add cc-x-ajr-c         # client side
ccb_delay_link cc-x-ajr-c cc-x-ajr-s "$DELAY_MS"
cca_docroot "$WORK/www"
cca_java_build
cca_apache_conf "$WORK/apache.conf" "$WORK" "Listen $CCB_SERVER_IP:$PORT" "KeepAlive On" \
  "KeepAliveTimeout $KEEPALIVE_S" "MaxKeepAliveRequests 100"
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_wait_port "$PORT"
# Recorded into the scratch directory; samples/ gets the capture and its meta only when they pass.
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"

for attempt in 1 2 3; do
  : >"$WORK/apache-access.log"
  ccb_capture_start cc-x-ajr-s ccbs "$OUT" "tcp port $PORT"
  ip netns exec cc-x-ajr-c timeout 60 java -cp "$CCA_JAVA_CP" JavaHttpClients race-pairs \
    "http://$CCB_SERVER_IP:$PORT" "${PAIRS[@]}" >"$WORK/client.log" || true
  sleep 1.2                      # Apache's idle close of the last connection, if the JVM left it open
  cc_capture_stop
  if python3 "$CCB_PROGRAMS/apache-java-race-meta.py" --capture "$OUT" --meta "$META" \
      --client-log "$WORK/client.log" --access-log "$WORK/apache-access.log" --server "$CCB_SERVER_IP:$PORT" \
      --keepalive-timeout "$KEEPALIVE_S" --delay-ms "$DELAY_MS" --pairs "${PAIRS[@]}" \
      --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM)" \
      "Java $(java -version 2>&1 | head -1 | sed 's/.*version "\([^"]*\)".*/\1/') java.net.http.HttpClient (JavaHttpClients.java race-pairs)"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
cat "$WORK/client.log"
