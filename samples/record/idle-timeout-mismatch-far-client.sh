#!/usr/bin/env bash
# Idle-timeout mismatch captured at the CLIENT, 75 ms one way from the server (client, router and
# server namespaces joined by user-space wires: this kernel has no netem). nginx closes idle
# keep-alive connections after 2 s (keepalive_timeout 2s). A Node http.Agent reuses its connection
# after 1.7 s idle as the client sees it: the request reaches nginx 1.85 s after its response left,
# 150 ms before the close, inside the 10 % margin where a little more latency or a later request
# crosses the FIN. Then it idles past the timeout three times (nginx's idle closes tell its timeout).
# Writes samples/idle-timeout-mismatch-far-client.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require nginx node python3 tcpdump tshark ip

SCENARIO=idle-timeout-mismatch-far-client
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
ONE_WAY_MS=75
LONG_GAP_MS=1700

ccb_workdir
WORK="$CCB_WORK"
x5_topology_up "${RECORD_NS:-x5-itmfar}" "$ONE_WAY_MS"
S="$X5_SERVER_IP"
cat >"$WORK/nginx.conf" <<NG
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log $WORK/error.log info;
events { worker_connections 64; }
http { access_log $WORK/access.log; client_body_temp_path $WORK; keepalive_timeout 2s;
  server { listen $S:8080; location / { return 200 "ok\n"; } } }
NG
ccb_bg "$X5_S" nginx -c "$WORK/nginx.conf"
ccb_wait_port "$X5_S" 8080
x5_capture_start "$X5_C" x5c "$OUT" "tcp port 8080"
ip netns exec "$X5_C" timeout 30 node "$X5_PROGRAMS/x5-agent-client.js" --host "$S" --port 8080 --method GET --gaps "$LONG_GAP_MS,2500,2500,2500" >"$WORK/client.log"
x5_capture_stop_all
cat "$WORK/client.log"
cat >"$WORK/spec.json" <<SPEC
{ "description": "Idle-timeout mismatch captured at the client, $ONE_WAY_MS ms one way from the server (client, router and server namespaces joined by user-space wires). nginx closes idle keep-alive connections after 2 s (keepalive_timeout 2s, no Keep-Alive header). A Node http.Agent (keep-alive, no idle timeout of its own) reuses its connection after $LONG_GAP_MS ms idle as seen at the client: the request reaches nginx one round trip later, about 1.85 s after its response left, 150 ms before the idle close. Every request is answered; then the client idles 2.5 s three times, and nginx closes each idle connection after 2 s (the agent opens a new one each time).",
  "software": ["$(nginx -v 2>&1 | sed 's/^nginx version: //')", "node $(node --version) http.Agent client (x5-agent-client.js)"],
  "configured": { "serverIdleTimeout": 2.0 },
  "oneWayMs": $ONE_WAY_MS, "capturePoint": "client", "server": "$S:8080", "clientIp": "$X5_CLIENT_IP",
  "clientLog": "$WORK/client.log", "longGapMs": $LONG_GAP_MS }
SPEC
python3 "$X5_PROGRAMS/x5-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --spec "$WORK/spec.json"
