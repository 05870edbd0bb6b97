#!/usr/bin/env bash
# Healthy keep-alive reuse with CherryPy and two clients: CherryPy 18.8 on cheroot 9 (Debian
# python3-cherrypy3; server.socket_timeout left at its default, 10 s) serving a small CherryPy app
# (programs/x19w-server.py); PHP's curl extension (one curl handle, CURLOPT_MAXAGE_CONN left at 118 s)
# and Perl's LWP::UserAgent (keep_alive => 1) at the same time, each sending GETs and POSTs on its one
# kept connection with pauses of 0.05-3 s (well inside the 10 s), then closing it (curl_close, the
# LWP::ConnCache dropped): the clients send the first FIN. Loopback in one namespace.
# Writes samples/healthy-cherrypy-php-curl-lwp.pcap and .meta.json (x19w-meta.py --healthy checks that
# the capture and the logs show every request answered, no race, no retry, no reset).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19w-lib.sh"
x19w_require

SCENARIO=healthy-cherrypy-php-curl-lwp
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
PORT=8080
NS=ccx19w-h
cc_netns_up "$NS"
ccb_workdir
mapfile -t SOFTWARE < <(x19w_software)
x19w_server "$NS" cherrypy 127.0.0.1 "$PORT" "$CCB_WORK/server.log"
cc_capture_start "$OUT" "tcp port $PORT"
ip netns exec "$NS" timeout 30 php "$X19W_PROGRAMS/x19w-php-curl-client.php" --base "http://127.0.0.1:$PORT" --log "$CCB_WORK/client.log" \
  --lane 0 --tag p --script GET:0,POST:0.05,GET:0.4,GET:1.2,POST:3.0,GET:0.2,POST:2.5,GET:0.1 &
PHP_PID=$!
ip netns exec "$NS" timeout 30 perl "$X19W_PROGRAMS/x19w-lwp-client.pl" --base "http://127.0.0.1:$PORT" --log "$CCB_WORK/client.log" \
  --lane 1 --tag l --keep-alive 1 --script GET:0,GET:0.3,POST:1.0,GET:2.8,POST:0.05,GET:1.5,POST:0.6 &
LWP_PID=$!
wait "$PHP_PID" "$LWP_PID"
cc_capture_stop
x19w_stop_server
x19w_meta "$SCENARIO" --healthy --server-port "$PORT" --server-name CherryPy/cheroot \
  --configured '{"socketTimeout": 10, "expirationInterval": 0.5, "clientMaxAgeConn": 118, "lwpKeepAlive": 1}' \
  --configured-notes "All left at their defaults. socketTimeout: CherryPy's server.socket_timeout (10 s, cherrypy/_cpserver.py), cheroot's HTTPServer.timeout: cheroot's ConnectionManager closes a keep-alive connection idle longer, checking every expiration_interval (0.5 s), so 10-10.5 s after a response (never reached here: the longest pause is 3 s). clientMaxAgeConn: libcurl's CURLOPT_MAXAGE_CONN (118 s). lwpKeepAlive: LWP::UserAgent keep_alive => 1 (an LWP::ConnCache of capacity 1, no idle timeout)." \
  --capture-side "loopback in one namespace (clients and server)" \
  --software "${SOFTWARE[1]}" "${SOFTWARE[2]}" "${SOFTWARE[3]}" \
  --description "Healthy keep-alive reuse: ${SOFTWARE[1]%% (*} (server.socket_timeout left at its default 10 s) serving a small CherryPy app (GET 200, POST 201, JSON bodies with Content-Length; Server: CherryPy/18.8.0); at the same time PHP's curl extension (${SOFTWARE[2]%% (*}; one curl handle, CURLOPT_MAXAGE_CONN 118 s) and Perl's LWP::UserAgent (${SOFTWARE[3]%% (*}; keep_alive => 1) each send GETs and POSTs on their one kept connection with pauses of 0.05-3 s (well inside cheroot's 10 s), then close it (curl_close; the LWP::ConnCache dropped): the client sends the first FIN and cheroot closes its side. Every request answered, no reset, no race, no retry: conncheck must report nothing."
exit 0
