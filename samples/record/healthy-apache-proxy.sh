#!/usr/bin/env bash
# Healthy keep-alive through Apache mod_proxy, which must stay silent: Apache 2.4 (event MPM, one
# child) on 127.0.0.2:8080 with `ProxyPass / http://127.0.0.3:9001/` (ProxySourceAddress
# 127.0.0.2; backend connection reuse on by default) in front of a Node http server
# (keepAliveTimeout 5 s, far above any idle gap here). Three Node http.Agent clients (keepAlive,
# maxSockets 1) at once send 6 requests each (every third one a POST) with think times of
# 20-400 ms; Apache reuses its pooled backend connections. Writes samples/healthy-apache-proxy.pcap
# and .meta.json (only when the capture passes programs/apache-proxy-meta.py's checks against
# Apache's logs: no error, every request answered 200/201, no RST, backend connections reused).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-apache-proxy.sh"
cc_require apache2 node python3 tcpdump tshark ip

SCENARIO=healthy-apache-proxy
cc_netns_up cc-x6-ahe
ccb_workdir
WORK="$CCB_WORK"
ccp_apache_proxy_conf "$WORK/apache.conf" "Listen 127.0.0.2:8080" "ProxySourceAddress 127.0.0.2" \
  "ProxyPass / http://127.0.0.3:9001/"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_wait_port 8080
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
CLIENTS=()
for tag in a b c; do
  GAPS=$(python3 -c "import random; random.seed('$tag'); print(','.join(str(random.randint(20, 400)) for _ in range(5)))")
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 3 --tag "$tag" --log "$WORK/client-$tag.log" &
  CLIENTS+=("$!")
done
wait "${CLIENTS[@]}"
sleep 0.5
cc_capture_stop
cat "$WORK"/client-*.log >"$WORK/client.log"
python3 "$CCB_PROGRAMS/apache-proxy-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" \
  --error-log "$WORK/apache-error.log" --access-log "$WORK/proxy-access.log" --client-log "$WORK/client.log" \
  --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_proxy_http)" "node $(node -v)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
