#!/usr/bin/env bash
# The keep-alive race against Yaws: Yaws 2.1 (Debian yaws, an Erlang HTTP server, on Erlang/OTP 25)
# with keepalive_timeout = 2000 (its default is 30000 ms) and nothing else about keep-alive set,
# behind a 5 ms one-way-latency link. It serves GET /warm/* and /items/* as static files and POST
# /orders by an appmod (programs/x20m-orders.erl, compiled with erlc: 201, one log line per request
# with the client port). After a response a Yaws acceptor process waits for the next request with
# a receive timeout of keepalive_timeout and, when none came, closes the socket (gen_tcp:close): a
# FIN 2.000 s after the response, to the millisecond. Clients: Node's http.Agent
# (programs/x17p-node-lanes.js, 6 lanes) and python requests (programs/x17p-requests-lanes.py, 6
# lanes), each lane one pooled connection reused after pauses swept from 1.95 to 2.05 s (dense
# 1.980-2.012 s), GETs and POSTs alternating, so that some reuses cross Yaws's idle FIN. Neither
# client retries. Server-side capture. Bounded: one attempt takes ~20 s; at most 3, until one has at
# least 3 races. Writes samples/keepalive-race-yaws.pcap and .meta.json (programs/x19l-meta.py checks
# the capture against the clients' logs, Yaws's access log (GETs) and the appmod's log (POSTs)).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19l-lib.sh"
source "$HERE/programs/x20m-lib.sh"
x19l_require /usr/bin/erl
x20m_require_yaws

SCENARIO=keepalive-race-yaws
DELAY_MS=5
X20M_YAWS_KEEPALIVE_MS=2000
# 72 pauses (s): 7 outside the race window, 65 from 1.980 to 2.012 s in 0.5 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [1.95, 1.965, 1.975, 2.02, 2.03, 2.04, 2.05] + [round(1.980 + 0.0005 * k, 4) for k in range(65)]
random.Random(20).shuffle(v)
print(','.join(map(str, v)))")

x19l_setup ccx20m-y "$DELAY_MS"
mapfile -t SOFTWARE < <(x20m_yaws_software; x19l_client_software)
x19l_record_races "$SCENARIO" x20m_yaws_start 3 "$GAPS" 6 6 6 3 \
  --access-log "$CCB_WORK/access.log" \
  --server-name Yaws --idle-setting "Yaws keepalive_timeout (yaws.conf, global, in ms), 30000 by default; set to 2000 here" \
  --configured "{\"serverIdleTimeout\": 2, \"yawsKeepaliveTimeoutMs\": $X20M_YAWS_KEEPALIVE_MS, \"yawsKeepaliveTimeoutDefaultMs\": 30000, \"oneWayDelayMs\": $DELAY_MS}" \
  --configured-notes "yaws.conf (global part): keepalive_timeout = $X20M_YAWS_KEEPALIVE_MS; its default is 30000 ms (yaws.conf(5): 'keepalive_timeout = TimeInMilliseconds | infinity ... The default value is 30000.'; Debian's /etc/yaws/yaws.conf sets 30000 too). keepalive_maxuses is left at its default (nolimit). After a response the connection's Yaws process reads the next request with a receive timeout of keepalive_timeout and, when it expires, closes the socket (gen_tcp:close: a FIN, no data before it), 2.000 s after the response, to within a few milliseconds (see observed): a per-connection timer, no periodic check. Yaws sends 'Server: Yaws 2.1.1' on every response. Run by erl directly (-run yaws -conf FILE), not the yaws script's daemon mode." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --description "The keep-alive race against Yaws. ${SOFTWARE[0]%%;*} serves GET /warm/* and /items/* as static files and POST /orders by an appmod (201). With keepalive_timeout = $X20M_YAWS_KEEPALIVE_MS (default 30000) a connection's Yaws process waits 2 s for the next request, then closes: FIN 2.000 s after the response. ${SOFTWARE[1]%% (*} and ${SOFTWARE[2]%% (*}, 6 lanes each with one pooled connection, reuse it after pauses swept from 1.95 to 2.05 s, GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before Yaws's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST; Node reports ECONNRESET 'socket hang up' (or 'read ECONNRESET'), requests a ConnectionError (RemoteDisconnected or ConnectionResetError); neither retries. A reuse after the FIN arrived goes on a new connection (Node drops the socket on 'end', urllib3 checks is_connection_dropped), except when a Node lane's timer fires before its event loop has handled the FIN's 'end': then the request goes out on the closed connection (a stale reuse, ECONNRESET too)."
