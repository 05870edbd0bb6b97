#!/usr/bin/env bash
# The keep-alive race with Go 1.19's net/http client (http.DefaultTransport's settings:
# IdleConnTimeout 90 s) against a Go http.Server with IdleTimeout 2 s (no Keep-Alive header:
# Go's server sends none), which closes idle keep-alive connections 2 s after the last response.
# 5 ms one-way latency, captured on the server side. Probe rounds measure when the server's FIN
# reaches the pooled connection; race rounds send a GET, a POST, or a POST with an
# Idempotency-Key header a few ms before that (the request crosses the FIN, the closed socket
# answers RST). Go's Transport sends a replayable request that failed on a reused connection
# before any response byte again on a new connection (GET, and a POST with Idempotency-Key and
# GetBody): the application sees a 200; a plain POST fails with EOF. One round sends 30 ms after
# the FIN arrived (the Transport had dropped the connection: a new one, no error).
# Writes samples/keepalive-race-go-client.pcap and .meta.json (x11-meta.py checks the capture
# against the client's httptrace log and the server's log, else writes nothing and the attempt is
# redone).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x11.sh"
cc_require go python3 tcpdump tshark ip

SCENARIO=keepalive-race-go-client
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
DELAY_MS=5
IDLE_S=2

x11_delay_setup ccx11-gc-c ccx11-gc-s "$DELAY_MS"
x11_go_build
ccb_bg ccx11-gc-s "$X11_WORK/go-http" server -addr "$CCB_SERVER_IP:8080" -idle "${IDLE_S}s" >"$X11_WORK/server.log"
ccb_wait_port ccx11-gc-s 8080
SOFTWARE=("$(x11_software_go)" "Go http.Server (IdleTimeout ${IDLE_S}s; programs/go-http.go server)" \
  "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency")
DESCRIPTION="The keep-alive race with Go 1.19's net/http client (a clone of http.DefaultTransport: IdleConnTimeout 90 s) against a Go http.Server with IdleTimeout 2 s (no Keep-Alive header), which closes idle keep-alive connections 2 s after the last response. 5 ms one-way latency, captured on the server side. Probe rounds measure when the server's FIN reaches the pooled connection; race rounds send a GET, a POST, or a POST with an Idempotency-Key header 3 or 6 ms before that: the request crosses the FIN and the closed socket answers RST. Go's Transport sends a replayable request that failed on a reused connection before any response byte again on a new connection (the GETs, and the POSTs with Idempotency-Key, whose body http.NewRequest can get again): httptrace shows a second GotConn and the application gets 200; a plain POST fails with 'Post ...: EOF'. One round sends 30 ms after the FIN arrived: the Transport had dropped the connection, opened a new one, no error."
for attempt in 1 2 3; do
  : >"$X11_WORK/client.log"; : >"$X11_WORK/server.log"
  ccb_capture_start ccx11-gc-s ccbs "$OUT" "tcp port 8080"
  ip netns exec ccx11-gc-c timeout 40 "$X11_WORK/x11-go-client" -url "http://$CCB_SERVER_IP:8080" -probes 3 \
    -rounds GET:3,POST:3,POSTIK:3,GET:6,POST:6,POSTIK:6,GET:-30 -tag g -max-seconds 35 >"$X11_WORK/client.log" || true
  cc_capture_stop
  if python3 "$X11_PROGRAMS/x11-meta.py" keepalive-race --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
      --client-log "$X11_WORK/client.log" --server-log "$X11_WORK/server.log" --server-name "Go http.Server" --require-retry \
      --description "$DESCRIPTION" --set serverIdleTimeout="$IDLE_S" --set oneWayDelayMs="$DELAY_MS" --software "${SOFTWARE[@]}"; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
grep -v '"connected"\|"connReadError"' "$X11_WORK/client.log" || true
