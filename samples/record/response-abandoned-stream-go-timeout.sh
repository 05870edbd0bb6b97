#!/usr/bin/env bash
# response-abandoned-stream-go-timeout: a Go http.Client{Timeout: 3s} cuts a healthy server-sent
# events stream mid-body (blind round 15 longlived, s18: Client.Timeout 10 s on an SSE stream with an
# event every second, "context deadline exceeded (Client.Timeout or context cancellation while
# reading body)", the client's FIN mid-chunked-body, and conncheck said nothing). A Go net/http
# server (programs/scc-sse-server.go) streams text/event-stream (chunked) with an event every 1.5 s;
# the Go client (programs/scc-sse-client.go, Client.Timeout 4 s) asks for 100 events and is cut
# 4 s after its request, about 1 s after the third event: the server still sending at its pace
# (a silence longer than half a second, within the pauses the stream had already shown). Near miss
# in the same capture, silent: the same client asks for 3 events, reads the stream to its last
# chunk, and 0.5 s later closes its idle keep-alive connection. One namespace, its own loopback. Writes
# samples/response-abandoned-stream-go-timeout.pcap and .meta.json (only when
# programs/scc-meta.py finds the capture and both programs' logs agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require go /usr/bin/python3 tcpdump tshark ip ss

SCENARIO=response-abandoned-stream-go-timeout
TIMEOUT=4
EVERY_MS=1500
ENDED_EVENTS=3
PORT=8088
P="$CC_RECORD_DIR/programs"
WORK="$(mktemp -d)"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
build() { (cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off go build -o "$WORK/$1" "$P/$1.go"); }
build scc-sse-server
build scc-sse-client
cc_netns_up "ccscc-$$"
cc_bg "$WORK/scc-sse-server" "127.0.0.1:$PORT" >"$WORK/server.log"
cc_wait_port "$PORT"
: >"$WORK/client.log"
cc_capture_start "$OUT" "tcp port $PORT"
# Each client run is bounded: the cut one by its own 4 s timeout, the other by its 3 events (3 s);
# timeout(1) ends either if it hangs.
rc=0; cc_in timeout 10 "$WORK/scc-sse-client" "http://127.0.0.1:$PORT/sse?n=100&every=$EVERY_MS&id=cut" "$TIMEOUT" cut >>"$WORK/client.log" || rc=$?
echo "cut exit $rc" >>"$WORK/client.log"
sleep 0.5
rc=0; cc_in timeout 10 "$WORK/scc-sse-client" "http://127.0.0.1:$PORT/sse?n=$ENDED_EVENTS&every=$EVERY_MS&id=ended" "$TIMEOUT" ended >>"$WORK/client.log" || rc=$?
echo "ended exit $rc" >>"$WORK/client.log"
sleep 0.3
cc_capture_stop
cat "$WORK/client.log" "$WORK/server.log"
GO_VERSION="$(go version | cut -d' ' -f3 | sed 's/^go//')"
python3 "$P/scc-meta.py" --capture "$OUT" --meta "$META" --scenario "$SCENARIO" --client-log "$WORK/client.log" \
  --server-log "$WORK/server.log" --timeout "$TIMEOUT" --every "$EVERY_MS" --server "127.0.0.1:$PORT" \
  --software "Go $GO_VERSION net/http server (programs/scc-sse-server.go)" "Go $GO_VERSION net/http client, http.Client{Timeout: ${TIMEOUT}s} (programs/scc-sse-client.go)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
rm -rf "$WORK"
