#!/usr/bin/env bash
# Gateway timeout: nginx (proxy_read_timeout 1s) in front of a Node http backend that never
# answers /hang. Three curl clients at once get 504 after 1 s; fast requests before and
# after get 200. Both legs on the namespace's loopback: clients 127.0.0.1 -> nginx
# 127.0.0.2:8080; nginx 127.0.0.2 (proxy_bind) -> backend 127.0.0.3:9001, so the proxy's
# address is a server in the client legs and a client in the upstream legs.
# Writes samples/gateway-timeout-nginx.pcap and .meta.json. gateway-timeout-nginx-other-address.sh
# runs it with nginx connecting to the backend from another address (GTN_SCENARIO, GTN_NETNS,
# GTN_BIND_IP).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx curl

SCENARIO=${GTN_SCENARIO:-gateway-timeout-nginx}
BIND_IP=${GTN_BIND_IP:-127.0.0.2}
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up "${GTN_NETNS:-cc-b-gwnx}"
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/tmp"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  upstream backend { server 127.0.0.3:9001; }
  server {
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://backend;
      proxy_bind $BIND_IP;
      proxy_connect_timeout 1s;
      proxy_read_timeout 1s;
    }
  }
CONF

cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
CURL=(curl -sS -o /dev/null -w '%{url} %{http_code} %{time_total} %{local_port}\n' --max-time 5)
cc_in "${CURL[@]}" http://127.0.0.2:8080/fast/1 >>"$WORK/client.log"
sleep 0.1
pids=()
for i in 1 2 3; do
  cc_in "${CURL[@]}" "http://127.0.0.2:8080/hang/$i" >>"$WORK/client.log" &
  pids+=("$!")
  sleep 0.05
done
wait "${pids[@]}"
sleep 0.1
cc_in "${CURL[@]}" http://127.0.0.2:8080/fast/2 >>"$WORK/client.log"
cc_in "${CURL[@]}" http://127.0.0.2:8080/fast/3 >>"$WORK/client.log"
cc_capture_stop
cat "$WORK/client.log"
ccb_meta "$SCENARIO" --http-port 9001
grep -h "timed out" "$WORK/error.log" | head -3 || true
