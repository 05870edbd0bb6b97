#!/usr/bin/env bash
# Backend that never answers behind tinyproxy 1.11.1 (Debian tinyproxy) as a reverse proxy:
# tinyproxy on 127.0.0.2:8080 (ReverseOnly Yes, ReversePath "/" "http://127.0.0.3:9001/", Bind
# 127.0.0.2, Timeout 3) in front of a Node http server on 127.0.0.3:9001 whose /hang... requests are
# read and never answered (programs/b-http-server.js); one namespace, its own loopback. curl fetches
# /get?i=1 and /get?i=2, then /hang?i=1..3 0.3 s apart (at once), then /hang?i=4 and a POST
# /hang?i=5, then /get?i=3. tinyproxy sets its Timeout as the sockets' receive and send timeouts
# (SO_RCVTIMEO/SO_SNDTIMEO): reading the backend's status line fails with EAGAIN after ~3 s, it logs
# "process_server_headers failed: Resource temporarily unavailable", sends its client NO response
# (no 504: no error page is set on that path) and closes both connections (FIN): curl sees exit 52
# "Empty reply from server". Writes samples/gateway-timeout-tinyproxy.pcap and .meta.json (only when
# programs/x20n-meta.py finds capture, tinyproxy's log, curl's and the backend's agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x20n-lib.sh"
cc_require tinyproxy node curl python3 tcpdump tshark ip

# gateway-timeout-tinyproxy-other-address.sh runs this with X20N_TINYPROXY_BIND (the backend
# connections' source address, 127.0.0.2 by default) and X20N_SCENARIO set.
SCENARIO="${X20N_SCENARIO:-gateway-timeout-tinyproxy}"
TIMEOUT=3
BIND="${X20N_TINYPROXY_BIND:-127.0.0.2}"
if [ "$BIND" = 127.0.0.2 ]; then
  BIND_NOTE="Bind 127.0.0.2 (backend connections leave from the proxy's own address)"
else
  BIND_NOTE="Bind $BIND (backend connections leave from another address than the one clients connect to, 127.0.0.2)"
fi
x20n_tinyproxy_setup "ccx20n-gt${BIND##*.}" "$TIMEOUT" 'ReversePath "/" "http://127.0.0.3:9001/"'
x20n_capture_begin "tcp port 8080 or tcp port 9001"
x20n_gateway_requests
x20n_capture_end
cat "$CCB_WORK/curl.log"
python3 "$CCB_PROGRAMS/x20n-meta.py" tinyproxy "$SCENARIO" --mode gateway --capture "$OUT" --meta "$META" \
  --proxy-log "$CCB_WORK/tinyproxy.log" --curl-log "$CCB_WORK/curl.log" --backend-log "$CCB_WORK/backend.log" --timeout "$TIMEOUT" \
  --software "$(x20n_software_tinyproxy)" "node $(node -v) http.Server (programs/b-http-server.js) as the backend" "$(curl --version | head -1 | cut -d' ' -f1-2)" \
  --capture-side "one namespace's loopback: both legs (client 127.0.0.1 -> tinyproxy 127.0.0.2:8080; tinyproxy $BIND -> backend 127.0.0.3:9001)" \
  --configured "{\"proxyReadTimeout\": $TIMEOUT, \"tinyproxyTimeout\": $TIMEOUT}" \
  --configured-notes "tinyproxy.conf: Timeout $TIMEOUT ('The maximum number of seconds of inactivity a connection is allowed to have before it is closed by Tinyproxy'; Debian ships 600). tinyproxy 1.11 applies it as SO_RCVTIMEO/SO_SNDTIMEO on its sockets, so it is also its backend read (and connect) timeout; the waits measured here are ~3.05 s. $BIND_NOTE, ViaProxyName \"tinyproxy\" as in Debian's shipped config (Via: 1.1 tinyproxy (tinyproxy/1.11.1) on relayed responses); its own error pages carry Server: tinyproxy/1.11.1. tinyproxy keeps no client connection alive (it closes after each response) and sends Connection: close to the backend." \
  --description "Backend that never answers behind tinyproxy 1.11.1 as a reverse proxy (ReverseOnly, ReversePath / -> http://127.0.0.3:9001/, Timeout $TIMEOUT, Bind $BIND) on one namespace's loopback, both legs captured: curl 127.0.0.1 -> tinyproxy 127.0.0.2:8080, from $BIND -> Node 127.0.0.3:9001. Two quick GETs, then GET /hang?i=1..3 at once (0.3 s apart), GET /hang?i=4, POST /hang?i=5, then a quick GET. The backend reads each /hang request and never answers; ~3.05 s later tinyproxy's receive timeout (its Timeout) fires, it logs 'process_server_headers failed: Resource temporarily unavailable' and closes both connections without sending its client anything: no 504, an empty reply (curl exit 52)."
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
if [ -n "${X20N_LOG_DIR:-}" ]; then mkdir -p "$X20N_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK/tinyproxy.conf" "$X20N_LOG_DIR/" 2>/dev/null || true; fi
