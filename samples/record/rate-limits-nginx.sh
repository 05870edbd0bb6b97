#!/usr/bin/env bash
# nginx's per-client limits in front of a slow backend (blind round 16, load S6).
# nginx (one worker) on 127.0.0.1:8080: /api is a static file under
#   limit_req zone (5r/s per $binary_remote_addr) burst=2 nodelay, limit_req_status 429;
# /dl is limit_conn (2 per $binary_remote_addr) -> a Node backend on 127.0.0.1:9000 that answers
# after 1 s (default limit_conn_status 503).
# Clients, all from 127.0.0.1: `ab -k -n 15 -c 5 /api` (3 answered 200, 12 rejected 429
# "limiting requests" at once), then 5 curl /dl at once (2 answered 200 after 1 s, 3 rejected
# 503 "limiting connections by zone" at once while the 2 were in flight).
# RL_UNDER=1 records the near miss rate-limits-nginx-under: the same server and limits, a burst
# that stays under them (ab -k -n 3 -c 3 /api; 2 curl /dl at once): every answer 200, silent.
# Ground truth: ab's and curl's own output and nginx's access and error logs (the count of
# "limiting requests" and "limiting connections" lines), checked before the meta is written.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip nginx curl ab

UNDER="${RL_UNDER:-0}"
if [ "$UNDER" = 1 ]; then
  SCENARIO=rate-limits-nginx-under; API_N=3; API_C=3; DL_N=2
else
  SCENARIO=rate-limits-nginx; API_N=15; API_C=5; DL_N=5
