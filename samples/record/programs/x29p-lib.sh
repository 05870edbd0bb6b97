#!/usr/bin/env bash
# Helpers of response-truncated-proxy-stall.sh. Source after lib.sh, lib-b.sh, lib-apache.sh and
# lib-apache-proxy.sh, with CC_NS up and CCB_WORK made (ccb_workdir).
# Addresses on the namespace's loopback: clients 127.0.0.1, proxies 127.0.0.2 (listening, and the
# source address of their upstream connections), the backend 127.0.0.3:9001.
#   x29p_backend STALL_S        programs/x29p-backend.py on 127.0.0.3:9001 (log $CCB_WORK/backend.log)
#   x29p_nginx READ_TIMEOUT     nginx 1.22 on 127.0.0.2:8080: upstream keepalive pool (keepalive 4,
#                               proxy_http_version 1.1, Connection ""), proxy_bind 127.0.0.2,
#                               proxy_read_timeout READ_TIMEOUT (access log nginx-access.log, error.log)
#   x29p_haproxy SERVER_TIMEOUT HAProxy 2.6 on 127.0.0.2:8081: mode http, timeout server SERVER_TIMEOUT,
#                               timeout client 30s, source 127.0.0.2, X29P_HAPROXY_OPTIONS added to its
#                               defaults (log haproxy.log)
#   x29p_apache PROXY_TIMEOUT   Apache 2.4 mod_proxy_http on 127.0.0.2:8082: ProxyTimeout PROXY_TIMEOUT,
#                               ProxySourceAddress 127.0.0.2 (apache-error.log, proxy-access.log)
#   x29p_stop_servers           the proxies and the backend stopped by PID
#   x29p_curl TAG BASE PATH...  one curl in the background fetching BASE/PATH?id=TAG-N on one connection
#                               (-w '%{json}' per transfer to curl-TAG.jsonl, stderr to curl-TAG.err,
#                               exit code to curl-TAG.rc)
#   x29p_node TAG BASE PATHS GAPS   programs/x29p-node-client.js in the background (node-clients.log)
#   x29p_py LIB TAG BASE PATHS GAPS programs/x29p-py-client.py (requests|httpclient) in the background
#                               (py-clients.log)
X29P_NGINX_PID=""
X29P_HAPROXY_PID=""
X29P_APACHE_PID=""
X29P_BACKEND_PID=""
X29P_CLIENTS=()

x29p_backend() {
  cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
  cc_bg /usr/bin/python3 "$CCB_PROGRAMS/x29p-backend.py" --host 127.0.0.3 --port 9001 --stall "$1" \
    --log "$CCB_WORK/backend.log" --max-seconds 120 2>"$CCB_WORK/backend.err"
  X29P_BACKEND_PID="$CC_LAST_PID"
  cc_wait_port 9001
}

x29p_nginx() {
  local rt="$1"
  ccb_nginx_conf "$CCB_WORK/nginx.conf" <<CONF
  log_format x29p '\$msec \$remote_addr:\$remote_port conn=\$connection n=\$connection_requests \$status sent=\$body_bytes_sent t=\$request_time "\$request" up=\$upstream_addr upstatus=\$upstream_status upt=\$upstream_response_time';
  access_log $CCB_WORK/nginx-access.log x29p;
  keepalive_timeout 30s;
  upstream backend { server 127.0.0.3:9001; keepalive 4; keepalive_timeout 30s; }
  server {
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_bind 127.0.0.2;
      proxy_connect_timeout 2s;
      proxy_read_timeout $rt;
    }
  }
CONF
  cc_bg nginx -p "$CCB_WORK" -e "$CCB_WORK/error.log" -c "$CCB_WORK/nginx.conf"
  X29P_NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8080
}

