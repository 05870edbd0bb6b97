#!/usr/bin/env bash
# Keep-alive race over TLS terminated by HAProxy (blind round 13, tls S7): HAProxy 2.6 on loopback
# terminates TLS on :8444 (`timeout http-keep-alive 1s`, `timeout client 10s`) in front of a plain
# nginx backend (`return 200`). One Python http.client HTTPSConnection posts after pauses of 0.5,
# 1.4, 0.3 and 1.7 s: after 1.4 and 1.7 s it writes on the connection HAProxy closed at 1 s idle
# (close_notify + FIN), HAProxy's kernel answers RST, http.client raises ssl.SSLEOFError. Only the
# TLS leg is captured: nothing on it names HAProxy, so the 1 s default it equals (Starman's) must
# be a candidate, not a match, and the remedy must name HAProxy's `timeout http-keep-alive`.
# Writes samples/keepalive-race-tls-haproxy.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump tshark ip nginx haproxy openssl

SCENARIO=keepalive-race-tls-haproxy
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_S=1
PORT=8444
GAPS=0.5,1.4,0.3,1.7

cc_netns_up cc-tls-hap
ccb_workdir
WORK="$CCB_WORK"
# A throwaway certificate for this recording only (never committed); HAProxy reads cert and key from one file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 1 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
cat "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/haproxy.pem"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format st '\$remote_port "\$request" \$status';
  access_log $WORK/access.log st;
  server { listen 127.0.0.1:8080; location / { return 200 'ok\n'; } }
CONF
cat >"$WORK/haproxy.cfg" <<CONF
global
  log stdout format raw local0 info
defaults
  mode http
  log global
  option httplog
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  timeout http-keep-alive ${KEEPALIVE_S}s
frontend tls
  bind 127.0.0.1:$PORT ssl crt $WORK/haproxy.pem
  default_backend app
backend app
  server s1 127.0.0.1:8080
CONF

cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
ip netns exec "$CC_NS" haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
CC_PIDS+=("$!")
cc_wait_port "$PORT"
cc_capture_start "$OUT" "tcp port $PORT"
# Bounded: 5 requests, pauses summing to 3.9 s, each request with a 5 s socket timeout.
timeout 60 ip netns exec "$CC_NS" python3 "$CCB_PROGRAMS/tls-early-answer-client.py" --host 127.0.0.1 --port "$PORT" \
  --cafile "$WORK/cert.pem" --gaps "$GAPS" --log "$WORK/client.log"
# HAProxy closes the last connection at 1 s idle: let that close into the capture.
sleep 1.3
cc_capture_stop
cat "$WORK/client.log" "$WORK/access.log" "$WORK/haproxy.log"
python3 "$CCB_PROGRAMS/tls-early-answer-meta.py" --scenario "$SCENARIO" --closer HAProxy --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$WORK/client.log" --access-log "$WORK/access.log" --keepalive-timeout "$KEEPALIVE_S" --port "$PORT" \
  --software "$(haproxy -v | head -1 | cut -d' ' -f1-3) (TLS termination, timeout http-keep-alive ${KEEPALIVE_S}s)" \
  --software "nginx/$(nginx -v 2>&1 | sed 's|.*nginx/||') (plain backend, return 200)" \
  --software "Python $(python3 -c 'import sys; print(sys.version.split()[0])') http.client HTTPSConnection" \
  --description "HAProxy terminates TLS (timeout http-keep-alive ${KEEPALIVE_S}s, timeout client 10s) in front of a plain nginx backend; only the TLS leg is captured. One Python http.client HTTPSConnection posts after pauses of ${GAPS//,/, } s. HAProxy closes each idle client connection ${KEEPALIVE_S} s after its last response with close_notify + FIN; the requests after the longer pauses are written on the closed connection (stale reuse), HAProxy's kernel answers RST and http.client raises ssl.SSLEOFError. Nothing on the wire names HAProxy: a 1 s default of another product is a candidate, not a match, and HAProxy's timeout http-keep-alive must be among the server settings of the remedy."
