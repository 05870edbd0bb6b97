#!/usr/bin/env bash
# unanswered-request-curl-max-time-nginx: one curl --max-time 2 that gives up on a slow request
# through nginx (blind round 15, longlived s07c: curl -m 20 through nginx to a long poll; nginx logs
# 499 "client prematurely closed connection, so upstream connection is closed too" and closes both
# legs right behind curl's FIN). conncheck told it as two errors, one per leg, and offered a half-close
# ("if the client had only half-closed ... no timer of the client's was at work") that curl never
# makes. Near miss, on nginx's second port: a python socket client with no User-Agent that really
# half-closes (shutdown(SHUT_WR) 1 s after its request, still reading) and gets nothing: nginx takes
# the FIN for a disconnect (499) the same way; the wire cannot tell that FIN from a give-up, so both
# readings must stay in its text.
# nginx 127.0.0.2:8080 and :8081 (proxy_bind 127.0.0.2, proxy_read_timeout 30s) -> a Node http
# backend on 127.0.0.3:9001 that answers /slow?ms=4000 after 4 s (into the closed upstream legs).
# Writes samples/unanswered-request-curl-max-time-nginx.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx curl

SCENARIO=unanswered-request-curl-max-time-nginx
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up "cc-b-urmtn"
ccb_workdir
WORK="$CCB_WORK"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format timing '\$remote_port \$status \$request_time "\$request"';
  access_log $WORK/access.log timing;
  upstream backend { server 127.0.0.3:9001; }
  server {
    listen 127.0.0.2:8080;
    listen 127.0.0.2:8081;
    location / {
      proxy_pass http://backend;
      proxy_bind 127.0.0.2;
      proxy_read_timeout 30s;
    }
  }
CONF

cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081 or tcp port 9001"
# A quick request answered, so that the proxy's layout shows once whole.
cc_in curl -sS -o /dev/null --max-time 5 http://127.0.0.2:8080/fast >"$WORK/curl-fast.log" 2>&1
sleep 0.2
rc=0; cc_in curl -sS -o /dev/null --max-time 2 "http://127.0.0.2:8080/slow?ms=4000&c=curl" 2>"$WORK/curl-slow.log" || rc=$?
echo "$rc" >"$WORK/curl-slow.rc"
sleep 0.5
# The near miss: a real half-close 1 s after the request, still reading (bounded: 5 s).
rc=0; cc_in timeout 10 python3 - >"$WORK/half.log" 2>&1 <<'PY' || rc=$?
import socket, time
s = socket.create_connection(("127.0.0.2", 8081), timeout=5)
s.sendall(b"GET /slow?ms=4000&c=half HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n")
time.sleep(1.0)
s.shutdown(socket.SHUT_WR)
print(f"{time.time():.6f} shutdown(SHUT_WR) sent, reading on")
got = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
print(f"{time.time():.6f} end of stream after {len(got)} bytes")
PY
echo "$rc" >"$WORK/half.rc"
sleep 3.5   # the backend's late answers meet the closed upstream legs
cc_capture_stop
python3 "$CCB_PROGRAMS/urmtn-meta.py" --scenario "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --work "$WORK" --software "nginx $(nginx -v 2>&1 | sed 's|.*nginx/||')" --software "node $(node --version) http (programs/b-http-server.js)" \
  --software "curl $(curl --version | awk 'NR==1{print $2}') --max-time 2" --software "python $(python3 -c 'import platform; print(platform.python_version())') socket client (a half-close)"
cat "$WORK/access.log" "$WORK/curl-slow.log" "$WORK/half.log"
grep -h "prematurely" "$WORK/error.log" | head -3 || true
