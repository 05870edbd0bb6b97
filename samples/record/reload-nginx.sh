#!/usr/bin/env bash
# reload-nginx: nginx 1.22 (Debian; master process and one worker, run in the foreground by this
# recorder) reloaded three times with SIGHUP to its master, a few seconds apart, under steady
# keep-alive load. keepalive_timeout is 60 s: no idle close by timer can happen in the ~10 s of load,
# every close by nginx is a reload's. At each reload the master starts a new worker and tells the old
# one to shut down gracefully (100 ms later): it stops accepting (closes its copy of the listening socket,
# which the master and the new worker keep), closes at once every idle
# kept-alive connection (FIN) and finishes the requests in flight (closing each connection after its
# response). nginx listens on 10.99.0.2:8080 in a server namespace and serves small responses
# (`return 200` for GET, `return 201` for POST /orders) and /slow, proxied to a Node backend on
# 127.0.0.1:9001 (programs/b-http-server.js) that answers after 0.5 s, so requests are in flight at
# each reload. Clients in a client namespace 10 ms one way away (programs/x5-wire.py): four Node
# http.Agent lanes (programs/x26n-node-lanes.js; Node never sends a failed request again) and four
# python requests lanes (programs/x26n-requests-lanes.py; urllib3 Retry(total=1): a failed GET is sent
# again on a new connection, never a POST), one pooled connection each, a request every 50-200 ms
# after the previous response for 10 s, POSTs and /slow among them. A request a client sends while
# nginx's close is on its way (10 ms one way: the request and the FIN cross) meets a closed socket:
# nginx's kernel answers RST. The capture is taken in the server namespace (tun ccbs, port 8080).
# Ground truth: nginx's access log ($msec $pid $remote_port $connection $connection_requests $status
# $request_time ...), its error log (info), the clients' own logs (per request: local port, start and
# end, status or error, attempts and retries) and the reload times; programs/x26n-meta.py checks them
# against the capture and writes samples/reload-nginx.pcap and .meta.json, or refuses (at most 3
# attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require nginx node tcpdump tshark ip ps /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=reload-nginx
NSS=${X26N_NETNS:-ccx26n}-s
NSC=${X26N_NETNS:-ccx26n}-c
DELAY_MS=10
P="$CCB_PROGRAMS"
NGINX_PID=""

ccb_delay_namespaces "$NSS" "$NSC" "$DELAY_MS"
WORK="$CCB_WORK"
BASE="http://$CCB_SERVER_IP:8080"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
mkdir -p "$WORK/tmp"

cat >"$WORK/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 256; }
http {
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  log_format x26n '\$msec \$pid \$remote_addr \$remote_port \$connection \$connection_requests \$status \$request_time \$request_length \$bytes_sent "\$request"';
  access_log $WORK/access.log x26n;
  # long enough that no idle connection is closed by its timer during the ~10 s of load
  keepalive_timeout 60s;
  default_type application/json;
  server {
    listen $CCB_SERVER_IP:8080;
    location / { return 200 '{"ok":true}\n'; }
    location /orders { return 201 '{"created":true}\n'; }
    location /slow { proxy_pass http://127.0.0.1:9001; }
  }
}
CONF

ccb_before_cleanup() {   # the nginx master this recorder started (its workers follow it), by PID
  [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null || true
}

workers() { ps -o pid= --ppid "$NGINX_PID" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }

x26n_reload() {          # x26n_reload N: SIGHUP to the master; logs the old workers and the new one
  local before after new i t
  before=$(workers)
  t=$(date +%s.%N)
  kill -HUP "$NGINX_PID"
  new=""
  for i in $(seq 1 100); do
    after=$(workers)
    new=$(comm -13 <(tr ' ' '\n' <<<"$before" | sort) <(tr ' ' '\n' <<<"$after" | sort) | tr '\n' ' ' | sed 's/ $//')
    [ -n "$new" ] && break
    sleep 0.01
  done
  echo "{\"event\":\"reload\",\"n\":$1,\"t\":$t,\"master\":$NGINX_PID,\"workersBefore\":[${before// /,}],\"newWorkers\":[${new// /,}],\"seenAt\":$(date +%s.%N)}" >>"$WORK/reloads.log"
}

cc_bg node "$P/b-http-server.js" --host 127.0.0.1 --port 9001 --keep-alive-timeout 30000 2>"$WORK/backend.log"
cc_wait_port 9001

for attempt in 1 2 3; do
  rm -f "$WORK"/access.log "$WORK"/error.log "$WORK"/reloads.log "$WORK"/node.log "$WORK"/requests.log "$WORK"/tcpdump.* "$OUT"
  : >"$WORK/backend.log"
  cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
  NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8080
  for i in $(seq 1 50); do [ -n "$(workers)" ] && break; sleep 0.02; done
  echo "{\"event\":\"started\",\"t\":$(date +%s.%N),\"master\":$NGINX_PID,\"workers\":[$(workers | tr ' ' ',')]}" >>"$WORK/reloads.log"
  ccb_capture_start "$NSS" ccbs "$OUT" "tcp port 8080" -B 32768
  ip netns exec "$NSC" timeout 30 node "$P/x26n-node-lanes.js" --base "$BASE" --log "$WORK/node.log" --lanes 4 \
    --seconds 10 --seed "$attempt" --tag n --max-seconds 25 &
  node_pid=$!
  ip netns exec "$NSC" timeout 30 /usr/bin/python3 "$P/x26n-requests-lanes.py" --base "$BASE" --log "$WORK/requests.log" \
    --lanes 4 --seconds 10 --seed "$attempt" --tag p --max-seconds 25 &
  py_pid=$!
  sleep 2.5
  x26n_reload 1
  sleep 3
  x26n_reload 2
  sleep 3
  x26n_reload 3
  wait "$node_pid" || true
  wait "$py_pid" || true
  sleep 0.5
  cc_capture_stop
  ccb_stop "$NGINX_PID" TERM
  NGINX_PID=""
  if [ -n "${X26N_DEBUG_DIR:-}" ]; then
    mkdir -p "$X26N_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK/nginx.conf" "$X26N_DEBUG_DIR/$attempt/" || true
  fi
  if /usr/bin/python3 "$P/x26n-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" --delay-ms "$DELAY_MS" \
      --software "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian; master + 1 worker)" \
        "node $(node -v) (x26n-node-lanes.js: http.Agent keepAlive, maxSockets 1; b-http-server.js backend)" \
        "python requests $(/usr/bin/python3 -c 'import requests, urllib3; print(f"{requests.__version__} (urllib3 {urllib3.__version__}; Retry(total=1))")') (x26n-requests-lanes.py, /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))" \
        "user-space delay line (samples/record/programs/x5-wire.py, tun), 10 ms one way"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
