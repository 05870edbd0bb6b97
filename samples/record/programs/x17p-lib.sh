#!/usr/bin/env bash
# Helpers for the recorders of the layer-4 (TCP-mode) proxy samples (round 17p):
# keepalive-race-haproxy-tcp.sh and keepalive-race-nginx-stream.sh. Source after lib.sh (it sources
# lib-b.sh when that is not loaded yet).
#   x17p_require PROXY    cc_require of PROXY (haproxy, nginx) and the other tools; python3-requests
#   x17p_setup PREFIX     namespaces PREFIX-s (server side: proxy and backend; CC_NS) and PREFIX-c
#                         (clients), joined by ccb_delay_link (X17P_DELAY_MS one way; client
#                         10.99.0.1, server side 10.99.0.2); a scratch dir CCB_WORK.
#   x17p_backend          the Node backend (programs/x17p-node-server.js) on 127.0.0.3:9001 with
#                         keepAliveTimeout X17P_BACKEND_KA_MS; log $CCB_WORK/backend.log. Sets X17P_BACKEND_PID.
#   x17p_backend_stop     SIGTERM, wait
#   x17p_haproxy_start    HAProxy -db (foreground) `mode tcp` on 10.99.0.2:8080 → 127.0.0.3:9001 from
#                         source 127.0.0.2, timeout connect/client/server from X17P_HAPROXY_TIMEOUTS;
#                         log (one line per relayed connection, at its end) → $CCB_WORK/proxy.log.
#   x17p_nginx_start      nginx (daemon off, no master) with one `stream` server: listen 10.99.0.2:8080,
#                         proxy_pass 127.0.0.3:9001, proxy_bind 127.0.0.2, proxy_timeout X17P_NGINX_TIMEOUT;
#                         access log $CCB_WORK/proxy.log, error log (info) $CCB_WORK/error.log.
#   x17p_proxy_stop       stop the proxy (HAProxy: SIGUSR1 then SIGTERM; nginx: SIGQUIT then SIGTERM).
#   x17p_clients          in PREFIX-c, at once: x17p-node-lanes.js (4 lanes) and x17p-requests-lanes.py
#                         (4 lanes), 7 rounds each, pauses X17P_GAPS; log $CCB_WORK/client.log.
#   x17p_software         the versions of the backend's and the clients' software and the delay line,
#                         one a line, for the meta (after the proxy's own line)
#   x17p_record SCENARIO START META_ARGS...   the recording, after x17p_setup: backend, START (the
#                         proxy: x17p_haproxy_start or x17p_nginx_start), a capture of both legs on all
#                         interfaces of the server namespace, the clients, and programs/x17p-meta.py with
#                         the logs and META_ARGS (--proxy-kind, --configured, --description...), wanting
#                         3 races; at most 3 attempts. Copies the capture and the meta to the samples.
set -euo pipefail

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X17P_DELAY_MS=${X17P_DELAY_MS:-5}
X17P_BACKEND_KA_MS=${X17P_BACKEND_KA_MS:-10000}
X17P_PROXY_PID=""
X17P_PROXY_KIND=""
X17P_BACKEND_PID=""
X17P_NS_C=""
# The client's pauses (s): 5 outside the race window, 51 from 1.982 to 2.007 s in 0.5 ms steps, in a
# fixed shuffled order, dealt round-robin to each client's 4 lanes of 7 rounds (the Node lanes take
# the even-numbered, the requests lanes the odd-numbered ones).
X17P_GAPS=$(python3 -c "
import random
v = [1.95, 1.965, 1.975, 2.025, 2.05] + [round(1.982 + 0.0005 * k, 4) for k in range(51)]
random.Random(17).shuffle(v)
print(','.join(map(str, v)))")

x17p_require() {
  cc_require "$1" node /usr/bin/python3 python3 tcpdump tshark ip
  /usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }
}

