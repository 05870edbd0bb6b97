#!/usr/bin/env bash
# Healthy load at volume from ApacheBench against Apache 2.4 (event MPM, KeepAliveTimeout 5,
# MaxKeepAliveRequests 20): `ab -k` (HTTP/1.0 with Connection: Keep-Alive, 8 concurrent, 800
# requests for a small static JSON file). Apache answers every 20th request of a connection with
# "Connection: close" and closes it; ab opens a new one. ab reports no failed requests. Captured
# with snaplen 512. Ground truth: ab's summary and Apache's access log ("%{remote}p %>s %k":
# client port, status, keep-alive requests before this one), checked against the capture by
# x13-meta.py. Writes samples/healthy-load-apache-ab.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-x13.sh"
cc_require ab apache2 python3 tcpdump tshark ip

SCENARIO=healthy-load-apache-ab
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
IDLE_S=5
MAX_REQUESTS=20

cc_netns_up ccx13-apache-ab
ccb_workdir
WORK="$CCB_WORK"
cca_docroot "$WORK/www"
cca_apache_conf "$WORK/apache.conf" "$WORK" "Listen 127.0.0.1:8080" "KeepAlive On" "KeepAliveTimeout $IDLE_S" \
  "MaxKeepAliveRequests $MAX_REQUESTS" "LogFormat \"%{remote}p %>s %k\" x13" "CustomLog $WORK/x13-access.log x13"
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080" -s 512
cc_in timeout 20 ab -q -k -c 8 -n 800 http://127.0.0.1:8080/cart.json >"$WORK/ab-k.log"
cc_capture_stop
sleep 0.3 # Apache writes its access log lines as each request finishes; let the last ones land
grep -E 'Complete|Failed|Keep-Alive|Non-2xx' "$WORK/ab-k.log"
x13_meta "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --gen "ab:$WORK/ab-k.log" --access-log "$WORK/x13-access.log" \
  --software "ApacheBench 2.3" --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM)" \
  --configured "{\"serverIdleTimeout\": $IDLE_S, \"maxKeepAliveRequests\": $MAX_REQUESTS}" \
  --description "Healthy load from ApacheBench 2.3 (ab -k: HTTP/1.0 Connection: Keep-Alive, 8 concurrent, 800 requests for a small static file) against Apache 2.4 (event MPM, KeepAliveTimeout ${IDLE_S}, MaxKeepAliveRequests ${MAX_REQUESTS}): Apache answers every ${MAX_REQUESTS}th request of a connection with Connection: close and closes it, ab opens a new one. ab reports no failed requests. Snaplen 512. Nothing here is a failure: conncheck must stay silent."
