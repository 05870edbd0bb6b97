#!/usr/bin/env bash
# unanswered-request-tls-late-answers: HTTPS requests given up by their clients at their own timers, whose
# server answers anyway, later, to a socket the client has already closed: the client's kernel resets it.
# On one namespace's loopback (ccx35): a Node 20 https server (programs/x35-server.js: node's https module,
# OpenSSL 3.0, no proxy in front, keep-alive on, a throwaway self-signed ECDSA P-256 certificate made here by
# openssl) with two listeners:
#   127.0.0.2:8443  TLS 1.3 (Node's default maxVersion; OpenSSL's default session tickets: two NewSessionTicket
#                   records right after the handshake, encrypted, i.e. application data on the wire)
#   127.0.0.2:9443  maxVersion TLSv1.2
# GET /ok answers at once; GET /slow?ms=N answers after N ms (setTimeout, then a small JSON body). The server
# runs with --half-open (net allowHalfOpen and the http server's httpAllowHalfOpen): when the client's close
# arrives while a request is pending, Node keeps its own sending side open, answers when its timer fires and
# ends the connection after that answer (Node's default instead aborts the request and ends the socket at once
# on the client's FIN; the late answer is then never written). It logs every request, the client's close
# ('peer-end'), when it answered and whether the write failed.
# Four client lanes from 127.0.0.1, at once; every URL carries c=LANE and a unique id; every timer is shorter
# than the server's delay:
#   a. curl 7.88 --http1.1 --max-time 2 -k to 8443 /slow?ms=3000: 4 requests, one curl (a fresh connection)
#      each (TLS 1.3, ALPN http/1.1); exit 28 at 2 s; curl sends close_notify and FIN;
#   b. Python requests 2.28 (programs/x32-requests-client.py) timeout=(1, 1.5), verify=False, to 9443 (TLS 1.2,
#      ALPN http/1.1): 4 sessions, each GET /ok, then GET /slow?ms=2500 on the same connection: ReadTimeout at
#      1.5 s, urllib3 closes the socket (FIN, no close_notify);
#   c. Go 1.19 net/http (programs/x35-go-client.go, built here) http.Client{Timeout: 2s}, a Transport with HTTP/2
#      off (TLSNextProto an empty map), InsecureSkipVerify, to 8443 /slow?ms=3000: 4 requests, each with its own
#      Transport (a fresh connection); "context deadline exceeded (Client.Timeout exceeded ...)" at 2 s;
#   d. healthy contrast: curl --http1.1 --max-time 5 -k to 8443 /slow?ms=800, twice (answered in time).
# tcpdump captures the client side only (tcp to 127.0.0.2 ports 8443 and 9443). The clients write their TLS
# secrets to a key log in the scratch folder (SSLKEYLOGFILE, Go's KeyLogWriter) that programs/x35-meta.py uses
# to decrypt the capture while it checks it; the key log and the key are never committed. x35-meta.py checks
# for every given-up request: the request record, the client's close at its timer (close_notify? FIN? RST?),
# the server's first application-data record after the request (the late answer, an HTTP 200) after the
# client's close and at the server's delay, and the client's RST right after it; against the clients' logs
# (local port, id, elapsed, error, curl's exit code and -w %{json}) and the server's (answer written, no write
# error). Then it writes samples/unanswered-request-tls-late-answers.pcap and .meta.json, or refuses (at most 3
# attempts). One attempt takes ~15 s. Rerun: sudo bash samples/record/unanswered-request-tls-late-answers.sh
# (X35_DEBUG_DIR=DIR keeps each attempt's capture and logs, never the key log.)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x32-lib.sh"
cc_require node curl go openssl tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=unanswered-request-tls-late-answers
cc_netns_up "${X35_NETNS:-ccx35}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$X32_PROGRAMS"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
x32_cert
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= go build -o "$WORK/x35-go" "$P/x35-go-client.go")

