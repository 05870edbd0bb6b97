#!/usr/bin/env bash
# The keep-alive race against Tornado 6.2 (Debian python3-tornado: one HTTPServer with
# idle_connection_timeout=2 s) with OkHttp 3.13 (Debian libokhttp-java: its defaults, a fresh
# OkHttpClient per round, ConnectionPool 5 idle connections kept 5 min, retryOnConnectionFailure on),
# behind a 5 ms one-way-latency link, captured on the server side. Each round: a warm GET, a pause of
# GAP ms after its response, then a GET or a POST on the pooled connection; GAP sweeps 1.975-2.015 s
# in 2 ms steps (each gap once with a GET, once with a POST) and a few 2.03-2.06 s, over 8 threads,
# so some requests cross Tornado's idle-close FIN and some GETs go out after it arrived. The client
# logs every outcome, every failed attempt (network interceptor) and every connection acquired
# (EventListener); Tornado logs its idle closes and the requests that reached the handler.
# Writes samples/keepalive-race-tornado-okhttp.pcap and .meta.json (x19t-meta.py checks the capture
# against the logs and wants a GET and a POST among the races, else the attempt is redone, at most
# 3 times).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19t-lib.sh"
x19t_require

SCENARIO=keepalive-race-tornado-okhttp
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
DELAY_MS=5
IDLE_S=2
PORT=8888
NSS=ccx19t-ts
NSC=ccx19t-tc

x19t_setup
x19t_tornado "$NSS" "$CCB_SERVER_IP" "$PORT" "$IDLE_S"
x19t_race "$SCENARIO" "$PORT" "$IDLE_S" okhttp 8 "$(x19t_gaps 1975 2 2015 2030 2045 2060)" \
  --mismatch-note "OkHttp's ConnectionPool keeps idle connections 5 min by default (ConnectionPool(5, 5, MINUTES)), far longer." \
  --description "The keep-alive race against Tornado 6.2 (Debian python3-tornado; tornado.httpserver.HTTPServer(idle_connection_timeout=2)) with OkHttp 3.13.1 (Debian libokhttp-java; defaults: a fresh OkHttpClient per round, ConnectionPool of 5 idle connections kept 5 min, retryOnConnectionFailure=true). 5 ms one-way latency, captured on the server side. Each round: a warm GET, then after a pause of 1.975-2.015 s (2 ms steps, each gap with a GET and a POST) or 2.03-2.06 s a GET or a POST on the pooled connection. Tornado closes an idle connection 2.000 s after its last response (HTTP1Connection's wait for the next request's headers is bounded by idle_connection_timeout; then it closes the socket: FIN), and its kernel answers a request that arrives after that with RST. OkHttp sends a request that failed so (IOException 'unexpected end of stream on Connection{...}' or SocketException 'Connection reset') again on a new connection whatever its method, POST included (RetryAndFollowUpInterceptor.recover: only an UnrepeatableRequestBody is exempt): the application sees no error. Before a POST (any method but GET) OkHttp checks a pooled connection for EOF (RealConnection.isHealthy(doExtensiveChecks)), so a POST sent after the FIN arrived goes on a new connection; a GET is not checked, and goes out on the closed connection (stale reuse)."
exit 0
