#!/usr/bin/env bash
# A proxy and plain clients on one address (blind test 12, scene 1: nginx and curl on loopback).
# nginx (one worker) listens on 127.0.0.1:8080 and proxies to a Node backend on 127.0.0.1:9000
# (proxy_read_timeout 1s) from the same 127.0.0.1; a second Node server on 127.0.0.1:9001 is
# called by curl directly. A curl lane sends GET /ok?a=N through nginx every 0.15 s. Meanwhile,
# from the same address:
#   - curl connects to 127.0.0.1:8081, where nothing listens: refused (curl exit 7). nginx goes on
#     forwarding the lane's later requests, which are no retry of that connect;
#   - curl asks nginx for GET /hang/front (the backend never answers /hang): nginx answers 504
#     after 1 s, its upstream leg to 9000 in the capture;
#   - 0.5 s into that wait curl asks 127.0.0.1:9001 for GET /slow?ms=1200 directly (answered 200
#     after 1.2 s): a different request that is no copy of the front one.
# conncheck must report the refusal as curl's (not a proxy's that moved the request on), and the
# 504 on the 9000 leg; filtered to ports 8080 and 9001 (the real leg out of sight) it must not pin
# the 504 on the direct request to 9001. Ground truth: curl's own output (exit codes, ports,
# statuses) and nginx's access log ($upstream_addr). Writes samples/shared-ip-nginx-curl.pcap
# and .meta.json (pcap-facts.py measures the capture and refuses a meta that does not match).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx curl

SCENARIO=shared-ip-nginx-curl
cc_netns_up cc-x12-sip
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format up '\$msec|\$remote_port|\$request|\$status|\$upstream_addr|\$upstream_status|\$request_time';
  access_log $WORK/access.log up;
  server {
    listen 127.0.0.1:8080;
    location / {
      proxy_pass http://127.0.0.1:9000;
      proxy_read_timeout 1s;
    }
  }
CONF

cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 9000 2>"$WORK/backend-9000.log"
cc_wait_port 9000
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 9001 2>"$WORK/backend-9001.log"
cc_wait_port 9001
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081 or tcp port 9000 or tcp port 9001"
run_curl() { # run_curl ROLE URL: one curl, its outcome as a JSON line in client.log
  cc_in curl -sS -o /dev/null --max-time 5 \
    -w "{\"role\":\"$1\",\"port\":%{local_port},\"url\":\"%{url}\",\"status\":\"%{http_code}\",\"exit\":%{exitcode}}\n" \
    "$2" >>"$WORK/client.log" 2>>"$WORK/curl.err" || true
}
(
  for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    run_curl lane "http://127.0.0.1:8080/ok?a=$i"
    sleep 0.15
  done
) &
LANE=$!
sleep 0.3
run_curl refused http://127.0.0.1:8081/
sleep 0.2
run_curl front504 http://127.0.0.1:8080/hang/front &
FRONT=$!
sleep 0.5
run_curl direct "http://127.0.0.1:9001/slow?ms=1200"
wait "$FRONT" "$LANE"
cc_capture_stop
cat "$WORK/client.log"

# The roles as the programs saw them, checked before the meta is written.
python3 - "$WORK/client.log" "$WORK/access.log" >"$WORK/roles.json" <<'PY'
import json, sys
clients = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for c in clients:
    c["status"] = int(c["status"])
access = [l.rstrip("\n").split("|") for l in open(sys.argv[2]) if l.strip()]
by = {c["role"]: c for c in clients}
lane = [c for c in clients if c["role"] == "lane"]
assert len(lane) == 12 and all(c["status"] == 200 for c in lane), "a lane request failed"
assert by["refused"]["exit"] == 7 and by["refused"]["status"] == 0, "the connect to 8081 was not refused"
assert by["front504"]["status"] == 504, "no 504 for /hang/front"
assert by["direct"]["status"] == 200, "the direct request to 9001 failed"
front = [a for a in access if a[2].startswith("GET /hang/front")]
assert len(front) == 1 and front[0][3] == "504" and front[0][4] == "127.0.0.1:9000", f"nginx log: {front}"
assert all(a[4] == "127.0.0.1:9000" for a in access), "nginx sent a request elsewhere than 9000"
json.dump({"front504": by["front504"]["port"], "direct": by["direct"]["port"],
           "front504Seconds": float(front[0][6]), "nginxRequests": len(access)}, sys.stdout)
