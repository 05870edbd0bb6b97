#!/usr/bin/env bash
# A client that never finishes its upload, behind HAProxy 2.6 (mode http, `timeout server 1s`), in
# front of a Node http server that answers once a body has all come. Three clients POST at once with
# Content-Length 100 and send only 10 body bytes (FXP_SENT), then wait. HAProxy forwards the head and
# the 10 bytes as they come (no option http-buffer-request), the backend waits for the other 90, and
# HAProxy answers 504 at its timeout server (log: sH--), resetting the backend connection. The 504 is
# the client's unfinished upload, not a slow backend. Run with FXP_SENT=100 FXP_PATH=/slow?ms=2500
# (gateway-timeout-haproxy-slow-upload.sh) for the near miss: the whole body sent, the backend slow.
# Everything on one loopback in namespace fxp-ub: HAProxy on 127.0.0.2:8080 (connecting from
# 127.0.0.2: `source`), the backend on 127.0.0.3:9001. Writes samples/$SCENARIO.pcap + meta (checked by
# programs/fxp-upload-meta.py against HAProxy's log).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x12.sh"
cc_require haproxy node python3 tcpdump tshark ip

SCENARIO="${FXP_SCENARIO:-gateway-timeout-haproxy-unfinished-body}"
SENT="${FXP_SENT:-10}"
UPLOAD_PATH="${FXP_PATH:-/upload}"
if [ "$SENT" -lt 100 ]; then
  DESCRIPTION="A client that never finishes its upload behind HAProxy 2.6 (mode http, timeout server 1s, no option http-buffer-request) on 127.0.0.2:8080 (connecting from it too), in front of a Node http server on 127.0.0.3:9001 that answers once the body has all come (all on one loopback). Three clients POST $UPLOAD_PATH at once with Content-Length 100 and send only $SENT body bytes. HAProxy forwards the head and those bytes, the backend waits for the rest, and HAProxy answers 504 at its timeout server (log: sH--) and resets the backend connection: the client's unfinished upload, not a slow backend."
else
  DESCRIPTION="Near miss of gateway-timeout-haproxy-unfinished-body: the same HAProxy 2.6 (timeout server 1s) and Node backend, three clients POST $UPLOAD_PATH at once with their whole 100-byte body; the backend answers after 2.5 s and HAProxy answers 504 at its timeout server (log: sH--): a slow backend."
fi
cc_netns_up "${FXP_NS:-fxp-ub}"
ccb_workdir
WORK="$CCB_WORK"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9001
x12_haproxy_start "$CC_NS" 127.0.0.2:8080 "server s1 127.0.0.3:9001 source 127.0.0.2" "  timeout connect 1s
  timeout server 1s
  timeout http-request 10s"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
cc_in python3 "$CCB_PROGRAMS/fxp-upload-client.py" 127.0.0.2 8080 "$UPLOAD_PATH" 100 "$SENT" 3 >"$WORK/clients.log"
cat "$WORK/clients.log"
[ "$SENT" -lt 100 ] || sleep 1.8   # the backend's late answers to the closed connections
cc_capture_stop
x12_haproxy_stop
python3 "$CCB_PROGRAMS/fxp-upload-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --proxy-log "$WORK/haproxy.log" \
  --client-log "$WORK/clients.log" --declared 100 --sent "$SENT" --description "$DESCRIPTION" \
  --software "$(haproxy -v | head -1 | cut -d' ' -f1-3)" "node $(node -v)" "python3 $(python3 -c 'import platform; print(platform.python_version())')"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
