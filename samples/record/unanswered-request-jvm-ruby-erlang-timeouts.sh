#!/usr/bin/env bash
# Unanswered requests given up by three clients conncheck had not seen time out, each at a request
# timeout of its own: Java's java.net.http.HttpClient (OpenJDK 17, HTTP/1.1, HttpRequest.Builder
# timeout 2500 ms), Ruby's Net::HTTP (read_timeout 3 s, max_retries at its default 1) and Erlang's
# httpc (OTP 25, the HTTP option {timeout, 3500}), at once, against a Node http server
# (programs/b-http-server.js) that reads /hang... requests and never answers them, behind a 5 ms
# one-way-latency link. Each client (programs/x24t-*) sends one request at a time: an answered GET,
# then hung GETs and POSTs, some on the reused keep-alive connection, some on the new connection the
# client opens after a timeout. At its timeout each client closes the connection (FIN) and reports
# its error (java.net.http.HttpTimeoutException: request timed out; Net::ReadTimeout; {error,timeout});
# Net::HTTP first sends a GET that timed out once more on a new connection (max_retries 1), so that
# GET waits two read timeouts. Server-side capture. Bounded: one attempt takes ~15 s; at most 3.
# Writes samples/unanswered-request-jvm-ruby-erlang-timeouts.pcap and .meta.json
# (programs/x24t-meta.py checks the capture against the three clients' logs and the server's).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x24t-lib.sh"
x24t_require

SCENARIO=unanswered-request-jvm-ruby-erlang-timeouts
DELAY_MS=5
x24t_setup ccx24t-ur "$DELAY_MS" 150
OUT="$CCB_WORK/$SCENARIO.pcap"
META="$CCB_WORK/$SCENARIO.meta.json"
# Each client: an answered GET first (the JVM's and the escript's start-up costs are paid on it),
# then a hung GET on that reused connection, a hung POST on the new connection the client opens
# after the timeout, and for Java and httpc an answered GET and a hung GET after it on one connection.
X24T_JAVA_STEPS=(GET:/fast/java-1 GET:/hang/java-2 POST:/hang/java-3 GET:/fast/java-4 GET:/hang/java-5)
X24T_RUBY_STEPS=(GET:/fast/ruby-1 GET:/hang/ruby-2 POST:/hang/ruby-3 GET:/fast/ruby-4)
X24T_ERLANG_STEPS=(GET:/fast/erlang-1 GET:/hang/erlang-2 POST:/hang/erlang-3 GET:/fast/erlang-4 GET:/hang/erlang-5)
mapfile -t SOFTWARE < <(x24t_software)
CONFIGURED="{\"javaHttpRequestTimeoutMs\": $X24T_JAVA_TIMEOUT_MS, \"netHttpReadTimeout\": $X24T_RUBY_READ_TIMEOUT, \"netHttpMaxRetries\": 1, \"httpcTimeoutMs\": $X24T_ERLANG_TIMEOUT_MS, \"serverKeepAliveTimeoutMs\": $X24T_SERVER_KEEPALIVE_MS, \"oneWayDelayMs\": $DELAY_MS}"
NOTES="Three client timeouts, none of them named clientTimeout here because they differ (conncheck infers one clientTimeout per cluster of waits): javaHttpRequestTimeoutMs is java.net.http.HttpRequest.Builder.timeout(Duration.ofMillis($X24T_JAVA_TIMEOUT_MS)) (no timeout by default; HttpClient.Builder.connectTimeout is another, unset here): counted from HttpClient.send() until the response headers arrive, connect included; at it send() throws java.net.http.HttpTimeoutException 'request timed out' and HttpClient closes that connection (FIN). netHttpReadTimeout is Net::HTTP#read_timeout ($X24T_RUBY_READ_TIMEOUT s; 60 s by default): the longest wait for each read from the socket (so counted from the request's write, not the connect); at it Net::HTTP raises Net::ReadTimeout and closes the socket (FIN); netHttpMaxRetries is Net::HTTP#max_retries at its default (1): Net::HTTP#transport_request rescues Net::ReadTimeout and sends an idempotent request (GET HEAD PUT DELETE OPTIONS TRACE) once more on a new connection, so a hung GET fails after two read timeouts (6 s) and a POST after one. httpcTimeoutMs is httpc:request's HTTP option {timeout, $X24T_ERLANG_TIMEOUT_MS} (milliseconds, infinity by default; {connect_timeout, Ms} is separate and defaults to it): the whole request; at it httpc:request returns {error, timeout} and httpc closes the session's connection (FIN). The server (b-http-server.js) has no timeout that fires here: keepAliveTimeout $X24T_SERVER_KEEPALIVE_MS ms, and /hang is never answered; it closes its side at once when a client's FIN arrives."
DESCRIPTION="Client request timeouts of three clients at once, against ${SOFTWARE[3]%% (*} (programs/b-http-server.js), which reads /hang... requests and never answers them (its TCP stack ACKs them). ${SOFTWARE[0]%% (*} (HttpRequest.Builder timeout $X24T_JAVA_TIMEOUT_MS ms; User-Agent Java-http-client/...), ${SOFTWARE[1]%% (*} (read_timeout $X24T_RUBY_READ_TIMEOUT s, max_retries 1; User-Agent Ruby) and ${SOFTWARE[2]%% (*} (HTTP option {timeout, $X24T_ERLANG_TIMEOUT_MS}; no User-Agent) each send an answered GET, then hung GETs and POSTs one at a time, on their reused keep-alive connection or on the new one they open after a timeout. At its timeout each client closes the connection with a FIN and reports its error: java.net.http.HttpTimeoutException 'request timed out' (2.5 s after send(), connect included); Net::ReadTimeout (3 s without a byte), after Net::HTTP has sent a timed-out GET once more on a new connection (max_retries 1), so that GET is unanswered twice; {error,timeout} from httpc:request (3.5 s). $DELAY_MS ms one-way latency, captured on the server side."

for attempt in 1 2 3; do
  rm -f "$CCB_WORK"/{java,ruby,erlang,server}.log
  x24t_server_start
  ccb_capture_start "$CC_NS" ccbs "$OUT" "tcp port $X19L_PORT"
  x24t_clients 30
  sleep 1     # the last FINs
  cc_capture_stop
  x19l_server_stop
  if python3 "$X19L_PROGRAMS/x24t-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --server-port "$X19L_PORT" \
      --server-log "$CCB_WORK/server.log" --java-log "$CCB_WORK/java.log" --ruby-log "$CCB_WORK/ruby.log" \
      --erlang-log "$CCB_WORK/erlang.log" --need-hung 9 --configured "$CONFIGURED" --configured-notes "$NOTES" \
      --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" --description "$DESCRIPTION"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
# X24T_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
if [ -n "${X24T_LOG_DIR:-}" ]; then mkdir -p "$X24T_LOG_DIR"; cp "$CCB_WORK"/*.log "$X24T_LOG_DIR/" 2>/dev/null || true; fi
exit 0
