#!/usr/bin/env bash
# nginx's lone 502s, seen on its client leg only (blind round 11, proxies s1 b_leg8080 / c_leg8080):
# nginx 1.22 (default proxy settings: proxy_read_timeout 60 s) on 127.0.0.2:8080 in front of one
# gunicorn sync worker (--timeout 2) on 127.0.0.1:8081; the client (curl) connects from 127.0.0.3.
# The capture holds port 8080 only, as a capture on the client's host or of the proxy's listening
# port would. In order:
#   1. GET /items/a, /items/b                      200
#   2. GET /sleep/6/lone                            gunicorn's arbiter kills the worker (WORKER
#                                                   TIMEOUT) 2-3 s in: nginx "upstream prematurely
#                                                   closed connection", 502 after that wait
#   3. GET /items/c                                 200 (a new worker)
#   4. GET /sleep/3/inflight, and 0.6 s later gunicorn (master and worker) killed with SIGKILL:
#                                                   nginx 502 at the kill (the in-flight request)
#   5. GET /items/down                              gunicorn down: connect() refused, 502 at once
#   6. gunicorn started again; GET /items/d, /items/e   200
# Each 502 is alone: no other shares its delay. nginx answers its own timeouts with 504, so a 502
# after a wait is the backend ending the connection; one at once is a refused connect.
# Writes samples/nginx-502-lone-client-leg.pcap and .meta.json (checked against nginx's and
# gunicorn's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
cc_require python3 tcpdump ip gunicorn nginx curl

SCENARIO=nginx-502-lone-client-leg
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
TIMEOUT_S=2

cc_netns_up ccfl-lone
ccb_workdir
X9_WORK="$CCB_WORK"
CCB_SERVER_IP=127.0.0.1
x9_gunicorn ccfl-lone 8081 -w 1 -k sync --timeout "$TIMEOUT_S"
GUNICORN_PID="$CC_LAST_PID"
x9_nginx_proxy 127.0.0.2:8080 127.0.0.1:8081
mapfile -t SOFTWARE < <(x9_software_gunicorn | grep -v 'delay line'; nginx -v 2>&1 | sed 's/.*: //'; curl --version | head -1 | cut -d' ' -f1-2)

CLIENT_LOG="$X9_WORK/client.log"
: >"$CLIENT_LOG"
# get PATH: one request from 127.0.0.3 (bounded by curl's own 15 s), its status, time and port logged.
get() {
  cc_in curl -s -o /dev/null --interface 127.0.0.3 -m 15 -w "%{local_port} $1 %{http_code} %{time_total}\n" "http://127.0.0.2:8080$1" >>"$CLIENT_LOG" || true
}

cc_capture_start "$OUT" "tcp port 8080"
get /items/a; sleep 0.3
get /items/b; sleep 0.3
get /sleep/6/lone; sleep 0.5
get /items/c; sleep 0.3
get /sleep/3/inflight &
INFLIGHT=$!
sleep 0.6
# The worker is a child of the gunicorn master this recorder started: SIGKILL both, by PID.
WORKERS=$(pgrep -P "$GUNICORN_PID" -d ' ' || true)
kill -KILL $WORKERS "$GUNICORN_PID" 2>/dev/null || true
wait "$GUNICORN_PID" 2>/dev/null || true
wait "$INFLIGHT" || true
sleep 0.4
get /items/down; sleep 0.5
x9_gunicorn ccfl-lone 8081 -w 1 -k sync --timeout "$TIMEOUT_S"
get /items/d; sleep 0.3
get /items/e
cc_capture_stop

