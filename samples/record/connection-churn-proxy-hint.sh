#!/usr/bin/env bash
# A short Keep-Alive hint passed on by a hand-written Node reverse proxy: a Node backend on
# 127.0.0.3:9002 (keepAliveTimeout 1 s, so it advertises Keep-Alive: timeout=1); proxy A on
# 127.0.0.2:8001 copies the backend's response headers, Keep-Alive included (hop-by-hop: it must
# not); proxy B on 127.0.0.2:8002 drops them, so its own server advertises timeout=5. Both pool
# their backend connections (http.Agent keepAlive, from 127.0.0.2). A Node client with a
# keep-alive Agent sends 12 GETs 50 ms apart to each proxy.
# What conncheck must say: connection-churn at proxy A (its clients' agent closes each connection
# on the 1 s hint) whose remedy says the proxy passes its backend's hint on; none at proxy B; and
# connection-churn at the backend (the proxies' agents close on the same hint), told as a server's.
# Writes samples/connection-churn-proxy-hint.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require node python3 tcpdump ip

SCENARIO=connection-churn-proxy-hint
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
PROG="$CC_RECORD_DIR/programs/fr7-hint-proxy.js"

cc_netns_up fr7-hint
cc_bg node "$PROG" backend 127.0.0.3 9002 1000
cc_bg node "$PROG" proxy 127.0.0.2 8001 127.0.0.3 9002 127.0.0.2 copy
cc_bg node "$PROG" proxy 127.0.0.2 8002 127.0.0.3 9002 127.0.0.2 strip
cc_wait_port 9002
cc_wait_port 8001
cc_wait_port 8002
cc_capture_start "$OUT" "tcp port 8001 or tcp port 8002 or tcp port 9002"
cc_in timeout 20 node "$PROG" client http://127.0.0.2:8001 12 50
cc_in timeout 20 node "$PROG" client http://127.0.0.2:8002 12 50
sleep 0.5
cc_capture_stop
python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$(node --version)" <<'PY'
import json, sys
meta = {
  "scenario": "connection-churn-proxy-hint",
  "description": "A Node backend (keepAliveTimeout 1 s: Keep-Alive: timeout=1) behind two hand-written Node reverse proxies that pool their backend connections: proxy A (127.0.0.2:8001) copies the backend's response headers, Keep-Alive included; proxy B (127.0.0.2:8002) drops the hop-by-hop ones. A Node client with a keep-alive Agent sends 12 GETs 50 ms apart to each.",
  "software": [f"node {sys.argv[2]}", "node http server (backend, proxies)", "node http.Agent keepAlive (client, proxies' pools)"],
  "expect": [
    {"kind": "connection-churn", "client": "127.0.0.1", "server": "127.0.0.2:8001", "notes": "Proxy A passes on the backend's Keep-Alive: timeout=1; the client's http.Agent closes each connection after its response. The remedy names the proxy passing its backend's hint on (hop-by-hop)."},
    {"kind": "connection-churn", "client": "127.0.0.2", "server": "127.0.0.3:9002", "notes": "The proxies' agents close each backend connection on the same 1 s hint."}
  ],
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
PY
echo "recorded $OUT"
