#!/usr/bin/env bash
# Keep-alive race on a proxy's upstream leg: nginx (upstream keepalive 8, proxy_http_version 1.1,
# Connection "") in front of a Node http server (keepAliveTimeout 300 ms: Node 20 closes idle
# connections after 1.3 s and announces Keep-Alive: timeout=0). One client keep-alive connection
# to nginx (Node http.Agent, maxSockets 1) sends 40 requests (every second a POST) with think
# times of 1.299-1.303 s (the backend sees about 1 ms more idle), so nginx reuses its pooled
# upstream connection just as the backend's idle timer closes it. (One client only: nginx hands
# out its most recently used pooled connection, so a second client would keep them fresh.) Upstream failures (nginx error log: "upstream prematurely closed
# connection" or "recv() failed (104: Connection reset by peer)") take three forms: the request
# crossed or followed the backend's FIN, or reached the backend as its timer fired (Node closes the
# socket with the request unread: RST, whose ACK covers the request, before any other ACK). nginx
# retries a GET on another upstream connection and answers a POST 502.
# Clients 127.0.0.1 -> nginx 127.0.0.2:8080; nginx 127.0.0.2 -> Node 127.0.0.3:9001.
# Writes samples/keepalive-race-nginx-upstream.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx

SCENARIO=keepalive-race-nginx-upstream
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_MS=300
REQUESTS=40

cc_netns_up cc-x-nup
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/tmp"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format up '\$msec \$remote_port "\$request" \$status ust=\$upstream_status';
  access_log $WORK/access.log up;
  upstream be { server 127.0.0.3:9001; keepalive 8; }
  server {
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_bind 127.0.0.2;
    }
  }
CONF

cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout "$KEEPALIVE_MS" 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
# Whether nginx's reuse meets the backend's close depends on sub-millisecond timing; the whole
# recording is redone (at most 3 times) until it shows every form the scenario claims.
# The closed-on-arrival form is the rarest: the request must arrive between the moment Node's
# timer is due and the moment it runs.
for attempt in 1 2 3; do
  : >"$WORK/error.log"; : >"$WORK/access.log"; rm -f "$WORK/client.log"
  cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
  GAPS=$(python3 -c "import random; random.seed($attempt); print(','.join(str(random.randint(1299, 1303)) for _ in range($REQUESTS - 1)))")
  cc_in node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 2 --log "$WORK/client.log"
  cc_capture_stop
  if python3 "$CCB_PROGRAMS/nginx-upstream-race-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
    --client-log "$WORK/client.log" --error-log "$WORK/error.log" --access-log "$WORK/access.log" \
    --keepalive-ms "$KEEPALIVE_MS"; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
grep -E "prematurely|recv\(\) failed" "$WORK/error.log" || true
