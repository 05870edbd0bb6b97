#!/usr/bin/env bash
# The keep-alive race through a layer-4 proxy: HAProxy 2.6 in `mode tcp` (timeout connect 1s,
# timeout client 2s, timeout server 2s: in TCP mode they are idle timeouts on the relayed
# connection, and when one fires HAProxy closes both sides) on 10.99.0.2:8080, relaying to a Node
# http server (programs/x17p-node-server.js) on 127.0.0.3:9001 from source 127.0.0.2, whose
# keepAliveTimeout (10 s) is longer than HAProxy's: HAProxy's timeout is the one that bites, while
# every relayed response carries the backend's `Keep-Alive: timeout=10`. Clients in another
# namespace, 5 ms one way away (a delay line): 4 Node http.Agent lanes and 4 python requests lanes
# (programs/x17p-node-lanes.js, x17p-requests-lanes.py), each reusing its pooled connection after
# pauses swept from 1.95 to 2.05 s (dense 1.982-2.007 s), GET and POST alternating. Both legs
# captured by one tcpdump on all interfaces of the server namespace. Ground truth: the clients'
# logs (every error with time and local port), the backend's log, HAProxy's log (one line per
# relayed connection: its backend source port, Tt, termination state cD = client-side timeout).
# Bounded: one attempt takes ~20 s; at most 3 attempts, until programs/x17p-meta.py finds the
# capture and the logs agree and at least 3 races.
# Writes samples/keepalive-race-haproxy-tcp.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x17p-lib.sh"
x17p_require haproxy

SCENARIO=keepalive-race-haproxy-tcp
x17p_setup ccx17p-ht
mapfile -t SOFTWARE < <(echo "$(haproxy -v | head -1 | cut -d' ' -f1-3) (Debian haproxy)"; x17p_software)
DESCRIPTION="The keep-alive race through a layer-4 proxy. ${SOFTWARE[0]%% (*} in mode tcp (timeout connect 1s, timeout client 2s, timeout server 2s) listens on 10.99.0.2:8080 and relays each client connection, bytes as they come, to its own connection from 127.0.0.2 to a Node $(node -v) http server on 127.0.0.3:9001 whose keepAliveTimeout is 10 s: every relayed response carries the backend's Connection: keep-alive and Keep-Alive: timeout=10 (HAProxy adds nothing), but after 2 s without a byte either way HAProxy's timeout fires (log: termination cD) and it closes both connections: on the backend leg a FIN and ~0.05 ms later an RST (only a FIN when the backend's own FIN got in between), on the client leg a FIN (~0.1-0.7 ms after the backend-leg FIN). The backend never closes first. Clients 5 ms one way away: 4 Node http.Agent lanes (keepAlive, maxSockets 1) and 4 python requests lanes (one Session each), each reusing its pooled connection after pauses swept from 1.95 to 2.05 s (dense 1.982-2.007 s), GET and POST alternating; neither retries. A reuse sent in the last ~10 ms before HAProxy's FIN reached the client crosses it: the request reaches a closed socket, the proxy host's kernel answers RST, the request never reaches the backend; Node reports ECONNRESET (socket hang up), requests ConnectionError (RemoteDisconnected). A reuse after the FIN arrived is safe: both pools see the close and open a new connection."
x17p_record "$SCENARIO" x17p_haproxy_start --proxy-kind haproxy \
  --configured "{\"serverIdleTimeout\": 2, \"proxyTimeoutClient\": 2, \"proxyTimeoutServer\": 2, \"proxyTimeoutConnect\": 1, \"backendKeepAliveTimeout\": 10, \"oneWayDelayMs\": $X17P_DELAY_MS}" \
  --configured-notes "serverIdleTimeout is the idle timeout of the server the clients talk to, HAProxy on 10.99.0.2:8080 (mode tcp: timeout client 2s / timeout server 2s, whichever fires first; on the wire its FIN follows the last relayed byte by about 2.000-2.005 s). backendKeepAliveTimeout is the Node backend's keepAliveTimeout (advertised as Keep-Alive: timeout=10 in every relayed response): it never fires, HAProxy closes first. On the backend leg HAProxy is the client and closes idle connections after the same 2 s." \
  --description "$DESCRIPTION" --software "${SOFTWARE[@]}"
