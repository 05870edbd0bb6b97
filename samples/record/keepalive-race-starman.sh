#!/usr/bin/env bash
# The keep-alive race against Starman at its default keep-alive timeout: Starman 0.4016 (Debian
# starman, a preforking Perl PSGI server) with every option at its default (keep-alive on,
# --keepalive-timeout 1, --read-timeout 5) but --workers 16, serving a tiny PSGI app
# (programs/x19l-app.psgi: GET 200, POST 201, one log line per request with the client port), behind
# a 5 ms one-way-latency link. After each response a Starman worker waits for the next request with
# select(2) for keepalive_timeout = 1 s (Starman::Server::process_request, can_read) and, when none
# came, closes the socket: FIN ~1.000 s after the response. Clients: Node's http.Agent
# (programs/x17p-node-lanes.js, 6 lanes) and python requests (programs/x17p-requests-lanes.py, 6
# lanes), each lane one pooled connection reused after pauses swept from 0.95 to 1.05 s (dense
# 0.980-1.012 s), GETs and POSTs alternating, so that some reuses cross Starman's idle FIN. Neither
# client retries. Server-side capture. Bounded: one attempt takes ~10 s; at most 3, until one has at
# least 3 races. Writes samples/keepalive-race-starman.pcap and .meta.json (programs/x19l-meta.py
# checks the capture against the clients' and the PSGI app's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19l-lib.sh"
x19l_require /usr/bin/starman perl

SCENARIO=keepalive-race-starman
DELAY_MS=5
# 72 pauses (s): 7 outside the race window, 65 from 0.980 to 1.012 s in 0.5 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [0.95, 0.965, 0.975, 1.02, 1.03, 1.04, 1.05] + [round(0.980 + 0.0005 * k, 4) for k in range(65)]
random.Random(19).shuffle(v)
print(','.join(map(str, v)))")

x19l_setup ccx19l-st "$DELAY_MS"
STARMAN_V="$(perl -MStarman -e 'print $Starman::VERSION')"
PLACK_V="$(perl -MPlack -e 'print $Plack::VERSION')"
mapfile -t SOFTWARE < <(echo "Starman $STARMAN_V (Debian starman $(dpkg-query -W -f='${Version}' starman); Plack $PLACK_V; perl $(perl -e 'printf "%vd", $^V'); --workers 16, every other option at its default)"; x19l_client_software)
x19l_record_races "$SCENARIO" x19l_starman_start 3 "$GAPS" 6 6 6 2 \
  --server-name Starman --idle-setting "Starman --keepalive-timeout, 1 s by default (Starman::Server: keepalive_timeout = 1; starman(1p): 'Defaults to 1')" \
  --configured "{\"serverIdleTimeout\": 1, \"starmanKeepaliveTimeout\": \"default (1)\", \"starmanReadTimeout\": \"default (5)\", \"workers\": 16, \"oneWayDelayMs\": $DELAY_MS}" \
  --configured-notes "Nothing about keep-alive is set: Starman's --keepalive-timeout defaults to 1 s (Starman/Server.pm: keepalive_timeout = 1 unless given; the man page starman(1p): 'Defaults to 1'). After a response the worker calls IO::Select->can_read(keepalive_timeout) and closes the connection (Net::Server close: FIN) when nothing came. Starman sends no Server header (only Date and Connection: keep-alive)." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --description "The keep-alive race against Starman at its default keep-alive timeout. ${SOFTWARE[0]} serves a tiny PSGI app (programs/x19l-app.psgi: GET 200, POST 201). After each response a worker waits up to 1 s (--keepalive-timeout, default 1) for the next request, then closes: FIN ~1.0 s after the response. ${SOFTWARE[1]%% (*} and ${SOFTWARE[2]%% (*}, 6 lanes each with one pooled connection, reuse it after pauses swept from 0.95 to 1.05 s, GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before Starman's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST; Node reports ECONNRESET 'socket hang up' (or 'read ECONNRESET'), requests a ConnectionError (RemoteDisconnected or ConnectionResetError); neither retries. A reuse after the FIN arrived goes on a new connection (Node drops the socket on 'end', urllib3 checks is_connection_dropped)."