SOFTWARE=(
  "node $(node -v) https server (programs/x35-server.js; $(node -p '"OpenSSL " + process.versions.openssl'); allowHalfOpen + httpAllowHalfOpen; keepAliveTimeout 5 s, the default)"
  "$(curl --version | head -1 | cut -d' ' -f1-2) ($(curl --version | head -1 | grep -o 'OpenSSL/[^ ]*'), $(curl --version | head -1 | grep -o 'nghttp2/[^ ]*'))"
  "$(/usr/bin/python3 -c 'import sys, ssl, urllib3, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__} urllib3 {urllib3.__version__} ({ssl.OPENSSL_VERSION})")') (Debian python3-requests; programs/x32-requests-client.py)"
  "$(go version | cut -d' ' -f3) net/http + crypto/tls (Debian golang-go $(dpkg-query -W -f='${Version}' golang-go); HTTP/2 off; programs/x35-go-client.go)"
)

T13=https://127.0.0.2:8443
T12=https://127.0.0.2:9443

curl_lane() {   # a
  local i
  for i in 1 2 3 4; do x32_curl curl13 --http1.1 --max-time 2 -o /dev/null "$T13/slow?ms=3000&c=curl13&id=a$i"; sleep 0.2; done
}
requests_lane() {   # b
  x32_requests --tag requests --plan '[
    {"urls":["'$T12'/ok?c=requests&id=b1","'$T12'/slow?ms=2500&c=requests&id=b2"],"timeout":[1,1.5]},
    {"urls":["'$T12'/ok?c=requests&id=b3","'$T12'/slow?ms=2500&c=requests&id=b4"],"timeout":[1,1.5]},
    {"urls":["'$T12'/ok?c=requests&id=b5","'$T12'/slow?ms=2500&c=requests&id=b6"],"timeout":[1,1.5]},
    {"urls":["'$T12'/ok?c=requests&id=b7","'$T12'/slow?ms=2500&c=requests&id=b8"],"timeout":[1,1.5]}]'
}
go_lane() {   # c
  cc_in timeout 30 "$WORK/x35-go" -tag go -url "$T13/slow?ms=3000&c=go" -id c -n 4 -timeout 2s -gap 200ms \
    -log "$WORK/go-client.log" -keylog "$WORK/keys.log" 2>>"$WORK/go-client.err" || true
}
healthy_lane() {   # d
  local i
  for i in 1 2; do x32_curl healthy --http1.1 --max-time 5 -o /dev/null "$T13/slow?ms=800&c=healthy&id=d$i"; sleep 0.3; done
}

all_lanes() {
  local lanes=()
  curl_lane & lanes+=("$!")
  (sleep 0.3; requests_lane) & lanes+=("$!")
  (sleep 0.6; go_lane) & lanes+=("$!")
  (sleep 0.9; healthy_lane) & lanes+=("$!")
  wait "${lanes[@]}" || true
  sleep 2   # the last late answers (1 s after the last cuts) and their RSTs
}

for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$OUT"
  cc_bg node "$P/x35-server.js" --host 127.0.0.2 --port13 8443 --port12 9443 --key "$WORK/key.pem" \
    --cert "$WORK/cert.pem" --log "$WORK/server.log" --max-seconds 60 --half-open 2>"$WORK/server.err"
  SERVER_PID="$CC_LAST_PID"
  cc_wait_port 8443
  cc_wait_port 9443
  cc_capture_start "$OUT" "tcp and host 127.0.0.2 and (port 8443 or port 9443)"
  all_lanes
  cc_capture_stop
  ccb_stop "$SERVER_PID"
  CC_PIDS=()
  if [ -n "${X35_DEBUG_DIR:-}" ]; then
    mkdir -p "$X35_DEBUG_DIR/$attempt"
    cp "$OUT" "$WORK"/*.err "$X35_DEBUG_DIR/$attempt/" 2>/dev/null || true
    for f in "$WORK"/*.log; do [ "$(basename "$f")" = keys.log ] || cp "$f" "$X35_DEBUG_DIR/$attempt/"; done
  fi
  if /usr/bin/python3 "$P/x35-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "${SOFTWARE[@]}"; then
    cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
    exit 0
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
done
echo "record: $SCENARIO: no usable recording in 3 attempts" >&2
exit 1
