#!/usr/bin/env bash
# What the x32 recorders (unanswered-request-tls-client-timeouts.sh, healthy-tls-idle-closes.sh) share. Source
# after lib.sh and lib-b.sh, once cc_netns_up and ccb_workdir have run (CCB_WORK is the scratch folder).
#   x32_addresses           127.0.0.2 (nginx) and 127.0.0.3 (backend) on the namespace's lo
#   x32_cert                a throwaway self-signed ECDSA P-256 certificate in $CCB_WORK (made at record time,
#                           removed with the scratch folder, never committed)
#   x32_nginx_conf KEEPALIVE [H2]
#                           $CCB_WORK/nginx.conf: nginx with TLS listeners on 127.0.0.2:8443 (ssl_protocols
#                           TLSv1.2 TLSv1.3: nginx 1.22's default has no TLS 1.3, it came with 1.23.4; 1.3 is
#                           negotiated; session tickets on, the default) and 127.0.0.2:9443
#                           (ssl_protocols TLSv1.2), plus, with H2=1, 127.0.0.2:8444 (ssl http2, TLS 1.3 only);
#                           keepalive_timeout KEEPALIVE; everything proxied to the backend (HTTP/1.1,
#                           proxy_read_timeout 60s: nginx never cuts first); a JSON access log
#                           ($CCB_WORK/nginx-access.log: $remote_port, $status, $request_time, $ssl_protocol,
#                           $ssl_alpn_protocol, $ssl_session_reused, $http_user_agent) and the error log at info
#   x32_start_servers       the backend (programs/x32-backend.py on 127.0.0.3:9001, log $CCB_WORK/backend.log)
#                           and nginx; X32_BACKEND_PID, X32_NGINX_PID
#   x32_stop_servers        nginx stopped (QUIT), then the backend
#   x32_curl TAG ARGS...    curl -sS -k in the namespace, -w '{"tag":TAG,"curl":%{json}}' per transfer into
#                           $CCB_WORK/curl.log (stderr into curl.err); its TLS secrets into $CCB_WORK/keys.log
#                           (SSLKEYLOGFILE: for the meta writer's check only, never committed)
#   x32_node ARGS...        programs/x32-node-client.js (node --tls-keylog), log $CCB_WORK/node-client.log
#   x32_requests ARGS...    programs/x32-requests-client.py (SSLKEYLOGFILE), log $CCB_WORK/requests-client.log
#   x32_software            SOFTWARE: the exact versions
#   x32_record MODE FILTER LANES
#                           up to 3 attempts, each: the servers up, tcpdump on FILTER into $OUT, the function
#                           LANES (every client lane), the servers down; the first that programs/x32-meta.py
#                           MODE accepts is copied ($OUT, $META) to samples/; none: exit 1. Uses the recorder's
#                           SCENARIO, OUT, META and SOFTWARE; X32_DEBUG_DIR keeps each attempt's capture and logs
set -euo pipefail

X32_PROGRAMS="$CC_RECORD_DIR/programs"
X32_PY=/usr/bin/python3

x32_addresses() {
  cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
}

x32_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$CCB_WORK/key.pem" \
    -out "$CCB_WORK/cert.pem" -days 1 -subj /CN=x32.test -addext "subjectAltName=IP:127.0.0.2" 2>/dev/null
}

x32_nginx_conf() {
  local keepalive="$1" h2="${2:-0}" proxy
  proxy="location / { proxy_pass http://127.0.0.3:9001; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_read_timeout 60s; }"
  {
    cat <<CONF
  log_format x32 escape=json '{"msec":\$msec,"client":"\$remote_addr:\$remote_port","server":"\$server_addr:\$server_port","connection":\$connection,"connectionRequests":\$connection_requests,"request":"\$request","status":\$status,"bytesSent":\$bytes_sent,"requestTime":\$request_time,"completion":"\$request_completion","sslProtocol":"\$ssl_protocol","sslCipher":"\$ssl_cipher","alpn":"\$ssl_alpn_protocol","sessionReused":"\$ssl_session_reused","upstreamStatus":"\$upstream_status","userAgent":"\$http_user_agent"}';
  access_log $CCB_WORK/nginx-access.log x32;
  keepalive_timeout $keepalive;
  ssl_certificate $CCB_WORK/cert.pem;
  ssl_certificate_key $CCB_WORK/key.pem;
  server {
    listen 127.0.0.2:8443 ssl;
    ssl_protocols TLSv1.2 TLSv1.3;
    $proxy
  }
  server {
    listen 127.0.0.2:9443 ssl;
    ssl_protocols TLSv1.2;
    $proxy
  }
CONF
    if [ "$h2" = 1 ]; then
      cat <<CONF
  server {
    listen 127.0.0.2:8444 ssl http2;
    ssl_protocols TLSv1.3;
    $proxy
  }
CONF
    fi
  } | ccb_nginx_conf "$CCB_WORK/nginx.conf"
}

