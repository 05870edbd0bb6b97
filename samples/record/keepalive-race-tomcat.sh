#!/usr/bin/env bash
# The keep-alive race against Tomcat 10 (NIO connector, keepAliveTimeout="2000": an idle
# keep-alive connection is closed 2 s after its last response) with python requests.Session,
# whose pool has no idle timeout: 5 ms one-way latency, captured on the server side. Probe rounds
# measure when Tomcat's idle close reaches the client; race rounds send a GET or a POST a few ms
# before that (it crosses the FIN: Tomcat has closed, its kernel answers RST or, at times, ACKs
# the request and drops it; requests raises ConnectionError "Connection aborted." RemoteDisconnected), and one round 20 ms after the FIN
# arrived (urllib3 sees the dropped connection and reconnects: no error).
# Writes samples/keepalive-race-tomcat.pcap and .meta.json (x9-meta.py checks the capture against
# the client's log and Tomcat's access log, else the attempt is redone).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
cc_require python3 tcpdump tshark ip java javac

SCENARIO=keepalive-race-tomcat
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
DELAY_MS=5
KEEPALIVE_MS=2000

x9_delay_setup ccx9-kt-c ccx9-kt-s "$DELAY_MS"
x9_tomcat ccx9-kt-s "$CCB_SERVER_IP" 8082 "keepAliveTimeout=\"$KEEPALIVE_MS\" connectionTimeout=\"20000\" maxKeepAliveRequests=\"100\""
mapfile -t SOFTWARE < <(x9_software_tomcat; echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency")
for attempt in 1 2 3; do
  : >"$X9_WORK/client.log"
  ccb_capture_start ccx9-kt-s ccbs "$OUT" "tcp port 8082"
  ip netns exec ccx9-kt-c timeout 40 python3 "$X9_PROGRAMS/x9-pool-client.py" --lib requests \
    --base "http://$CCB_SERVER_IP:8082" --probes 2 --rounds GET:6,POST:6,GET:8,POST:8,GET:-20 --tag t \
    --log "$X9_WORK/client.log" || true
  cc_capture_stop
  if python3 "$X9_PROGRAMS/x9-meta.py" keepalive-race --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
      --client-log "$X9_WORK/client.log" --access-log "$X9_WORK/tomcat/logs/access.log" --server-port 8082 \
      --server-name Tomcat --set serverIdleTimeout="$((KEEPALIVE_MS / 1000))" --set oneWayDelayMs="$DELAY_MS" \
      --description "The keep-alive race against Tomcat 10 (NIO connector, keepAliveTimeout=2000 ms, connectionTimeout=20000 ms) with python requests.Session, whose pool has no idle timeout and no retries by default. 5 ms one-way latency, captured on the server side. GETs and POSTs sent a few ms before Tomcat's idle-close FIN reaches the client cross it: Tomcat has closed the connection; its kernel answers RST, or (Tomcat's NIO close at times leaves the socket open for reading a moment longer) ACKs the request and drops it, no RST; either way the client raises ConnectionError ('Connection aborted.', RemoteDisconnected). One GET sent 20 ms after the FIN arrived: urllib3 finds the connection dropped, opens a new one, no error." \
      --software "${SOFTWARE[@]}"; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
  : >"$X9_WORK/tomcat/logs/access.log"
done
grep -v '"DEBUG"' "$X9_WORK/client.log" || true
cat "$X9_WORK/tomcat/logs/access.log"