python3 - "$OUT" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$CLIENT_LOG" "$X9_WORK/nginx-access.log" "$X9_WORK/nginx-error.log" "$X9_WORK/error.log" "$TIMEOUT_S" "${SOFTWARE[@]}" <<'PY'
import json, re, sys
out, meta_path, client_log, access_log, error_log, gunicorn_log, timeout = sys.argv[1:8]
software = sys.argv[8:]
clients = [l.split() for l in open(client_log) if l.strip()]
by_path = {c[1]: {'port': int(c[0]), 'status': int(c[2]), 'seconds': float(c[3])} for c in clients}
access = open(access_log).read().splitlines()
errors = [l for l in open(error_log).read().splitlines() if '[error]' in l]
gunicorn = open(gunicorn_log).read()
worker_timeouts = len(re.findall(r'WORKER TIMEOUT', gunicorn))
prematurely = [l for l in errors if 'upstream prematurely closed' in l]
refused = [l for l in errors if 'Connection refused' in l]
def st(p): return by_path[p]['status']
assert st('/sleep/6/lone') == 502 and st('/sleep/3/inflight') == 502 and st('/items/down') == 502, by_path
assert all(st(p) == 200 for p in ['/items/a', '/items/b', '/items/c', '/items/d', '/items/e']), by_path
assert worker_timeouts == 1 and len(prematurely) == 2 and len(refused) >= 1, (worker_timeouts, errors)
c = lambda p: f"127.0.0.3:{by_path[p]['port']}"
lone, inflight, down = by_path['/sleep/6/lone'], by_path['/sleep/3/inflight'], by_path['/items/down']
meta = {
  'scenario': 'nginx-502-lone-client-leg',
  'description': (
    "nginx 1.22 (default proxy settings: proxy_read_timeout 60 s) on 127.0.0.2:8080 in front of one gunicorn sync worker "
    f"(--timeout {timeout}) on 127.0.0.1:8081, client curl from 127.0.0.3; the capture holds port 8080 only (the client leg). "
    "GET /sleep/6/lone: gunicorn's arbiter kills the worker (WORKER TIMEOUT), nginx logs 'upstream prematurely closed connection' "
    "and answers 502 after that wait. GET /sleep/3/inflight: gunicorn (master and worker) killed with SIGKILL 0.6 s in: 502 at the kill. "
    "GET /items/down while gunicorn is down: connect() refused, 502 at once. Fast GETs before, between and after (gunicorn started again) answered 200. "
    "Each 502 is alone (no other shares its delay)."),
  'software': software,
  'configured': {},
  'observed': {
    'clientStatuses': {p: v['status'] for p, v in by_path.items()},
    'clientSeconds': {p: v['seconds'] for p, v in by_path.items()},
    'gunicornWorkerTimeouts': worker_timeouts,
    'nginxPrematurelyClosed': len(prematurely),
    'nginxConnectRefused': len(refused),
    'nginxAccess': access,
  },
  'facts': {
    'gunicornTimeout': float(timeout),
    'nginxProxyReadTimeout': 60,
    'capturedPorts': [8080],
  },
  'expect': [
    {'kind': 'gateway-timeout', 'client': c('/sleep/6/lone'), 'server': '127.0.0.2:8080',
     'notes': f"502 after {lone['seconds']} s (curl total): the worker killed at gunicorn's --timeout {timeout} s; nginx's 502 after a wait is the backend ending the connection (phase ended), alone: no time limit inferred"},
    {'kind': 'gateway-timeout', 'client': c('/sleep/3/inflight'), 'server': '127.0.0.2:8080',
     'notes': f"502 after {inflight['seconds']} s: gunicorn killed (SIGKILL) with the request in flight (phase ended)"},
    {'kind': 'intermittent-5xx', 'server': '127.0.0.2:8080',
     'notes': f"GET /items/down answered 502 in {down['seconds']} s: connect() refused (nginx error log), the fast 502 finding: 1 of the 8 requests"},
  ] + [{'kind': None, 'client': c(p), 'server': '127.0.0.2:8080', 'notes': 'answered 200; clean'} for p in ['/items/a', '/items/b', '/items/c', '/items/d', '/items/e']],
  'silent': False,
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
PY
cat "$CLIENT_LOG"; cat "$X9_WORK/nginx-access.log"; grep '\[error\]' "$X9_WORK/nginx-error.log" || true; grep -E 'TIMEOUT|Booting|Exiting' "$X9_WORK/error.log" || true
