#!/usr/bin/env bash
# Unanswered requests, Go net/http on both sides: an http.Client with Timeout 1.5 s against an
# http.Server whose handler answers slow requests after 2.2-3 s. At its timeout the client closes
# the connection (FIN: "context deadline exceeded (Client.Timeout exceeded while awaiting
# headers)"); the server's late 200 then meets the closed socket, which resets it. Fast requests
# in between are answered in time. Two slow requests go on reused keep-alive connections.
# Writes samples/unanswered-request-go-client-timeout.pcap and .meta.json (the meta script checks
# the capture shows all that against both programs' logs, else nothing is written).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go python3 tcpdump tshark ip

SCENARIO=unanswered-request-go-client-timeout
PORT=8080
TIMEOUT_S=1.5

cc_netns_up cc-x4-gocto
ccb_workdir
WORK="$CCB_WORK"
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off go build -o "$WORK/go-http" "$CCB_PROGRAMS/go-http.go")
cc_bg "$WORK/go-http" server -addr "127.0.0.1:$PORT" -idle 5s >"$WORK/server.log"
cc_wait_port "$PORT"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port $PORT"
cc_in timeout 30 "$WORK/go-http" client -url "http://127.0.0.1:$PORT" -timeout "${TIMEOUT_S}s" \
  -steps "GET:/fast?sleep=100:0,GET:/report/1?sleep=2500:100,GET:/fast?sleep=50:300,POST:/orders?sleep=3000:100,GET:/report/2?sleep=2200:300,GET:/fast?sleep=20:300" \
  >"$WORK/client.log"
sleep 1.5                       # the last late answer (2.2 s after its request) reaches the closed socket
cc_capture_stop
cat "$WORK/client.log"
python3 "$CCB_PROGRAMS/x4-go-meta.py" client-timeout --capture "$OUT" --meta "$META" --client-log "$WORK/client.log" \
  --server-log "$WORK/server.log" --server "127.0.0.1:$PORT" --timeout "$TIMEOUT_S" \
  --software "$(go version | sed 's/^go version //') net/http (go-http.go server, client)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
