#!/usr/bin/env bash
# Keep-alive race on Squid 5.7's client leg: Squid in accelerator mode on 127.0.0.2:8080
# (client_idle_pconn_timeout 3 s) in front of a Node http server on 127.0.0.3:9001, all on one
# loopback. A Node http.Agent client (keepAlive, maxSockets 1, no idle timeout of its own) sends
# 7 requests (every second a POST) with think times of 2.6-3.6 s. Squid counts its timeouts in
# whole seconds and checks them when its event loop wakes: an idle client connection whose timeout
# has expired is closed as the next request wakes the loop, before that request is read (no
# access log line): a closed-on-arrival race after 2.5-3.6 s idle, though 3 s were configured.
# Writes samples/keepalive-race-squid-client-idle.pcap and .meta.json (only when
# programs/x8-meta.py finds at least two such races, the client's errors and nothing in Squid's
# access log for them; at most 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require squid node python3 tcpdump tshark ip

SCENARIO=keepalive-race-squid-client-idle
DESCRIPTION="Keep-alive race on Squid 5.7's client leg: Squid in accelerator mode on 127.0.0.2:8080 with client_idle_pconn_timeout 3 s in front of a Node http server on 127.0.0.3:9001 (all on one loopback). A Node http.Agent client (keepAlive, maxSockets 1, no idle timeout of its own) sends 7 requests (every second a POST) with think times of 2.6-3.6 s. Squid counts its timeouts in whole seconds and checks them when its event loop wakes, so an idle client connection whose timeout has expired (after 2-3 s idle for a 3 s setting) is closed as the next request wakes the loop, before the request is read: Squid's FIN follows the request within a millisecond, the request is not in Squid's access log, and the client gets ECONNRESET (closed on arrival)."
cc_netns_up ccx8-sci
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
x8_squid_conf "$WORK/squid.conf" 127.0.0.2:8080 127.0.0.3 9001 -- "client_idle_pconn_timeout 3 seconds"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3; do
  rm -rf "$WORK/squid" "$WORK/client.log"
  x8_squid_conf "$WORK/squid.conf" 127.0.0.2:8080 127.0.0.3 9001 -- "client_idle_pconn_timeout 3 seconds"
  x8_squid_start "$CC_NS" "$WORK/squid.conf"
  cc_wait_port 8080
  cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base http://127.0.0.2:8080 \
    --gaps-ms 2600,3400,2800,3600,3000,3500 --post-every 2 --log "$WORK/client.log"
  cc_capture_stop
  x8_squid_stop
  [ -n "${X8_DEBUG_DIR:-}" ] && { mkdir -p "$X8_DEBUG_DIR/$SCENARIO.$attempt"; cp -r "$OUT" "$WORK"/*.log "$WORK"/squid "$X8_DEBUG_DIR/$SCENARIO.$attempt/" || true; }
  if python3 "$CCB_PROGRAMS/x8-meta.py" "$SCENARIO" --proxy squid --capture "$OUT" --meta "$META" \
      --proxy-log "$WORK/squid/access.log" --client-log "$WORK/client.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9001 \
      --description "$DESCRIPTION" --software "$(squid -v | head -1 | sed 's/ Cache: Version//')" "node $(node -v)"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
