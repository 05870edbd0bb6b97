#!/usr/bin/env bash
# The keep-alive race through a layer-4 proxy: nginx 1.22 `stream` (Debian nginx with
# libnginx-mod-stream): one server { listen 10.99.0.2:8080; proxy_pass 127.0.0.3:9001;
# proxy_bind 127.0.0.2; proxy_timeout 2s; proxy_connect_timeout 1s; }: proxy_timeout closes both
# connections after 2 s without a byte either way. Behind it a Node http server
# (programs/x17p-node-server.js) on 127.0.0.3:9001 whose keepAliveTimeout (10 s) is longer than
# nginx's: nginx's timeout is the one that bites, while every relayed response carries the backend's
# `Keep-Alive: timeout=10`. Clients in another namespace, 5 ms one way away (a delay line): 4 Node
# http.Agent lanes and 4 python requests lanes (programs/x17p-node-lanes.js, x17p-requests-lanes.py),
# each reusing its pooled connection after pauses swept from 1.95 to 2.05 s (dense 1.982-2.007 s),
# GET and POST alternating. Both legs captured by one tcpdump on all interfaces of the server
# namespace. Ground truth: the clients' logs (every error with time and local port), the backend's
# log, nginx's stream access log (one line per relayed connection) and error log (info: "timed out").
# Bounded: one attempt takes ~20 s; at most 3 attempts, until programs/x17p-meta.py finds the
# capture and the logs agree and at least 3 races.
# Writes samples/keepalive-race-nginx-stream.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x17p-lib.sh"
cc_require nginx node /usr/bin/python3 python3 tcpdump tshark ip
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || { echo "record: apt-get install -y libnginx-mod-stream" >&2; exit 2; }
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=keepalive-race-nginx-stream
x17p_setup ccx17p-ns
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
SOFTWARE=("$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian nginx, libnginx-mod-stream $(dpkg-query -W -f '${Version}' libnginx-mod-stream))" "node $(node -v) (backend: http.Server; clients: http.Agent)"
          "python requests $(/usr/bin/python3 -c 'import requests; print(requests.__version__)') (Debian python3-requests; urllib3 $(/usr/bin/python3 -c 'import urllib3; print(urllib3.__version__)'), /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
          "user-space delay line (python3, tun) for path latency")
DESCRIPTION="The keep-alive race through a layer-4 proxy. ${SOFTWARE[0]%% (*} stream module: server { listen 10.99.0.2:8080; proxy_pass 127.0.0.3:9001; proxy_bind 127.0.0.2; proxy_connect_timeout 1s; proxy_timeout 2s; } relays each client connection, bytes as they come, to its own connection from 127.0.0.2 to a Node $(node -v) http server on 127.0.0.3:9001 whose keepAliveTimeout is 10 s: every relayed response carries the backend's Connection: keep-alive and Keep-Alive: timeout=10 (nginx adds nothing), but after 2 s without a byte either way proxy_timeout fires (error log, info: \"connection timed out (110: Connection timed out) while proxying connection\"; the access log still says 200) and nginx closes both connections with a FIN each, the backend leg first (~0.1 ms before the client leg). nginx re-arms its timer lazily (not when less than 300 ms would be gained), so the close comes 2 s after the first byte of a burst: about 1.990-2.002 s after the last response byte. The backend never closes first. Clients 5 ms one way away: 4 Node http.Agent lanes (keepAlive, maxSockets 1) and 4 python requests lanes (one Session each), each reusing its pooled connection after pauses swept from 1.95 to 2.05 s (dense 1.982-2.007 s), GET and POST alternating; neither retries. A reuse sent in the last ~10 ms before nginx's FIN reached the client crosses it: the request reaches a closed socket, the proxy host's kernel answers RST, the request never reaches the backend; Node reports ECONNRESET (socket hang up), requests ConnectionError (RemoteDisconnected). A reuse after the FIN arrived is safe: both pools see the close and open a new connection."
for attempt in 1 2 3; do
  rm -f "$WORK/client.log" "$WORK/backend.log" "$WORK"/tcpdump.*
  x17p_backend
  x17p_nginx_start
  ccb_capture_start "$CC_NS" any "$OUT" "tcp port 8080 or tcp port 9001" -B 32768
  x17p_clients
  sleep 2.5                       # nginx's idle close of the last connections
  cc_capture_stop
  x17p_proxy_stop
  x17p_backend_stop
  cat "$WORK"/tcpdump.* >"$WORK/tcpdump.log"
  if python3 "$CCB_PROGRAMS/x17p-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" \
      --proxy "$CCB_SERVER_IP:8080" --backend 127.0.0.3:9001 --proxy-kind nginx --error-log "$WORK/error.log" \
      --client-log "$WORK/client.log" --backend-log "$WORK/backend.log" --proxy-log "$WORK/proxy.log" \
      --tcpdump-log "$WORK/tcpdump.log" --need-races 3 \
      --configured "{\"serverIdleTimeout\": 2, \"proxyTimeout\": 2, \"proxyConnectTimeout\": 1, \"backendKeepAliveTimeout\": 10, \"oneWayDelayMs\": $X17P_DELAY_MS}" \
      --configured-notes "serverIdleTimeout is the idle timeout of the server the clients talk to, nginx stream on 10.99.0.2:8080 (proxy_timeout 2s: no byte either way for 2 s closes both connections; nginx's lazy timer makes the FIN follow the last relayed byte by about 1.990-2.002 s). backendKeepAliveTimeout is the Node backend's keepAliveTimeout (advertised as Keep-Alive: timeout=10 in every relayed response): it never fires, nginx closes first. On the backend leg nginx is the client and closes idle connections after the same 2 s." \
      --description "$DESCRIPTION" --software "${SOFTWARE[@]}"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep '"error"' "$WORK/client.log" | cut -c1-220 || true
grep -c . "$WORK/proxy.log" || true
