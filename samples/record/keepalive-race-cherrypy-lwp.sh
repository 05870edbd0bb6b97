#!/usr/bin/env bash
# The keep-alive race between Perl's LWP::UserAgent and CherryPy: CherryPy 18.8 on cheroot 9 (Debian
# python3-cherrypy3) serving a small CherryPy app (programs/x19w-server.py, a native handler mounted on cherrypy.tree: Server: CherryPy/18.8.0) with
# server.socket_timeout 2 s, behind a 15 ms one-way-latency link; 8 Perl processes at once (Debian
# libwww-perl 6.68), each ONE LWP::UserAgent->new(keep_alive => 1) that keeps its connection, reusing
# it after pauses swept from 1.98 to 2.56 s, GETs and POSTs alternating. cheroot's ConnectionManager
# closes an idle keep-alive connection from its selector loop: at most every expiration_interval
# (0.5 s) it calls _expire(now - server.timeout) and closes each connection idle longer
# (HTTPConnection.close(): shutdown(SHUT_RDWR), the FIN, then close()), so 2.0-2.5 s after the
# response; some reuses cross its FIN. Every request is logged with its local ports and outcome
# (LWP's own 500 "Server closed connection without sending any data back" or "read failed: ..."
# response, Client-Warning: Internal response; LWP never retries); the server logs every request
# and every idle close from inside cheroot's _expire. Server-side capture. Bounded: one attempt takes
# ~25 s; redone (at most 3 attempts) until one has at least 3 races, a POST among them.
# Writes samples/keepalive-race-cherrypy-lwp.pcap and .meta.json (x19w-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19w-lib.sh"
x19w_require

SCENARIO=keepalive-race-cherrypy-lwp
PORT=8080
DELAY_MS=15
SOCKET_TIMEOUT=2
LANES=8
ROUNDS=9
# 72 pauses (s) from 1.98 to 2.56 s in a fixed shuffled order, dealt round-robin to 8 lanes of 9 rounds.
GAPS="$(x19w_gaps 72 1.98 0.008)"

mapfile -t SOFTWARE < <(x19w_software; echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency")
X19W_NSS=ccx19w-cs X19W_NSC=ccx19w-cc X19W_DELAY_MS="$DELAY_MS" X19W_PORT="$PORT" X19W_LINGER=0.5
X19W_SERVER=cherrypy X19W_SERVER_ARGS=(--socket-timeout "$SOCKET_TIMEOUT" --threads 10)
X19W_CLIENT=lwp X19W_LANES="$LANES" X19W_CLIENT_ARGS=(--rounds "$ROUNDS" --gaps "$GAPS" --stagger 0.11 --max-seconds 30 --keep-alive 1)
X19W_SHOW='"event":"error"'
X19W_META_ARGS=(--server-name CherryPy/cheroot --need-races 3 --need-post-races 1 \
      --configured "{\"socketTimeout\": $SOCKET_TIMEOUT, \"expirationInterval\": 0.5, \"serverIdleNote\": \"CherryPy server.socket_timeout $SOCKET_TIMEOUT s (cheroot server.timeout), checked every expiration_interval 0.5 s\", \"keepAliveConnLimit\": 10, \"lwpKeepAlive\": 1, \"oneWayDelayMs\": $DELAY_MS}" \
      --configured-notes "socketTimeout is CherryPy's server.socket_timeout (10 s by default, cherrypy/_cpserver.py), passed to cheroot as HTTPServer.timeout (cherrypy/_cpwsgi_server.py): both the socket timeout of a connection being read and the keep-alive idle timeout. cheroot 9 keeps idle keep-alive connections in its ConnectionManager (cheroot/connections.py): put() stamps last_used when a worker hands the connection back after a response; the selector loop (select() timeout expiration_interval = 0.5 s, cheroot/server.py, not a CherryPy config key) runs _expire(threshold = now - server.timeout) when more than 0.5 s passed since its last run, closing each connection whose last_used is older: HTTPConnection.close() -> shutdown(SHUT_RDWR) (FIN) then close(). So an idle connection closes 2.0-2.5 s (+ a loop pass) after its response here, 10-10.5 s with the defaults. keepAliveConnLimit: cheroot's keep_alive_conn_limit (10): with that many idle connections already it answers Connection: close (not reached: 8 lanes). lwpKeepAlive: LWP::UserAgent keep_alive => 1, an LWP::ConnCache of total_capacity 1 per process; it has no idle timeout (only conn_cache->drop(AGE) / prune called by the application)." \
      --software "${SOFTWARE[@]}" \
      --description "The keep-alive race between Perl's LWP::UserAgent and CherryPy. ${SOFTWARE[1]%% (*} with server.socket_timeout ${SOCKET_TIMEOUT} s serves a small CherryPy app (a native handler) (GET 200, POST 201, JSON bodies with Content-Length); cheroot closes idle keep-alive connections from its selector loop, every 0.5 s (expiration_interval), those idle longer than socket_timeout: FIN (shutdown(SHUT_RDWR)) 2.0-2.5 s after the response. The clients, ${LANES} Perl processes at once (${SOFTWARE[3]%% (*}), each ONE LWP::UserAgent with keep_alive => 1 (LWP::ConnCache, no idle timeout of its own), reuse their connection after pauses swept from 1.98 to 2.56 s, GET and POST alternating; after a failed request the lane sends a new warm GET. ${DELAY_MS} ms one-way latency; captured on the server side. Before reusing a cached connection LWP::Protocol::http checks can_read(0): when the server's FIN has arrived it drops the connection and connects anew (no race). A request sent while the FIN is still in flight crosses it: the kernel answers RST; LWP reads EOF (or ECONNRESET) before any response byte and returns its own 500 response (Client-Warning: Internal response, 'Server closed connection without sending any data back'); it never retries, for GET or POST.")
x19w_record "$SCENARIO"
exit 0
