#!/usr/bin/env bash
# gateway-timeout-tinyproxy.sh with tinyproxy connecting to its backend from another address than
# the one it listens on: Bind 127.0.0.4 (the address of a backend-facing interface), Listen
# 127.0.0.2. Backend that never answers behind tinyproxy 1.11.1 (Debian tinyproxy) as a reverse
# proxy (ReverseOnly Yes, ReversePath "/" "http://127.0.0.3:9001/", Timeout 3) in front of a Node
# http server on 127.0.0.3:9001 whose /hang... requests are read and never answered
# (programs/b-http-server.js); one namespace, its own loopback. The same requests as there; at its
# Timeout tinyproxy closes both connections and sends its client nothing (curl exit 52). The capture
# shows no connection from 127.0.0.2 to the backend: which connections are the proxy's upstream legs
# is learned from the requests they copy. Writes samples/gateway-timeout-tinyproxy-other-address.pcap
# and .meta.json (only when programs/x20n-meta.py finds capture, tinyproxy's log, curl's and the
# backend's agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x20n-lib.sh"
cc_require tinyproxy node curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-tinyproxy-other-address
TIMEOUT=3
X20N_TINYPROXY_BIND=127.0.0.4
x20n_tinyproxy_setup ccx20n-go "$TIMEOUT" 'ReversePath "/" "http://127.0.0.3:9001/"'
x20n_capture_begin "tcp port 8080 or tcp port 9001"
x20n_gateway_requests
x20n_capture_end
cat "$CCB_WORK/curl.log"
python3 "$CCB_PROGRAMS/x20n-meta.py" tinyproxy "$SCENARIO" --mode gateway --capture "$OUT" --meta "$META" \
  --proxy-log "$CCB_WORK/tinyproxy.log" --curl-log "$CCB_WORK/curl.log" --backend-log "$CCB_WORK/backend.log" --timeout "$TIMEOUT" \
  --software "$(x20n_software_tinyproxy)" "node $(node -v) http.Server (programs/b-http-server.js) as the backend" "$(curl --version | head -1 | cut -d' ' -f1-2)" \
  --capture-side "one namespace's loopback: both legs (client 127.0.0.1 -> tinyproxy 127.0.0.2:8080; tinyproxy from 127.0.0.4 -> backend 127.0.0.3:9001)" \
  --configured "{\"proxyReadTimeout\": $TIMEOUT, \"tinyproxyTimeout\": $TIMEOUT}" \
  --configured-notes "tinyproxy.conf: Timeout $TIMEOUT, applied by tinyproxy 1.11 as SO_RCVTIMEO/SO_SNDTIMEO on its sockets (its backend read and connect timeout too); Listen 127.0.0.2, Bind $X20N_TINYPROXY_BIND: backend connections leave from another address than the one clients connect to. ViaProxyName \"tinyproxy\" as in Debian's shipped config. tinyproxy keeps no client connection alive and sends Connection: close to the backend." \
  --description "Backend that never answers behind tinyproxy 1.11.1 as a reverse proxy (ReverseOnly, ReversePath / -> http://127.0.0.3:9001/, Timeout $TIMEOUT) that listens on 127.0.0.2 and connects to its backend from $X20N_TINYPROXY_BIND (Bind), on one namespace's loopback, both legs captured: curl 127.0.0.1 -> tinyproxy 127.0.0.2:8080, tinyproxy $X20N_TINYPROXY_BIND -> Node 127.0.0.3:9001. Two quick GETs, then GET /hang?i=1..3 at once (0.3 s apart), GET /hang?i=4, POST /hang?i=5, then a quick GET. The backend reads each /hang request and never answers; ~3.05 s later tinyproxy's receive timeout (its Timeout) fires, it closes both connections without sending its client anything: no 504, an empty reply (curl exit 52)."
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
if [ -n "${X20N_LOG_DIR:-}" ]; then mkdir -p "$X20N_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK/tinyproxy.conf" "$X20N_LOG_DIR/" 2>/dev/null || true; fi
