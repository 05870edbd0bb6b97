#!/usr/bin/env bash
# rst-on-close-nginx-stale-post: nginx (1.22, one worker) on two listeners in a private namespace.
#  8080: keepalive_timeout 1s, `return 200` (nginx answers a POST on its head and discards the body
#        itself). Python's http.client POSTs 60000 bytes (its body 50 ms after its head), reads the
#        200, idles 1.4 s (nginx's idle FIN comes at 1 s), then sends a GET on the same connection:
#        nginx's kernel resets it. Twice. Near miss for rst-on-close: the early 200 lost nothing
#        (the body arrived whole before the FIN, the client read the 200 before its GET); the RST is
#        keepalive-race's (stale reuse).
#  8081: client_max_body_size 16k, lingering_close off: a raw socket sends a 300000-byte chunked body,
#        nginx answers 413 once 16k have come and closes with the upload unread: RST (rst-on-close fires).
# Ground truth: the client's JSON log (local port, status or error per request) and nginx's access
# log, checked against the capture by programs/fq7-stale-post-meta.py, which writes the meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump tshark ip nginx

SCENARIO=rst-on-close-nginx-stale-post
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
IDLE_S=1.4

cc_netns_up fq7-stalepost
ccb_workdir
WORK="$CCB_WORK"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format fq7 '\$remote_port \$status \$request_length \$connection \$connection_requests "\$request"';
  access_log $WORK/access.log fq7;
  keepalive_timeout 1s;
  server {
    listen 127.0.0.1:8080;
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.1:8081;
    client_max_body_size 16k;
    lingering_close off;
    # Proxied: nginx reads the body before passing it on, and refuses it past the limit (the
    # backend, never reached, is a closed port).
    location / { proxy_pass http://127.0.0.1:9; }
  }
CONF

cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
cc_wait_port 8081
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081"
cc_in timeout 30 python3 "$CCB_PROGRAMS/fq7-stale-post-client.py" --stale-port 8080 --refused-port 8081 \
  --idle "$IDLE_S" --log "$WORK/client.log"
cc_capture_stop
cat "$WORK/client.log" "$WORK/access.log"
python3 "$CCB_PROGRAMS/fq7-stale-post-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$WORK/client.log" --access-log "$WORK/access.log"
