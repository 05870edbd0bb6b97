#!/usr/bin/env bash
# Load with keep-alive races: wrk (16 keep-alive connections, 2 threads, 4 s, requests paced
# 50 ms by a Lua delay()) against nginx (keepalive_timeout 1 s): after each thread's first 80
# requests every connection idles 1.0 s (exactly nginx's idle timeout) before its next request.
# nginx's timer and wrk's requests meet: some requests cross nginx's FIN (reset), some reach
# the socket just as nginx closes it with the request unread (reset, no FIN: closed on
# arrival); the other connections are closed idle (FIN) before wrk writes. wrk counts a read
# error for each FIN it reads and each reset, and reconnects. Captured with snaplen 512
# (nginx's response headers whole). Ground truth: wrk's summary and nginx's access log; the
# races (reused connections whose last request went unanswered, closed first by nginx) are
# taken from the capture and checked against both by x13-meta.py.
# Writes samples/load-with-keepalive-races.pcap and .meta.json. X13_IDLE_CLOSES=1 records
# load-with-idle-closes instead (see that wrapper): the same with a 1.6 s pause.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x13.sh"
cc_require wrk nginx python3 tcpdump tshark ip

SCENARIO=load-with-keepalive-races
PAUSE_MS=1000
NS=ccx13-races
DESCRIPTION="Load with keep-alive races: wrk 4.1 (16 keep-alive connections, 2 threads, 4 s, requests paced 50 ms) against nginx (keepalive_timeout 1s). After each thread's first 80 requests every connection idles 1.0 s, exactly nginx's idle timeout: some requests cross nginx's FIN or reach the socket as nginx closes it (reset, unanswered: keep-alive races, one expected finding each), other connections are closed idle before wrk writes (wrk counts a read error for those too, but nothing failed on them). Snaplen 512."
if [ "${X13_IDLE_CLOSES:-0}" = 1 ]; then
  SCENARIO=load-with-idle-closes
  PAUSE_MS=1600
  NS=ccx13-idle
  DESCRIPTION="Load with idle closes: wrk 4.1 (16 keep-alive connections, 2 threads, 4 s, requests paced 50 ms) against nginx (keepalive_timeout 1s). After each thread's first 80 requests every connection idles 1.6 s, longer than nginx's idle timeout: nginx closes each idle connection with a FIN, wrk counts a read error for each FIN it reads with no request outstanding and reconnects. Requests sent after a server FIN (none expected: wrk sees the FIN first) would be keep-alive races. Snaplen 512."
fi
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_REQUESTS=1000
KEEPALIVE_S=1

cc_netns_up "$NS"
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
x13_wrk_script "$WORK/pace.lua" 50 80 "$PAUSE_MS" 8
cc_capture_start "$OUT" "tcp port 8080" -s 512
cc_in timeout 10 wrk -c 16 -t 2 -d 4s -s "$WORK/pace.lua" http://127.0.0.1:8080/item | tee "$WORK/wrk.log"
cc_capture_stop
x13_meta "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --gen "wrk:$WORK/wrk.log" --access-log "$WORK/access.log" \
  --software "wrk 4.1.0" --software "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')" \
  --configured "{\"serverIdleTimeout\": $KEEPALIVE_S, \"keepaliveRequests\": $KEEPALIVE_REQUESTS}" \
  --description "$DESCRIPTION"
