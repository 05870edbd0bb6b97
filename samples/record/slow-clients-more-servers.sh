#!/usr/bin/env bash
# slow-clients-more-servers: slow-clients-server-timeouts.sh's slow clients against four more servers,
# all on the namespace's loopback, all in one capture. Each server is visited at once by five
# raw-socket clients (programs/x26s-slow-clients.py: x25s-slow-clients.py's four kinds plus one):
#   slow-head     the request line itself sent 4 bytes every 0.3 s, never finished
#   slow-headers  the request line and Host in one write, then the rest of the head 4 bytes every
#                 0.3 s, never finished
#   slow-body     a whole PUT head (Content-Length: 100000), 4 body chunks of 1000 bytes 0.3 s apart,
#                 then nothing
#   silent        connects, sends nothing
#   keepalive     8 normal requests (GETs, one small PUT) 0.6 s apart on one kept-alive connection,
#                 closed by the client
# Every client gives up after 8 s (it closes), whether or not the server did anything.
# Servers (the name in the clients' URLs in brackets: long enough that no request line is whole
# before the 2 s header timeouts):
#   127.0.0.1:8081  Apache httpd 2.4, event MPM (apache-httpd): mod_reqtimeout `RequestReadTimeout
#                   header=2 body=2` (no MinRate: the whole head within 2 s of the accept, the body
#                   within 2 s once reading it began); mod_reqtimeout never waits less than 1 s in a
#                   read, so it notices a passed deadline at the first read that ends after it (the
#                   next trickled chunk). PUT /upload/ goes to a CGI (mod_cgid) that reads the body.
#                   Apache's default AcceptFilter (TCP_DEFER_ACCEPT on Linux) keeps a connection
#                   that sends nothing in the kernel, unaccepted, for ~30 s.
#   127.0.0.1:8082  Go net/http (programs/x26s-go-server.go, go-nethttp): ReadHeaderTimeout 2s,
#                   ReadTimeout 3s, both from the accept; a head timeout is answered by net/http
#                   itself, a body timeout by the handler (408).
#   127.0.0.1:8083  HAProxy 2.6 (haproxy), mode http, `timeout http-request 2s` with
#                   `option http-buffer-request` (so it covers the body too), in front of a second
#                   instance of the Go server (127.0.0.1:9083, not captured). HAProxy answers 408
#                   itself.
#   127.0.0.1:8084  lighttpd 1.4 (lighttpd): server.max-read-idle = 2 (an idle timer between two
#                   reads, checked once a second); PUT /upload/ goes to a CGI.
# Ground truth: the clients' JSON lines; Apache's access log (%{remote}p, status, request) and error
# log (AH01382 "Request header/body read timeout"); the Go server's event log (read-error i/o timeout
# per client port, request/response); HAProxy's log (stderr, one line per request or timed-out
# connection: port, status, termination state, Ta); lighttpd's access log and error log
# (debug.log-request-handling: "connection closed - read timeout: FD"), its fds mapped to client ports
# by `ss -tanp` snapshots taken 1 s and 7.5 s into the run (which also show Apache's unaccepted
# SYN-RECV). programs/x26s-meta.py checks them against the capture (exit 1, no meta, when they
# disagree). Bounded: each client at most 8 s; at most 3 attempts of ~10 s.
# Writes samples/slow-clients-more-servers.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-c.sh"
source "$HERE/lib-apache.sh"
cc_require apache2 haproxy lighttpd go python3 tcpdump tshark ip ss

SCENARIO=slow-clients-more-servers
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
APACHE_PORT=8081
GO_PORT=8082
HAPROXY_PORT=8083
LIGHTTPD_PORT=8084
BACKEND_PORT=9083
APACHE_HEADER=2
APACHE_BODY=2
GO_READ_HEADER=2
GO_READ=3
HAPROXY_HTTP_REQUEST=2
LIGHTTPD_READ_IDLE=2
ATTEMPTS=3

cc_netns_up "$(cc_c_ns x26s)"
ccb_workdir
WORK="$CCB_WORK"

