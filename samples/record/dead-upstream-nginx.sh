#!/usr/bin/env bash
# Dead upstreams behind nginx round-robin: nginx (Debian 1.22, one worker) on 127.0.0.2:8080
# (proxy_bind 127.0.0.2) proxies to `upstream be` = three Node http servers (b-http-server.js)
# 127.0.0.3:9001, :9002, :9003, each with nginx's defaults stated: max_fails=1 fail_timeout=10s,
# proxy_next_upstream error timeout (no non_idempotent); upstream keepalive 8, proxy_http_version 1.1,
# Connection "". 9003 is down from the start (nothing listens: SYN answered by RST). Three python
# requests lanes (x17p-requests-lanes.py; one keep-alive connection each to nginx) send GET /items
# and POST /orders every 0.35 s for ~16 s. At ~3.5 s eight curl clients send GET and POST
# /slow?ms=2500 at once; 0.5 s later the backend on 9002 is killed (SIGKILL, by its PID) with some
# of them in flight, and restarted 3 s later. nginx retries a refused connect on the next server
# (the client sees 200, error log "connect() failed (111: Connection refused)", the server marked
# down for 10 s, then tried again); an in-flight GET cut by the kill ("upstream prematurely closed
# connection") is retried on 9001, an in-flight POST is answered 502 (not retried without
# non_idempotent). Ground truth: the clients' logs, nginx's access log ($remote_port $status
# $upstream_addr $upstream_status $request_time $upstream_connect_time) and error log, the
# backends' logs, checked against the capture by programs/x25d-meta.py, which refuses a run (the
# recording is redone, at most 3 times) where the kill cut no GET or no POST, or where a lane's request
# met the kill on a pooled upstream connection (a failure this sample does not describe).
# Writes samples/dead-upstream-nginx.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx curl

SCENARIO=dead-upstream-nginx
SLOW_MS=2500
cc_netns_up cc-x25d-dun
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format up '\$msec|\$remote_port|\$request|\$status|\$upstream_addr|\$upstream_status|\$request_time|\$upstream_connect_time|\$upstream_response_time';
  access_log $WORK/access.log up;
  upstream be {
    server 127.0.0.3:9001 max_fails=1 fail_timeout=10s;
    server 127.0.0.3:9002 max_fails=1 fail_timeout=10s;
    server 127.0.0.3:9003 max_fails=1 fail_timeout=10s;
    keepalive 8;
  }
  server {
    listen 127.0.0.2:8080;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
      proxy_bind 127.0.0.2;
    }
  }
CONF

backend() { # backend PORT LOG: a Node backend on 127.0.0.3:PORT; its PID in CC_LAST_PID
  cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port "$1" --keep-alive-timeout 30000 2>"$2"
  cc_wait_port "$1"
}

CURL=(curl -sS -o /dev/null --max-time 10 -w '{"port":%{local_port},"method":"%{method}","url":"%{url}","status":%{http_code},"exit":%{exitcode},"time":%{time_total},"error":"%{errormsg}"}\n')
GAPS=$(python3 -c "print(','.join(['0.35'] * 150))")
for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK/killed-at" "$WORK/restarted-at"
  backend 9001 "$WORK/backend-9001.log"
  B1_PID="$CC_LAST_PID"
  backend 9002 "$WORK/backend-9002.log"
  B2_PID="$CC_LAST_PID"
  cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
  NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8080
  cc_capture_start "$OUT" "tcp port 8080 or tcp portrange 9001-9003"
  date +%s.%N >"$WORK/started-at"
  cc_in timeout 45 python3 "$CCB_PROGRAMS/x17p-requests-lanes.py" --base http://127.0.0.2:8080 --log "$WORK/lanes.log" \
    --lanes 3 --rounds 44 --gaps "$GAPS" --stagger 0.11 --tag d --max-seconds 40 &
  LANES_PID=$!
  sleep 3.5
  slow=()
  # GET GET POST POST twice: whichever way round-robin deals them (the lanes' requests interleave),
  # each live backend gets both methods.
  for k in g1 g2 p1 p2 g3 g4 p3 p4; do
    if [ "${k:0:1}" = g ]; then
      cc_in "${CURL[@]}" "http://127.0.0.2:8080/slow?ms=$SLOW_MS&i=$k" >>"$WORK/curl.log" &
    else
      cc_in "${CURL[@]}" -H 'Content-Type: application/json' -d "{\"order\":\"$k\"}" \
        "http://127.0.0.2:8080/slow?ms=$SLOW_MS&i=$k" >>"$WORK/curl.log" &
    fi
    slow+=("$!")
    sleep 0.02
  done
  sleep 0.5
  date +%s.%N >"$WORK/killed-at"
  ccb_stop "$B2_PID" KILL
  sleep 3
  backend 9002 "$WORK/backend-9002-restarted.log"
  B2_PID="$CC_LAST_PID"
  date +%s.%N >"$WORK/restarted-at"
  wait "${slow[@]}" || true
  wait "$LANES_PID" || true
  cc_capture_stop
  ccb_stop "$NGINX_PID"
  ccb_stop "$B1_PID"
  ccb_stop "$B2_PID"
  if python3 "$CCB_PROGRAMS/x25d-meta.py" --scenario "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "nginx/$(nginx -v 2>&1 | sed 's/.*nginx\///') (Debian)" "node $(node -v) (b-http-server.js)" \
        "$(python3 -c 'import requests, urllib3; print(f"python requests {requests.__version__} (urllib3 {urllib3.__version__})")')" \
        "$(curl --version | head -1 | cut -d' ' -f1-2)"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E "connect\(\) failed|prematurely|no live upstreams|reset by peer" "$WORK/error.log" | sed 's/^[^[]*\[/[/' || true
