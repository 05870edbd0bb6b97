#!/usr/bin/env bash
# Keep-alive race over TLS where the server answers before the request's body (blind round 13, tls S1):
# nginx ssl on loopback (TLS 1.2, keepalive_timeout 1s, `return 200`) answers each POST on its head;
# Python's http.client writes the body as a TLS record of its own right after the head, so the
# answer lands between them. One HTTPSConnection posts after pauses of 0.5, 1.3, 0.4 and 1.6 s:
# after 1.3 and 1.6 s the connection nginx closed at 1 s idle (close_notify + FIN) is reused,
# nginx's kernel answers RST, http.client raises ssl.SSLEOFError; it then opens a new connection.
# conncheck must infer the 1 s idle timeout from those closes although each connection's last
# client record before the close is the body that followed the answer.
# Writes samples/keepalive-race-tls-early-answer.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump tshark ip nginx openssl

SCENARIO=keepalive-race-tls-early-answer
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_S=1
PORT=8443
GAPS=0.5,1.3,0.4,1.6

cc_netns_up cc-tls-early
ccb_workdir
WORK="$CCB_WORK"
# A throwaway certificate for this recording only (never committed).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 1 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format st '\$remote_port "\$request" \$status';
  access_log $WORK/access.log st;
  keepalive_timeout ${KEEPALIVE_S}s;
  server {
    listen 127.0.0.1:$PORT ssl;
    ssl_protocols TLSv1.2;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    location / { return 200 'ok\n'; }
  }
CONF

cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port "$PORT"
cc_capture_start "$OUT" "tcp port $PORT"
# Bounded: 5 requests, pauses summing to 3.8 s, each request with a 5 s socket timeout.
timeout 60 ip netns exec "$CC_NS" python3 "$CCB_PROGRAMS/tls-early-answer-client.py" --host 127.0.0.1 --port "$PORT" \
  --cafile "$WORK/cert.pem" --gaps "$GAPS" --log "$WORK/client.log"
# nginx closes the last connection at 1 s idle: let that close into the capture.
sleep 1.3
cc_capture_stop
cat "$WORK/client.log" "$WORK/access.log"
python3 "$CCB_PROGRAMS/tls-early-answer-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$WORK/client.log" --access-log "$WORK/access.log" --keepalive-timeout "$KEEPALIVE_S" --port "$PORT" \
  --software "nginx/$(nginx -v 2>&1 | sed 's|.*nginx/||') (ssl, TLS 1.2, return 200)" \
  --software "Python $(python3 -c 'import sys; print(sys.version.split()[0])') http.client HTTPSConnection"
