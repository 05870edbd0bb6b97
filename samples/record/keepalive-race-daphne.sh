#!/usr/bin/env bash
# The keep-alive race against Daphne at its (Twisted's) idle timeout: Daphne 4.0.0 (Debian daphne /
# python3-daphne, an ASGI server on Twisted 22.4's asyncio reactor) with every option at its default,
# serving the tiny ASGI app programs/x20h-asgi-app.py (GET 200, POST 201, one log line per request with
# the client port), run by programs/x21a-daphne-run.py (Daphne's own CLI, plus a Twisted log observer
# that logs each "Timing out client" event), behind a 5 ms one-way-latency link.
# Daphne has no keep-alive idle setting: -t/--http-timeout bounds how long the application may take
# to answer (WebRequest.check_timeouts: 503, or finish), --ping-interval/--ping-timeout are WebSocket
# pings. But its HTTPFactory calls twisted.web.http.HTTPFactory.__init__ with no timeout, so every
# HTTPChannel has Twisted's default timeOut, _REQUEST_TIMEOUT = 1 * 60: an HTTP/1.1 keep-alive
# connection idle 60 s after its last response is closed (TimeoutMixin, callLater; timeoutConnection
# logs "Timing out client" and calls loseConnection: FIN ~60.0 s after the response).
# Clients: Node's http.Agent (programs/x17p-node-lanes.js, 16 lanes) and python requests
# (programs/x17p-requests-lanes.py, 16 lanes), each lane one pooled connection reused twice after
# pauses of 59.70-60.30 s (dense 59.975-60.014 s), GETs and POSTs alternating, so that some reuses
# cross Daphne's idle FIN. Neither client retries. Server-side capture. Bounded: one attempt takes
# ~125 s; at most 3, until one has at least 3 races. Writes samples/keepalive-race-daphne.pcap and
# .meta.json (programs/x21a-meta.py: x20h-meta.py, i.e. x19l-meta.py races, which checks the capture
# against the clients' and the app's logs, and --idle-log, which matches every server FIN on the wire
# with Twisted's own "Timing out client" event).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x21a-lib.sh"
x21a_require

SCENARIO=keepalive-race-daphne
DELAY_MS=5
X21A_DAPHNE_ARGS=()
TW_TIMEOUT="$(/usr/bin/python3 -c 'import daphne.server; from twisted.web import http; print(http._REQUEST_TIMEOUT)')"
[ "$TW_TIMEOUT" = 60 ] || { echo "record: $SCENARIO: Twisted's default HTTP timeout is $TW_TIMEOUT s, not 60 s: the pauses below assume 60" >&2; exit 1; }
# 64 pauses (s): 24 over 59.70-60.30 s outside 59.97-60.03 s (no race), 40 from 59.975 to 60.014 s in 1 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [round(59.70 + 0.025 * k, 4) for k in range(25)]
v = [x for x in v if not 59.97 < x < 60.03] + [59.8125, 60.1875]
v += [round(59.975 + 0.001 * k, 4) for k in range(40)]
random.Random(21).shuffle(v)
print(','.join(map(str, v)))")
[ "$(echo "$GAPS" | tr ',' '\n' | wc -l)" = 64 ] || { echo "record: $SCENARIO: expected 64 pauses" >&2; exit 1; }

x21a_setup ccx21a-dp "$DELAY_MS" 450
DP_V="$(/usr/bin/python3 -c 'import daphne; print(daphne.__version__)')"
TW_V="$(/usr/bin/python3 -c 'import twisted; print(twisted.__version__)')"
mapfile -t SOFTWARE < <(echo "Daphne $DP_V (Debian daphne $(dpkg-query -W -f='${Version}' daphne); Twisted $TW_V, Debian python3-twisted $(dpkg-query -W -f='${Version}' python3-twisted), AsyncioSelectorReactor; autobahn $(/usr/bin/python3 -c 'import autobahn; print(autobahn.__version__)'); /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'); every option at its default)"; x19l_client_software)
x21a_record_races "$SCENARIO" x21a_daphne_start 3 "$GAPS" 16 16 2 1 150 --idle-log \
  --server-name Daphne --idle-setting "no Daphne option: Twisted's HTTPChannel timeout (twisted.web.http.HTTPFactory timeout, _REQUEST_TIMEOUT = 60 s), which Daphne's HTTPFactory leaves at its default" \
  --configured "{\"serverIdleTimeout\": $TW_TIMEOUT, \"daphneHttpTimeout\": \"default (None): per request, not idle\", \"daphnePingInterval\": \"default (20): WebSocket only\", \"twistedHttpFactoryTimeout\": $TW_TIMEOUT, \"oneWayDelayMs\": $DELAY_MS}" \
  --configured-notes "Nothing is set: /usr/bin/daphne's options at their defaults. Daphne has no keep-alive idle option: -t/--http-timeout (None by default) is how long the application may take to answer one request (WebRequest.check_timeouts, run every 2 s for requests in progress: a 503, or finish() once the response started), --ping-interval (20 s) and --ping-timeout (30 s) are WebSocket keepalive pings, --websocket_timeout and --application-close-timeout are not about idle HTTP connections either. Daphne's HTTPFactory (daphne/http_protocol.py) calls twisted.web.http.HTTPFactory.__init__(self) with no timeout, so each HTTPChannel's timeOut is Twisted's _REQUEST_TIMEOUT = 1 * 60 (twisted/web/http.py in Twisted $TW_V; it was 60 * 60 * 12 until Twisted lowered it in 2016, twisted issue #3746). HTTPChannel is a TimeoutMixin: the timeout is set on connect, reset on data received, disabled while a request is handled (allContentReceived) and set again when it is done (requestDone); on expiry timeoutConnection logs 'Timing out client: <peer>' and calls loseConnection: FIN. The timer is the reactor's callLater (here asyncio's call_later; no tick). Daphne sends 'server: daphne' (--server-name, 'daphne' by default) and no Date or Keep-Alive header (its WebRequest is twisted.web.http.Request, which adds no Date; twisted.web.server.Request would)." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --header-note "Daphne's default response headers: 'server: daphne' (Server(server_name='daphne'), -s/--server-name, --no-server-name); no Date header." \
  --description "The keep-alive race against Daphne at the idle timeout it gets from Twisted. ${SOFTWARE[0]} serves a tiny ASGI app (programs/x20h-asgi-app.py: GET 200, POST 201). Daphne has no keep-alive setting of its own (--http-timeout is the application's time to answer a request); its Twisted HTTPChannels keep Twisted's default timeout, 60 s, after each response, then log 'Timing out client' and close: FIN ~60.0 s after the response. ${SOFTWARE[1]%% (*} and ${SOFTWARE[2]%% (*}, 16 lanes each with one pooled connection, reuse it twice after pauses of 59.70-60.30 s (dense 59.975-60.014 s), GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before Daphne's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST; Node reports ECONNRESET 'socket hang up' (or 'read ECONNRESET'), requests a ConnectionError (RemoteDisconnected or ConnectionResetError); neither retries. A reuse after the FIN arrived goes on a new connection (Node drops the socket on 'end', urllib3 checks is_connection_dropped)."
