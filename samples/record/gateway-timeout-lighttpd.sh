#!/usr/bin/env bash
# Backend that never answers behind lighttpd 1.4.69 (Debian lighttpd) as a reverse proxy (mod_proxy):
# lighttpd on 127.0.0.2:8080 with proxy.server = ( "" => ( ( "host" => "127.0.0.3", "port" => 9001,
# "connect-timeout" => 3, "read-timeout" => 3, "write-timeout" => 3 ) ) ) in front of a Node http
# server on 127.0.0.3:9001 whose /hang... requests are read and never answered
# (programs/b-http-server.js, which logs each request with its client port); one namespace, its own
# loopback. curl (one request per connection) fetches /get?i=1 and /get?i=2, then /hang?i=1..3 0.3 s
# apart (at once), then /hang?i=4 and a POST /hang?i=5, then /get?i=3. lighttpd checks its backends'
# read timeouts on its once-a-second maintenance tick with whole-second time stamps, so it gives up
# later than read-timeout says; it logs "read timeout on socket: tcp:127.0.0.3:9001", closes the
# backend connection (FIN) and answers 504 Gateway Timeout (its own page, Server: lighttpd/1.4.69).
# Writes samples/gateway-timeout-lighttpd.pcap and .meta.json (only when programs/x22p-meta.py finds
# the capture, lighttpd's logs, curl's and the backend's agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x22p-lib.sh"
cc_require lighttpd node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-lighttpd
TIMEOUT=3
x22p_setup ccx22p-gt "$TIMEOUT" "$(x22p_rule "" 9001 "$TIMEOUT")"
x20n_capture_begin "tcp port 8080 or tcp port 9001"
x20n_gateway_requests
x20n_capture_end                  # lighttpd flushes its access log on exit
cat "$CCB_WORK/curl.log"
python3 "$CCB_PROGRAMS/x22p-meta.py" "$SCENARIO" --mode gateway --capture "$OUT" --meta "$META" \
  --error-log "$CCB_WORK/lighttpd-error.log" --access-log "$CCB_WORK/access.log" --curl-log "$CCB_WORK/curl.log" \
  --backend-log "$CCB_WORK/backend.log" --timeout "$TIMEOUT" \
  --software "$(x22p_software)" "node $(node -v) http.Server (programs/b-http-server.js) as the backend" "$(curl --version | head -1 | cut -d' ' -f1-2)" \
  --capture-side "one namespace's loopback: both legs (client 127.0.0.1 -> lighttpd 127.0.0.2:8080; lighttpd 127.0.0.1 -> backend 127.0.0.3:9001)" \
  --configured "{\"lighttpdReadTimeout\": $TIMEOUT}" \
  --configured-notes "lighttpd.conf: proxy.server host option \"read-timeout\" => $TIMEOUT (also connect-timeout and write-timeout $TIMEOUT; all three default to 0, no timeout). lighttpd checks them on its once-a-second maintenance with whole-second time stamps, so the waits measured (observed.waitSeconds) are longer than $TIMEOUT s. mod_proxy has no source-address option: backend connections leave from 127.0.0.1. It sends the backend HTTP/1.1 with Connection: close (no backend pool). Its 504 page carries Server: lighttpd/1.4.69; it keeps the client connection alive after it. lighttpd checks these timeouts once a second against whole-second clocks: the waits were 4.0-5.6 s for a setting of 3 s, so conncheck reports the waits' value and says the setting lies 1 to 2 s or more below it; the configured value is kept as lighttpdReadTimeout, not as proxyReadTimeout, which the sample test would compare with the waits." \
  --description "Backend that never answers behind lighttpd 1.4.69 mod_proxy as a reverse proxy (proxy.server read-timeout $TIMEOUT) on one namespace's loopback, both legs captured: curl 127.0.0.1 -> lighttpd 127.0.0.2:8080 -> Node 127.0.0.3:9001. Two quick GETs, then GET /hang?i=1..3 at once (0.3 s apart), GET /hang?i=4, POST /hang?i=5, then a quick GET. The backend reads each /hang request and never answers; lighttpd's read timeout fires on its once-a-second tick, later than $TIMEOUT s (see observed), it logs 'read timeout on socket', closes the backend connection and answers 504 Gateway Timeout."
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
if [ -n "${X22P_LOG_DIR:-}" ]; then mkdir -p "$X22P_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK/lighttpd.conf" "$X22P_LOG_DIR/" 2>/dev/null || true; fi
