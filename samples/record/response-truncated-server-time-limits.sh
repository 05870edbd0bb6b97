#!/usr/bin/env bash
# response-truncated-server-time-limits: servers that cut their own responses at a fixed limit, 2 s
# here ("curl: (18) transfer closed with N bytes remaining to read", Go "unexpected EOF", Python
# ChunkedEncodingError / IncompleteRead), on one network namespace's loopback (MTU 1500 and socket
# buffers capped at 64 KB send / 128 KB receive in the namespace, so that a slow reader's truncation
# stays a few hundred KB: on a 64 KB-MTU loopback the kernel's initial send buffer alone takes a
# megabyte or more).
# - Go net/http (Debian golang-go, programs/x29g-go-server.go, stdlib only) on 127.0.0.1:8080 with
#   http.Server{WriteTimeout: 2 * time.Second} and nothing else: the write deadline is set as the
#   request's headers are read. /stream writes 512 bytes every 10 ms with Flush (Content-Length 400 KB,
#   or chunked), returning on the first write error: Go closes the socket (FIN) on its first write
#   after the deadline, ~2.01-2.02 s after the request. /file/ is http.ServeContent of a 1 MB file to
#   slow readers (the Go client reading 8 KB per 100 ms, requests iter_content 8 KB per 100 ms): the
#   blocked sendfile fails at the deadline and Go closes at 2.00 s, but the FIN on the wire trails
#   behind the data still in the send buffer (zero windows).
# - gunicorn 20.1 (Debian), one sync worker, --timeout 2 (programs/x29g-wsgi-app.py) on 8081: a
#   generator yielding 2 KB every 100 ms for 6 s; the arbiter logs "WORKER TIMEOUT", sends SIGABRT,
#   the worker exits mid-body, 2-3 s after the request (heartbeat checked on a 1 s loop).
# - Node 20 http with server.setTimeout(2000) (programs/x29g-node-server.js) on 8082: an inactivity
#   timeout, not a limit since the request: a stream that stalls 4 s is destroyed 2 s after its last
#   write; one with 1.5 s pauses runs 3 s and completes.
# Clients: curl, Go net/http (programs/x29g-go-client.go), Python requests (programs/x29g-requests-
# client.py, with python3's requests/urllib3 2 and with Debian's /usr/bin/python3 requests 2.28 /
# urllib3 1.26, which returns a short Content-Length body without an error). Cut responses, some on a
# keep-alive connection after a complete one; healthy requests inside the limits. Every URL carries
# want=cut or want=ok. Ground truth: the clients' logs (local port, curl's exit code and message, Go's
# error, requests' exception), the Go server's log (handler start, handler error, the time net/http
# called Close on each socket), gunicorn's error log (WORKER TIMEOUT (pid)) and the app's log (the
# generator ended by SystemExit), the Node server's log (last write, socket close);
# programs/x29g-meta.py checks them against the capture (the server's FIN or RST after fewer body bytes
# than declared, or no last chunk) and writes samples/response-truncated-server-time-limits.pcap and
# .meta.json, or refuses (at most 3 attempts). One attempt takes ~25 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go /usr/bin/gunicorn node curl tcpdump tshark ip python3 /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }
python3 -c 'import requests' 2>/dev/null || { echo "record: python3 needs requests" >&2; exit 2; }

SCENARIO=response-truncated-server-time-limits
LIMIT=2
cc_netns_up "${X29G_NETNS:-ccx29g}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$CCB_PROGRAMS"

# An Ethernet-sized MTU and capped socket buffers in this namespace only (see the header).
cc_in ip link set lo mtu 1500
cc_in sysctl -q -w net.ipv4.tcp_wmem="4096 16384 65536" net.ipv4.tcp_rmem="4096 65536 131072"

for prog in server client; do
  (cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= \
    go build -o "$WORK/x29g-go-$prog" "$P/x29g-go-$prog.go")
done
mkdir -p "$WORK/files" "$WORK/app"
python3 -c "import sys; sys.stdout.buffer.write(bytes((i * 7 + 3) % 251 for i in range(1000000)))" >"$WORK/files/f1m.bin"
cp "$P/x29g-wsgi-app.py" "$WORK/app/x29g_wsgi_app.py"

