#!/usr/bin/env bash
# Helpers shared by the WebSocket recorders (websocket-healthy.sh, websocket-idle-proxy-timeout.sh).
# Source after lib.sh and lib-b.sh, with CC_NS up and CCB_WORK made (ccb_workdir).
# Addresses on the namespace's loopback: clients 127.0.0.1, proxies 127.0.0.2, backends 127.0.0.3.
#   x28w_backends              the hand-written Node WebSocket/http server on 127.0.0.3:9001
#                              (x28w-node-server.js, keepAliveTimeout 30 s) and the aiohttp 3.8
#                              server on 127.0.0.3:9002 (x28w-aiohttp-server.py, keepalive_timeout 75 s)
#   x28w_nginx READ_TIMEOUT    nginx 1.22 on 127.0.0.2:8080: /node/ws and /py/ws proxied as WebSockets
#                              (proxy_http_version 1.1, Upgrade and Connection "upgrade" headers set,
#                              proxy_read_timeout READ_TIMEOUT), /node/ and /py/ as plain HTTP through
#                              upstream keepalive pools; sets X28W_NGINX_PID
#   x28w_haproxy TUNNEL_TIMEOUT  HAProxy 2.6 on 127.0.0.2:8081 (mode http, timeout tunnel
#                              TUNNEL_TIMEOUT; /py/ to 9002, the rest to 9001); log to $CCB_WORK/haproxy.log
#   x28w_stop_proxies          nginx and HAProxy stopped by PID
#   x28w_ws NODE|AB URL TAG PLAN   one WebSocket client session in the background (its PID in X28W_CLIENTS)
#   x28w_http BASE TAG GAPS    one Node keep-alive client (paced-keepalive-client.js) in the background
X28W_NGINX_PID=""
X28W_HAPROXY_PID=""
X28W_CLIENTS=()

x28w_backends() {
  cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
  cc_bg node "$CCB_PROGRAMS/x28w-node-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 30000 \
    --log "$CCB_WORK/node-server.log"
  cc_bg /usr/bin/python3 "$CCB_PROGRAMS/x28w-aiohttp-server.py" --host 127.0.0.3 --port 9002 \
    --log "$CCB_WORK/aiohttp-server.log" 2>"$CCB_WORK/aiohttp-server.err"
  cc_wait_port 9001
  cc_wait_port 9002
}

x28w_nginx() {
  local rt="$1"
  ccb_nginx_conf "$CCB_WORK/nginx.conf" <<CONF
  log_format x28w '\$msec \$remote_addr:\$remote_port \$connection \$status \$request_time \$upstream_addr "\$request" up=\$upstream_status';
  access_log $CCB_WORK/nginx-access.log x28w;
  keepalive_timeout 60s;
  upstream node_ka { server 127.0.0.3:9001; keepalive 4; keepalive_timeout 60s; }
  upstream py_ka { server 127.0.0.3:9002; keepalive 4; keepalive_timeout 60s; }
  server {
    listen 127.0.0.2:8080;
    location /node/ws {
      proxy_pass http://127.0.0.3:9001;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout $rt;
    }
    location /py/ws {
      proxy_pass http://127.0.0.3:9002;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout $rt;
    }
    location /node/ { proxy_pass http://node_ka; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /py/ { proxy_pass http://py_ka; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
CONF
  cc_bg nginx -p "$CCB_WORK" -e "$CCB_WORK/error.log" -c "$CCB_WORK/nginx.conf"
  X28W_NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8080
}

x28w_haproxy() {
  local tt="$1"
  cat >"$CCB_WORK/haproxy.cfg" <<CONF
global
  log stderr format raw local0 info
defaults
  mode http
  log global
  option httplog
  # accept time, client, method, URI, status, Tc/Tw/Tr/Ta (ms), total time Tt (ms), termination
  # state, the backend connection's source port, bytes read
  log-format "%Ts.%ms %ci:%cp %HM %HU %ST %Tc/%Tw/%Tr/%Ta %Tt %tsc %bp %B"
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 10s
  timeout tunnel $tt
frontend fe
  bind 127.0.0.2:8081
  use_backend py if { path_beg /py/ }
  default_backend node
backend node
  server n1 127.0.0.3:9001
backend py
  server p1 127.0.0.3:9002
CONF
  ccb_bg "$CC_NS" haproxy -db -f "$CCB_WORK/haproxy.cfg" 2>"$CCB_WORK/haproxy.log"
  X28W_HAPROXY_PID="$CC_LAST_PID"
  sleep 0.3
  kill -0 "$X28W_HAPROXY_PID" 2>/dev/null || { cat "$CCB_WORK/haproxy.log" >&2; echo "record: haproxy did not start" >&2; exit 1; }
  cc_wait_port 8081
}

x28w_stop_proxies() {
  [ -n "$X28W_NGINX_PID" ] && ccb_stop "$X28W_NGINX_PID" QUIT
  X28W_NGINX_PID=""
  if [ -n "$X28W_HAPROXY_PID" ]; then
    kill -USR1 "$X28W_HAPROXY_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 30); do kill -0 "$X28W_HAPROXY_PID" 2>/dev/null || break; sleep 0.1; done
    ccb_stop "$X28W_HAPROXY_PID" TERM
  fi
  X28W_HAPROXY_PID=""
}

x28w_ws() {
  local impl="$1" url="$2" tag="$3" plan="$4"
  echo "{\"tag\":\"$tag\",\"impl\":\"$impl\",\"url\":\"$url\",\"plan\":\"$plan\"}" >>"$CCB_WORK/plans.jsonl"
  if [ "$impl" = NODE ]; then
    cc_in timeout 40 node "$CCB_PROGRAMS/x28w-node-client.js" --url "$url" --tag "$tag" --plan "$plan" \
      --log "$CCB_WORK/ws-clients.log" --max-seconds 35 &
  else
    cc_in timeout 40 /usr/bin/python3 "$CCB_PROGRAMS/x28w-autobahn-client.py" --url "$url" --tag "$tag" --plan "$plan" \
      --log "$CCB_WORK/ws-clients.log" --max-seconds 35 2>>"$CCB_WORK/autobahn.err" &
  fi
  X28W_CLIENTS+=("$!")
}

x28w_http() {
  cc_in timeout 40 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base "$1" --tag "$2" --gaps-ms "$3" --post-every 3 \
    --log "$CCB_WORK/http-$2.log" &
  X28W_CLIENTS+=("$!")
}

# x28w_proxy_software: the versions the proxy recorders' metas name (nginx, HAProxy, Node, aiohttp,
# autobahn), one per element of X28W_SOFTWARE.
x28w_proxy_software() {
  X28W_SOFTWARE=(
    "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian; one worker)"
    "$(haproxy -v | head -1 | cut -d' ' -f1-3)"
    "node $(node -v) (x28w-node-server.js and x28w-node-client.js: WebSocket written by hand on http/net; paced-keepalive-client.js: http.Agent keepAlive)"
    "aiohttp $(/usr/bin/python3 -c 'import aiohttp; print(aiohttp.__version__)') web server (x28w-aiohttp-server.py, /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
    "autobahn $(/usr/bin/python3 -c 'import autobahn; print(autobahn.__version__)') asyncio WebSocket client (x28w-autobahn-client.py)"
  )
}
