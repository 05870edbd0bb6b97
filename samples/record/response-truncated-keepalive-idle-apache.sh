#!/usr/bin/env bash
# A cut that no timer made, beside one a timer made (blind round 17, appservers s13/s13b).
# Apache 2.4 (event MPM, mod_cgid) on 127.0.0.1:8080 with KeepAliveTimeout 2 and Timeout 10: the CGI
# /cgi-bin/early-exit.sh waits 0.2 s, writes its header and a first line, and exits 20 ms later without reading the
# 100-byte POST body it was sent. mod_cgid's read of its output is reset (error log AH00574
# "ap_content_length_filter: apr_bucket_read() failed", at the moment the body stops; access log 200):
# Apache ends the chunked response without its last chunk, takes it for finished, and closes the
# connection only when KeepAliveTimeout runs out, 2 s after the last byte, as it closes the connections
# that sit idle after a whole response (two more clients here). Two such cuts: one on a reused
# connection, one on a fresh one.
# Near miss on the same capture: nginx on 127.0.0.1:8081 (keepalive_timeout 2s, two idle closes) in front
# of programs/cutidle-stall-backend.py (127.0.0.1:9000, not captured), which stalls 5 s after its first
# chunk: nginx's proxy_read_timeout 3s cuts the body 3 s after its last byte, a real stall timer on a
# server whose idle closes come at 2 s: not its keep-alive timer.
# Clients: programs/cutidle-client.py (python http.client). Writes
# samples/response-truncated-keepalive-idle-apache.pcap and .meta.json (only when programs/cutidle-meta.py's
# checks against Apache's and nginx's logs pass).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
cc_require apache2 nginx python3 tcpdump tshark ip

SCENARIO=response-truncated-keepalive-idle-apache
cc_netns_up cc-cutidle
ccb_workdir
WORK="$CCB_WORK"
P="$CCB_PROGRAMS"
cca_docroot "$WORK/www"
printf '#!/bin/sh\nsleep 0.2\nprintf '"'"'Content-Type: text/plain\\r\\n\\r\\nok\\n'"'"'\nsleep 0.02\n' >"$WORK/www/cgi-bin/early-exit.sh"
chmod 755 "$WORK/www/cgi-bin/early-exit.sh"
cca_apache_conf "$WORK/apache.conf" "$WORK" "Listen 127.0.0.1:8080" \
  "StartServers 1" "ServerLimit 1" "ThreadsPerChild 8" "MaxRequestWorkers 8" "MinSpareThreads 1" "MaxSpareThreads 8" \
  "KeepAlive On" "KeepAliveTimeout 2" "Timeout 10"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/nginx-access.log;
  server {
    listen 127.0.0.1:8081;
    keepalive_timeout 2s;
    location / { return 200 "hello\n"; }
    location /stall {
      proxy_pass http://127.0.0.1:9000;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_read_timeout 3s;
    }
  }
CONF

cc_bg python3 "$P/cutidle-stall-backend.py" 9000 5 >"$WORK/backend.log"
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_bg nginx -p "$WORK" -c "$WORK/nginx.conf"
cc_wait_port 9000; cc_wait_port 8080; cc_wait_port 8081
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081"
C="$P/cutidle-client.py"
CL=()
# Apache: a cut on a reused connection, two idle closes, a cut on a fresh connection.
cc_in python3 "$C" 127.0.0.1 8080 GET:/index.html sleep:0.3 POST:/cgi-bin/early-exit.sh >"$WORK/client1.log" & CL+=("$!")
cc_in python3 "$C" 127.0.0.1 8080 GET:/index.html sleep:2.6 close >"$WORK/client2.log" & CL+=("$!")
cc_in python3 "$C" 127.0.0.1 8080 sleep:0.2 GET:/cart.json sleep:2.6 close >"$WORK/client3.log" & CL+=("$!")
cc_in python3 "$C" 127.0.0.1 8080 sleep:1.0 POST:/cgi-bin/early-exit.sh >"$WORK/client4.log" & CL+=("$!")
# nginx: two idle closes and a stall cut by proxy_read_timeout.
cc_in python3 "$C" 127.0.0.1 8081 GET:/ sleep:2.6 close >"$WORK/client5.log" & CL+=("$!")
cc_in python3 "$C" 127.0.0.1 8081 GET:/ sleep:0.3 GET:/stall >"$WORK/client6.log" & CL+=("$!")
cc_in python3 "$C" 127.0.0.1 8081 sleep:0.2 GET:/ sleep:2.6 close >"$WORK/client7.log" & CL+=("$!")
wait "${CL[@]}"
sleep 0.5
cc_capture_stop
cat "$WORK"/client*.log >"$WORK/clients.log"
python3 "$P/cutidle-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" \
  --apache-error-log "$WORK/apache-error.log" --apache-access-log "$WORK/apache-access.log" \
  --nginx-error-log "$WORK/error.log" --client-log "$WORK/clients.log" \
  --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_cgid)" "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "python3 $(python3 -c 'import sys; print(sys.version.split()[0])') http.client"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E 'AH00574' "$WORK/apache-error.log" | sed 's/^\[[^]]*\] //' || true
grep -E 'upstream timed out' "$WORK/error.log" | sed 's/^[^[]*//' || true
