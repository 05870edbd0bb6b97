#!/usr/bin/env bash
# What the x30 recorders (response-abandoned-client-timeouts.sh, healthy-client-cancels.sh) share. Source
# after lib.sh and lib-b.sh, once cc_netns_up and ccb_workdir have run (CCB_WORK is the scratch folder).
#   x30_addresses           127.0.0.2 (nginx) and 127.0.0.3 (backend) on the namespace's lo
#   x30_nginx_conf          $CCB_WORK/nginx.conf: nginx on 127.0.0.2:8080, a JSON access log
#                           ($CCB_WORK/nginx-access.log), error log at info ($CCB_WORK/error.log),
#                           /static/ from $CCB_WORK/www, everything else proxied to the backend
#                           (upstream keepalive 4, HTTP/1.1, proxy_buffering off, proxy_read_timeout 30s,
#                           proxy_bind 127.0.0.2: the upstream legs come from the proxy's own address)
#   x30_start_servers       the backend (programs/x30-backend.py on 127.0.0.3:9001, log $CCB_WORK/backend.log)
#                           and nginx; X30_BACKEND_PID, X30_NGINX_PID
#   x30_stop_servers        nginx stopped gracefully (QUIT: it closes its idle upstream connections), then
#                           the backend
#   x30_curl TAG ARGS...    curl in the namespace, -w '{"tag":TAG,"curl":%{json}}' per transfer into
#                           $CCB_WORK/curl.log (its stderr into curl.err)
#   x30_node ARGS...        programs/x30-node-client.js in the namespace, log $CCB_WORK/node-client.log
#   x30_software            SOFTWARE: the exact versions
set -euo pipefail

X30_PROGRAMS="$CC_RECORD_DIR/programs"
X30_PY=/usr/bin/python3

x30_addresses() {
  cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
}

x30_nginx_conf() {
  mkdir -p "$CCB_WORK/www/static"
  head -c 1048576 /dev/urandom >"$CCB_WORK/www/static/file.bin"
  ccb_nginx_conf "$CCB_WORK/nginx.conf" <<CONF
  log_format x30 escape=json '{"msec":\$msec,"client":"\$remote_addr:\$remote_port","connection":\$connection,"connectionRequests":\$connection_requests,"request":"\$request","status":\$status,"bytesSent":\$bytes_sent,"bodyBytesSent":\$body_bytes_sent,"completion":"\$request_completion","upstream":"\$upstream_addr","upstreamStatus":"\$upstream_status","upstreamBytesReceived":"\$upstream_bytes_received","requestTime":\$request_time,"userAgent":"\$http_user_agent"}';
  access_log $CCB_WORK/nginx-access.log x30;
  keepalive_timeout 15s;
  upstream backend { server 127.0.0.3:9001; keepalive 4; }
  server {
    listen 127.0.0.2:8080;
    root $CCB_WORK/www;
    location /static/ { }
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 30s;
      proxy_bind 127.0.0.2;
    }
  }
CONF
}

x30_start_servers() {
  cc_bg "$X30_PY" "$X30_PROGRAMS/x30-backend.py" --host 127.0.0.3 --port 9001 --max-seconds 100 \
    >"$CCB_WORK/backend.log" 2>"$CCB_WORK/backend.err"
  X30_BACKEND_PID="$CC_LAST_PID"
  cc_wait_port 9001
  cc_bg nginx -p "$CCB_WORK" -e "$CCB_WORK/error.log" -c "$CCB_WORK/nginx.conf"
  X30_NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8080
}

x30_stop_servers() {
  ccb_stop "$X30_NGINX_PID" QUIT
  sleep 0.3
  ccb_stop "$X30_BACKEND_PID"
}

x30_curl() {
  local tag="$1"; shift
  cc_in timeout 30 curl -sS -w "{\"tag\":\"$tag\",\"curl\":%{json}}\n" "$@" >>"$CCB_WORK/curl.log" 2>>"$CCB_WORK/curl.err" || true
}

x30_node() {
  cc_in timeout 40 node "$X30_PROGRAMS/x30-node-client.js" --log "$CCB_WORK/node-client.log" "$@" 2>>"$CCB_WORK/node-client.err" || true
}

x30_software() {
  SOFTWARE=(
    "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian; one process; proxy_buffering off, upstream keepalive 4, proxy_read_timeout 30s)"
    "Python $($X30_PY -c 'import sys; print(sys.version.split()[0])') http.server ThreadingHTTPServer (programs/x30-backend.py)"
    "$(curl --version | head -1 | cut -d' ' -f1-2)"
    "node $(node -v) http (programs/x30-node-client.js, no User-Agent header)"
  )
}
