#!/usr/bin/env bash
# response-truncated-sse-late-write: nginx's proxy_read_timeout cuts server-sent event streams whose
# backend goes silent mid-stream, and the backend writes its next event after nginx has closed the
# upstream connection (blind round 10: that late write was taken for the backend's last byte, and the
# 3 s read timeout was told as a 4 s limit on the whole response).
# In a namespace, on its loopback, both legs captured: nginx 1.22 on 127.0.0.2:8080 (proxy_buffering
# off, proxy_http_version 1.1, proxy_read_timeout 3s) in front of programs/sse-late-backend.py on
# 127.0.0.3:9000. curl -N (from 127.0.0.1) opens three /stall streams 0.5 s apart (three events 0.5 s
# apart, 4 s of silence, then more events) and two /ok streams (an event every 1 s, then the last chunk).
# Ground truth: nginx's error log ("upstream timed out ... while reading upstream"), the backend's write
# log (the late event written, the next one failing), curl's exit codes; programs/sse-late-meta.py
# checks them against the capture and writes the meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require nginx curl tcpdump tshark ip python3

SCENARIO=response-truncated-sse-late-write
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
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
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 3s;
    }
  }
}
NGINX

cc_netns_up cc-sse-late
cc_bg python3 "$P/sse-late-backend.py" 127.0.0.3 9000 "$WORK/backend.log"
cc_wait_port 9000
cc_bg nginx -c "$WORK/nginx.conf" -g 'daemon off;'
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9000"
stream() {
  local rc=0
  cc_in timeout 15 curl -sN -o /dev/null "http://127.0.0.2:8080/$1" || rc=$?
  echo "$1 $rc" >>"$WORK/curl.log"
}
stream stall/1 & C1=$!; sleep 0.5
stream ok/1 & C2=$!; sleep 0.5
stream stall/2 & C3=$!; sleep 0.5
stream ok/2 & C4=$!; sleep 0.5
stream stall/3 & C5=$!
wait $C1 $C2 $C3 $C4 $C5 || true
sleep 2.5  # the backend's late writes and nginx's resets
cc_capture_stop
python3 "$P/sse-late-meta.py" --capture "$OUT" --meta "$META" --error-log "$WORK/error.log" --backend-log "$WORK/backend.log" --curl-log "$WORK/curl.log" \
  --software "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "python3 $(python3 -c 'import sys; print(sys.version.split()[0])') http.server (sse-late-backend.py)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
rm -rf "$WORK"
