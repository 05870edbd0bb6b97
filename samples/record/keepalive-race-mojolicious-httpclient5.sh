#!/usr/bin/env bash
# The keep-alive race against Mojolicious 9.31 (Debian libmojolicious-perl: Mojo::Server::Daemon
# with its default keep_alive_timeout, 5 s) with Apache HttpClient 5.2 (Debian libhttpclient5-java:
# its defaults, a fresh client per round; PoolingHttpClientConnectionManager, which checks a
# connection idle more than 2 s (validateAfterInactivity) for a close before reuse;
# DefaultHttpRequestRetryStrategy: one retry, idempotent methods only), behind a 5 ms
# one-way-latency link, captured on the server side. Each round: a warm GET, a pause of GAP ms after
# its response, then a GET or a POST on the pooled connection; GAP sweeps 4.978-5.010 s in 2 ms
# steps (each gap once with a GET, once with a POST) and 5.03/5.06 s, over 12 threads, so some
# requests cross Mojolicious' idle-close FIN. The client logs every outcome, every failed attempt
# with the retry strategy's decision and every new connection (its socket factory); Mojolicious
# logs its idle closes and the requests that reached the application.
# Writes samples/keepalive-race-mojolicious-httpclient5.pcap and .meta.json (x19t-meta.py checks
# the capture against the logs and wants a GET and a POST among the races, else the attempt is
# redone, at most 3 times).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19t-lib.sh"
x19t_require

SCENARIO=keepalive-race-mojolicious-httpclient5
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
DELAY_MS=5
IDLE_S=5
PORT=3000
NSS=ccx19t-ms
NSC=ccx19t-mc

x19t_setup
x19t_mojo "$NSS" "$CCB_SERVER_IP" "$PORT" default
grep -q '"keepAliveTimeout":5,' "$CCB_WORK/mojo.log" || { echo "record: Mojolicious' keep_alive_timeout is not 5 s (MOJO_KEEP_ALIVE_TIMEOUT set?)" >&2; exit 1; }
x19t_race "$SCENARIO" "$PORT" "$IDLE_S" hc5 12 "$(x19t_gaps 4978 2 5010 5030 5060)" \
  --mismatch-note "HttpClient 5's pool has no idle timeout of its own by default (no evictIdleConnections, no time to live); it only checks a connection idle more than 2 s (validateAfterInactivity) for an arrived close before reuse." \
  --description "The keep-alive race against Mojolicious 9.31 (Debian libmojolicious-perl; Mojo::Server::Daemon with its default keep_alive_timeout of 5 s, reactor EV) with Apache HttpClient 5.2.1 (Debian libhttpclient5-java; defaults: a fresh client per round, PoolingHttpClientConnectionManager with validateAfterInactivity 2 s, DefaultHttpRequestRetryStrategy: 1 retry, idempotent methods only, not after ConnectionClosedException). 5 ms one-way latency, captured on the server side. Each round: a warm GET, then after a pause of 4.978-5.010 s (2 ms steps, each gap with a GET and a POST) or 5.03/5.06 s a GET or a POST on the pooled connection. Mojolicious closes an idle connection 5 s after its last response (Daemon._finish sets the stream's timeout to keep_alive_timeout; when the IOLoop stream's timer fires it emits timeout and close()s the handle: FIN), and its kernel answers a request arriving after that with RST. HttpClient 5 checks a connection idle more than 2 s for a close before reuse (a 1 ms read: an arrived FIN makes it open a new connection, no error), so only requests that crossed the FIN fail: a GET is retried once on a new connection (NoHttpResponseException 'The target server failed to respond', or SocketException 'Connection reset'), a POST is not (the application gets the exception)."
exit 0
