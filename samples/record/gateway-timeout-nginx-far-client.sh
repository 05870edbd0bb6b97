#!/usr/bin/env bash
# Gateway timeout captured at the CLIENT, 20 ms one way from the proxy (client, router and server
# namespaces joined by user-space wires: this kernel has no netem). nginx (proxy_read_timeout 1s)
# in front of a Node http backend on its own loopback that never answers /hang: three curl requests
# get 504 after 1 s at nginx, seen here 1 s + one round trip (~40 ms) after the request; one fast
# request before them is answered 200. The proxy's timer is the delay seen less the round trip.
# Writes samples/gateway-timeout-nginx-far-client.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require nginx node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-nginx-far-client
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
ONE_WAY_MS=20

ccb_workdir
WORK="$CCB_WORK"
x5_topology_up "${RECORD_NS:-x5-gwfar}" "$ONE_WAY_MS"
S="$X5_SERVER_IP"
cat >"$WORK/nginx.conf" <<NG
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log $WORK/error.log info;
events { worker_connections 64; }
http { access_log $WORK/access.log; client_body_temp_path $WORK; proxy_temp_path $WORK;
  server { listen $S:8090;
    location / { proxy_pass http://127.0.0.1:9001; proxy_read_timeout 1s; } } }
NG
ccb_bg "$X5_S" node "$X5_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 9001 2>"$WORK/backend.log"
ccb_wait_port "$X5_S" 9001
ccb_bg "$X5_S" nginx -c "$WORK/nginx.conf"
ccb_wait_port "$X5_S" 8090
x5_capture_start "$X5_C" x5c "$OUT" "tcp port 8090"
: >"$WORK/curl.log"
for uri in /fast/1 /hang/1 /hang/2 /hang/3; do
  ip netns exec "$X5_C" curl -s -o /dev/null -w "curl %{local_port} %{http_code} %{time_total} $uri\n" --max-time 5 "http://$S:8090$uri" >>"$WORK/curl.log" || true
done
x5_capture_stop_all
cat "$WORK/curl.log"
cat >"$WORK/spec.json" <<SPEC
{ "description": "Gateway timeout captured at the client, $ONE_WAY_MS ms one way from the proxy (client, router and server namespaces joined by user-space wires). nginx (proxy_read_timeout 1s) proxies to a Node http backend on the server's own loopback (not in this capture) that never answers /hang. curl asks /fast/1 (answered 200), then /hang/1, /hang/2 and /hang/3 one after the other: nginx gives up on its upstream after 1 s each time and answers 504 Gateway Time-out, which the client sees 1 s plus one round trip (about 40 ms) after its request.",
  "software": ["$(nginx -v 2>&1 | sed 's/^nginx version: //')", "node $(node --version) http server (backend)", "$(curl --version | head -1 | cut -d' ' -f1-2)"],
  "configured": { "proxyReadTimeout": 1.0, "upstreamTimeout": 1.0 },
  "oneWayMs": $ONE_WAY_MS, "capturePoint": "client", "server": "$S:8090", "clientIp": "$X5_CLIENT_IP",
  "curlLog": "$WORK/curl.log", "errorLog": "$WORK/error.log" }
SPEC
python3 "$X5_PROGRAMS/x5-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --spec "$WORK/spec.json"
