#!/usr/bin/env bash
# Keep-alive race on Varnish Cache 7.1's backend leg, absorbed by Varnish's retry: as
# keepalive-race-varnish.sh (Varnish on 127.0.0.2:8080, backend_idle_timeout 10 s, a Node backend
# closing idle connections after 1.3 s, 5 ms away; a paced Node client, every second request a
# POST), but vcl_recv calls std.cache_req_body() for POSTs: Varnish keeps the body and may send it
# again, so every request that failed on a recycled connection before any response byte (GET or
# POST) is retried once on a new connection (varnishlog: FetchError, then BackendOpen ... connect)
# and the client sees no failure. Writes samples/keepalive-race-varnish-cached-body.pcap and
# .meta.json (only when programs/x8-meta.py finds the capture and varnishlog agree and at least one
# raced POST answered 201; at most 4 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require varnishd varnishlog varnishadm node python3 tcpdump tshark ip

SCENARIO=keepalive-race-varnish-cached-body
DESCRIPTION="Keep-alive race on Varnish Cache 7.1's backend leg, absorbed by Varnish's retry: varnishd on 127.0.0.2:8080 (backend_idle_timeout 10 s; vcl_recv calls std.cache_req_body(10KB) for POSTs) in front of a Node http server (keepAliveTimeout 300 ms: it closes idle connections after 1.3 s) 5 ms one way away, Varnish connecting from 10.99.0.1. A Node http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every second one a POST) with think times of 1.288-1.300 s, so Varnish reuses its pooled backend connection as the backend's idle FIN is on its way. The backend resets each raced request; since Varnish kept the POST bodies, it retries every raced request, GET or POST, once on a new connection (varnishlog: FetchError, then a second BackendOpen ... connect), and the client gets 200/201 every time: the races are visible on the backend leg only."
REQUESTS=16

cc_netns_up ccx8-vcb-p            # client and Varnish (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add ccx8-vcb-b          # backend
ccb_delay_link ccx8-vcb-p ccx8-vcb-b 5
ip netns exec ccx8-vcb-p ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ccb_bg ccx8-vcb-b node "$CCB_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port 9001 --keep-alive-timeout 300 2>"$WORK/backend.log"
ccb_wait_port ccx8-vcb-b 9001
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3 4; do
  rm -f "$WORK/client.log"
  cat >"$WORK/cached-body.vcl" <<VCL
vcl 4.1;
import std;
backend origin { .host = "$CCB_SERVER_IP"; .port = "9001"; }
sub vcl_recv { if (req.method == "POST") { std.cache_req_body(10KB); } }
VCL
  x8_varnish_start_vcl ccx8-vcb-p "$WORK/cached-body.vcl" 127.0.0.2:8080 backend_idle_timeout=10
  ccb_capture_start ccx8-vcb-p any "$OUT" "tcp port 8080 or tcp port 9001"
  GAPS=$(python3 -c "import random; random.seed($attempt); print(','.join(str(random.randint(1288, 1300)) for _ in range($REQUESTS - 1)))")
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 --gaps-ms "$GAPS" \
    --post-every 2 --log "$WORK/client.log"
  sleep 1.5                       # the backend's idle close of the last pooled connection
  cc_capture_stop
  x8_varnish_stop
  if [ -n "${X8_DEBUG_DIR:-}" ]; then
    mkdir -p "$X8_DEBUG_DIR/$SCENARIO.$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/*.txt "$X8_DEBUG_DIR/$SCENARIO.$attempt/" || true
  fi
  if python3 "$CCB_PROGRAMS/x8-meta.py" "$SCENARIO" --proxy varnish --capture "$OUT" --meta "$META" \
      --proxy-log "$WORK/varnishlog.txt" --client-log "$WORK/client.log" --listen 127.0.0.2:8080 --backend "$CCB_SERVER_IP:9001" \
      --configured serverIdleTimeout=1.3 --require-race-outcomes 201 --description "$DESCRIPTION" \
      --software "$(varnishd -V 2>&1 | head -1 | sed 's/ revision.*//;s/[()]//g')" "node $(node -v)"; then
    break
  fi
  [ "$attempt" = 4 ] && { echo "record: $SCENARIO: no usable recording in 4 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