GO=http://127.0.0.1:8080
GU=http://127.0.0.1:8081
NO=http://127.0.0.1:8082
GO_CUT_CL="/stream?total=409600&chunk=512&every=10&cl=1&want=cut"
GO_CUT_CH="/stream?total=409600&chunk=512&every=10&cl=0&want=cut"
GO_OK_ST="/stream?total=61440&chunk=512&every=10&cl=1&want=ok"
GU_CUT_CH="/stream?n=60&size=2048&ms=100&cl=0&want=cut"
GU_CUT_CL="/stream?n=60&size=2048&ms=100&cl=1&want=cut"
GU_OK_ST="/stream?n=5&size=2048&ms=100&cl=0&want=ok"
NO_CUT_CL="/stall?sizes=4096,4096,4096&pauses=300,4000&cl=1&want=cut"
NO_CUT_CH="/stall?sizes=4096,4096,4096&pauses=300,4000&cl=0&want=cut"
NO_OK_ST="/stall?sizes=4096,4096,4096&pauses=1500,1500&cl=1&want=ok"

# The clients: each URL gets &c=TAG, so that no two clients send the same request line (the same URL
# from another program after a failure would look like a retry).
x29g_urls() {
  local tag="$1" a
  shift
  X29G_ARGS=()
  for a in "$@"; do
    case "$a" in http*) X29G_ARGS+=("$a&c=$tag") ;; *) X29G_ARGS+=("$a") ;; esac
  done
}
# x29g_curl TAG URL...: curl in the namespace, one connection for all URLs (keep-alive), -w %{json}
# per transfer into curl-TAG.log, its stderr into curl-TAG.err.
x29g_curl() {
  local tag="$1" u args=()
  shift
  x29g_urls "$tag" "$@"
  for u in "${X29G_ARGS[@]}"; do args+=(-o /dev/null "$u"); done
  cc_in timeout 30 curl -sS -m 20 -w '%{json}\n' "${args[@]}" >>"$WORK/curl-$tag.log" 2>>"$WORK/curl-$tag.err" || true
}
# x29g_go / x29g_py / x29g_py_debian TAG [OPTIONS] URL...: the Go client, requests with python3, with
# Debian's /usr/bin/python3.
x29g_go() {
  local tag="$1"; shift; x29g_urls "$tag" "$@"
  cc_in timeout 30 "$WORK/x29g-go-client" -tag "$tag" -log "$WORK/go-client.log" "${X29G_ARGS[@]}" 2>>"$WORK/go-client.err" || true
}
x29g_py() {
  local tag="$1"; shift; x29g_urls "$tag" "$@"
  cc_in timeout 30 python3 "$P/x29g-requests-client.py" --tag "$tag" --log "$WORK/requests-client.log" "${X29G_ARGS[@]}" 2>>"$WORK/requests-client.err" || true
}
x29g_py_debian() {
  local tag="$1"; shift; x29g_urls "$tag" "$@"
  cc_in timeout 30 /usr/bin/python3 "$P/x29g-requests-client.py" --tag "$tag" --log "$WORK/requests-client.log" "${X29G_ARGS[@]}" 2>>"$WORK/requests-client.err" || true
}

GO_V="$(go env GOVERSION)"
SOFTWARE=(
  "Go $GO_V net/http server (Debian golang-go $(dpkg-query -W -f='${Version}' golang-go); programs/x29g-go-server.go, standard library only: http.Server{WriteTimeout: $LIMIT * time.Second}, every other field zero)"
  "gunicorn $(/usr/bin/gunicorn --version 2>&1 | sed 's/.*version \([0-9.]*\).*/\1/') (Debian, /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())')): one sync worker, --timeout $LIMIT; programs/x29g-wsgi-app.py"
  "node $(node --version) http server (programs/x29g-node-server.js: server.setTimeout($((LIMIT * 1000))), no timeout listeners)"
  "$(curl --version | head -1 | cut -d' ' -f1-2)"
  "Go $GO_V net/http client (programs/x29g-go-client.go)"
  "$(python3 -c 'import sys, urllib3, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__} urllib3 {urllib3.__version__}")') (programs/x29g-requests-client.py)"
  "$(/usr/bin/python3 -c 'import sys, urllib3, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__} urllib3 {urllib3.__version__}")') (Debian python3-requests; programs/x29g-requests-client.py)"
)

