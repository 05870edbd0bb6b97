#!/usr/bin/env bash
# Keep-alive race on nghttpx's backend leg: nghttpx 1.52 (Debian nghttp2-proxy) as an HTTP/1.1
# reverse proxy (cleartext frontend 127.0.0.1:8080, HTTP/1.1 backend 10.99.0.2:9001, no
# configuration file, one worker, every timeout at its default: --backend-keep-alive-timeout 2s,
# --backend-read-timeout 1m, --backend-connect-timeout 30s) in front of a Node http server
# (programs/b-http-server.js, keepAliveTimeout 950 ms: Node 20 closes an idle connection 1 s after
# it, ~1.951 s after its last response, announcing Keep-Alive: timeout=0, which nghttpx ignores),
# just before nghttpx's backend pool would drop it at 2 s. The backend sits behind a 5 ms one-way
# delay line (namespace ccx20n-ng-s); nghttpx and the client share namespace ccx20n-ng-c. One Node
# http.Agent client (keepAlive, maxSockets 1: one client connection, so nghttpx's pool holds one
# backend connection) sends 37 requests (every second a POST) with pauses swept around the backend's
# idle close: 31 from 1.930 to 1.960 s in 1 ms steps and 5 outside the window (0.5-2.2 s), shuffled.
# nghttpx reuses its pooled backend connection as the backend's idle FIN is on the wire: the request
# crosses the FIN (or, rarer, is sent just after it arrived, or reaches Node as its timer fires:
# RST), nghttpx reads EOF / ECONNRESET with the request already written, logs it (INFO) and answers
# its client 502 with Connection: close, whatever the method; it retries only when the first write
# fails. Capture in the proxy's namespace with -i any (both legs, LINUX_SLL2). Bounded: one attempt
# takes ~75 s; at most 3, until one has at least 3 races that capture and logs agree on and a capture
# that lost no packet (tshark finds no unseen segment).
# Writes samples/keepalive-race-nghttpx.pcap and .meta.json (programs/x20n-meta.py nghttpx).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x20n-lib.sh"
x19l_require nghttpx

SCENARIO=keepalive-race-nghttpx
DELAY_MS=5
KEEPALIVE_MS=950
# 36 pauses (ms): 31 in the race window (1930-1960), 5 outside it, shuffled; 37 requests.
GAPS=$(python3 -c "
import random
v = [500, 1200, 1800, 1900, 2200] + [1930 + k for k in range(31)]
random.Random(20).shuffle(v)
print(','.join(map(str, v)))")

x19l_setup ccx20n-ng "$DELAY_MS"
NS_P="$X19L_NS_C"
OUT="$CCB_WORK/$SCENARIO.pcap"
META="$CCB_WORK/$SCENARIO.meta.json"
mapfile -t SOFTWARE < <(x20n_software_nghttpx; echo "node $(node -v) http.Server (programs/b-http-server.js, keepAliveTimeout $KEEPALIVE_MS ms) as the backend"; echo "node $(node -v) http.Agent (programs/paced-keepalive-client.js: keepAlive, maxSockets 1, no retry) as the client"; echo "user-space delay line (programs/x5-wire.py, tun), $DELAY_MS ms one way, between nghttpx and the backend")
for attempt in 1 2 3; do
  rm -f "$CCB_WORK/client.log"
  cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port 9001 --keep-alive-timeout "$KEEPALIVE_MS" 2>"$CCB_WORK/backend.log"
  BACKEND_PID="$CC_LAST_PID"
  cc_wait_port 9001
  x20n_nghttpx_start 127.0.0.1,8080 "$CCB_SERVER_IP,9001"
  ccb_capture_start "$NS_P" any "$OUT" "tcp port 8080 or tcp port 9001" -y LINUX_SLL2 -B 32768
  ip netns exec "$NS_P" timeout 120 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.1:8080 \
    --gaps-ms "$GAPS" --post-every 2 --log "$CCB_WORK/client.log" || true
  sleep 2.5                       # the backend's idle close of the last connection
  cc_capture_stop
  x20n_proxy_stop
  ccb_stop "$BACKEND_PID"
  if python3 "$CCB_PROGRAMS/x20n-meta.py" nghttpx "$SCENARIO" --capture "$OUT" --meta "$META" \
      --client-log "$CCB_WORK/client.log" --backend-log "$CCB_WORK/backend.log" \
      --access-log "$CCB_WORK/nghttpx-access.log" --error-log "$CCB_WORK/nghttpx-error.log" --need-races 3 \
      --software "${SOFTWARE[@]}" --capture-side "proxy (nghttpx's namespace, -i any: client leg on lo, backend leg on tun ccbc)" \
      --configured "{\"serverIdleTimeout\": 1.951, \"backendKeepAliveTimeoutMs\": $KEEPALIVE_MS, \"nghttpxBackendKeepAliveTimeout\": \"default (2s)\", \"nghttpxBackendReadTimeout\": \"default (1m)\", \"oneWayDelayMsBackendLeg\": $DELAY_MS}" \
      --configured-notes "nghttpx runs with --conf=/dev/null and no timeout option: --backend-keep-alive-timeout is its default, 2s (nghttpx --help: 'Specify keep-alive timeout for backend HTTP/1 connection. Default: 2s'). nghttpx drops a pooled backend connection on EOF while idle (INFO 'Idle connection EOF') or at that timeout ('Idle connection timeout'). Node's keepAliveTimeout 950 ms closes ~1.951 s after the response (Node 20 adds 1 s), 49 ms before nghttpx's pool would: serverIdleTimeout 1.951 is that close. nghttpx answers with 'Server: nghttpx' and adds 'Via: 1.1 nghttpx' to responses and backend requests." \
      --description "Keep-alive race on nghttpx's backend leg. ${SOFTWARE[0]} as an HTTP/1.1 reverse proxy (cleartext frontend 127.0.0.1:8080, backend 10.99.0.2:9001, one worker, every timeout at its default: --backend-keep-alive-timeout 2s) in front of a Node http server whose keepAliveTimeout (950 ms) makes it close idle connections ~1.951 s after a response, just before nghttpx's pool would (2 s); 5 ms one way between nghttpx and the backend. One Node http.Agent client connection sends 37 requests (GET and POST alternating) with pauses swept from 1.930 to 1.960 s (and 5 outside). nghttpx reuses its one pooled backend connection as the backend's idle FIN is on the wire (crossing; rarely just after it arrived, or as Node's timer fires: RST), reads EOF or ECONNRESET with the request written, and answers its client 502 with Connection: close (GET and POST alike: nghttpx retries only when the first write of the request fails). Captured in nghttpx's namespace with -i any (both legs)."; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
# X20N_LOG_DIR=DIR keeps the programs' logs (summarised in the meta).
if [ -n "${X20N_LOG_DIR:-}" ]; then mkdir -p "$X20N_LOG_DIR"; cp "$CCB_WORK"/*.log "$X20N_LOG_DIR/" 2>/dev/null || true; fi
grep -h ' 50[0-9] ' "$CCB_WORK/nghttpx-access.log" || true
