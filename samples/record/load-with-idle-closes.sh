#!/usr/bin/env bash
# Load with idle closes: wrk (16 keep-alive connections, 2 threads, 4 s, requests paced 50 ms
# by a Lua delay()) against nginx (keepalive_timeout 1 s, keepalive_requests 1000): after each
# thread's first 80 requests, every connection pauses 1.6 s (longer than nginx's idle
# timeout) before its next request, then load resumes. nginx closes the idle connections with
# a FIN during the pause; wrk sees the FIN (its read returns 0 with no response pending) and
# counts a "read" socket error, then reconnects. Captured with snaplen 512
# (nginx's response headers whole). Ground truth: wrk's summary and nginx's access log
# ($remote_port $status $connection_requests), checked against the capture by x13-meta.py.
# Writes samples/load-with-idle-closes.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x13.sh"
cc_require wrk nginx python3 tcpdump tshark ip

SCENARIO=load-with-idle-closes
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_REQUESTS=1000
KEEPALIVE_S=1

cc_netns_up ccx13-idle
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
x13_wrk_script "$WORK/pace.lua" 50 80 1600 8
cc_capture_start "$OUT" "tcp port 8080" -s 512
cc_in timeout 10 wrk -c 16 -t 2 -d 4s -s "$WORK/pace.lua" http://127.0.0.1:8080/item | tee "$WORK/wrk.log"
cc_capture_stop
x13_meta "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --gen "wrk:$WORK/wrk.log" --access-log "$WORK/access.log" \
  --software "wrk 4.1.0" --software "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')" \
  --configured "{\"serverIdleTimeout\": $KEEPALIVE_S, \"keepaliveRequests\": $KEEPALIVE_REQUESTS}" \
  --description "Load with idle closes: wrk 4.1 (16 keep-alive connections, 2 threads, 4 s, requests paced 50 ms) against nginx (keepalive_timeout ${KEEPALIVE_S}s). After each thread's first 80 requests every connection idles 1.6 s, longer than nginx's idle timeout: nginx closes each idle connection with a FIN, wrk counts a read error for each FIN it reads with no request outstanding and reconnects. Requests sent after a server FIN (none expected: wrk sees the FIN first) would be keep-alive races. Snaplen 512."
