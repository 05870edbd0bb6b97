#!/usr/bin/env bash
# The keep-alive race against Erlang/OTP's inets httpd with a 2 s keep_alive_timeout: inets 8.2.2
# (Debian erlang-inets, OTP 25) running httpd (programs/x24e-inets.escript server: one httpd module,
# GET 200, POST 201, one log line per request with the client port, and one each time a connection
# process's keep-alive timer fires, seen by tracing httpd_request_handler:handle_info(timeout, _)).
# httpd's keep-alive idle close: each connection's process (httpd_request_handler) arms
# erlang:send_after(1000 * keep_alive_timeout, self(), timeout) once a response has been handed to
# the socket (and at accept), cancels it when the next request's first bytes arrive, and on expiry
# stops and closes the socket: FIN keep_alive_timeout s (150 by default) after that connection's own
# response, not on a shared tick. Behind a 5 ms one-way-latency link. Clients: Erlang's httpc
# (programs/x24e-inets.escript httpc-lanes, 6 lanes, one profile each, every option at its
# default: keep_alive_timeout 120000 ms) and python requests (programs/x17p-requests-lanes.py, 6
# lanes); each lane one pooled connection reused after pauses of 1.70-2.30 s (dense 1.975-2.015 s),
# GETs and POSTs alternating, so that some reuses cross httpd's idle FIN. Neither client sends a
# request again. Server-side capture. Bounded: one attempt takes ~20 s; at most 3, until one has at
# least 3 races, one of them a POST, one from each client library.
# Writes samples/keepalive-race-inets.pcap and .meta.json (programs/x24e-meta.py: the capture checked
# against the clients' logs (errors and their ports), httpd's request lines and its idle-timeout
# lines, each of which must match a server FIN on the wire).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x24e-lib.sh"
x24e_require

SCENARIO=keepalive-race-inets
DELAY_MS=5
X24E_KEEP_ALIVE_TIMEOUT=2
GAPS=$(x24e_gaps 24)
[ "$(echo "$GAPS" | tr ',' '\n' | wc -l)" = 72 ] || { echo "record: $SCENARIO: expected 72 pauses" >&2; exit 1; }

x20h_setup ccx24e-in "$DELAY_MS" 150
INETS_V=$(erl -noshell -eval 'application:load(inets), {ok, V} = application:get_key(inets, vsn), io:format("~s", [V]), halt().')
OTP_V=$(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')
mapfile -t SOFTWARE < <(echo "Erlang/OTP $OTP_V inets $INETS_V httpd (Debian erlang-inets $(dpkg-query -W -f='${Version}' erlang-inets); programs/x24e-inets.escript server: httpd with keep_alive_timeout $X24E_KEEP_ALIVE_TIMEOUT, everything else at its default)"; x24e_client_software)
x24e_record_races "$SCENARIO" x24e_inets_start 3 "$GAPS" 6 6 6 3 \
  --need-post-races 1 --need-per-lib 1 \
  --configured "{\"serverIdleTimeout\": $X24E_KEEP_ALIVE_TIMEOUT, \"inetsKeepAliveTimeout\": $X24E_KEEP_ALIVE_TIMEOUT, \"inetsKeepAliveTimeoutDefault\": 150, \"httpcKeepAliveTimeoutMs\": 120000, \"httpcMaxSessions\": 2, \"requestsMaxRetries\": 0, \"oneWayDelayMs\": $DELAY_MS}" \
  --configured-notes "Only httpd's keep_alive_timeout is set ($X24E_KEEP_ALIVE_TIMEOUT s; 150 s by default, httpd_request_handler: 1000 * httpd_util:lookup(ConfigDB, keep_alive_timeout, 150) ms; an integer, httpd_conf rejects anything else). Each connection's process arms erlang:send_after(that, self(), timeout) when the connection is accepted and again after each response (handle_next_request -> activate_request_timeout, once gen_tcp:send of the response has returned), cancels it when the next request's first bytes arrive; on expiry handle_info(timeout, ...) stops the process and terminate closes the socket (FIN; RST with a request already unread). So the idle close comes keep_alive_timeout s after the connection's own response was written: per connection, not spread over a shared tick; serverIdleTimeout ($X24E_KEEP_ALIVE_TIMEOUT) is that idle time. On the wire it shows about one round trip shorter from the response's last byte (see observed.idleCloseNote): httpd writes head and body in two gen_tcp:send calls without nodelay and Nagle holds the body segment until the head is ACKed, while the timer is already running. httpd sends no Keep-Alive header (no timeout advertised) and 'Server: inets/$INETS_V' (server_tokens minimal, the default). httpcKeepAliveTimeoutMs and httpcMaxSessions are httpc's profile defaults (httpc:set_options keep_alive_timeout, milliseconds: its handler closes a connection idle that long; max_sessions), left as they are; httpc has no retry setting: a request whose connection closes under it is answered {error, socket_closed_remotely} and not sent again (httpc_handler terminate: deliver_answer); httpc sends no User-Agent header. requestsMaxRetries is requests' HTTPAdapter default (0)." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --header-note "httpd's default response headers: 'Date', 'Server: inets/$INETS_V' (server_tokens minimal), 'Content-Type', 'Content-Length'; no Connection or Keep-Alive header, so no idle timeout is advertised." \
  --description "The keep-alive race against Erlang/OTP's inets httpd with a $X24E_KEEP_ALIVE_TIMEOUT s keep_alive_timeout. ${SOFTWARE[0]} serves one httpd module (programs/x24e-inets.escript server: GET 200, POST 201). Each connection's httpd_request_handler process arms a $X24E_KEEP_ALIVE_TIMEOUT s timer once a response is written and closes the connection when it fires: FIN ~$X24E_KEEP_ALIVE_TIMEOUT.0 s after that connection's response. Erlang's httpc (one profile per lane, keep_alive_timeout 120000 ms by default) and python requests, 6 lanes each with one pooled connection, reuse it after pauses of 1.70-2.30 s (dense 1.975-2.015 s), GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before httpd's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST. httpc returns {error, socket_closed_remotely} and requests raises ConnectionError; neither sends the request again. A reuse after the FIN arrived goes on a new connection (httpc's handler stops on tcp_closed and leaves the pool; urllib3 drops a readable pooled socket)."
exit 0
