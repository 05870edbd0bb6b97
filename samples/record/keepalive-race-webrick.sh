#!/usr/bin/env bash
# The keep-alive race against Ruby WEBrick with a 2 s :RequestTimeout: WEBrick 1.8.1 (Debian
# ruby-webrick, ruby 3.1) running WEBrick::HTTPServer (programs/x23r-webrick-server.rb: one proc,
# GET 200, POST 201, one log line per request with the client port, and one when HTTPServer#run gives
# up on an idle keep-alive connection). WEBrick's keep-alive idle close (webrick/httpserver.rb,
# HTTPServer#run, a thread per connection): after each response it waits for the next request with
# sock.to_io.wait_readable(0.5) while `timeout -= 0.5` stays above 0 (timeout = :RequestTimeout, 30 s
# by default), then raises HTTPStatus::EOFError and start_thread closes the socket: FIN
# ceil(RequestTimeout / 0.5) * 0.5 s = 2.0 s after that connection's own response (the 0.5 s steps
# are the connection's, not a shared tick). Behind a 5 ms one-way-latency link. Clients: Node's
# http.Agent (programs/x17p-node-lanes.js, 6 lanes, never retries) and Ruby's Net::HTTP
# (programs/x17r-net-http-client.rb sweep, 6 lanes, each one persistent Net::HTTP session with
# keep_alive_timeout raised from 2 s to 30 s (at 2 s Net::HTTP itself reconnects rather than reuse a
# connection idle longer), max_retries 1: it retries an idempotent request once on EOFError/ECONNRESET, a POST
# not); each lane one pooled connection reused after pauses of 1.70-2.30 s (dense 1.980-2.020 s), GETs
# and POSTs alternating, so that some reuses cross WEBrick's idle FIN. Server-side capture. Bounded:
# one attempt takes ~19 s; at most 3, until one has at least 3 races, one of them a POST and one a
# GET Net::HTTP retried.
# Writes samples/keepalive-race-webrick.pcap and .meta.json (programs/x23r-meta.py: the capture
# checked against the clients' logs (errors, Net::HTTP retries and their ports), WEBrick's request
# lines and its idle-close lines, each of which must match a server FIN on the wire).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x23r-lib.sh"
x23r_require

SCENARIO=keepalive-race-webrick
DELAY_MS=5
X23R_REQUEST_TIMEOUT=2
X23R_NETHTTP_KEEPALIVE=30
# 72 pauses (s): 31 over 1.70-2.30 s outside 1.97-2.03 s (no race), 41 from 1.980 to 2.020 s in 1 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [round(1.70 + 0.02 * k, 3) for k in range(31)]
v = [x for x in v if not 1.97 < x < 2.03] + [1.75, 1.85, 2.25]
v += [round(1.980 + 0.001 * k, 4) for k in range(41)]
random.Random(23).shuffle(v)
print(','.join(map(str, v)))")
[ "$(echo "$GAPS" | tr ',' '\n' | wc -l)" = 72 ] || { echo "record: $SCENARIO: expected 72 pauses" >&2; exit 1; }

