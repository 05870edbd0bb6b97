#!/usr/bin/env bash
# The keep-alive race with Node 20's built-in fetch (undici 6, the global dispatcher's defaults:
# keepAliveTimeout 4 s when the server sends no Keep-Alive hint) against nginx 1.22 with
# keepalive_timeout 2s (no Keep-Alive header: nginx sends one only with the directive's second
# parameter), which closes idle keep-alive connections 2 s after the last response, shorter than
# undici's 4 s. 5 ms one-way latency, captured on the server side. Probe rounds measure when
# nginx's idle-close FIN reaches the client; race rounds send a GET or a POST a few ms before that
# (it crosses the FIN: nginx has closed, its kernel answers RST; fetch rejects with TypeError
# "fetch failed", cause SocketError "other side closed", and undici does not send it again), and
# one round sends 30 ms after the FIN arrived (undici saw the 'end' and dropped the socket: a new
# connection, no error). Writes samples/keepalive-race-node-fetch.pcap and .meta.json (x11-meta.py
# checks the capture against the client's diagnostics-channel log and nginx's access log, else
# writes nothing and the attempt is redone).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x11.sh"
cc_require node python3 tcpdump tshark ip nginx

SCENARIO=keepalive-race-node-fetch
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
DELAY_MS=5
KEEPALIVE_S=2

x11_delay_setup ccx11-nf-c ccx11-nf-s "$DELAY_MS"
x11_nginx ccx11-nf-s "$CCB_SERVER_IP:8080" "keepalive_timeout ${KEEPALIVE_S}s;"
SOFTWARE=("$(x11_software_fetch)" "$(x11_software_nginx) (keepalive_timeout ${KEEPALIVE_S}s, return 200)" \
  "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency")
DESCRIPTION="The keep-alive race with Node 20's built-in fetch (undici 6.24, the global dispatcher's defaults: keepAliveTimeout 4 s when the server sends no Keep-Alive hint) against nginx 1.22 with keepalive_timeout 2s (no Keep-Alive header), which closes idle keep-alive connections 2 s after the last response. 5 ms one-way latency, captured on the server side. Probe rounds measure when nginx's idle-close FIN reaches the client; race rounds send a GET or a POST 3 or 6 ms before that: the request crosses the FIN (or leaves just after it arrived, before undici's event loop processed it), nginx's kernel answers RST, fetch rejects with TypeError 'fetch failed', cause SocketError 'other side closed' (UND_ERR_SOCKET), and undici does not send it again. One round sends 30 ms after the FIN arrived: undici had dropped the socket on its 'end', opened a new connection, no error."
for attempt in 1 2 3; do
  : >"$X11_WORK/client.log"; : >"$X11_WORK/nginx-access.log"
  ccb_capture_start ccx11-nf-s ccbs "$OUT" "tcp port 8080"
  ip netns exec ccx11-nf-c timeout 40 node "$X11_PROGRAMS/x11-fetch-client.js" --base "http://$CCB_SERVER_IP:8080" \
    --probes 3 --rounds GET:3,POST:3,GET:6,POST:6,GET:-30 --tag n --log "$X11_WORK/client.log" --max-seconds 35 || true
  cc_capture_stop
  if python3 "$X11_PROGRAMS/x11-meta.py" keepalive-race --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
      --client-log "$X11_WORK/client.log" --access-log "$X11_WORK/nginx-access.log" --server-name nginx \
      --description "$DESCRIPTION" --set serverIdleTimeout="$KEEPALIVE_S" --set oneWayDelayMs="$DELAY_MS" --software "${SOFTWARE[@]}"; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
grep -v '"connected"\|"socketClose"' "$X11_WORK/client.log" || true
