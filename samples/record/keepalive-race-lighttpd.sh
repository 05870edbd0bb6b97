#!/usr/bin/env bash
# The keep-alive race against lighttpd at its default keep-alive idle timeout: lighttpd 1.4.69
# (Debian lighttpd) with no keep-alive setting in its config (server.max-keep-alive-idle at its
# default, 5 s), serving GET /warm/* and /items/* from a static file (mod_rewrite) and POST /orders
# by a CGI (201; it logs its REMOTE_PORT), behind a 25 ms one-way-latency link. lighttpd checks its
# idle connections once a second (a whole-second clock), so it closes an idle keep-alive connection
# anywhere from ~4.6 to ~6 s after the response, with a FIN (shutdown), then reads and drops what
# still comes before closing for good. Clients: Node's http.Agent (programs/x17p-node-lanes.js, 8
# lanes) and python requests (programs/x17p-requests-lanes.py, 6 lanes), each lane one pooled
# connection reused after pauses spread evenly over 4.6-6.0 s, GETs and POSTs alternating; the
# 25 ms latency gives each reuse a 50 ms window in which it crosses lighttpd's FIN. Neither client
# retries. Server-side capture. Bounded: one attempt takes ~30 s; at most 3, until one has at least
# 2 races. Writes samples/keepalive-race-lighttpd.pcap and .meta.json (programs/x19l-meta.py checks
# the capture against the clients' logs and lighttpd's access log and the CGI's log).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19l-lib.sh"
x19l_require lighttpd

SCENARIO=keepalive-race-lighttpd
DELAY_MS=25
# 56 pauses (s), 4.600 to 6.000 s in 25 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [round(4.6 + 0.025 * k, 3) for k in range(57)][:56]
random.Random(19).shuffle(v)
print(','.join(map(str, v)))")

x19l_setup ccx19l-lh "$DELAY_MS"
mapfile -t SOFTWARE < <(echo "$(lighttpd -v 2>&1 | head -1 | sed 's/ - a light.*//') (Debian lighttpd $(dpkg-query -W -f='${Version}' lighttpd); no server.max-keep-alive-* line: its defaults)"; x19l_client_software)
x19l_record_races "$SCENARIO" x19l_lighttpd_start 2 "$GAPS" 8 6 4 1 \
  --access-log "$CCB_WORK/access.log" \
  --server-name lighttpd --idle-setting "lighttpd server.max-keep-alive-idle, 5 s by default, checked once a second on a whole-second clock" \
  --configured "{\"serverIdleTimeout\": 5, \"lighttpdMaxKeepAliveIdle\": \"default (5)\", \"oneWayDelayMs\": $DELAY_MS}" \
  --configured-notes "Nothing about keep-alive is set: server.max-keep-alive-idle defaults to 5 s (lighttpd docs, Server max-keep-alive-idle; 1.4.69 src/configfile.c) and server.max-keep-alive-requests to 100. lighttpd's connection_check_timeout runs once a second and compares whole seconds (cur_ts - read_idle_ts > keep_alive_idle), so an idle connection is closed from ~4.6 to ~6 s after the response (see observed). Its close is a shutdown (FIN) followed by a lingering read that drops whatever still arrives; lighttpd then closes the socket." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --description "The keep-alive race against lighttpd at its default keep-alive idle timeout. ${SOFTWARE[0]%% (*} with server.max-keep-alive-idle at its default (5 s) serves GET /warm/* and /items/* from a static file and POST /orders by a CGI (201). It checks idle connections once a second on a whole-second clock, so it closes an idle keep-alive connection ~4.6-6 s after the response: a FIN (shutdown), then it reads and drops whatever still arrives. ${SOFTWARE[1]%% (*} (8 lanes) and ${SOFTWARE[2]%% (*} (6 lanes), each lane one pooled connection, reuse it after pauses of 4.6-6.0 s, GET and POST alternating; 25 ms one-way latency, captured on the server side. A reuse sent in the last RTT before lighttpd's FIN reached the client crosses it: lighttpd reads and drops it and the client reads the FIN with no response (Node: ECONNRESET 'socket hang up'; requests: ConnectionError RemoteDisconnected); neither retries. A reuse after the FIN arrived goes on a new connection (Node drops the socket on 'end', urllib3 checks is_connection_dropped)."
