#!/usr/bin/env bash
# Healthy load at volume: wrk (16 keep-alive connections, 2 threads, 2 s, every request paced
# 25 ms by a Lua delay() so the capture stays small) against nginx (keepalive_requests 30:
# nginx answers every 30th request of a connection with "Connection: close" and closes it;
# wrk reconnects). wrk reports no errors; at the end of its duration wrk closes its
# connections. Captured with snaplen 512
# (nginx's response headers whole). Ground truth: wrk's summary and nginx's access log
# ($remote_port $status $connection_requests), checked against the capture by x13-meta.py.
# Writes samples/healthy-load-nginx-wrk.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x13.sh"
cc_require wrk nginx python3 tcpdump tshark ip

SCENARIO=healthy-load-nginx-wrk
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_REQUESTS=30
KEEPALIVE_S=5

cc_netns_up ccx13-nginx-wrk
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/www"
printf '{"item":7,"ok":true}\n' >"$WORK/www/item.json"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format x13 '\$remote_port \$status \$connection_requests';
  access_log $WORK/access.log x13;
  keepalive_timeout ${KEEPALIVE_S}s;
  keepalive_requests ${KEEPALIVE_REQUESTS};
  server {
    listen 127.0.0.1:8080;
    default_type application/json;
    location = /item { alias $WORK/www/item.json; }
  }
CONF
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
x13_wrk_script "$WORK/pace.lua" 25
cc_capture_start "$OUT" "tcp port 8080" -s 512
cc_in timeout 10 wrk -c 16 -t 2 -d 2s -s "$WORK/pace.lua" http://127.0.0.1:8080/item | tee "$WORK/wrk.log"
cc_capture_stop
x13_meta "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --gen "wrk:$WORK/wrk.log" --access-log "$WORK/access.log" \
  --software "wrk 4.1.0" --software "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')" \
  --configured "{\"serverIdleTimeout\": $KEEPALIVE_S, \"keepaliveRequests\": $KEEPALIVE_REQUESTS}" \
  --description "Healthy load: wrk 4.1 (16 keep-alive connections, 2 threads, 2 s, each request paced 25 ms) against nginx (keepalive_requests $KEEPALIVE_REQUESTS, keepalive_timeout ${KEEPALIVE_S}s). nginx sends 'Connection: close' on every ${KEEPALIVE_REQUESTS}th response of a connection and closes it; wrk reconnects. wrk reports no socket errors and no non-2xx; at the end of its run wrk closes its open connections. Snaplen 512. Nothing here is a failure: conncheck must stay silent."
