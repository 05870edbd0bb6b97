#!/usr/bin/env bash
# slow-clients-server-timeouts: servers timing out slow clients. Two servers on the namespace's
# loopback, each visited at once by four raw-socket clients (programs/x25s-slow-clients.py):
#   slow-head  a request head sent 4 bytes every 0.3 s, never finished
#   slow-body  a whole PUT head (Content-Length: 100000), 4 body chunks of 1000 bytes 0.3 s apart,
#              then nothing
#   silent     connects, sends nothing
#   keepalive  8 normal requests (GETs, one small PUT) 0.6 s apart on one kept-alive connection,
#              closed by the client
# Servers:
#   127.0.0.1:8080  Node 20 http.Server (programs/x25s-node-server.js): headersTimeout 2000 ms,
#                   requestTimeout 3000 ms, connectionsCheckingInterval 250 ms (the timer that checks
#                   both; 30 s by default). At a timeout Node writes "HTTP/1.1 408 Request Timeout" with
#                   Connection: close and destroys the socket (FIN); a connection that never sent a
#                   byte is timed out the same way (by headersTimeout).
#   127.0.0.1:8088  nginx (Debian 1.22): client_header_timeout 2s (counted from the accept, for the whole
#                   head), client_body_timeout 2s (between two reads of the body; PUT to a dav_methods
#                   location reads the body). At a timeout nginx closes (FIN) without sending anything;
#                   it logs 408 in its access log for the unfinished request (the error log says
#                   "client timed out" for a head, nothing for a body), and only an error log line for
#                   a connection that sent no byte.
# Ground truth: each client's JSON line (port, bytes sent and when, status line got, FIN/RST and
# when), the Node server's event log (clientError with the socket's remotePort and
# ERR_HTTP_REQUEST_TIMEOUT), nginx's access log ($remote_port $status $request_time ...) and error
# log; programs/x25s-meta.py checks them against the capture (exit 1, no meta, when they disagree).
# Full packets (snaplen 0), a few tens of KB. Bounded: each client at most 8 s; at most 3 attempts.
# Writes samples/slow-clients-server-timeouts.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-c.sh"
cc_require node nginx python3 tcpdump tshark ip

SCENARIO=slow-clients-server-timeouts
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
NODE_PORT=8080
NGINX_PORT=8088
NODE_HEADERS_MS=2000
NODE_REQUEST_MS=3000
NODE_CHECK_MS=250
NGINX_HEADER_TIMEOUT=2
NGINX_BODY_TIMEOUT=2
ATTEMPTS=3

cc_netns_up "$(cc_c_ns x25s)"
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/www/upload"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format x25s '\$remote_port \$status \$request_time \$msec \$connection \$request_completion \$request_length "\$request"';
  access_log $WORK/access.log x25s;
  client_header_timeout ${NGINX_HEADER_TIMEOUT}s;
  client_body_timeout ${NGINX_BODY_TIMEOUT}s;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    location /ok/ { return 200 "ok\n"; }
    location /upload/ { dav_methods PUT; client_max_body_size 1m; }
  }
CONF

attempt() {
  rm -f "$WORK"/{access,error,node,clients}.log "$WORK"/www/upload/*
  cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
  local nginx_pid="$CC_LAST_PID"
  cc_bg node "$CC_C_PROGRAMS/x25s-node-server.js" "$NODE_PORT" 127.0.0.1 "$NODE_HEADERS_MS" "$NODE_REQUEST_MS" \
    "$NODE_CHECK_MS" "$WORK/node.log"
  local node_pid="$CC_LAST_PID"
  cc_wait_port "$NGINX_PORT"
  cc_wait_port "$NODE_PORT"
  cc_c_capture_start "$OUT" "tcp port $NODE_PORT or tcp port $NGINX_PORT"
  local pids=() s
  for s in node:$NODE_PORT nginx:$NGINX_PORT; do
    ip netns exec "$CC_NS" timeout 20 "$CC_C_PY" "$CC_C_PROGRAMS/x25s-slow-clients.py" --server "${s%%:*}" \
      --port "${s##*:}" --log "$WORK/clients.log" &
    pids+=("$!")
  done
  for s in "${pids[@]}"; do wait "$s" || true; done
  cc_c_capture_stop
  ccb_stop "$node_pid"
  ccb_stop "$nginx_pid" QUIT
  cat "$WORK/clients.log" "$WORK/access.log" >&2
  grep -h "\[info\]" "$WORK/error.log" >&2 || true
  python3 "$CC_C_PROGRAMS/x25s-meta.py" --scenario "$SCENARIO" --capture "$OUT" \
    --out "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --client-log "$WORK/clients.log" --node-log "$WORK/node.log" \
    --access-log "$WORK/access.log" --error-log "$WORK/error.log" --node-port "$NODE_PORT" --nginx-port "$NGINX_PORT" \
    --configured "{\"nodeHeadersTimeout\": $(awk "BEGIN{print $NODE_HEADERS_MS/1000}"), \"nodeRequestTimeout\": $(awk "BEGIN{print $NODE_REQUEST_MS/1000}"), \"nodeConnectionsCheckingInterval\": $(awk "BEGIN{print $NODE_CHECK_MS/1000}"), \"nginxClientHeaderTimeout\": $NGINX_HEADER_TIMEOUT, \"nginxClientBodyTimeout\": $NGINX_BODY_TIMEOUT}" \
    --software "node $(cc_c_node_version) http.Server (headersTimeout $NODE_HEADERS_MS, requestTimeout $NODE_REQUEST_MS, connectionsCheckingInterval $NODE_CHECK_MS; keepAliveTimeout 5000 default)" \
    --software "nginx $(dpkg-query -W -f='${Version}' nginx 2>/dev/null || nginx -v 2>&1) (client_header_timeout ${NGINX_HEADER_TIMEOUT}s, client_body_timeout ${NGINX_BODY_TIMEOUT}s; dav_methods PUT for /upload/)" \
    --software "python $(cc_c_py_version) raw-socket clients (programs/x25s-slow-clients.py)"
}

for try in $(seq 1 "$ATTEMPTS"); do
  if attempt; then exit 0; fi
  echo "record: $SCENARIO: attempt $try did not show the scenario" >&2
done
echo "record: $SCENARIO: no usable recording in $ATTEMPTS attempts" >&2
exit 1
