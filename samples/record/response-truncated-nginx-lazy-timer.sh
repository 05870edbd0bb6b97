#!/usr/bin/env bash
# response-truncated-nginx-lazy-timer (both legs) and response-abandoned-proxy-stall-upstream (the
# same recording, the upstream leg alone): nginx's proxy_read_timeout cuts a chunked response whose
# backend stalls mid-body, and the silence before its FIN is shorter than the setting: nginx moves its
# read timer only for a read 0.3 s or more after it last set it (NGX_TIMER_LAZY_DELAY), so a chunk
# that came sooner did not re-arm it (blind round 14, S3c: `proxy_read_timeout 1700ms`, the FIN
# 1.404 s after the last chunk, 1.704 s after the one before; on the upstream leg alone nothing was
# reported).
# In a namespace, on its loopback: nginx 1.22 on 127.0.0.2:8080 (proxy_buffering off,
# proxy_http_version 1.1 without proxy_set_header Connection, so its upstream requests say
# `Connection: close`; proxy_read_timeout 1700ms) in front of programs/stall-chunks-backend.py on
# 127.0.0.3:9000. curl (from 127.0.0.1) asks, 0.3 s apart:
#   /stall?n=4&gap=0.2  four chunks 0.2 s apart, then silence: nginx's timer, set at the request and
#                       re-armed by the third chunk (0.4 s after it was set), not by the fourth (0.2 s
#                       after): its FIN ~1.5 s after the last chunk, ~1.7 s after the third;
#   /ok?n=3&gap=1.0     three chunks 1 s apart and the last chunk: pauses below the timer, complete;
#   /exit?n=3&gap=0.2   three chunks, then the backend closes mid-body itself: nginx passes the cut on.
# Ground truth: nginx's error log (one "upstream timed out ... while reading upstream"), the backend's
# log (its chunks' times, the peer closing the /stall connection, its own close of /exit), curl's exit
# codes (18, 0, 18). programs/lazy-timer-meta.py checks them against the capture (tshark) and writes
# both samples' meta; the upstream-only pcap is the capture filtered to port 9000.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require nginx curl tcpdump tshark ip python3

SCENARIO=response-truncated-nginx-lazy-timer
UPSTREAM=response-abandoned-proxy-stall-upstream
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
UP_OUT="$CC_SAMPLES_DIR/$UPSTREAM.pcap"
WORK="$(mktemp -d)"
chmod 755 "$WORK"
P="$CC_RECORD_DIR/programs"

cat >"$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 64; }
http {
  access_log $WORK/access.log;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  server {
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://127.0.0.3:9000;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_read_timeout 1700ms;
    }
  }
}
NGINX

cc_netns_up cc-lazy-timer
cc_bg python3 "$P/stall-chunks-backend.py" 127.0.0.3 9000 "$WORK/backend.log"
cc_wait_port 9000
cc_bg nginx -c "$WORK/nginx.conf" -g 'daemon off;'
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9000"
fetch() {
  local rc=0
  cc_in timeout 10 curl -sS -o /dev/null "http://127.0.0.2:8080/$1" 2>>"$WORK/curl.err" || rc=$?
  echo "$1 $rc" >>"$WORK/curl.log"
}
fetch 'stall?n=4&gap=0.2' & C1=$!; sleep 0.3
fetch 'ok?n=3&gap=1.0' & C2=$!; sleep 0.3
fetch 'exit?n=3&gap=0.2' & C3=$!
wait $C1 $C2 $C3 || true
sleep 0.5
cc_capture_stop
tcpdump -r "$OUT" -w "$UP_OUT" 'tcp port 9000' 2>/dev/null
python3 "$P/lazy-timer-meta.py" --capture "$OUT" --upstream-capture "$UP_OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --upstream-meta "$CC_SAMPLES_DIR/$UPSTREAM.meta.json" --error-log "$WORK/error.log" --backend-log "$WORK/backend.log" --curl-log "$WORK/curl.log" \
  --software "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "python3 $(python3 -c 'import sys; print(sys.version.split()[0])') (stall-chunks-backend.py)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
rm -rf "$WORK"