x32_start_servers() {
  cc_bg "$X32_PY" "$X32_PROGRAMS/x32-backend.py" --host 127.0.0.3 --port 9001 --hold 20 --max-seconds 100 \
    >"$CCB_WORK/backend.log" 2>"$CCB_WORK/backend.err"
  X32_BACKEND_PID="$CC_LAST_PID"
  cc_wait_port 9001
  cc_bg nginx -p "$CCB_WORK" -e "$CCB_WORK/error.log" -c "$CCB_WORK/nginx.conf"
  X32_NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8443
  cc_wait_port 9443
}

x32_stop_servers() {
  ccb_stop "$X32_NGINX_PID" QUIT
  sleep 0.3
  ccb_stop "$X32_BACKEND_PID"
}

x32_curl() {
  local tag="$1"; shift
  cc_in env SSLKEYLOGFILE="$CCB_WORK/keys.log" timeout 30 curl -sS -k -w "{\"tag\":\"$tag\",\"curl\":%{json}}\n" "$@" \
    >>"$CCB_WORK/curl.log" 2>>"$CCB_WORK/curl.err" || true
}

x32_node() {
  cc_in timeout 60 node --tls-keylog="$CCB_WORK/keys.log" "$X32_PROGRAMS/x32-node-client.js" \
    --log "$CCB_WORK/node-client.log" "$@" 2>>"$CCB_WORK/node-client.err" || true
}

x32_requests() {
  cc_in env SSLKEYLOGFILE="$CCB_WORK/keys.log" timeout 60 "$X32_PY" "$X32_PROGRAMS/x32-requests-client.py" \
    --log "$CCB_WORK/requests-client.log" "$@" 2>>"$CCB_WORK/requests-client.err" || true
}

x32_software() {
  SOFTWARE=(
    "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian $(dpkg-query -W -f='${Version}' nginx); $(openssl version | cut -d' ' -f1-2); one process; TLS listeners, proxy to the backend over HTTP/1.1, proxy_read_timeout 60s)"
    "Python $($X32_PY -c 'import sys; print(sys.version.split()[0])') http.server ThreadingHTTPServer (programs/x32-backend.py)"
    "$(curl --version | head -1 | cut -d' ' -f1-2) ($(curl --version | head -1 | grep -o 'OpenSSL/[^ ]*'), $(curl --version | head -1 | grep -o 'nghttp2/[^ ]*'))"
    "node $(node -v) https / http2 ($(node -p '"OpenSSL " + process.versions.openssl'); programs/x32-node-client.js, no User-Agent header)"
    "$($X32_PY -c 'import sys, ssl, urllib3, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__} urllib3 {urllib3.__version__} ({ssl.OPENSSL_VERSION})")') (Debian python3-requests; programs/x32-requests-client.py)"
  )
}

x32_record() {
  local mode="$1" filter="$2" lanes="$3" attempt
  for attempt in 1 2 3; do
    rm -f "$CCB_WORK"/*.log "$CCB_WORK"/*.err "$OUT"
    x32_start_servers
    cc_capture_start "$OUT" "$filter"
    "$lanes"
    x32_stop_servers
    cc_capture_stop
    CC_PIDS=()
    if [ -n "${X32_DEBUG_DIR:-}" ]; then
      mkdir -p "$X32_DEBUG_DIR/$attempt"
      cp "$OUT" "$CCB_WORK"/*.log "$CCB_WORK"/*.err "$CCB_WORK"/nginx.conf "$X32_DEBUG_DIR/$attempt/" 2>/dev/null || true
    fi
    if "$X32_PY" "$X32_PROGRAMS/x32-meta.py" "$mode" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$CCB_WORK" \
        --software "${SOFTWARE[@]}"; then
      cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
      return 0
    fi
    echo "record: $SCENARIO: attempt $attempt not usable" >&2
  done
  echo "record: $SCENARIO: no usable recording in 3 attempts" >&2
  exit 1
}