(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$WORK/x26s-go-server" "$CC_C_PROGRAMS/x26s-go-server.go")

# Static files and CGIs for Apache and lighttpd; upload.sh reads the body and answers 201 with a
# Content-Length (lighttpd passes it on; Apache 2.4 drops it and sends the answer chunked).
cca_docroot "$WORK/www"
printf '#!/bin/sh\ncat >/dev/null\nprintf '"'"'Status: 201 Created\\r\\nContent-Type: text/plain\\r\\nContent-Length: 7\\r\\n\\r\\nstored\\n'"'"'\n' \
  >"$WORK/www/cgi-bin/upload.sh"
chmod 755 "$WORK/www/cgi-bin/upload.sh"

cca_apache_conf "$WORK/apache.conf" "$WORK" "Listen 127.0.0.1:$APACHE_PORT" \
  "LoadModule reqtimeout_module /usr/lib/apache2/modules/mod_reqtimeout.so" \
  "RequestReadTimeout header=$APACHE_HEADER body=$APACHE_BODY" \
  "LogFormat \"%{remote}p %>s %D %{%s}t.%{usec_frac}t %X %k \\\"%r\\\"\" x26s" \
  "CustomLog $WORK/apache-x26s.log x26s" \
  "ScriptAliasMatch ^/upload/ $WORK/www/cgi-bin/upload.sh" \
  "AliasMatch ^/ok/ $WORK/www/index.html"

cat >"$WORK/haproxy.cfg" <<CONF
global
  log stderr format raw local0 info
defaults
  mode http
  log global
  # accept time, client, status, termination state, TR/Tw/Tc/Tr/Ta (ms), bytes to the client, bytes
  # from it, request line (<BADREQ> when there was none)
  log-format "%Ts.%ms %ci:%cp %ST %tsc %TR/%Tw/%Tc/%Tr/%Ta %B %U \"%r\""
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  timeout http-request ${HAPROXY_HTTP_REQUEST}s
  option http-buffer-request
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be
backend be
  server go 127.0.0.1:$BACKEND_PORT
CONF

cca_lighttpd_conf "$WORK/lighttpd.conf" "$WORK" "$LIGHTTPD_PORT" 5
cat >>"$WORK/lighttpd.conf" <<CONF
server.modules += ( "mod_rewrite" )
server.max-read-idle = $LIGHTTPD_READ_IDLE
# Its read-timeout lines ("connection closed - read timeout: FD") come with this one.
debug.log-request-handling = "enable"
accesslog.format = "%{remote}p %s %D %{end:msec}t %k %X \"%r\""
url.rewrite-once = ( "^/upload/" => "/cgi-bin/upload.sh", "^/ok/" => "/index.html" )
CONF

# snapshot FILE: every TCP socket of the namespace with its owner's fd (ss -tanp), after a time line.
snapshot() {
  { python3 -c 'import time; print(f"# t={time.time():.6f}")'; ip netns exec "$CC_NS" ss -tanpH; } >"$1"
}

attempt() {
  rm -f "$WORK"/{apache-access,apache-error,apache-x26s,lighttpd-access,lighttpd-error,haproxy,go,backend,clients}.log \
    "$WORK"/snap-*.txt
  cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
  local apache_pid="$CC_LAST_PID"
  cc_bg "$WORK/x26s-go-server" -addr "127.0.0.1:$GO_PORT" -log "$WORK/go.log" \
    -read-header-timeout "${GO_READ_HEADER}s" -read-timeout "${GO_READ}s"
  local go_pid="$CC_LAST_PID"
  cc_bg "$WORK/x26s-go-server" -addr "127.0.0.1:$BACKEND_PORT" -log "$WORK/backend.log" \
    -read-header-timeout "${GO_READ_HEADER}s" -read-timeout "${GO_READ}s"
  local backend_pid="$CC_LAST_PID"
  cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
  local haproxy_pid="$CC_LAST_PID"
  cc_bg lighttpd -D -f "$WORK/lighttpd.conf"
  local lighttpd_pid="$CC_LAST_PID"
  local p
  for p in "$APACHE_PORT" "$GO_PORT" "$BACKEND_PORT" "$HAPROXY_PORT" "$LIGHTTPD_PORT"; do cc_wait_port "$p"; done
  cc_c_capture_start "$OUT" "tcp port $APACHE_PORT or tcp port $GO_PORT or tcp port $HAPROXY_PORT or tcp port $LIGHTTPD_PORT"
  local pids=() s
  for s in apache-httpd:$APACHE_PORT go-nethttp:$GO_PORT haproxy:$HAPROXY_PORT lighttpd:$LIGHTTPD_PORT; do
    ip netns exec "$CC_NS" timeout 20 "$CC_C_PY" "$CC_C_PROGRAMS/x26s-slow-clients.py" --server "${s%%:*}" \
      --port "${s##*:}" --log "$WORK/clients.log" &
    pids+=("$!")
  done
  sleep 1; snapshot "$WORK/snap-early.txt"
  sleep 6.5; snapshot "$WORK/snap-late.txt"
  for s in "${pids[@]}"; do wait "$s" || true; done
  cc_c_capture_stop
  ccb_stop "$lighttpd_pid"
  ccb_stop "$haproxy_pid" USR1
  ccb_stop "$backend_pid"
  ccb_stop "$go_pid"
  ccb_stop "$apache_pid"
  # X26S_KEEP=DIR keeps each attempt's logs and capture (for a look at a refused attempt).
  if [ -n "${X26S_KEEP:-}" ]; then mkdir -p "$X26S_KEEP/$try"; cp "$OUT" "$WORK"/*.log "$WORK"/snap-*.txt "$X26S_KEEP/$try/" || true; fi
  "$CC_C_PY" "$CC_C_PROGRAMS/x26s-meta.py" --scenario "$SCENARIO" --capture "$OUT" \
    --out "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --work "$WORK" \
    --ports "apache-httpd=$APACHE_PORT,go-nethttp=$GO_PORT,haproxy=$HAPROXY_PORT,lighttpd=$LIGHTTPD_PORT" \
    --configured "{\"apacheRequestReadTimeoutHeader\": $APACHE_HEADER, \"apacheRequestReadTimeoutBody\": $APACHE_BODY, \"goReadHeaderTimeout\": $GO_READ_HEADER, \"goReadTimeout\": $GO_READ, \"haproxyTimeoutHttpRequest\": $HAPROXY_HTTP_REQUEST, \"lighttpdMaxReadIdle\": $LIGHTTPD_READ_IDLE}" \
    --software "$(apache2 -v | sed -n 's/^Server version: //p') event MPM, mod_reqtimeout (RequestReadTimeout header=$APACHE_HEADER body=$APACHE_BODY), mod_cgid for PUT /upload/, default AcceptFilter (TCP_DEFER_ACCEPT)" \
    --software "$(go version | cut -d' ' -f3) net/http (programs/x26s-go-server.go: ReadHeaderTimeout ${GO_READ_HEADER}s, ReadTimeout ${GO_READ}s; a body timeout answered 408 by the handler)" \
    --software "$(haproxy -v | head -1 | cut -d' ' -f1-3) (mode http, timeout http-request ${HAPROXY_HTTP_REQUEST}s, option http-buffer-request, timeout client 10s) in front of the Go server" \
    --software "$(lighttpd -v | head -1 | cut -d' ' -f1) (server.max-read-idle = $LIGHTTPD_READ_IDLE, mod_cgi for PUT /upload/)" \
    --software "python $(cc_c_py_version) raw-socket clients (programs/x26s-slow-clients.py on programs/x25s-slow-clients.py)"
}

for try in $(seq 1 "$ATTEMPTS"); do
  if attempt; then exit 0; fi
  echo "record: $SCENARIO: attempt $try did not show the scenario" >&2
done
echo "record: $SCENARIO: no usable recording in $ATTEMPTS attempts" >&2
exit 1
