#!/usr/bin/env bash
# Connection churn from a Go client that does pool: 8 workers share one http.Client whose
# Transport keeps Go's default MaxIdleConnsPerHost (2) idle connections per host, against a Go
# http.Server that keeps connections alive. Each round the 8 requests run at once on up to 8
# connections; after their responses the Transport keeps 2 idle and closes the others, so most
# requests pay a new connection while 2 connections carry many requests.
# What conncheck must say: connection-churn, naming the pool's idle room (MaxIdleConnsPerHost).
# Writes samples/connection-churn-go-maxidleconns.pcap and .meta.json (checked by x4-go-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go python3 tcpdump tshark ip

SCENARIO=connection-churn-go-maxidleconns
PORT=8080

cc_netns_up cc-x4-gochurn
ccb_workdir
WORK="$CCB_WORK"
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off go build -o "$WORK/go-http" "$CCB_PROGRAMS/go-http.go")
cc_bg "$WORK/go-http" server -addr "127.0.0.1:$PORT" -idle 30s >"$WORK/server.log"
cc_wait_port "$PORT"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
STEPS="$(python3 -c "print(','.join(f'GET:/items/{i}?sleep=5:30' for i in range(6)))")"
cc_capture_start "$OUT" "tcp port $PORT"
cc_in timeout 30 "$WORK/go-http" client -url "http://127.0.0.1:$PORT" -par 8 -maxidle 0 -steps "$STEPS" >"$WORK/client.log"
cc_capture_stop
python3 "$CCB_PROGRAMS/x4-go-meta.py" churn --capture "$OUT" --meta "$META" --client-log "$WORK/client.log" \
  --server-log "$WORK/server.log" --server "127.0.0.1:$PORT" \
  --software "$(go version | sed 's/^go version //') net/http: http.Client (Transport MaxIdleConnsPerHost default 2), http.Server (go-http.go)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
