#!/usr/bin/env bash
# Keep-alive races against nginx out of connection slots: nginx 1.22 (one worker, `worker_connections 8`,
# one listener: 7 client connections at most; `keepalive_timeout 60s`) serves a pool of 12 Python
# http.client threads on loopback, each keeping one connection alive and sending a GET every 0.15 s.
# With all its slots taken nginx accepts each new connection by closing its longest-idle keep-alive
# connection (ngx_drain_connections: "8 worker_connections are not enough, reusing connections" in its
# error log); that connection's thread sends its next request on it, gets a RST (RemoteDisconnected or
# ConnectionResetError) and opens a new connection, which closes another one: a chain of races with no
# idle timer behind them (60 s is never reached).
# Writes samples/keepalive-race-nginx-worker-connections.pcap and .meta.json (checked by
# programs/x38w-meta.py against the client's log and nginx's logs; re-recorded, at most 3 times, when
# the recording does not show the scenario).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump tshark ip nginx

SCENARIO=keepalive-race-nginx-worker-connections
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
WORKER_CONNECTIONS=8
THREADS=12
REQUESTS=10
GAP=0.15

cc_netns_up cc-x38w
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/tmp"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections $WORKER_CONNECTIONS; }
http {
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  log_format t '\$msec \$remote_port "\$request" \$status conn=\$connection reqs=\$connection_requests';
  access_log $WORK/access.log t;
  keepalive_timeout 60s;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:8080;
    location / { return 200 "ok\n"; }
  }
}
CONF

# nginx opens its logs for appending: emptying them between attempts leaves it writing at their new end.
cc_bg nginx -p "$WORK" -c "$WORK/nginx.conf"
cc_wait_port 8080
for attempt in 1 2 3; do
  rm -f "$WORK/client.log"
  : >"$WORK/access.log"
  : >"$WORK/error.log"
  cc_capture_start "$OUT" "tcp port 8080"
  cc_in timeout 60 python3 "$CCB_PROGRAMS/x38w-pool.py" --host 127.0.0.1 --port 8080 \
    --threads "$THREADS" --requests "$REQUESTS" --gap "$GAP" --log "$WORK/client.log"
  cc_capture_stop
  if python3 "$CCB_PROGRAMS/x38w-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
      --client-log "$WORK/client.log" --access-log "$WORK/access.log" --error-log "$WORK/error.log" \
      --worker-connections "$WORKER_CONNECTIONS" --threads "$THREADS" --requests "$REQUESTS" --gap "$GAP" \
      --software "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "Python $(python3 -c 'import sys; print(sys.version.split()[0])') http.client"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
  sleep 0.5
done
tshark -r "$OUT" -q -z conv,tcp | tail -5
