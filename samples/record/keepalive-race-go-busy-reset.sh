#!/usr/bin/env bash
# keepalive-race-go-busy-reset: Go clients racing a busy Go server's idle close, where most raced
# requests get a RST with no FIN before it and Go returns "read: connection reset by peer", not EOF
# (blind round 12, S2). In a namespace, on its loopback: programs/busy-go-server.go (http.Server
# IdleTimeout 2 s; GOMAXPROCS=1 and a spinning goroutine delay its close some ms after the timer)
# on 127.0.0.2:8080; programs/busy-go-client.go from 127.0.0.1: 20 Transports (IdleConnTimeout 90 s)
# reusing every 2 s + 0-25 ms, 6 rounds, GET and POST alternating; httptrace logs what each caller
# got. The race is timing: programs/busy-go-meta.py checks the capture against the log and fails
# when no RST-only race with Go's "connection reset by peer" was caught; the recording is then
# redone (3 attempts at most).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require go tcpdump tshark ip python3

SCENARIO=keepalive-race-go-busy-reset
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
IDLE=2
WORK="$(mktemp -d)"
chmod 755 "$WORK"
P="$CC_RECORD_DIR/programs"
for prog in busy-go-server busy-go-client; do
  (cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= go build -o "$WORK/$prog" "$P/$prog.go")
done

cc_netns_up cc-go-busy-reset
for attempt in 1 2 3; do
  # The server exits by itself after 30 s (bounded); it is ended by its PID after each attempt.
  cc_bg env GOMAXPROCS=1 "$WORK/busy-go-server" -addr 127.0.0.2:8080 -idle "${IDLE}s" -burn 1 -run-for 30s 2>"$WORK/server.log"
  SERVER_PID="$CC_LAST_PID"
  cc_wait_port 8080
  cc_capture_start "$OUT" "tcp port 8080"
  cc_in timeout 40 "$WORK/busy-go-client" -url http://127.0.0.2:8080 -workers 20 -rounds 6 -pause "${IDLE}s" -lo 0 -hi 25ms 2>"$WORK/client.log" || true
  cc_capture_stop
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  if python3 "$P/busy-go-meta.py" --capture "$OUT" --meta "$META" --client-log "$WORK/client.log" --server-log "$WORK/server.log" --idle "$IDLE" \
      --software "$(go version | cut -d' ' -f3) net/http (busy-go-server.go, busy-go-client.go)"; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no RST-only race caught in 3 attempts" >&2; rm -rf "$WORK"; exit 1; }
  sleep 1
done
rm -rf "$WORK"
