#!/usr/bin/env bash
# Keep-alive race over TLS 1.3 with short requests (blind round 14 variants, S8/S9): a Node https
# server (keepAliveTimeout 1000 ms; it closes idle connections with a bare FIN, no close_notify)
# and nginx (ssl_protocols TLSv1.3, keepalive_timeout 1s; close_notify, then FIN), each with a
# self-signed certificate made here by openssl. A Python ssl client (TLS 1.3, no ALPN) sends
# 35-byte GETs (52-byte records, 57 bytes on the wire) and, per server: reuses one connection
# 30 ms after the server's close arrived (stale reuse: the server's kernel answers RST); answers
# the close of another with its own close_notify (24 bytes: no request); reuses a third after
# 0.3 s idle (answered). Writes samples/keepalive-race-tls13-short-requests.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx openssl

SCENARIO=keepalive-race-tls13-short-requests
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
NODE_PORT=8443
NGINX_PORT=8444
NODE_KEEPALIVE_MS=1000
NGINX_KEEPALIVE_S=1
STALE_DELAY_MS=30

cc_netns_up cc-tls13-short
ccb_workdir
WORK="$CCB_WORK"
# A throwaway certificate for this recording only (never committed).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 1 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  keepalive_timeout ${NGINX_KEEPALIVE_S}s;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    location / { return 200 "ok\n"; }
  }
CONF

cc_bg node "$CCB_PROGRAMS/tls13-short-server.js" --port "$NODE_PORT" --cert "$WORK/cert.pem" --key "$WORK/key.pem" \
  --keepalive-ms "$NODE_KEEPALIVE_MS" --log "$WORK/node.log"
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port "$NODE_PORT"
cc_wait_port "$NGINX_PORT"
cc_capture_start "$OUT" "tcp port $NODE_PORT or tcp port $NGINX_PORT"
cc_in timeout 60 python3 "$CCB_PROGRAMS/tls13-short-client.py" --ports "$NODE_PORT,$NGINX_PORT" \
  --stale-delay "$STALE_DELAY_MS" --log "$WORK/client.log"
cc_capture_stop
tshark -r "$OUT" -q -z conv,tcp
python3 "$CCB_PROGRAMS/tls13-short-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$WORK/client.log" --node-log "$WORK/node.log" --nginx-access-log "$WORK/access.log" \
  --node-port "$NODE_PORT" --nginx-port "$NGINX_PORT" --node-keepalive-ms "$NODE_KEEPALIVE_MS" \
  --nginx-keepalive-s "$NGINX_KEEPALIVE_S" --stale-delay "$STALE_DELAY_MS" \
  --nginx-version "$(nginx -v 2>&1 | sed 's|.*nginx/||')" --node-version "$(node --version)" --python-version "$(python3 -c 'import ssl,sys; print(sys.version.split()[0], ssl.OPENSSL_VERSION)')"
cat "$WORK/client.log" "$WORK/node.log" "$WORK/access.log"
