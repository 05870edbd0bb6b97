#!/usr/bin/env bash
# Keep-alive races on a proxy's upstream legs where the backend's idle close is lazy: a Python
# http.server whose idle timer fires after 1.2 s and whose close() comes 30 ms later, the request
# that arrived meanwhile unread (FIN acknowledging it, then the kernel's RST). nginx listens on two
# ports that share one upstream source address (proxy_bind 127.0.0.2): :8080 pools connections to
# the lazy backend 127.0.0.3:9001 (keepalive 4) and sends /dead to 127.0.0.3:9099, whose SYNs are
# dropped (proxy_connect_timeout 3 s: 504); :8081 pools connections to a second lazy backend
# 127.0.0.3:9002 and sends /slow there (answered after 3 s; proxy_read_timeout 1 s: 504).
# Client A (:8080) reuses its connection after 1.206-1.218 s idle (as the backend's timer fires,
# before its lazy close: a race; nginx retries a GET, answers a POST 502), then 0.5 s (a near miss:
# answered), and a GET /dead whose 3 s connect wait overlaps client B's GET /slow on :8081: each
# 504 must pair with its own upstream leg (a connect attempt for /dead, the /slow request for /slow).
# Writes samples/keepalive-race-lazy-close-proxy.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump tshark ip nginx nft

SCENARIO=keepalive-race-lazy-close-proxy
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up fx5g-lazy
ccb_workdir
WORK="$CCB_WORK"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  upstream lazy1 { server 127.0.0.3:9001; keepalive 4; }
  upstream lazy2 { server 127.0.0.3:9002; keepalive 4; }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_bind 127.0.0.2;
  proxy_connect_timeout 3s;
  proxy_read_timeout 1s;
  server {
    listen 127.0.0.2:8080;
    location / { proxy_pass http://lazy1; }
    location /dead { proxy_pass http://127.0.0.3:9099; }
  }
  server {
    listen 127.0.0.2:8081;
    location / { proxy_pass http://lazy2; }
  }
CONF
ccb_drop_syns "$CC_NS" fx5g 9099
cc_bg python3 "$CCB_PROGRAMS/lazy-idle-backend.py" 127.0.0.3 9001 1.2 0.03
cc_bg python3 "$CCB_PROGRAMS/lazy-idle-backend.py" 127.0.0.3 9002 1.2 0.03
cc_wait_port 9001
cc_wait_port 9002
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081 or tcp portrange 9001-9099"
# Races: reuse 1.206-1.218 s after the last answer (nginx adds about 0.3 ms). Near misses: 0.5 s.
PLAN_A="0:GET:/a,1.206:GET:/a,0.5:GET:/a,1.212:POST:/p,0.5:GET:/a,1.218:POST:/p,0.5:GET:/a,1.209:POST:/p,0.3:GET:/dead,0.5:GET:/a"
PLAN_B="0:GET:/b,5.4:GET:/b,2.6:GET:/slow,2.5:GET:/b"
cc_bg python3 "$CCB_PROGRAMS/lazy-race-client.py" 127.0.0.2 8080 "$PLAN_A" A
PID_A="$CC_LAST_PID"
cc_bg python3 "$CCB_PROGRAMS/lazy-race-client.py" 127.0.0.2 8081 "$PLAN_B" B
PID_B="$CC_LAST_PID"
wait "$PID_A" "$PID_B" || true
sleep 2
cc_capture_stop
grep -E "prematurely|recv\(\) failed|timed out" "$WORK/error.log" || true
cp "$WORK/error.log" "$WORK/error.copy" 2>/dev/null || true
python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" <<'PY'
import json, sys
meta = {
  "scenario": "keepalive-race-lazy-close-proxy",
  "description": "nginx (two listening ports, one upstream source address 127.0.0.2) in front of Python http.server backends whose idle close is lazy (timer 1.2 s, close() 30 ms later, the request that came meanwhile unread: a FIN acknowledging it). Requests reused at 1.206-1.218 s idle are closed on arrival; nginx retries the GET and answers the POSTs 502. Reuses after 0.5 s are answered (near misses). GET /dead on :8080 (SYNs to 127.0.0.3:9099 dropped, 504 after proxy_connect_timeout 3 s) overlaps GET /slow on :8081 (backend answers after 3 s, 504 after proxy_read_timeout 1 s): each 504 pairs with its own upstream leg, never the other port's request.",
  "software": ["nginx/1.22.1", "python 3.11.7 http.server (lazy idle close)"],
  "configured": {"backendIdleTimeout": "1.2s", "backendCloseLag": "30ms", "proxyConnectTimeout": "3s", "proxyReadTimeout": "1s"},
  "expect": [
    {"kind": "keepalive-race", "server": "127.0.0.3:9001", "notes": "4 closes on arrival (1 GET, 3 POST), lazy: the FIN 10-25 ms after the request, at the idle age the backend's idle closes agree on"},
    {"kind": "gateway-timeout", "server": "127.0.0.2:8080", "notes": "GET /dead: connect attempt (SYNs dropped), not client B's /slow"},
    {"kind": "gateway-timeout", "server": "127.0.0.2:8081", "notes": "GET /slow: read timeout on its own upstream request"},
    {"kind": None, "notes": "no intermittent-5xx: nginx's 502s pass on the upstream races; the 0.5 s reuses are answered"}
  ]
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
PY
