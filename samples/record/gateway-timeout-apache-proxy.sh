#!/usr/bin/env bash
# Gateway timeout from Apache mod_proxy: Apache 2.4 (event MPM, one child) on 127.0.0.2:8080 with
# `ProxyPass / http://127.0.0.3:9001/ timeout=1` (ProxySourceAddress 127.0.0.2) in front of a Node
# http server whose /slow?ms=2500 answers after 2.5 s. curl asks two fast URIs on one connection,
# then three curl clients ask /slow at once, then one more fast request. Apache gives up on each
# slow request after 1 s: error log AH01102 "(70007) The timeout specified has expired", access log
# 502 (Apache answers a backend read timeout with 502, not 504), and it closes the upstream
# connection at that moment. Writes samples/gateway-timeout-apache-proxy.pcap and .meta.json
# (only when the capture passes programs/apache-proxy-meta.py's checks against Apache's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-apache-proxy.sh"
cc_require apache2 node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-apache-proxy
cc_netns_up cc-x6-agt
ccb_workdir
WORK="$CCB_WORK"
ccp_apache_proxy_conf "$WORK/apache.conf" "Listen 127.0.0.2:8080" "ProxySourceAddress 127.0.0.2" \
  "ProxyPass / http://127.0.0.3:9001/ timeout=1"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_wait_port 8080
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
cc_in curl -s -o /dev/null -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/fast/1 http://127.0.0.2:8080/fast/2
SLOW=()
for i in 1 2 3; do
  cc_in curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/slow?ms=2500&i=$i" &
  SLOW+=("$!")
done
wait "${SLOW[@]}"
cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/fast/3
sleep 0.5
cc_capture_stop
python3 "$CCB_PROGRAMS/apache-proxy-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --timeout 1 \
  --error-log "$WORK/apache-error.log" --access-log "$WORK/proxy-access.log" \
  --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_proxy_http)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E 'AH01102' "$WORK/apache-error.log" | sed 's/^\[[^]]*\] //' || true
