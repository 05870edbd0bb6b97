#!/usr/bin/env bash
# response-truncated-single-cut: one event stream cut by nginx's proxy_read_timeout, captured on the
# client leg only (blind round 11: a single cut got its finding but no diagnosis, so nothing named the
# proxy's timer or said what to change; one cut infers no timer, and the text must say so).
# In a namespace, on its loopback: nginx 1.22 on 127.0.0.2:8080 (proxy_buffering off,
# proxy_http_version 1.1, proxy_read_timeout 2s) in front of programs/sse-late-backend.py on
# 127.0.0.3:9000. curl -N (from 127.0.0.1) opens one /stall stream (three events 0.5 s apart, then
# 4 s of silence: nginx gives up after 2 s) and, 0.5 s later, one /ok stream (an event every 1 s,
# then the last chunk: the near miss). Only tcp port 8080 is captured, as on the proxy's front.
# Ground truth: nginx's error log ("upstream timed out ... while reading upstream") and curl's exit
# codes; programs/single-cut-meta.py checks them against the capture and writes the meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require nginx curl tcpdump tshark ip python3

SCENARIO=response-truncated-single-cut
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
      proxy_read_timeout 2s;
    }
  }
}
NGINX

cc_netns_up cc-single-cut
cc_bg python3 "$P/sse-late-backend.py" 127.0.0.3 9000 "$WORK/backend.log"
cc_wait_port 9000
cc_bg nginx -c "$WORK/nginx.conf" -g 'daemon off;'
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080"
stream() {
  local rc=0
  cc_in timeout 15 curl -sN -o /dev/null "http://127.0.0.2:8080/$1" || rc=$?
  echo "$1 $rc" >>"$WORK/curl.log"
}
stream stall/1 & C1=$!; sleep 0.5
stream ok/1 & C2=$!
wait $C1 $C2 || true
cc_capture_stop
python3 "$P/single-cut-meta.py" --capture "$OUT" --meta "$META" --error-log "$WORK/error.log" --curl-log "$WORK/curl.log" \
  --software "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "python3 $(python3 -c 'import sys; print(sys.version.split()[0])') http.server (sse-late-backend.py)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
rm -rf "$WORK"
