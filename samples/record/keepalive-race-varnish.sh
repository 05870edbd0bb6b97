#!/usr/bin/env bash
# Keep-alive race on Varnish Cache 7.1's backend leg. varnishd on 127.0.0.2:8080
# (backend_idle_timeout 10 s, longer than the backend keeps idle connections) in front of a Node
# http server (keepAliveTimeout 300 ms: Node 20 closes idle connections after 1.3 s) in another
# namespace, 5 ms one way away (a delay line); Varnish connects from 10.99.0.1. One Node
# http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every second one a POST, which
# the builtin VCL passes) with think times of 1.288-1.300 s, so Varnish reuses its pooled backend
# connection as the backend's idle FIN is on its way. Varnish's waiter closes pooled connections
# whose FIN has arrived, so only crossings fail: the backend resets the request. A GET that failed
# on a recycled connection before any response byte is retried once on a new connection (VSL
# FetchError, backend_retry): the client gets its 200; a POST's streamed body cannot be sent again
# (no retry): Varnish answers 503 "Backend fetch failed".
# Captured in Varnish's namespace on every interface (both legs). Writes
# samples/keepalive-race-varnish.pcap and .meta.json (only when programs/x8-meta.py finds the
# capture and varnishlog agree and at least one race of each outcome; at most 4 attempts).
# X8_CACHED_BODY=1 records keepalive-race-varnish-cached-body instead (see that wrapper).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require varnishd varnishlog varnishadm node python3 tcpdump tshark ip

if [ "${X8_CACHED_BODY:-0}" = 1 ]; then
  SCENARIO=keepalive-race-varnish-cached-body
  DESCRIPTION="Keep-alive race on Varnish Cache 7.1's backend leg, absorbed by Varnish's retry: varnishd on 127.0.0.2:8080 (backend_idle_timeout 10 s; vcl_recv calls std.cache_req_body(10KB) for POSTs) in front of a Node http server (keepAliveTimeout 300 ms: it closes idle connections after 1.3 s) 5 ms one way away, Varnish connecting from 10.99.0.1. A Node http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every second one a POST) with think times of 1.288-1.300 s, so Varnish reuses its pooled backend connection as the backend's idle FIN is on its way. The backend resets each raced request; since Varnish kept the POST bodies, it retries every raced request, GET or POST, once on a new connection (varnishlog: FetchError, then a second BackendOpen ... connect), and the client gets 200/201 every time: the races are visible on the backend leg only."
  NS=ccx8-vcb
  OUTCOMES=201
else
  SCENARIO=keepalive-race-varnish
  DESCRIPTION="Keep-alive race on Varnish Cache 7.1's backend leg: varnishd on 127.0.0.2:8080 (backend_idle_timeout 10 s) in front of a Node http server (keepAliveTimeout 300 ms: it closes idle connections after 1.3 s) 5 ms one way away, Varnish connecting from 10.99.0.1. A Node http.Agent client (keepAlive, maxSockets 1) sends 16 requests (every second one a POST, passed by the builtin VCL) with think times of 1.288-1.300 s, so Varnish reuses its pooled backend connection as the backend's idle FIN is on its way (crossings: Varnish's waiter closes pooled connections whose FIN has arrived). The backend resets each raced request. Varnish retries a GET once on a new connection when a recycled connection failed before any response byte (varnishlog: FetchError, then a second BackendOpen ... connect): its client gets 200. A POST's streamed body cannot be sent again: Varnish answers its client 503 'Backend fetch failed' within milliseconds. Captured in Varnish's namespace on every interface (both legs)."
  NS=ccx8-vkr
  OUTCOMES=200,503
fi
REQUESTS=16

cc_netns_up "$NS-p"            # client and Varnish (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add "$NS-b"          # backend
ccb_delay_link "$NS-p" "$NS-b" 5
ip netns exec "$NS-p" ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ccb_bg "$NS-b" node "$CCB_PROGRAMS/b-http-server.js" --host "$CCB_SERVER_IP" --port 9001 --keep-alive-timeout 300 2>"$WORK/backend.log"
ccb_wait_port "$NS-b" 9001
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3 4; do
  rm -f "$WORK/client.log"
  if [ "${X8_CACHED_BODY:-0}" = 1 ]; then
    cat >"$WORK/cached-body.vcl" <<VCL
vcl 4.1;
import std;
backend origin { .host = "$CCB_SERVER_IP"; .port = "9001"; }
sub vcl_recv { if (req.method == "POST") { std.cache_req_body(10KB); } }
VCL
    x8_varnish_start_vcl "$NS-p" "$WORK/cached-body.vcl" 127.0.0.2:8080 backend_idle_timeout=10
  else
    x8_varnish_start "$NS-p" "$CCB_SERVER_IP" 9001 127.0.0.2:8080 backend_idle_timeout=10
  fi
  ccb_capture_start "$NS-p" any "$OUT" "tcp port 8080 or tcp port 9001"
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
      --configured serverIdleTimeout=1.3 --require-race-outcomes "$OUTCOMES" --description "$DESCRIPTION" \
      --software "$(varnishd -V 2>&1 | head -1 | sed 's/ revision.*//;s/[()]//g')" "node $(node -v)"; then
    break
  fi
  [ "$attempt" = 4 ] && { echo "record: $SCENARIO: no usable recording in 4 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
