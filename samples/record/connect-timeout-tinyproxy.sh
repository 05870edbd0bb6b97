#!/usr/bin/env bash
# Backend connect timeout behind tinyproxy 1.11.1 (Debian tinyproxy) as a reverse proxy: tinyproxy
# on 127.0.0.2:8080 (ReverseOnly Yes, Bind 127.0.0.2, Timeout 3) with two ReversePath rules: /x/ to
# http://127.0.0.3:9009/ (nothing listens there and an nftables rule drops every SYN to it: a
# backend host gone dark), anything else to a Node http server on 127.0.0.3:9001. One namespace, its
# own loopback. curl fetches /ok/1 and /ok/2, then /x/1..3 0.3 s apart (at once), then /x/4 and a
# POST /x/5. tinyproxy's connect() (blocking, with its Timeout as SO_SNDTIMEO) sends a SYN the kernel
# retransmits (1 s apart: tcp_syn_linear_timeouts), gives up after ~3 s, logs "opensock: Could not
# establish a connection to 127.0.0.3:9009" and answers 500 "Unable to connect" (Server:
# tinyproxy/1.11.1), not 502/503/504. Writes samples/connect-timeout-tinyproxy.pcap and .meta.json
# (only when programs/x20n-meta.py finds capture, tinyproxy's log, curl's and the backend's agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x20n-lib.sh"
cc_require tinyproxy node curl nft python3 tcpdump tshark ip

SCENARIO=connect-timeout-tinyproxy
TIMEOUT=3
# tinyproxy tries its ReversePath rules last first: the catch-all goes first.
x20n_tinyproxy_setup ccx20n-ct "$TIMEOUT" 'ReversePath "/" "http://127.0.0.3:9001/"' 'ReversePath "/x/" "http://127.0.0.3:9009/"'
ccb_drop_syns "$CC_NS" ccx20n_ct 9009
x20n_capture_begin "tcp port 8080 or tcp port 9001 or tcp port 9009"
x20n_curl http://127.0.0.2:8080/ok/1
x20n_curl http://127.0.0.2:8080/ok/2
x20n_curl_three http://127.0.0.2:8080/x/
x20n_curl http://127.0.0.2:8080/x/4
x20n_curl -d '{"item":5}' -H 'content-type: application/json' http://127.0.0.2:8080/x/5
x20n_capture_end
cc_in nft delete table inet ccx20n_ct
cat "$CCB_WORK/curl.log"
python3 "$CCB_PROGRAMS/x20n-meta.py" tinyproxy "$SCENARIO" --mode connect --capture "$OUT" --meta "$META" \
  --proxy-log "$CCB_WORK/tinyproxy.log" --curl-log "$CCB_WORK/curl.log" --backend-log "$CCB_WORK/backend.log" --timeout "$TIMEOUT" \
  --software "$(x20n_software_tinyproxy)" "node $(node -v) http.Server (programs/b-http-server.js) as the working backend" "$(curl --version | head -1 | cut -d' ' -f1-2)" "nftables SYN drop rule" \
  --capture-side "one namespace's loopback: both legs (client 127.0.0.1 -> tinyproxy 127.0.0.2:8080; tinyproxy 127.0.0.2 -> 127.0.0.3:9001 and :9009)" \
  --configured "{\"proxyConnectTimeout\": $TIMEOUT, \"tinyproxyTimeout\": $TIMEOUT}" \
  --configured-notes "tinyproxy.conf: Timeout $TIMEOUT (Debian ships 600). tinyproxy 1.11 has no connect timeout of its own: its blocking connect() ends at the socket's send timeout, which is Timeout; the waits measured are ~3.05 s. Bind 127.0.0.2, ViaProxyName \"tinyproxy\" as in Debian's shipped config. The 500 error page carries Server: tinyproxy/1.11.1 and Connection: close." \
  --description "Backend connect timeout behind tinyproxy 1.11.1 as a reverse proxy (ReverseOnly, Timeout $TIMEOUT, Bind 127.0.0.2) on one namespace's loopback, both legs captured: /x/ goes to 127.0.0.3:9009, where nothing listens and nftables drops every SYN (a host gone dark), the rest to a Node http server on 127.0.0.3:9001. curl fetches /ok/1 and /ok/2 (200), then /x/1..3 at once (0.3 s apart), /x/4 and a POST /x/5. For each /x/ request tinyproxy's SYN is sent and retransmitted by the kernel (4 SYNs, 1 s apart), never answered; ~3.05 s after the request its connect() fails at the socket's send timeout (Timeout), it logs 'opensock: Could not establish a connection' and answers 500 Unable to connect (its own error page), not 502/503/504, then closes."
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
if [ -n "${X20N_LOG_DIR:-}" ]; then mkdir -p "$X20N_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK/tinyproxy.conf" "$X20N_LOG_DIR/" 2>/dev/null || true; fi
