#!/usr/bin/env bash
# Unanswered requests given up by curl --max-time 1.5, captured at the CLIENT, 20 ms one way from
# the server, with 12 ms of jitter (client, router and server namespaces joined by user-space
# wires: this kernel has no netem). A Node http server reads GET /hang/N and never answers; curl's
# --max-time counts from before the connect, so it closes 1.5 s after its SYN, which is 1.5 s
# less one round trip (the handshake) after its request.
# Writes samples/unanswered-request-curl-max-time-far-client.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require node curl python3 tcpdump tshark ip

SCENARIO=unanswered-request-curl-max-time-far-client
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
ONE_WAY_MS=20
JITTER_MS=12
MAX_TIME=1.5

ccb_workdir
WORK="$CCB_WORK"
x5_topology_up "${RECORD_NS:-x5-curlmt}" "$ONE_WAY_MS" "$JITTER_MS"
ccb_bg "$X5_S" node "$X5_PROGRAMS/b-http-server.js" --host "$X5_SERVER_IP" --port 8080 2>"$WORK/server.log"
ccb_wait_port "$X5_S" 8080
x5_capture_start "$X5_C" x5c "$OUT" "tcp port 8080"
: >"$WORK/curl.log"
for i in 1 2 3; do
  ip netns exec "$X5_C" curl -s -o /dev/null -w "curl %{local_port} %{http_code} %{time_total} /hang/$i\n" --max-time "$MAX_TIME" "http://$X5_SERVER_IP:8080/hang/$i" >>"$WORK/curl.log" || true
done
x5_capture_stop_all
cat "$WORK/curl.log"
cat >"$WORK/spec.json" <<SPEC
{ "description": "Unanswered requests given up by curl --max-time $MAX_TIME, captured at the client, $ONE_WAY_MS ms one way from the server with $JITTER_MS ms of jitter (client, router and server namespaces joined by user-space wires). A Node http server reads GET /hang/1, /hang/2 and /hang/3 (one connection each) and never answers. curl's --max-time covers the whole transfer, connect included: it closes each connection (FIN) $MAX_TIME s after its SYN, that is $MAX_TIME s less the handshake's round trip (about 40 ms, varying with the jitter) after its request.",
  "software": ["node $(node --version) http server (b-http-server.js)", "$(curl --version | head -1 | cut -d' ' -f1-2)"],
  "configured": { "clientTimeoutFromConnect": $MAX_TIME },
  "configuredNotes": "clientTimeoutFromConnect is curl --max-time, counted from the connect; the wait from the request is shorter by the handshake.",
  "oneWayMs": $ONE_WAY_MS, "capturePoint": "client", "server": "$X5_SERVER_IP:8080", "clientIp": "$X5_CLIENT_IP",
  "curlLog": "$WORK/curl.log" }
SPEC
python3 "$X5_PROGRAMS/x5-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --spec "$WORK/spec.json"