fi
cc_netns_up cc-rl16
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
mkdir -p "$WORK/www/api"
printf 'ok\n' >"$WORK/www/api/index.txt"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format lim '\$msec|\$remote_port|\$request|\$status|\$request_time|\$upstream_addr';
  access_log $WORK/access.log lim;
  limit_req_zone \$binary_remote_addr zone=rl:1m rate=5r/s;
  limit_conn_zone \$binary_remote_addr zone=cl:1m;
  server {
    listen 127.0.0.1:8080;
    location /api { limit_req zone=rl burst=2 nodelay; limit_req_status 429; root $WORK/www; default_type text/plain; }
    location /dl  { limit_conn cl 2; proxy_pass http://127.0.0.1:9000/slow; }
  }
CONF
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port 9000 2>"$WORK/backend.log"
cc_wait_port 9000
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9000"
cc_in timeout 10 ab -q -k -n "$API_N" -c "$API_C" http://127.0.0.1:8080/api/index.txt >"$WORK/ab.txt" 2>&1 || true
sleep 0.3
CURLS=()
for i in $(seq 1 "$DL_N"); do
  cc_in curl -sS -o /dev/null --max-time 5 -w "{\"port\":%{local_port},\"status\":%{http_code},\"seconds\":%{time_total}}\n" \
    "http://127.0.0.1:8080/dl?ms=1000" >>"$WORK/curl.log" 2>>"$WORK/curl.err" &
  CURLS+=("$!")
done
wait "${CURLS[@]}" || true
cc_capture_stop
cat "$WORK/ab.txt" | grep -E "Complete|Failed|Non-2xx" || true
cat "$WORK/curl.log"

python3 - "$WORK/access.log" "$WORK/error.log" "$WORK/curl.log" "$UNDER" >"$WORK/observed.json" <<'PY'
import json, sys
access = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
errors = open(sys.argv[2]).read()
curls = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
under = sys.argv[4] == "1"
api = [a for a in access if " /api" in a[2]]
dl = [a for a in access if " /dl" in a[2]]
api429 = sum(1 for a in api if a[3] == "429")
dl503 = sum(1 for a in dl if a[3] == "503")
limiting_requests = errors.count("limiting requests")
limiting_connections = errors.count("limiting connections")
assert limiting_requests == api429, (limiting_requests, api429)
assert limiting_connections == dl503, (limiting_connections, dl503)
assert sorted(c["status"] for c in curls) == sorted(int(a[3]) for a in dl), (curls, dl)
if under:
    assert api429 == 0 and dl503 == 0 and all(a[3] == "200" for a in access), access
else:
    assert len(api) == 15 and api429 == 12, api
    assert len(dl) == 5 and dl503 == 3, dl
    # The 503s were answered at once, the 200s after the backend's 1 s.
    assert all(float(a[4]) < 0.01 for a in dl if a[3] == "503"), dl
    assert all(float(a[4]) >= 1.0 for a in dl if a[3] == "200"), dl
json.dump({"apiRequests": len(api), "api200": sum(1 for a in api if a[3] == "200"), "api429": api429,
           "dlRequests": len(dl), "dl200": sum(1 for a in dl if a[3] == "200"), "dl503": dl503,
           "errorLogLimitingRequests": limiting_requests, "errorLogLimitingConnections": limiting_connections,
           "dl503Seconds": [float(a[4]) for a in dl if a[3] == "503"],
           "dl200Seconds": [float(a[4]) for a in dl if a[3] == "200"]}, sys.stdout)
PY
cat "$WORK/observed.json"; echo
if [ "$UNDER" = 1 ]; then
  DESC="Near miss of rate-limits-nginx: the same nginx limits (/api limit_req 5r/s burst=2 nodelay, status 429; /dl limit_conn 2 per client address -> a backend answering after 1 s), a burst that stays under them: ab -k -n 3 -c 3 /api, then 2 curl /dl at once. Every answer 200; nginx's error log has no limiting line. Loopback."
  SILENT=true; MODE=silent
else
  DESC="nginx's per-client limits (blind round 16, load S6): /api is a static file under limit_req 5r/s burst=2 nodelay with limit_req_status 429; /dl is limit_conn 2 per client address in front of a Node backend answering after 1 s. From 127.0.0.1: ab -k -n 15 -c 5 /api: 3 answered 200, 12 rejected 429 at once (error log: limiting requests x12); then 5 curl /dl at once: 2 answered 200 after 1 s, 3 rejected 503 within 1 ms while the 2 were in flight (error log: limiting connections by zone \\\"cl\\\" x3). Loopback."
  SILENT=false; MODE=silent
fi
cat >"$WORK/template.json" <<JSON
{
  "scenario": "$SCENARIO",
  "description": "$DESC",
  "software": ["$(nginx -v 2>&1 | sed 's/^nginx version: //')", "node $(node -v) (b-http-server.js)", "$(curl --version | head -1 | cut -d' ' -f1-2)", "$(ab -V | head -1 | sed 's/,.*//')"],
  "configured": {"limitReqRate": 5, "limitReqBurst": 2, "limitReqStatus": 429, "limitConnPerClient": 2, "limitConnStatus": 503, "backendDelaySeconds": 1.0, "abRequests": $API_N, "abConcurrency": $API_C, "parallelCurls": $DL_N},
  "silent": $SILENT,
  "notes": "observed: nginx's access log (statuses, request times) and error log (limiting lines), checked against each other and against curl's statuses.",
  "expectMode": "$MODE"
}
JSON
python3 "$CCB_PROGRAMS/pcap-facts.py" --capture "$OUT" --meta "$WORK/$SCENARIO.meta.json" --template "$WORK/template.json" \
  --http-port 8080 --http-port 9000
python3 - "$WORK/$SCENARIO.meta.json" "$WORK/observed.json" "$UNDER" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
observed = json.load(open(sys.argv[2]))
meta["observed"] = observed
if sys.argv[3] != "1":
    meta["expect"] = [
        {"kind": "rate-limited", "server": "127.0.0.1:8080",
         "notes": f"{observed['api429']} of {observed['apiRequests']} GET /api answered 429 at once (nginx error log: limiting requests x{observed['errorLogLimitingRequests']}): limit_req 5r/s burst=2 against ab's burst (info)."},
        {"kind": "intermittent-5xx", "server": "127.0.0.1:8080",
         "notes": f"{observed['dl503']} of {observed['dlRequests']} GET /dl answered 503 within 1 ms while 2 requests of the same client were in flight (nginx error log: limiting connections by zone x{observed['errorLogLimitingConnections']}): a per-client concurrency limit of 2, not an outage."},
    ]
json.dump(meta, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
PY
cp "$OUT" "$WORK/$SCENARIO.meta.json" "$CC_SAMPLES_DIR/"