x20h_setup ccx23r-wb "$DELAY_MS" 150
WB_V="$(/usr/bin/ruby -rwebrick -e 'print WEBrick::VERSION')"
WB_SOFTWARE="$(/usr/bin/ruby -rwebrick -e 'print WEBrick::Config::HTTP[:ServerSoftware]')"
mapfile -t SOFTWARE < <(echo "WEBrick $WB_V (Debian ruby-webrick $(dpkg-query -W -f='${Version}' ruby-webrick); /usr/bin/ruby $(/usr/bin/ruby -e 'print RUBY_VERSION'); WEBrick::HTTPServer with :RequestTimeout $X23R_REQUEST_TIMEOUT, everything else at its default)"; x23r_client_software)
x23r_record_races "$SCENARIO" x23r_webrick_start 3 "$GAPS" 6 6 6 3 \
  --need-post-races 1 --need-retries 1 --request-timeout "$X23R_REQUEST_TIMEOUT" \
  --configured "{\"serverIdleTimeout\": $X23R_REQUEST_TIMEOUT, \"webrickRequestTimeout\": $X23R_REQUEST_TIMEOUT, \"webrickRequestTimeoutDefault\": 30, \"webrickWaitStepSeconds\": 0.5, \"netHttpKeepAliveTimeout\": $X23R_NETHTTP_KEEPALIVE, \"netHttpKeepAliveTimeoutDefault\": 2, \"netHttpMaxRetries\": 1, \"oneWayDelayMs\": $DELAY_MS}" \
  --configured-notes "Only WEBrick's :RequestTimeout is set ($X23R_REQUEST_TIMEOUT s; 30 s by default, webrick/config.rb). It is also WEBrick's keep-alive idle timeout: HTTPServer#run, after each response, loops 'break if sock.to_io.wait_readable(0.5); timeout -= 0.5' while timeout > 0, then raises HTTPStatus::EOFError and GenericServer#start_thread closes the socket (FIN; RST instead when a request is already unread in it). So the idle close comes ceil(RequestTimeout / 0.5) * 0.5 s after the connection's own last response was written (here 2.0 s, plus a few ms of wait overhead): 0.5 s steps per connection, not a shared tick, so the closes are not spread over 0.5 s; serverIdleTimeout ($X23R_REQUEST_TIMEOUT) is that idle time. On the wire it shows about one round trip shorter from the response's last byte (see observed.idleCloseNote): WEBrick writes head and body in two writes without TCP_NODELAY and Nagle holds the body segment until the head is ACKed, while WEBrick's wait has already started. netHttpKeepAliveTimeout is Net::HTTP's keep_alive_timeout (2 s by default, counted on the client from the end of the previous response: Net::HTTP reconnects instead of reusing a connection idle longer, which would cut off the longer pauses of this sweep and part of the race window), raised to $X23R_NETHTTP_KEEPALIVE s; netHttpMaxRetries is Net::HTTP's max_retries at its default (1): Net::HTTP#transport_request sends an idempotent request (GET HEAD PUT DELETE OPTIONS TRACE) once more on a new connection after EOFError, Errno::ECONNRESET, Errno::EPIPE... WEBrick sends 'Server: $WB_SOFTWARE' and 'Connection: Keep-Alive', no Keep-Alive header (no timeout advertised)." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --header-note "WEBrick's default response headers: 'Server: $WB_SOFTWARE' (:ServerSoftware), 'Date', 'Connection: Keep-Alive'; no Keep-Alive header, so no idle timeout is advertised." \
  --description "The keep-alive race against Ruby WEBrick with a $X23R_REQUEST_TIMEOUT s :RequestTimeout. ${SOFTWARE[0]} serves one tiny proc (programs/x23r-webrick-server.rb: GET 200, POST 201). After each response WEBrick's HTTPServer#run waits for the next request in 0.5 s steps (wait_readable(0.5)) until :RequestTimeout is used up, then closes: FIN ~2.0 s after the response, in the connection's own thread. ${SOFTWARE[1]%% (*} and ${SOFTWARE[2]%% (*} (one persistent session per lane, keep_alive_timeout $X23R_NETHTTP_KEEPALIVE s, max_retries 1), 6 lanes each with one pooled connection, reuse it after pauses of 1.70-2.30 s (dense 1.980-2.020 s), GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before WEBrick's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST. Node reports ECONNRESET ('socket hang up' or 'read ECONNRESET') and does not retry; Net::HTTP sends a GET again on a new connection ('Conn close because of error ..., and retry') and raises EOFError or Errno::ECONNRESET for a POST. A reuse after the FIN arrived goes on a new connection (Node drops the socket on 'end'; Net::HTTP checks wait_readable(0) && eof? and logs 'Conn close because of EOF')."
exit 0
