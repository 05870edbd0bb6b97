#!/usr/bin/env bash
# Healthy keep-alive with Node 20's fetch (undici 6.24, global dispatcher defaults) against a Node
# http server with keepAliveTimeout 4 s: the server announces Keep-Alive: timeout=4 (and, with
# Node 20's 1 s buffer, would close idle connections after 5 s); undici honours the hint less its
# keepAliveTimeoutThreshold (2 s by default), so it closes its idle pooled connection itself after
# 2 s, before the server would: the client closes first (FIN), no race is possible. Two bursts of
# requests 0.3 s apart, 2.6 s apart (the second burst opens a new connection), then the client
# stays up until undici has closed the second connection too. Loopback.
# Writes samples/healthy-node-fetch-keepalive-hint.pcap and .meta.json (x11-meta.py checks the
# capture against the client's diagnostics-channel log, else writes nothing).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x11.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=healthy-node-fetch-keepalive-hint
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_MS=4000

x11_loopback_setup ccx11-nh
cc_bg node "$X11_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 8080 --keep-alive-timeout "$KEEPALIVE_MS" 2>"$X11_WORK/server.log"
cc_wait_port 8080
DESCRIPTION="Healthy keep-alive with Node 20's fetch (undici 6.24, the global dispatcher's defaults) against a Node http server with keepAliveTimeout 4000 ms: every response carries Keep-Alive: timeout=4 (Node 20 would close an idle connection after 5 s: keepAliveTimeout plus its 1 s buffer). undici keeps a pooled connection for the hint less keepAliveTimeoutThreshold (2 s by default in undici 6), so it closes each idle connection itself about 2 s after the last response (client FIN first, the server answers FIN), well before the server would. Three requests (GET, POST, GET) 0.3 s apart, 2.6 s of idle (undici closes the first connection at 2 s), two more requests on a new connection, then idle until undici closes that one too. Loopback. No failure of any kind; the client's idle closes are its pool timeout, not a problem."
cc_capture_start "$OUT" "tcp port 8080"
cc_in timeout 20 node "$X11_PROGRAMS/x11-fetch-client.js" --base "http://127.0.0.1:8080" --log "$X11_WORK/client.log" \
  --steps "GET:/items/1:0,POST:/orders:300,GET:/items/2:300,GET:/items/3:2600,POST:/orders/2:300" --linger-ms 2600
cc_capture_stop
python3 "$X11_PROGRAMS/x11-meta.py" healthy-hint --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$X11_WORK/client.log" --server-log "$X11_WORK/server.log" --description "$DESCRIPTION" \
  --set serverKeepAliveTimeout=4 --set serverIdleTimeout=5 --set clientIdleTimeout=2 \
  --software "$(x11_software_fetch)" "Node $(node --version) http.Server (keepAliveTimeout 4000 ms; programs/b-http-server.js)"
grep -v '"connected"' "$X11_WORK/client.log" || true
