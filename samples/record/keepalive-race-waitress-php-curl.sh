#!/usr/bin/env bash
# The keep-alive race between PHP's curl extension and waitress: waitress 2.1 (Debian python3-waitress,
# 8 threads) serving a small WSGI app (programs/x19w-server.py) with channel_timeout 2 s and
# cleanup_interval 1 s, behind a 25 ms one-way-latency link; 16 PHP processes at once (Debian php-cli
# php-curl: PHP 8.2, libcurl 7.88), each ONE curl handle that keeps its connection, reusing it after
# pauses swept from 1.98 to 3.02 s, GETs and POSTs alternating. waitress closes an idle connection
# only from its periodic maintenance (every cleanup_interval, from the asyncore loop), so the idle
# time before its close varies from channel_timeout to about channel_timeout + cleanup_interval:
# some reuses cross its FIN. Every request is logged with libcurl's own CURLOPT_VERBOSE lines, its
# local ports and its outcome; the server logs every request and every idle close from inside
# waitress's maintenance (ground truth: libcurl checks a kept connection before reuse, and retries a
# request that got no response byte on a reused connection once on a new one, POSTs included).
# Server-side capture. Bounded: one attempt takes ~25 s; redone (at most 3 attempts) until one has
# at least 3 races, a POST among them.
# Writes samples/keepalive-race-waitress-php-curl.pcap and .meta.json (x19w-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19w-lib.sh"
x19w_require

SCENARIO=keepalive-race-waitress-php-curl
PORT=8080
DELAY_MS=25
CHANNEL_TIMEOUT=2
CLEANUP_INTERVAL=1
LANES=16
ROUNDS=6
# 96 pauses (s) from 1.98 to 3.02 s in a fixed shuffled order, dealt round-robin to 16 lanes of 6 rounds.
GAPS="$(x19w_gaps 96 1.98 0.0109)"

mapfile -t SOFTWARE < <(x19w_software; echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency")
# X19W_LINGER: waitress's idle closes of the connections used last (the clients' curl_close came first for most)
X19W_NSS=ccx19w-ws X19W_NSC=ccx19w-wc X19W_DELAY_MS="$DELAY_MS" X19W_PORT="$PORT" X19W_LINGER=3.5
X19W_SERVER=waitress X19W_SERVER_ARGS=(--channel-timeout "$CHANNEL_TIMEOUT" --cleanup-interval "$CLEANUP_INTERVAL" --threads 8)
X19W_CLIENT=php X19W_LANES="$LANES" X19W_CLIENT_ARGS=(--rounds "$ROUNDS" --gaps "$GAPS" --stagger 0.09 --max-seconds 30)
X19W_SHOW='"error"\|"retried":true'
X19W_META_ARGS=(--server-name waitress --need-races 3 --need-post-races 1 \
      --configured "{\"channelTimeout\": $CHANNEL_TIMEOUT, \"cleanupInterval\": $CLEANUP_INTERVAL, \"asyncoreLoopTimeout\": 1, \"serverIdleNote\": \"waitress channel_timeout $CHANNEL_TIMEOUT s, checked every cleanup_interval $CLEANUP_INTERVAL s\", \"clientMaxAgeConn\": 118, \"oneWayDelayMs\": $DELAY_MS}" \
      --configured-notes "channelTimeout and cleanupInterval are waitress's channel_timeout (120 s by default) and cleanup_interval (30 s by default), both whole seconds (waitress/adjustments.py). waitress has no per-connection idle timer: HTTPServer.readable() runs maintenance(now) when cleanup_interval has passed since the last run (next_channel_cleanup), and maintenance marks will_close on every channel with no request in progress whose last_activity (its last recv or send) is older than now - channel_timeout; the channel's handle_write then closes the socket (socket.close(), no shutdown: FIN, or RST when a request arrived unread). readable() runs on each pass of the asyncore loop, which waits at most asyncore_loop_timeout (1 s). So an idle connection is closed between channel_timeout and channel_timeout + cleanup_interval (+ up to a loop pass) after its last activity: 2-3 s here, 120-150 s with the defaults. clientMaxAgeConn: libcurl's CURLOPT_MAXAGE_CONN, left at its default (118 s): libcurl reuses a kept connection idle for less than that." \
      --software "${SOFTWARE[@]}" \
      --description "The keep-alive race between PHP's curl extension and waitress. ${SOFTWARE[0]%% (*} (8 threads) with channel_timeout ${CHANNEL_TIMEOUT} s and cleanup_interval ${CLEANUP_INTERVAL} s serves a small WSGI app (GET 200, POST 201, JSON bodies with Content-Length); it closes idle connections only from its periodic maintenance, so after 2.0-3.0 s of idleness (socket.close(): FIN). The clients, ${LANES} PHP processes at once (${SOFTWARE[2]%% (*}), each ONE curl handle that keeps its connection (CURLOPT_MAXAGE_CONN left at 118 s), reuse it after pauses swept from 1.98 to 3.02 s, GET and POST alternating; after a failed request the lane sends a new warm GET. ${DELAY_MS} ms one-way latency; captured on the server side. Before reusing a connection libcurl polls it: when the server's FIN has arrived it logs 'Connection N seems to be dead' and connects anew (no race). A request sent while the FIN is still in flight crosses it: the kernel answers RST; libcurl, having received no response byte on a reused connection, logs 'Connection died, retrying a fresh connect (retry count: 1)' and sends the request again on a new connection - POSTs too (it rewinds CURLOPT_POSTFIELDS): PHP sees no error.")
x19w_record "$SCENARIO"
exit 0
