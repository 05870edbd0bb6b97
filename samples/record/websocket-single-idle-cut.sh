#!/usr/bin/env bash
# websocket-single-idle-cut: ONE idle WebSocket cut by nginx's proxy_read_timeout, with the client,
# nginx and the backend on one address (127.0.0.1), both legs captured (blind round 15: a single cut
# was never reported, and a client gone beside its proxy on one address read as two samples of a timer).
# In a namespace, on its loopback: nginx 1.22 on 127.0.0.1:8080 (proxy_http_version 1.1, Upgrade and
# Connection headers, proxy_read_timeout 2s) in front of the hand-written Node WebSocket server
# programs/x28w-node-server.js on 127.0.0.1:9001. Clients (programs/x28w-node-client.js):
#   cut1   a message, then silent: nginx ends it after 2 s on both legs, no close frame (code 1006);
#   ping1  a message, a ping every second for 4 s, then a closing handshake (outlives the timer);
#   bye1   a message, 1 s of silence, then its own closing handshake (1000);
#   gone1  a message, then its process is killed (SIGKILL by `timeout`) 1.2 s later: its kernel's FIN,
#          which nginx passes on to the backend at once (one close, not a timer).
# Ground truth: the clients' log (each session's end code), nginx's error log ("upstream timed out ...
# while proxying upgraded connection", once); programs/ws-single-cut-meta.py checks them against the capture.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require nginx node tcpdump tshark ip python3 timeout

SCENARIO=websocket-single-idle-cut
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
    listen 127.0.0.1:8080;
    location / {
      proxy_pass http://127.0.0.1:9001;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 2s;
    }
  }
}
NGINX

cc_netns_up cc-ws-single-cut
cc_bg node "$P/x28w-node-server.js" --host 127.0.0.1 --port 9001 --log "$WORK/server.log"
cc_wait_port 9001
cc_bg nginx -c "$WORK/nginx.conf" -g 'daemon off;'
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
session() { # TAG PLAN
  cc_in timeout 15 node "$P/x28w-node-client.js" --url ws://127.0.0.1:8080/ws --log "$WORK/clients.log" --tag "$1" --plan "$2" --max-seconds 12
}
session cut1 text:20,wait:5000 & S1=$!; sleep 0.3
session ping1 text:20,pingevery:1000:4,close:1000 & S2=$!; sleep 0.3
session bye1 text:20,sleep:1000,close:1000 & S3=$!; sleep 0.3
# Killed (SIGKILL) 1.2 s after it started, its message echoed and the tunnel silent: no close frame.
cc_in timeout -s KILL 1.2 node "$P/x28w-node-client.js" --url ws://127.0.0.1:8080/ws --log "$WORK/clients.log" --tag gone1 --plan text:20,wait:8000 --max-seconds 12 & S4=$!
wait $S1 $S2 $S3 $S4 || true
sleep 0.5
cc_capture_stop
python3 "$P/ws-single-cut-meta.py" --capture "$OUT" --meta "$META" --client-log "$WORK/clients.log" --error-log "$WORK/error.log" \
  --software "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "node $(node -v) (x28w-node-server.js, x28w-node-client.js)"
rm -rf "$WORK"
