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
source "$HERE/programs/x17p-lib.sh"
x17p_require nginx
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || { echo "record: apt-get install -y libnginx-mod-stream" >&2; exit 2; }

SCENARIO=keepalive-race-nginx-stream
x17p_setup ccx17p-ns
mapfile -t SOFTWARE < <(echo "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian nginx, libnginx-mod-stream $(dpkg-query -W -f '${Version}' libnginx-mod-stream))"; x17p_software)
DESCRIPTION="The keep-alive race through a layer-4 proxy. ${SOFTWARE[0]%% (*} stream module: server { listen 10.99.0.2:8080; proxy_pass 127.0.0.3:9001; proxy_bind 127.0.0.2; proxy_connect_timeout 1s; proxy_timeout 2s; } relays each client connection, bytes as they come, to its own connection from 127.0.0.2 to a Node $(node -v) http server on 127.0.0.3:9001 whose keepAliveTimeout is 10 s: every relayed response carries the backend's Connection: keep-alive and Keep-Alive: timeout=10 (nginx adds nothing), but after 2 s without a byte either way proxy_timeout fires (error log, info: \"connection timed out (110: Connection timed out) while proxying connection\"; the access log still says 200) and nginx closes both connections with a FIN each, the backend leg first (~0.1 ms before the client leg). nginx re-arms its timer lazily (not when less than 300 ms would be gained), so the close comes 2 s after the first byte of a burst: about 1.990-2.002 s after the last response byte. The backend never closes first. Clients 5 ms one way away: 4 Node http.Agent lanes (keepAlive, maxSockets 1) and 4 python requests lanes (one Session each), each reusing its pooled connection after pauses swept from 1.95 to 2.05 s (dense 1.982-2.007 s), GET and POST alternating; neither retries. A reuse sent in the last ~10 ms before nginx's FIN reached the client crosses it: the request reaches a closed socket, the proxy host's kernel answers RST, the request never reaches the backend; Node reports ECONNRESET (socket hang up), requests ConnectionError (RemoteDisconnected). A reuse after the FIN arrived is safe: both pools see the close and open a new connection."
x17p_record "$SCENARIO" x17p_nginx_start --proxy-kind nginx --error-log "$CCB_WORK/error.log" \
  --configured "{\"serverIdleTimeout\": 2, \"proxyTimeout\": 2, \"proxyConnectTimeout\": 1, \"backendKeepAliveTimeout\": 10, \"oneWayDelayMs\": $X17P_DELAY_MS}" \
  --configured-notes "serverIdleTimeout is the idle timeout of the server the clients talk to, nginx stream on 10.99.0.2:8080 (proxy_timeout 2s: no byte either way for 2 s closes both connections; nginx's lazy timer makes the FIN follow the last relayed byte by about 1.990-2.002 s). backendKeepAliveTimeout is the Node backend's keepAliveTimeout (advertised as Keep-Alive: timeout=10 in every relayed response): it never fires, nginx closes first. On the backend leg nginx is the client and closes idle connections after the same 2 s." \
  --description "$DESCRIPTION" --software "${SOFTWARE[@]}"
