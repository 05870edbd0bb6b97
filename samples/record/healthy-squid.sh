#!/usr/bin/env bash
# Healthy traffic through Squid 5.7 in accelerator mode, keep-alive on both legs: Squid on
# 127.0.0.2:8080 (server_idle_pconn_timeout 2 s, client_idle_pconn_timeout 5 s) in front of a Node
# http server on 127.0.0.3:9001 (keepAliveTimeout 5 s: Squid drops its idle backend connections
# first). A Node http.Agent client (keepAlive, maxSockets 1) sends 11 requests (every third a POST,
# which Squid sends on a new backend connection) with think times of 0.05-6.5 s (all but one below 4 s: Squid counts its 5 s in whole seconds, and may close after 4 s); curl then fetches
# three URLs on one connection, one twice. Nothing fails: conncheck must be silent. Writes
# samples/healthy-squid.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require squid node curl python3 tcpdump tshark ip

SCENARIO=healthy-squid
DESCRIPTION="Healthy traffic through Squid 5.7 in accelerator mode with keep-alive on both legs: Squid on 127.0.0.2:8080 (server_idle_pconn_timeout 2 s, client_idle_pconn_timeout 5 s) in front of a Node http server on 127.0.0.3:9001 (keepAliveTimeout 5 s), all on one loopback. A Node http.Agent client (keepAlive, maxSockets 1) sends 11 requests (every third a POST, which Squid sends on a new backend connection) with think times of 0.05-6.5 s (all but one below 4 s: Squid counts its 5 s in whole seconds, and may close after 4 s): Squid reuses its pooled backend connections for GETs, closes idle ones after 2 s itself, and closes the client's connection while it idles 6.5 s (the agent opens a new one for the next request); then curl fetches three URLs on one connection, one twice. Every request is answered 200/201."
cc_netns_up ccx8-sok
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x8_squid_conf "$WORK/squid.conf" 127.0.0.2:8080 127.0.0.3 9001 -- "server_idle_pconn_timeout 2 seconds" "client_idle_pconn_timeout 5 seconds"
x8_squid_start "$CC_NS" "$WORK/squid.conf"
cc_wait_port 8080
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 \
  --gaps-ms 50,300,800,1500,2500,200,6500,100,400,1200 --post-every 3 --log "$WORK/client.log"
cc_in curl -s -w '%{http_code}\n' -o /dev/null http://127.0.0.2:8080/get?i=a -o /dev/null http://127.0.0.2:8080/get?i=b \
  -o /dev/null http://127.0.0.2:8080/get?i=a -o /dev/null http://127.0.0.2:8080/get?i=c
sleep 0.5
cc_capture_stop
x8_squid_stop
[ -n "${X8_DEBUG_DIR:-}" ] && { mkdir -p "$X8_DEBUG_DIR/$SCENARIO"; cp -r "$OUT" "$WORK"/*.log "$WORK"/squid "$X8_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x8-meta.py" "$SCENARIO" --proxy squid --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/squid/access.log" --client-log "$WORK/client.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
  --description "$DESCRIPTION" \
  --software "$(squid -v | head -1 | sed 's/ Cache: Version//')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
