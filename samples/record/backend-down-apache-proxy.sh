#!/usr/bin/env bash
# A backend that is down, behind Apache mod_proxy_balancer: Apache 2.4 (event MPM, one child) on
# 127.0.0.2:8080 (ProxySourceAddress 127.0.0.2) proxies /ok/ to a Node http server on
# 127.0.0.3:9001 and /down/ to balancer://down, whose one member http://127.0.0.3:9002 (retry=5;
# forcerecovery=Off, else Apache retries a balancer whose members are all in error state at once)
# has nothing listening. curl asks /ok/1, then /down/1..6, 0.3 s apart, each on its own connection.
# Apache's one SYN to 9002 is answered by RST (AH00957, AH00959 "disabling worker for 5s"), 503;
# every later /down request is answered 503 at once without any SYN (AH01170 "All workers are in
# error state"): nothing is tried, so nothing can be timed. Writes
# samples/backend-down-apache-proxy.pcap and .meta.json (only when the capture passes
# programs/apache-proxy-meta.py's checks against Apache's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-apache-proxy.sh"
cc_require apache2 node curl python3 tcpdump tshark ip

SCENARIO=backend-down-apache-proxy
cc_netns_up cc-x6-abd
ccb_workdir
WORK="$CCB_WORK"
ccp_apache_proxy_conf "$WORK/apache.conf" "Listen 127.0.0.2:8080" "ProxySourceAddress 127.0.0.2" \
  "ProxyPass /ok/ http://127.0.0.3:9001/ok/" \
  "<Proxy balancer://down>" "BalancerMember http://127.0.0.3:9002 retry=5" "ProxySet forcerecovery=Off" "</Proxy>" \
  "ProxyPass /down/ balancer://down/down/"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9001
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_wait_port 8080
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9002"
cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/ok/1
for i in 1 2 3 4 5 6; do
  cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/down/$i"
  sleep 0.3
done
cc_capture_stop
python3 "$CCB_PROGRAMS/apache-proxy-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" \
  --error-log "$WORK/apache-error.log" --access-log "$WORK/proxy-access.log" \
  --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_proxy_http, mod_proxy_balancer)" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E 'AH00957|AH00959|AH01170' "$WORK/apache-error.log" | sed 's/^\[[^]]*\] //' || true
