#!/usr/bin/env bash
# Connect timeout from Apache mod_proxy: Apache 2.4 (event MPM, one child) on 127.0.0.2:8080
# (ProxySourceAddress 127.0.0.2) proxies /ok/ to a Node http server on 127.0.0.3:9001 and /x/ to
# http://127.0.0.3:9009/x/ with connectiontimeout=1 timeout=5, where an nftables rule drops every
# SYN. curl asks /ok/1, then /x/1..3 at once, then /x/4 and /x/5: Apache's SYN is never answered,
# and after 1 s it logs AH00957 "(70007) The timeout specified has expired" and AH01114 and
# answers 503 (a standalone worker is not put in error state, so every request tries again).
# Writes samples/connect-timeout-apache-proxy.pcap and .meta.json (only when the capture passes
# programs/apache-proxy-meta.py's checks against Apache's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-apache-proxy.sh"
cc_require apache2 node curl nft python3 tcpdump tshark ip

SCENARIO=connect-timeout-apache-proxy
cc_netns_up cc-x6-act
ccb_workdir
WORK="$CCB_WORK"
ccp_apache_proxy_conf "$WORK/apache.conf" "Listen 127.0.0.2:8080" "ProxySourceAddress 127.0.0.2" \
  "ProxyPass /ok/ http://127.0.0.3:9001/ok/" "ProxyPass /x/ http://127.0.0.3:9009/x/ connectiontimeout=1 timeout=5"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_wait_port 8080
ccb_drop_syns "$CC_NS" cc_x6_act 9009
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9009"
cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/ok/1
CLIENTS=()
for i in 1 2 3; do
  cc_in curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/x/$i" &
  CLIENTS+=("$!")
done
wait "${CLIENTS[@]}"
for i in 4 5; do cc_in curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/x/$i"; done
sleep 0.3
cc_capture_stop
cc_in nft delete table inet cc_x6_act
python3 "$CCB_PROGRAMS/apache-proxy-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --timeout 1 --down-port 9009 \
  --error-log "$WORK/apache-error.log" --access-log "$WORK/proxy-access.log" \
  --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_proxy_http)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "nftables SYN drop rule"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E 'AH00957' "$WORK/apache-error.log" | sed 's/^\[[^]]*\] //' || true
