#!/usr/bin/env bash
# Apache HttpClient 5.2's stale check left behind: Tornado 6.2 (Debian python3-tornado; one
# HTTPServer with idle_connection_timeout=1 s) closes idle connections sooner than HttpClient 5's
# PoolingHttpClientConnectionManager checks them (validateAfterInactivity, 2 s by default: a
# connection idle less than that is reused unchecked), behind a 5 ms one-way-latency link, captured
# on the server side. Each round: a fresh client (defaults), a warm GET, a pause of GAP ms after its
# response, then a GET or a POST on the pooled connection; GAP sweeps 0.986-1.010 s in 2 ms steps and
# 1.2/1.5/1.8 s (each gap once with a GET, once with a POST) over 12 threads: some requests cross
# Tornado's FIN, the later ones go out on connections whose FIN had long arrived (stale reuse). The
# client logs every outcome, every failed attempt with the retry strategy's decision and every new
# connection; Tornado logs its idle closes and the requests that reached the handler.
# Writes samples/keepalive-race-tornado-httpclient5-stale.pcap and .meta.json (x19t-meta.py checks
# the capture against the logs and wants a GET and a POST among the races, else the attempt is
# redone, at most 3 times).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19t-lib.sh"
x19t_require

SCENARIO=keepalive-race-tornado-httpclient5-stale
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
DELAY_MS=5
IDLE_S=1
PORT=8888
NSS=ccx19t-ss
NSC=ccx19t-sc

x19t_setup
x19t_tornado "$NSS" "$CCB_SERVER_IP" "$PORT" "$IDLE_S"
x19t_race "$SCENARIO" "$PORT" "$IDLE_S" hc5 12 "$(x19t_gaps 986 2 1010 1200 1500 1800)" \
  --mismatch-note "HttpClient 5's pool has no idle timeout of its own by default, and checks a pooled connection for a close only after 2 s idle (validateAfterInactivity): every reuse after 1-2 s goes out on a connection Tornado has closed." \
  --description "Apache HttpClient 5.2.1's stale check left behind by Tornado 6.2's idle close: Tornado (Debian python3-tornado; HTTPServer(idle_connection_timeout=1)) closes an idle connection 1.000 s after its last response (FIN; its kernel answers a later request with RST); HttpClient 5 (Debian libhttpclient5-java; defaults: a fresh client per round, PoolingHttpClientConnectionManager with validateAfterInactivity 2 s, DefaultHttpRequestRetryStrategy: 1 retry, idempotent methods only) reuses a connection idle less than 2 s without checking it. 5 ms one-way latency, captured on the server side. Each round: a warm GET, then after a pause of 0.986-1.010 s (2 ms steps) or 1.2/1.5/1.8 s a GET or a POST (each gap with both) on the pooled connection. Requests near 1 s cross Tornado's FIN; later ones are sent on connections whose FIN arrived long before (stale reuse: no check under 2 s idle). A GET that fails so (NoHttpResponseException 'The target server failed to respond', or SocketException 'Connection reset') is retried once on a new connection; a POST is not: the application gets the exception."
exit 0
