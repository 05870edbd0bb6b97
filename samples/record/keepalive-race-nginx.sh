#!/usr/bin/env bash
# Keep-alive race, stale-reuse form, against nginx on loopback: nginx (keepalive_timeout 2s,
# one worker, no daemon/master, static JSON file for GET /cart/7, `return 201` for POST
# /cart/7/items) closes idle keep-alive connections with a FIN after 2 s; a raw net client
# acting as a pool that ignores 'end' (b-race-client.js --mode stale) hands each dead
# connection out 25 ms (GET) and 60 ms (POST) after the FIN arrived, gets RST from nginx's
# kernel, and retries the request once on a new connection.
# Writes samples/keepalive-race-nginx.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx

SCENARIO=keepalive-race-nginx
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_S=2
STALE_DELAYS=25,60

cc_netns_up cc-d-knx
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/www" "$WORK/tmp"
printf '{"cart":7,"items":[{"sku":"widget","qty":1}]}\n' >"$WORK/www/cart-7.json"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  keepalive_timeout ${KEEPALIVE_S}s;
  server {
    listen 127.0.0.1:8080;
    default_type application/json;
    location = /cart/7 { alias $WORK/www/cart-7.json; }
    location = /cart/7/items { return 201 '{"added":true}\n'; }
  }
CONF

cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080"
cc_in node "$CCB_PROGRAMS/b-race-client.js" --host 127.0.0.1 --port 8080 --mode stale \
  --nominal-idle-ms $((KEEPALIVE_S * 1000)) --stale-delays "$STALE_DELAYS" --log "$WORK/client.log"
cc_capture_stop
tshark -r "$OUT" -q -z conv,tcp
python3 "$CCB_PROGRAMS/d-nginx-race-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$WORK/client.log" --access-log "$WORK/access.log" \
  --stale-delays "$STALE_DELAYS" --keepalive-timeout "$KEEPALIVE_S"
cat "$WORK/client.log"
