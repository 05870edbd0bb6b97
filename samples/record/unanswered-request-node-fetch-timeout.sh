#!/usr/bin/env bash
# Client timeouts of Node 20's fetch: AbortSignal.timeout(1000) on requests to a Node http server
# whose /slow handler answers after 2.5 s. At 1 s the signal aborts the fetch (it rejects with
# DOMException TimeoutError "The operation was aborted due to timeout") and undici closes the
# connection (FIN); Node's server closes its side at once and never sends the late answer. undici
# connects again right away, so the next (fast) request and the slow POST after it go on that
# new connection: both slow requests are on reused keep-alive connections. Loopback. Writes samples/unanswered-request-node-fetch-timeout.pcap and .meta.json (x11-meta.py
# checks the capture against the client's and the server's logs, else writes nothing).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x11.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=unanswered-request-node-fetch-timeout
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
TIMEOUT_MS=1000

x11_loopback_setup ccx11-nt
cc_bg node "$X11_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 8080 --keep-alive-timeout 5000 2>"$X11_WORK/server.log"
cc_wait_port 8080
DESCRIPTION="Client timeouts of Node 20's fetch (undici 6.24): requests with signal: AbortSignal.timeout(1000) to a Node http server (keepAliveTimeout 5 s) whose /slow?ms=2500 handler answers after 2.5 s. At 1 s the signal aborts: fetch rejects with DOMException TimeoutError ('The operation was aborted due to timeout') and undici closes the connection with a FIN 1.0 s after the request; Node's server closes its side at once and its answer is never sent. undici opens a new connection right away, which the next fast request and the slow POST reuse, so both slow requests went on reused keep-alive connections (the timer started with the request). Fast requests in between are answered at once. Loopback."
cc_capture_start "$OUT" "tcp port 8080"
cc_in timeout 20 node "$X11_PROGRAMS/x11-fetch-client.js" --base "http://127.0.0.1:8080" --log "$X11_WORK/client.log" \
  --steps "GET:/fast/1:0:$TIMEOUT_MS,GET:/slow?ms=2500&r=1:100:$TIMEOUT_MS,GET:/fast/2:300:$TIMEOUT_MS,POST:/slow?ms=2500&r=2:100:$TIMEOUT_MS,GET:/fast/3:300:$TIMEOUT_MS" --linger-ms 2000
cc_capture_stop
python3 "$X11_PROGRAMS/x11-meta.py" client-timeout --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$X11_WORK/client.log" --server-log "$X11_WORK/server.log" --description "$DESCRIPTION" \
  --set clientTimeout=1 \
  --software "$(x11_software_fetch)" "Node $(node --version) http.Server (programs/b-http-server.js)"
grep -v '"connected"' "$X11_WORK/client.log" || true
