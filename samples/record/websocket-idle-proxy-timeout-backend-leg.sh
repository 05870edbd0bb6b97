#!/usr/bin/env bash
# websocket-idle-proxy-timeout-backend-leg: nginx's tunnel idle timeout seen from the upstream leg only
# (blind round 10: a WebSocket cut was invisible when the capture held only the backend's side).
# In a namespace, on its loopback: nginx 1.22 on 127.0.0.2:8080 (WebSocket proxying: proxy_http_version
# 1.1, Upgrade/Connection headers, proxy_read_timeout 3s; it connects from 127.0.0.2) in front of the
# hand-written Node WebSocket server programs/x28w-node-server.js on 127.0.0.3:9001; tcpdump keeps only
# port 9001. Clients (programs/x28w-node-client.js, from 127.0.0.1): three sessions that send a message
# 0.5 s after the handshake (nginx re-arms its read timer only for reads 300 ms or more apart)
# and go silent (nginx ends them after 3 s: code 1006), one that pings every second for 5 s and closes
# with a closing handshake, and one that closes with a closing handshake after 1 s of silence.
# Ground truth: the clients' log (each session's end code), nginx's error log ("upstream timed out ...
# while proxying upgraded connection"); programs/ws-backend-leg-meta.py checks them against the capture.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require nginx node tcpdump tshark ip python3

SCENARIO=websocket-idle-proxy-timeout-backend-leg
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
chmod 755 "$WORK"
P="$CC_RECORD_DIR/programs"

cat >"$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 64; }
http {
  access_log $WORK/access.log;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  server {
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://127.0.0.3:9001;
      proxy_bind 127.0.0.2;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 3s;
    }
  }
}
NGINX

cc_netns_up cc-ws-backleg
cc_bg node "$P/x28w-node-server.js" --host 127.0.0.3 --port 9001 --log "$WORK/server.log"
cc_wait_port 9001
cc_bg nginx -c "$WORK/nginx.conf" -g 'daemon off;'
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 9001"
session() { # TAG PLAN
  cc_in timeout 20 node "$P/x28w-node-client.js" --url ws://127.0.0.2:8080/ws --log "$WORK/clients.log" --tag "$1" --plan "$2" --max-seconds 15
}
session idle1 sleep:500,text:20,wait:6000 & S1=$!; sleep 0.4
session ping1 text:20,pingevery:1000:5,close:1000 & S2=$!; sleep 0.4
session idle2 sleep:500,text:20,sleep:500,text:20,wait:6000 & S3=$!; sleep 0.4
session bye1 text:20,sleep:1000,close:1000 & S4=$!; sleep 0.4
session idle3 sleep:500,bin:64,wait:6000 & S5=$!
wait $S1 $S2 $S3 $S4 $S5 || true
sleep 0.5
cc_capture_stop
python3 "$P/ws-backend-leg-meta.py" --capture "$OUT" --meta "$META" --client-log "$WORK/clients.log" --error-log "$WORK/error.log" \
  --software "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "node $(node -v) (x28w-node-server.js, x28w-node-client.js)"
rm -rf "$WORK"