x29p_haproxy() {
  local st="$1"
  cat >"$CCB_WORK/haproxy.cfg" <<CONF
global
  log stderr format raw local0 info
defaults
  mode http
  log global
  option httplog
  # accept time, client, method, URI, status, Tc/Tw/Tr/Ta (ms), total time Tt (ms), termination
  # state, the backend connection's source port, bytes read from the server
  log-format "%Ts.%ms %ci:%cp %HM %HU %ST %Tc/%Tw/%Tr/%Ta %Tt %tsc %bp %B"
  timeout connect 2s
  timeout client 30s
  timeout server $st
  timeout http-keep-alive 10s
  ${X29P_HAPROXY_OPTIONS:-}
frontend fe
  bind 127.0.0.2:8081
  default_backend be
backend be
  server b1 127.0.0.3:9001 source 127.0.0.2
CONF
  ccb_bg "$CC_NS" haproxy -db -f "$CCB_WORK/haproxy.cfg" 2>"$CCB_WORK/haproxy.log"
  X29P_HAPROXY_PID="$CC_LAST_PID"
  sleep 0.3
  kill -0 "$X29P_HAPROXY_PID" 2>/dev/null || { cat "$CCB_WORK/haproxy.log" >&2; echo "record: haproxy did not start" >&2; exit 1; }
  cc_wait_port 8081
}

x29p_apache() {
  local pt="$1"
  ccp_apache_proxy_conf "$CCB_WORK/apache.conf" "Listen 127.0.0.2:8082" "ProxySourceAddress 127.0.0.2" \
    "ProxyTimeout $pt" "ProxyPass / http://127.0.0.3:9001/"
  cc_bg apache2 -f "$CCB_WORK/apache.conf" -DFOREGROUND
  X29P_APACHE_PID="$CC_LAST_PID"
  cc_wait_port 8082
}

x29p_stop_servers() {
  [ -n "$X29P_NGINX_PID" ] && ccb_stop "$X29P_NGINX_PID" QUIT
  X29P_NGINX_PID=""
  [ -n "$X29P_HAPROXY_PID" ] && ccb_stop "$X29P_HAPROXY_PID" TERM
  X29P_HAPROXY_PID=""
  # apache2 -DFOREGROUND: SIGTERM to its parent stops the child process too
  [ -n "$X29P_APACHE_PID" ] && ccb_stop "$X29P_APACHE_PID" TERM
  X29P_APACHE_PID=""
  [ -n "$X29P_BACKEND_PID" ] && ccb_stop "$X29P_BACKEND_PID" TERM
  X29P_BACKEND_PID=""
}

x29p_curl() {
  local tag="$1" base="$2" n=0 p
  shift 2
  local args=(curl -sS --max-time 20 -w '%{json}\n')
  for p in "$@"; do
    n=$((n + 1))
    args+=(-o /dev/null "$base$p?id=$tag-$n")
  done
  (
    rc=0
    cc_in "${args[@]}" >"$CCB_WORK/curl-$tag.jsonl" 2>"$CCB_WORK/curl-$tag.err" || rc=$?
    echo "$rc" >"$CCB_WORK/curl-$tag.rc"
  ) &
  X29P_CLIENTS+=("$!")
}

x29p_node() {
  cc_in timeout 30 node "$CCB_PROGRAMS/x29p-node-client.js" --base "$2" --tag "$1" --paths "$3" --gaps-ms "$4" \
    --log "$CCB_WORK/node-clients.log" --max-seconds 25 2>>"$CCB_WORK/node-clients.err" &
  X29P_CLIENTS+=("$!")
}

x29p_py() {
  cc_in timeout 30 /usr/bin/python3 "$CCB_PROGRAMS/x29p-py-client.py" --lib "$1" --base "$3" --tag "$2" --paths "$4" \
    --gaps-ms "$5" --log "$CCB_WORK/py-clients.log" 2>>"$CCB_WORK/py-clients.err" &
  X29P_CLIENTS+=("$!")
}

# x29p_software: the versions the meta names, one per element of X29P_SOFTWARE.
x29p_software() {
  X29P_SOFTWARE=(
    "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian; one worker; upstream keepalive pool)"
    "$(haproxy -v | head -1 | cut -d' ' -f1-3)"
    "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_proxy_http)"
    "x29p-backend.py: raw HTTP/1.1 server on Python stdlib sockets (/usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
    "$(curl --version | head -1 | cut -d' ' -f1-2)"
    "python requests $(/usr/bin/python3 -c 'import requests; print(requests.__version__)') (urllib3 $(/usr/bin/python3 -c 'import urllib3; print(urllib3.__version__)')) and http.client (x29p-py-client.py)"
    "node $(node -v) http.Agent keepAlive (x29p-node-client.js)"
  )
}
