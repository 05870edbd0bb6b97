#!/usr/bin/env bash
# Keep-alive race through a TCP proxy that speaks the PROXY protocol (an AWS NLB with proxy
# protocol v2, HAProxy send-proxy-v2): clients 127.0.0.1 -> HAProxy (mode tcp) 127.0.0.2:8080 ->
# nginx 127.0.0.3:9001 (`listen ... proxy_protocol`, keepalive_timeout 2s; HAProxy connects from
# 127.0.0.2 and writes a PROXY v2 header naming the client before relaying its bytes). The race
# is keepalive-race-stale's client: a raw net client that hands a connection out 25 and 50 ms
# after nginx's idle FIN (relayed by HAProxy) arrived; nginx answers RST on the backend leg,
# HAProxy closes the client's connection, the client retries on a new connection.
# b-meta.py checks the backend leg; proxy-protocol-meta.py the PROXY headers (against nginx's
# access log) and the front leg. Writes samples/keepalive-race-proxy-protocol.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip haproxy nginx

SCENARIO=keepalive-race-proxy-protocol
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up cc-pp-race
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/www"
echo '{"id":7,"items":[]}' > "$WORK/www/cart-7.json"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format pp '\$proxy_protocol_addr:\$proxy_protocol_port \$remote_addr:\$remote_port "\$request" \$status \$connection \$connection_requests';
  access_log $WORK/access.log pp;
  keepalive_timeout 2s;
  server {
    listen 127.0.0.3:9001 proxy_protocol;
    default_type application/json;
    location = /cart/7 { alias $WORK/www/cart-7.json; }
    location = /cart/7/items { return 201 '{"added":true}\n'; }
  }
CONF
cat >"$WORK/haproxy.cfg" <<CONF
defaults
  mode tcp
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.2:8080
  default_backend be
backend be
  server s1 127.0.0.3:9001 send-proxy-v2 source 127.0.0.2
CONF
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 9001
cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
cc_in node "$CCB_PROGRAMS/b-race-client.js" --host 127.0.0.2 --port 8080 --mode stale \
  --nominal-idle-ms 2000 --stale-delays 25,50 --log "$WORK/client.log"
sleep 0.2
cc_capture_stop
tshark -r "$OUT" -Y "tcp.port == 9001" -w "$WORK/back.pcap" 2>/dev/null
python3 "$CCB_PROGRAMS/b-meta.py" keepalive-race-stale --capture "$WORK/back.pcap" --http-port 9001 \
  --meta "$WORK/back.meta.json" --client-log "$WORK/client.log" --set 'staleDelays=[25,50]'
python3 "$CCB_PROGRAMS/proxy-protocol-meta.py" --capture "$OUT" --back-meta "$WORK/back.meta.json" \
  --access-log "$WORK/access.log" --scenario "$SCENARIO" --front-server 127.0.0.2:8080 --back-port 9001 \
  --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json"
cat "$WORK/client.log" "$WORK/access.log"
