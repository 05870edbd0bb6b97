#!/usr/bin/env bash
# Clients of one host on a common schedule (blind round 14 scene 9): four Python http.client
# threads (no retry), one kept-alive connection each, send GET /a at fixed offsets from one start
# against nginx (Debian, one worker, keepalive_timeout 3s). A idles 4.5 s and is reset (keep-alive
# race), reconnects at once and calls again 0.3 s later; B's scheduled GET on its open connection
# leaves ~2 ms after A's reset (its thread runs 2 ms behind): no retry, though retried-request
# named it one. A pool client P resends its reset GET /r at once on its other, idle pooled
# connection: a real retry on an idle pooled connection, which must still be reported.
# Loopback in a namespace; bounded: the clients end after ~7 s, the recording is redone at most
# 3 times when timing on a shared machine spoils the schedule (rpair-meta.py checks the capture
# against the clients' log, else writes nothing).
# Writes samples/retried-request-common-schedule.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump tshark ip nginx

SCENARIO=retried-request-common-schedule
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
IDLE=3

cc_netns_up cc-rpair-fleet
ccb_workdir
WORK="$CCB_WORK"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log off;
  server { listen 127.0.0.1:8080; keepalive_timeout ${IDLE}s; location / { return 200 "ok\n"; } }
CONF
cc_bg nginx -c "$WORK/nginx.conf"
cc_wait_port 8080
for attempt in 1 2 3; do
  rm -f "$WORK/client.log"
  cc_capture_start "$OUT" "tcp port 8080"
  START=$(python3 -c 'import time; print(f"{time.time() + 0.5:.6f}")')
  cc_in timeout 20 python3 "$CCB_PROGRAMS/rpair-fleet.py" --host 127.0.0.1 --port 8080 --start "$START" --log "$WORK/client.log" || true
  cc_capture_stop
  if python3 "$CCB_PROGRAMS/rpair-meta.py" --capture "$OUT" --client-log "$WORK/client.log" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
    --idle "$IDLE" --software "$(nginx -v 2>&1 | sed 's/^nginx version: //') (keepalive_timeout ${IDLE}s)" --software "$(python3 --version) http.client (threads, no retry; P resends once on its other pooled connection)"; then
    break
  fi
  cat "$WORK/client.log" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cat "$WORK/client.log"
