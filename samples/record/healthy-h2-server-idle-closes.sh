#!/usr/bin/env bash
# healthy-h2-server-idle-closes: HTTP/2 over TLS where the SERVER closes idle connections while the clients still
# hold them, and no client ever reuses a connection after the server's GOAWAY: healthy, conncheck must stay
# silent. On one namespace's loopback (ccx34h): nginx 1.22 (Debian, OpenSSL 3.0; one process; a throwaway
# self-signed ECDSA P-256 certificate made here by openssl) answering every request itself (return 200, a
# 3-byte text body) on two listeners with `ssl http2`:
#   127.0.0.2:8444  ssl_protocols TLSv1.2 TLSv1.3 (TLS 1.3 is negotiated)
#   127.0.0.2:9444  ssl_protocols TLSv1.2 (TLS 1.2 only)
# and keepalive_timeout 2s, http2_idle_timeout 2s (obsolete since nginx 1.19.7, which warns and uses
# keepalive_timeout: an idle HTTP/2 connection gets nginx's GOAWAY (NO_ERROR), close_notify and FIN 2 s after
# its last stream ended). Clients from 127.0.0.1, the three at once:
#   a. Go 1.19 net/http (programs/x34-go-client.go; http.Transport{ForceAttemptHTTP2, InsecureSkipVerify,
#      KeyLogWriter}): per port 3 transports at once, each: 2 GETs on one HTTP/2 connection, 3.5 s idle (nginx
#      closes it after 2 s), one more GET, which the transport sends on a new connection, then
#      CloseIdleConnections() (the client closes that one);
#   b. Node 20 http2.connect (programs/x34-node-client.js, node --tls-keylog): per port 3 sessions at once,
#      each: 2 GETs, 3.5 s idle while nginx closes (the 'goaway' and 'close' events logged with their times),
#      then one more GET on a new session, which the client closes itself (session.close());
#   c. curl 7.88 --http2 -k, one run per port fetching 2 URLs on one connection; curl closes when it exits
#      (a client-side close, for contrast).
# tcpdump captures the client side (tcp to 127.0.0.2 ports 8444, 9444). The clients write their TLS secrets to
# a key log in the scratch folder (Go KeyLogWriter, node --tls-keylog, curl SSLKEYLOGFILE; never committed)
# that programs/x34-meta.py uses to decrypt the capture (tshark, HTTP/2 dissector) while it checks it against
# the clients' logs and nginx's access log: every request answered (200), who closed each connection first,
# nginx's GOAWAY ~2 s after the last response, what the client sent after nginx's GOAWAY / close_notify / FIN,
# and no request (HEADERS) on a connection after nginx's GOAWAY. Then it writes
# samples/healthy-h2-server-idle-closes.pcap and .meta.json, or refuses (at most 3 attempts, ~15 s each).
# Go is built here from programs/x34-go-client.go (apt-get install -y golang-go).
# Rerun: sudo bash samples/record/healthy-h2-server-idle-closes.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require nginx node curl go openssl tcpdump tshark ip /usr/bin/python3

SCENARIO=healthy-h2-server-idle-closes
P="$CC_RECORD_DIR/programs"
cc_netns_up "${X34_NETNS:-ccx34h}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 1 -subj /CN=x34.test -addext "subjectAltName=IP:127.0.0.2" 2>/dev/null
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= go build -o "$WORK/x34-go" "$P/x34-go-client.go")

ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format x34 escape=json '{"msec":\$msec,"client":"\$remote_addr:\$remote_port","server":"\$server_addr:\$server_port","connection":\$connection,"connectionRequests":\$connection_requests,"request":"\$request","status":\$status,"bytesSent":\$bytes_sent,"sslProtocol":"\$ssl_protocol","alpn":"\$ssl_alpn_protocol","userAgent":"\$http_user_agent"}';
  access_log $WORK/nginx-access.log x34;
  keepalive_timeout 2s;
  http2_idle_timeout 2s;
  ssl_certificate $WORK/cert.pem;
  ssl_certificate_key $WORK/key.pem;
  default_type text/plain;
  server {
    listen 127.0.0.2:8444 ssl http2;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.2:9444 ssl http2;
    ssl_protocols TLSv1.2;
    location / { return 200 "ok\n"; }
  }
CONF

SOFTWARE=(
  "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian $(dpkg-query -W -f='${Version}' nginx); $(openssl version | cut -d' ' -f1-2); one process; listen ssl http2; keepalive_timeout 2s, http2_idle_timeout 2s (obsolete, warned about); return 200)"
  "$(go version | cut -d' ' -f3) net/http (Debian golang-go $(dpkg-query -W -f='${Version}' golang-go); bundled HTTP/2 transport; programs/x34-go-client.go)"
  "node $(node -v) http2 ($(node -p '"OpenSSL " + process.versions.openssl + ", nghttp2 " + process.versions.nghttp2'); programs/x34-node-client.js)"
  "$(curl --version | head -1 | cut -d' ' -f1-2) ($(curl --version | head -1 | grep -o 'OpenSSL/[^ ]*'), $(curl --version | head -1 | grep -o 'nghttp2/[^ ]*'))"
)

U13=https://127.0.0.2:8444
U12=https://127.0.0.2:9444

go_lane() {   # a
  cc_in timeout 40 "$WORK/x34-go" -tag go -url "$U13,$U12" -conns 3 -first 2 -idle 3500ms \
    -log "$WORK/go-client.log" -keylog "$WORK/keys.log" 2>>"$WORK/go-client.err" || true
}
node_lane() {   # b
  cc_in timeout 40 node --tls-keylog="$WORK/keys.log" "$P/x34-node-client.js" --tag node --origins "$U13,$U12" \
    --sessions 3 --requests 2 --idle-ms 3500 --log "$WORK/node-client.log" 2>>"$WORK/node-client.err" || true
}
curl_lane() {   # c
  local u
  for u in "$U13" "$U12"; do
    cc_in env SSLKEYLOGFILE="$WORK/keys.log" timeout 20 curl -sS -k --http2 \
      -w '{"tag":"curl","curl":%{json}}\n' -o /dev/null "$u/ok?c=curl&id=curl-${u##*:}-1" \
      -o /dev/null "$u/ok?c=curl&id=curl-${u##*:}-2" >>"$WORK/curl.log" 2>>"$WORK/curl.err" || true
  done
}
all_lanes() {
  local lanes=()
  go_lane & lanes+=("$!")
  (sleep 0.1; node_lane) & lanes+=("$!")
  (sleep 1; curl_lane) & lanes+=("$!")
  wait "${lanes[@]}" || true
  sleep 0.5
}

for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$OUT"
  cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
  NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8444
  cc_wait_port 9444
  cc_capture_start "$OUT" "tcp and host 127.0.0.2 and (port 8444 or port 9444)"
  all_lanes
  cc_capture_stop
  ccb_stop "$NGINX_PID" QUIT
  CC_PIDS=()
  if [ -n "${X34_DEBUG_DIR:-}" ]; then
    mkdir -p "$X34_DEBUG_DIR/$attempt"
    cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK/nginx.conf" "$X34_DEBUG_DIR/$attempt/" 2>/dev/null || true
  fi
  if /usr/bin/python3 "$P/x34-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "${SOFTWARE[@]}"; then
    cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
    exit 0
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
done
echo "record: $SCENARIO: no usable recording in 3 attempts" >&2
exit 1