PY
cat >"$WORK/template.json" <<JSON
{
  "scenario": "$SCENARIO",
  "description": "A proxy and plain clients sharing one address (blind test 12, scene 1): nginx on 127.0.0.1:8080 proxies to a Node backend on 127.0.0.1:9000 (proxy_read_timeout 1s) from 127.0.0.1, while curl on the same address (a) sends GET /ok?a=1..12 through nginx every 0.15 s, (b) connects to 127.0.0.1:8081 where nothing listens (refused, curl exit 7) between those requests, (c) asks nginx for GET /hang/front, which the backend never answers (nginx answers 504 after 1 s), and (d) 0.5 s into that wait asks 127.0.0.1:9001 for GET /slow?ms=1200 directly (200 after 1.2 s). The refused client is curl, which failed; nginx's later forwards are of requests it received after the refusal. The 504's upstream leg is nginx's connection to 9000, not curl's direct request to 9001.",
  "software": ["$(nginx -v 2>&1 | sed 's/^nginx version: //')", "node $(node -v) (b-http-server.js)", "$(curl --version | head -1 | cut -d' ' -f1-2)"],
  "configured": {"proxyReadTimeout": 1.0, "closedPort": 8081, "laneSpacingSeconds": 0.15, "directRequestAfterSeconds": 0.5, "directAnswerAfterSeconds": 1.2},
  "silent": false,
  "notes": "observed: curl's local ports by role (none for the refused connect) and nginx's access log, which names 127.0.0.1:9000 as the upstream of every request it served.",
  "facts": {"rst": 1},
  "expectMode": "refused"
}
JSON
python3 "$CCB_PROGRAMS/pcap-facts.py" --capture "$OUT" --meta "$WORK/$SCENARIO.meta.json" --template "$WORK/template.json" \
  --http-port 8080 --http-port 9000 --http-port 9001
# The 504 and its upstream leg (the unanswered /hang/front on 9000), from the capture's connections
# and curl's port: written into the meta's expectations.
python3 - "$WORK/$SCENARIO.meta.json" "$WORK/roles.json" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
roles = json.load(open(sys.argv[2]))
front = f"127.0.0.1:{roles['front504']}"
hang_legs = [c for c in meta["facts"]["perConnection"] if c["server"] == "127.0.0.1:9000" and c["responses"] == 0 and c["requests"] == 1]
assert len(hang_legs) == 1, f"upstream legs of /hang/front: {hang_legs}"
refused = [e for e in meta["expect"] if e["kind"] == "connection-refused"]
# curl names no local port for a connect that failed: the capture's one refused connection is its.
assert len(refused) == 1 and refused[0]["server"] == "127.0.0.1:8081", refused
for e in meta["expect"]:
    if e["client"] == front:
        e.update(kind="gateway-timeout", notes=f"GET /hang/front answered 504 by nginx after {roles['front504Seconds']} s (access log) = proxy_read_timeout 1s; its upstream leg {hang_legs[0]['client']} -> 127.0.0.1:9000, not curl's direct GET /slow to 9001.")
    elif e["client"] == hang_legs[0]["client"]:
        e.update(kind="unanswered-request", notes="nginx's upstream GET /hang/front, never answered by the backend; nginx closed it at its 1 s read timeout (the 504's other leg, folded into the gateway-timeout diagnosis).")
    elif e["kind"] == "connection-refused":
        e["notes"] = "curl's own connect to 8081 (nothing listens), refused: curl exit 7. Not a proxy's: nginx held no request when it was refused."
# Every lane request is one curl process: one connection each, closed after its response.
meta["expect"].append({"kind": "connection-churn", "client": "127.0.0.1", "server": "127.0.0.1:8080",
                       "notes": f"each curl opens its own connection to nginx ({roles['nginxRequests']} requests in nginx's access log, 12 of them the lane's every 0.15 s) and closes it after the response (info)."})
meta["observed"] = roles
json.dump(meta, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
PY
cp "$OUT" "$WORK/$SCENARIO.meta.json" "$CC_SAMPLES_DIR/"
