#!/usr/bin/env bash
# A two-proxy chain relaying the inner proxy's fast 502s (blind round 11, proxies s5 b_chainfront):
# client curl (127.0.0.5, one keep-alive connection) -> HAProxy 2.6 on 127.0.0.2:8390 (source 127.0.0.2) -> nginx 1.22 on
# 127.0.0.3:8380 (proxy_bind 127.0.0.3) -> upstream of two servers in round robin on 127.0.0.4:
# 9001 a Node http server, 9002 nothing listening (max_fails=0: never taken out; proxy_next_upstream
# off: no second try). Every other request is refused upstream and nginx answers 502 at once
# (connect() failed (111)); HAProxy relays that 502 to its client. The capture holds ports 8390 and
# 8380 (HAProxy's client leg and its upstream leg, which is nginx's client leg), not nginx's
# upstream: one failure per request, the origin nginx's, relayed once.
# CHAIN_HEALTHY=1 records chain-haproxy-nginx-healthy instead (the near miss): the same chain with
# both upstream servers listening; every request answered 200, nothing to report.
# Writes samples/<scenario>.pcap and .meta.json (checked against HAProxy's and nginx's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x12.sh"
cc_require haproxy nginx node curl python3 tcpdump ip

HEALTHY=${CHAIN_HEALTHY:-0}
SCENARIO=chain-haproxy-nginx-refused
[ "$HEALTHY" = 1 ] && SCENARIO=chain-haproxy-nginx-healthy
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
REQUESTS=12

cc_netns_up "ccfl-chain$HEALTHY"
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.4 --port 9001 --keep-alive-timeout 5000 2>"$WORK/backend.log"
cc_wait_port 9001
if [ "$HEALTHY" = 1 ]; then
  cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.4 --port 9002 --keep-alive-timeout 5000 2>"$WORK/backend2.log"
  cc_wait_port 9002
fi
mkdir -p "$WORK/tmp"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log info;
events { worker_connections 64; }
http {
  log_format fl '\$time_iso8601 \$remote_addr:\$remote_port "\$request" \$status us=\$upstream_status ua=\$upstream_addr rt=\$request_time';
  access_log $WORK/nginx-access.log fl;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  upstream backend {
    server 127.0.0.4:9001 max_fails=0;
    server 127.0.0.4:9002 max_fails=0;
  }
  server {
    listen 127.0.0.3:8380;
    location / {
      proxy_pass http://backend;
      proxy_bind 127.0.0.3;
      proxy_next_upstream off;
    }
  }
}
CONF
cc_bg nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8380
x12_haproxy_start "$CC_NS" 127.0.0.2:8390 "server s1 127.0.0.3:8380 source 127.0.0.2" "  timeout connect 1s
  timeout server 10s"
mapfile -t SOFTWARE < <(haproxy -v | head -1 | cut -d' ' -f1-3; nginx -v 2>&1 | sed 's/.*: //'; echo "node $(node -v)"; curl --version | head -1 | cut -d' ' -f1-2)

CLIENT_LOG="$WORK/client.log"
: >"$CLIENT_LOG"
cc_capture_start "$OUT" "tcp port 8390 or tcp port 8380"
# One curl, one keep-alive connection for all the requests, 0.2 s apart (--rate).
URLS=()
for i in $(seq 1 "$REQUESTS"); do URLS+=(-o /dev/null "http://127.0.0.2:8390/items/$i"); done
cc_in curl -s --interface 127.0.0.5 -m 20 --rate 5/s -w "%{local_port} %{url_effective} %{http_code} %{time_total}\n" "${URLS[@]}" >>"$CLIENT_LOG" || true
cc_capture_stop
x12_haproxy_stop
kill -QUIT "$NGINX_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true

python3 - "$SCENARIO" "$HEALTHY" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$CLIENT_LOG" "$WORK/nginx-access.log" "$WORK/nginx-error.log" "$WORK/haproxy.log" "${SOFTWARE[@]}" <<'PY'
import json, sys
scenario, healthy, meta_path, client_log, access_log, error_log, haproxy_log = sys.argv[1:8]
healthy = healthy == '1'
software = sys.argv[8:]
clients = [l.split() for l in open(client_log) if l.strip()]
statuses = [int(c[2]) for c in clients]
access = open(access_log).read().splitlines()
refused = [l for l in open(error_log).read().splitlines() if 'Connection refused' in l]
haproxy = [l for l in open(haproxy_log).read().splitlines() if 'GET /items/' in l]
failed = statuses.count(502)
if healthy:
    assert statuses == [200] * len(statuses) and not refused, (statuses, refused)
else:
    assert failed * 2 == len(statuses) and set(statuses) == {200, 502} and len(refused) == failed, (statuses, refused)
    assert sum(' 502 ' in l for l in access) == failed and sum(' 502 ' in l for l in haproxy) == failed, (access, haproxy)
desc = (
    "client curl (127.0.0.5, one keep-alive connection) -> HAProxy 2.6 on 127.0.0.2:8390 (source 127.0.0.2, timeout server 10 s) -> "
    "nginx 1.22 on 127.0.0.3:8380 (proxy_bind 127.0.0.3, proxy_next_upstream off) -> round robin of 127.0.0.4:9001 (a Node http server) and 127.0.0.4:9002 "
    + ("(a second Node http server). Every request answered 200 through both proxies." if healthy else
       "(nothing listening; max_fails=0). Every other request is refused upstream: nginx logs connect() failed (111: Connection refused) and answers 502 at once, "
       "and HAProxy relays that 502 to its client (its log: status 502 from the server).")
    + f" {len(statuses)} GET /items/N 0.2 s apart (curl --rate 5/s). The capture holds ports 8390 and 8380, not nginx's upstream.")
meta = {
  'scenario': scenario,
  'description': desc,
  'software': software,
  'configured': {},
  'observed': {
    'clientStatuses': statuses,
    'clientSeconds': [float(c[3]) for c in clients],
    'nginxConnectRefused': len(refused),
    'nginxAccess': access,
    'haproxyLog': haproxy,
  },
  'facts': {'front': '127.0.0.2:8390', 'innerProxy': '127.0.0.3:8380', 'capturedPorts': [8390, 8380], 'failedRequests': failed},
}
if healthy:
    meta['expect'] = []
    meta['silent'] = True
else:
    meta['expect'] = [
      {'kind': 'intermittent-5xx', 'server': '127.0.0.3:8380',
       'notes': f"nginx answered 502 at once to {failed} of {len(statuses)} requests (connect refused upstream, its upstream not in the capture): the origin; "
                f"the finding counts HAProxy's {failed} relays of them (relayedByFronts)"},
      {'kind': None, 'server': '127.0.0.2:8390',
       'notes': f"HAProxy relayed nginx's {failed} 502s (the same status back on its upstream leg within its wait): no finding of its own"},
    ]
    meta['silent'] = False
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
PY
cat "$CLIENT_LOG"; cat "$WORK/nginx-access.log"; grep '\[error\]' "$WORK/nginx-error.log" || true
