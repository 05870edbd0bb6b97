#!/usr/bin/env bash
# Keep-alive race over TLS, stale-reuse form, against nginx ssl on loopback: nginx
# (keepalive_timeout 2s, TLS 1.2 with ECDHE-ECDSA-AES256-SHA384, a self-signed certificate made
# here by openssl) closes idle keep-alive connections with close_notify + FIN after 2 s; a raw tls
# client acting as a pool that ignores 'end' (tls-race-client.js --mode stale) hands each dead
# connection out 25 ms (GET) and 60 ms (POST) after the close arrived, gets RST from nginx's
# kernel, and retries once on a new connection. A last connection answers nginx's close with its
# own close_notify (85 bytes with this suite) and FIN: healthy, not a race.
# Writes samples/keepalive-race-tls-nginx.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx openssl

SCENARIO=keepalive-race-tls-nginx
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_S=2
STALE_DELAYS=25,60
CIPHER=ECDHE-ECDSA-AES256-SHA384

cc_netns_up cc-tls-knx
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/www" "$WORK/tmp"
# A throwaway certificate for this recording only (never committed).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 1 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
printf '{"cart":7,"items":[{"sku":"widget","qty":1}]}\n' >"$WORK/www/cart-7.json"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  keepalive_timeout ${KEEPALIVE_S}s;
  server {
    listen 127.0.0.1:8443 ssl;
    ssl_protocols TLSv1.2;
    ssl_ciphers $CIPHER;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    default_type application/json;
    location = /cart/7 { alias $WORK/www/cart-7.json; }
    location = /cart/7/items { return 201 '{"added":true}\n'; }
  }
CONF

cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8443
cc_capture_start "$OUT" "tcp port 8443"
cc_in node "$CCB_PROGRAMS/tls-race-client.js" --host 127.0.0.1 --port 8443 --mode stale --tls-max TLSv1.2 \
  --ciphers "$CIPHER" --nominal-idle-ms $((KEEPALIVE_S * 1000)) --stale-delays "$STALE_DELAYS" --answer-close 1 \
  --log "$WORK/client.log"
cc_capture_stop
tshark -r "$OUT" -q -z conv,tcp
python3 "$CCB_PROGRAMS/tls-race-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$WORK/client.log" --keepalive-timeout "$KEEPALIVE_S" --stale-delays "$STALE_DELAYS" --cipher "$CIPHER" \
  --nginx-version "$(nginx -v 2>&1 | sed 's|.*nginx/||')" --node-version "$(node --version)"
cat "$WORK/client.log"