# configured, per server: Go's responseTimeLimit (its closes come 2.00-2.02 s after the request: the
# server's own Close calls, and the FINs of the fast readers; the slow readers' FINs trail Go's close by
# the send buffer's drain) and Node's responseStallTimeout (2.000-2.001 s after its last write);
# gunicorn's come 2-3 s after the request, on its arbiter's 1 s tick. X29G_CONFIGURED=0 leaves them out.
CONFIGURED=()
[ "${X29G_CONFIGURED:-1}" = 1 ] && CONFIGURED=(--configured)
for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$OUT"
  : >"$WORK/app.log"
  cc_bg "$WORK/x29g-go-server" -addr 127.0.0.1:8080 -log "$WORK/go-server.log" -dir "$WORK/files" -write-timeout "${LIMIT}s" 2>>"$WORK/go-server.err"
  GO_PID="$CC_LAST_PID"
  X29G_APP_LOG="$WORK/app.log" cc_bg /usr/bin/gunicorn --chdir "$WORK/app" -b 127.0.0.1:8081 -w 1 -k sync --timeout "$LIMIT" \
    --access-logfile "$WORK/access.log" \
    --access-logformat '%(t)s %(h)s:%({REMOTE_PORT}e)s "%(r)s" %(s)s %(b)s %(D)sus pid=%(p)s' \
    --error-logfile "$WORK/error.log" --log-level debug 'x29g_wsgi_app:app'
  GU_PID="$CC_LAST_PID"
  cc_bg node "$P/x29g-node-server.js" --host 127.0.0.1 --port 8082 --timeout $((LIMIT * 1000)) --log "$WORK/node-server.log" 2>>"$WORK/node-server.err"
  NO_PID="$CC_LAST_PID"
  cc_wait_port 8080; cc_wait_port 8081; cc_wait_port 8082
  sleep 1   # gunicorn's worker boots after the arbiter listens
  cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081 or tcp port 8082"
  LANES=()
  # Go server, fast readers (each cut ~2 s)
  (
    x29g_curl g-curl-ka "$GO/ok?size=2048&want=ok" "$GO$GO_CUT_CL"
    x29g_curl g-curl-ch "$GO$GO_CUT_CH"
    x29g_go g-go-ka "$GO/ok?want=ok" "$GO$GO_CUT_CL"
    x29g_go g-go-ch "$GO$GO_CUT_CH"
    x29g_py g-py-ka "$GO/ok?want=ok" "$GO$GO_CUT_CL"
    x29g_py g-py-ch "$GO$GO_CUT_CH"
    x29g_py_debian g-py126-cl "$GO$GO_CUT_CL"
  ) & LANES+=("$!")
  # Go server: slow readers of a 1 MB file, and healthy requests
  (
    x29g_go g-go-slow -slow 8192:100 "$GO/file/f1m.bin?want=cut"
    x29g_curl g-curl-ok "$GO/ok?size=100&want=ok" "$GO$GO_OK_ST" "$GO/ok?size=5000&want=ok"
    x29g_py g-py-slow --slow 8192:100 "$GO/file/f1m.bin?want=cut"
    x29g_go g-go-ok "$GO$GO_OK_ST" "$GO/ok?want=ok"
  ) & LANES+=("$!")
  # gunicorn (one sync worker: one request at a time; a killed worker is replaced)
  (
    x29g_curl u-curl-ok "$GU/ok?want=ok"
    x29g_curl u-curl-ch "$GU$GU_CUT_CH"
    x29g_py u-py-ok "$GU$GU_OK_ST"
    x29g_py u-py-cl "$GU$GU_CUT_CL"
    x29g_go u-go-ch "$GU$GU_CUT_CH"
    x29g_go u-go-ok "$GU/ok?want=ok"
    x29g_curl u-curl-cl "$GU$GU_CUT_CL"
  ) & LANES+=("$!")
  # Node
  (
    x29g_curl n-curl-ka "$NO/ok?want=ok" "$NO$NO_CUT_CL"
    x29g_go n-go-ch "$NO$NO_CUT_CH"
    x29g_go n-go-ok "$NO$NO_OK_ST" "$NO/ok?want=ok"
    x29g_py n-py-ka "$NO/ok?want=ok" "$NO$NO_CUT_CL"
    x29g_curl n-curl-ch "$NO$NO_CUT_CH"
  ) & LANES+=("$!")
  wait "${LANES[@]}" || true
  sleep 0.5
  cc_capture_stop
  ccb_stop "$GO_PID"; ccb_stop "$GU_PID"; ccb_stop "$NO_PID"
  CC_PIDS=()
  if [ -n "${X29G_DEBUG_DIR:-}" ]; then
    mkdir -p "$X29G_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$X29G_DEBUG_DIR/$attempt/" 2>/dev/null || true
  fi
  if /usr/bin/python3 "$P/x29g-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" --limit "$LIMIT" \
      "${CONFIGURED[@]}" \
      --setup "lo MTU 1500; net.ipv4.tcp_wmem 4096 16384 65536 and tcp_rmem 4096 65536 131072 in the namespace, so that a slow reader's cut stays a few hundred KB" \
      --software "${SOFTWARE[@]}"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