x17p_setup() {
  local prefix="$1"
  cc_netns_up "$prefix-s"
  ccb_workdir
  ccb_netns_add "$prefix-c"
  X17P_NS_C="$prefix-c"
  ccb_delay_link "$prefix-c" "$prefix-s" "$X17P_DELAY_MS"
  cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
}

x17p_backend() {
  cc_bg node "$CCB_PROGRAMS/x17p-node-server.js" --host 127.0.0.3 --port 9001 \
    --keep-alive-timeout "$X17P_BACKEND_KA_MS" --log "$CCB_WORK/backend.log"
  X17P_BACKEND_PID="$CC_LAST_PID"
  cc_wait_port 9001
}

x17p_backend_stop() {
  [ -n "$X17P_BACKEND_PID" ] || return 0
  kill -TERM "$X17P_BACKEND_PID" 2>/dev/null || true
  wait "$X17P_BACKEND_PID" 2>/dev/null || true
  X17P_BACKEND_PID=""
}

# HAProxy's log line (mode tcp, written when the relayed connection ends): accept time (s.ms),
# client address:port, the backend connection's source address:port, Tw/Tc/Tt (ms), bytes to the
# client, bytes from the client, termination state (2 chars: cD = client-side timeout while data
# was being relayed, sD = server-side timeout, --: normal close).
X17P_HAPROXY_LOG='%Ts.%ms %ci:%cp %bi:%bp %Tw/%Tc/%Tt %B %U %ts'

x17p_haproxy_start() {
  cat >"$CCB_WORK/haproxy.cfg" <<CONF
global
  log stderr format raw local0 info
  pidfile $CCB_WORK/haproxy.pid
defaults
  mode tcp
  log global
  log-format "$X17P_HAPROXY_LOG"
${X17P_HAPROXY_TIMEOUTS:-  timeout connect 1s
  timeout client 2s
  timeout server 2s}
frontend fe
  bind $CCB_SERVER_IP:8080
  default_backend be
backend be
  server s1 127.0.0.3:9001 source 127.0.0.2
CONF
  cc_bg haproxy -db -f "$CCB_WORK/haproxy.cfg" 2>"$CCB_WORK/proxy.log"
  X17P_PROXY_PID="$CC_LAST_PID"; X17P_PROXY_KIND=haproxy
  sleep 0.3; kill -0 "$X17P_PROXY_PID" 2>/dev/null || { cat "$CCB_WORK/proxy.log" >&2; echo "record: haproxy did not start" >&2; exit 1; }
  cc_wait_port 8080
}

x17p_nginx_start() {
  mkdir -p "$CCB_WORK/nginx"
  cat >"$CCB_WORK/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
worker_processes 1;
pid $CCB_WORK/nginx.pid;
error_log $CCB_WORK/error.log info;
events { worker_connections 64; }
stream {
  # session end time (s.ms), client address:port, upstream, status, bytes to / from the client,
  # session time (s), upstream connect time (s).
  log_format x17p '\$msec \$remote_addr:\$remote_port \$upstream_addr \$status \$bytes_sent \$bytes_received \$session_time \$upstream_connect_time';
  access_log $CCB_WORK/proxy.log x17p;
  server {
    listen $CCB_SERVER_IP:8080;
    proxy_pass 127.0.0.3:9001;
    proxy_bind 127.0.0.2;
    proxy_connect_timeout 1s;
    proxy_timeout ${X17P_NGINX_TIMEOUT:-2s};
  }
}
CONF
  : >"$CCB_WORK/proxy.log"
  cc_bg nginx -p "$CCB_WORK/nginx" -e "$CCB_WORK/error.log" -c "$CCB_WORK/nginx.conf"
  X17P_PROXY_PID="$CC_LAST_PID"; X17P_PROXY_KIND=nginx
  sleep 0.3; kill -0 "$X17P_PROXY_PID" 2>/dev/null || { cat "$CCB_WORK/error.log" >&2; echo "record: nginx did not start" >&2; exit 1; }
  cc_wait_port 8080
}

