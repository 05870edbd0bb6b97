#!/usr/bin/env bash
# rst-on-close-go-early-answer: a Go 1.19 net/http server (programs/go-early-answer-server.go,
# standard library only) answers POST /upload with 413 before reading the body (the handler sets
# Connection: close and writes the 413 without touching r.Body). The announced 20 MiB body is over
# net/http's 256 KiB drain limit, so the server does not read it: it flushes, half-closes
# (CloseWrite: FIN), sleeps rstAvoidanceDelay (500 ms) without reading and closes; the request
# bytes that arrived meanwhile lie unread, so its kernel sends RST. A python raw-socket client
# (programs/go-early-answer-client.py) sends the request head, then streams the body in 64 KiB
# writes every 20 ms while reading: it keeps sending after the FIN until the server's window
# (SO_RCVBUF 32 KiB) is full, and its send fails after the RST. Three such uploads, then one
# keep-alive connection with two 2 KB POST /small, read completely and answered 200, closed by the
# client with FINs (must stay clean). Server-side loopback capture in the recorder's namespace.
# Bounded: the build takes a few seconds, one attempt ~4 s; at most 3 attempts, until
# programs/go-early-answer-meta.py accepts the capture (FIN, client data, then RST on each upload).
# Writes samples/rst-on-close-go-early-answer.pcap and .meta.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-b.sh"
. "$here/lib-c.sh"
cc_require go tcpdump tshark ip
scenario=rst-on-close-go-early-answer
port=8080
uploads=3
body_bytes=$((20 * 1024 * 1024))
chunk=65536
pace_ms=20
rcvbuf=32768
small_bytes=2048
small_requests=2

cc_netns_up "$(cc_c_ns "$scenario")"
ccb_workdir
work="$CCB_WORK"
# Built as the other Go recorders build (lib-x11.sh x11_go_build): GOPATH mode, no modules, scratch caches.
(cd "$work" && GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$work/go-early-answer-server" "$CC_C_PROGRAMS/go-early-answer-server.go")

out="$work/$scenario.pcap"
meta="$work/$scenario.meta.json"
configured="{\"requestBodyBytes\": $body_bytes, \"clientChunkBytes\": $chunk, \"clientPaceMs\": $pace_ms, \"serverRcvBuf\": $rcvbuf, \"goRstAvoidanceDelayMs\": 500, \"goMaxPostHandlerReadBytes\": 262144, \"uploads\": $uploads, \"smallBodyBytes\": $small_bytes, \"smallRequests\": $small_requests}"
go_v="$(go env GOVERSION)"
software_server="Go $go_v net/http server (Debian golang-go $(dpkg-query -W -f='${Version}' golang-go 2>/dev/null || echo '?'); programs/go-early-answer-server.go, standard library only: http.Server with every timeout zero, SO_RCVBUF $rcvbuf on the listener; /upload answers 413 + Connection: close without reading the body)"
software_client="python $(cc_c_py_version) raw-socket client (programs/go-early-answer-client.py: request head, then ${chunk}-byte send() calls every $pace_ms ms with a reader thread; /small: keep-alive POSTs)"

for attempt in 1 2 3; do
  : >"$work/server.log"
  : >"$work/client.log"
  cc_bg "$work/go-early-answer-server" -addr "127.0.0.1:$port" -log "$work/server.log" -rcvbuf "$rcvbuf" -lifetime 60s
  server_pid="$CC_LAST_PID"
  cc_wait_port "$port"
  cc_c_capture_start "$out" "tcp port $port"
  for i in $(seq 1 "$uploads"); do
    cc_c_run 15 "$CC_C_PY" "$CC_C_PROGRAMS/go-early-answer-client.py" upload --port "$port" \
      --body-bytes "$body_bytes" --chunk "$chunk" --pace-ms "$pace_ms" --timeout 5 --max-seconds 8 >>"$work/client.log" || true
    sleep 0.2
  done
  cc_c_run 10 "$CC_C_PY" "$CC_C_PROGRAMS/go-early-answer-client.py" small --port "$port" \
    --small-bytes "$small_bytes" --count "$small_requests" --pace-ms "$pace_ms" --timeout 5 >>"$work/client.log" || true
  sleep 0.2
  cc_c_capture_stop
  ccb_stop "$server_pid"
  cat "$work/client.log"
  if "$CC_C_PY" "$CC_C_PROGRAMS/go-early-answer-meta.py" --scenario "$scenario" --capture "$out" \
      --client-log "$work/client.log" --server-log "$work/server.log" --configured "$configured" \
      --out "$meta" --software "$software_server" --software "$software_client"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $scenario: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$out" "$CC_SAMPLES_DIR/$scenario.pcap"
cp "$meta" "$CC_SAMPLES_DIR/$scenario.meta.json"