x17p_proxy_stop() {
  [ -n "$X17P_PROXY_PID" ] || return 0
  if [ "$X17P_PROXY_KIND" = haproxy ]; then kill -USR1 "$X17P_PROXY_PID" 2>/dev/null || true
  else kill -QUIT "$X17P_PROXY_PID" 2>/dev/null || true; fi
  local i
  for i in $(seq 1 30); do kill -0 "$X17P_PROXY_PID" 2>/dev/null || break; sleep 0.1; done
  kill "$X17P_PROXY_PID" 2>/dev/null || true
  wait "$X17P_PROXY_PID" 2>/dev/null || true
  X17P_PROXY_PID=""
}

x17p_clients() {
  local base="http://$CCB_SERVER_IP:8080" node_gaps py_gaps
  node_gaps=$(python3 -c "import sys; v=sys.argv[1].split(','); print(','.join(v[0::2]))" "$X17P_GAPS")
  py_gaps=$(python3 -c "import sys; v=sys.argv[1].split(','); print(','.join(v[1::2]))" "$X17P_GAPS")
  ip netns exec "$X17P_NS_C" timeout 45 node "$CCB_PROGRAMS/x17p-node-lanes.js" --base "$base" --log "$CCB_WORK/client.log" \
    --lanes 4 --rounds 7 --gaps "$node_gaps" --stagger 0.13 --tag n --max-seconds 40 &
  local node_pid=$!
  sleep 0.065
  ip netns exec "$X17P_NS_C" timeout 45 /usr/bin/python3 "$CCB_PROGRAMS/x17p-requests-lanes.py" --base "$base" --log "$CCB_WORK/client.log" \
    --lanes 4 --rounds 7 --gaps "$py_gaps" --stagger 0.13 --tag p --max-seconds 40 &
  local py_pid=$!
  wait "$node_pid" || true
  wait "$py_pid" || true
}

x17p_software() {
  echo "node $(node -v) (backend: http.Server; clients: http.Agent)"
  echo "python requests $(/usr/bin/python3 -c 'import requests; print(requests.__version__)') (Debian python3-requests; urllib3 $(/usr/bin/python3 -c 'import urllib3; print(urllib3.__version__)'), /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
  echo "user-space delay line (python3, tun) for path latency"
}

x17p_record() {
  local scenario="$1" start="$2" attempt
  shift 2
  local out="$CCB_WORK/$scenario.pcap" meta="$CCB_WORK/$scenario.meta.json"
  for attempt in 1 2 3; do
    rm -f "$CCB_WORK/client.log" "$CCB_WORK/backend.log" "$CCB_WORK"/tcpdump.*
    x17p_backend
    "$start"
    ccb_capture_start "$CC_NS" any "$out" "tcp port 8080 or tcp port 9001" -B 32768
    x17p_clients
    sleep 2.5                       # the proxy's idle close of the last connections
    cc_capture_stop
    x17p_proxy_stop
    x17p_backend_stop
    cat "$CCB_WORK"/tcpdump.* >"$CCB_WORK/tcpdump.log"
    if python3 "$CCB_PROGRAMS/x17p-meta.py" "$scenario" --capture "$out" --meta "$meta" \
        --proxy "$CCB_SERVER_IP:8080" --backend 127.0.0.3:9001 \
        --client-log "$CCB_WORK/client.log" --backend-log "$CCB_WORK/backend.log" --proxy-log "$CCB_WORK/proxy.log" \
        --tcpdump-log "$CCB_WORK/tcpdump.log" --need-races 3 "$@"; then
      break
    fi
    [ "$attempt" = 3 ] && { echo "record: $scenario: no usable recording in 3 attempts" >&2; exit 1; }
  done
  cp "$out" "$meta" "$CC_SAMPLES_DIR/"
  grep '"error"' "$CCB_WORK/client.log" | cut -c1-220 || true
  grep -c . "$CCB_WORK/proxy.log" || true
}
