#!/usr/bin/env bash
# A busy backend serving in turn, seen on nginx's client leg only (blind round 16, load S18):
# nginx 1.22 on 127.0.0.2:8080 (default proxy settings: proxy_read_timeout 60 s) in front of ONE
# gunicorn sync worker on 127.0.0.1:8081 whose handler takes 0.6 s (/sleep/0.6/...). Four curls
# from 127.0.0.3 (--max-time 1.5), started 10 ms apart: nginx accepts all four at once and
# forwards them; the worker answers them one after another (0.6 s, 1.2 s); the last two wait
# longer than 1.5 s, curl gives up (exit 28), nginx logs 499 and closes both legs at once (its
# FIN right behind the client's). The capture holds port 8080 only.
# conncheck must say the clients' timeout (about 1.5 s) and must not say that nginx did not
# accept() these connections: it did, and closed them on the clients' FINs.
# Writes samples/nginx-499-busy-backend-client-leg.pcap and .meta.json (checked against curl's,
# nginx's and gunicorn's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
cc_require python3 tcpdump ip gunicorn nginx curl

SCENARIO=nginx-499-busy-backend-client-leg
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
MAX_TIME=1.5
SERVICE=0.6

cc_netns_up ccfl-busy
ccb_workdir
X9_WORK="$CCB_WORK"
CCB_SERVER_IP=127.0.0.1
x9_gunicorn ccfl-busy 8081 -w 1 -k sync --timeout 30
x9_nginx_proxy 127.0.0.2:8080 127.0.0.1:8081
mapfile -t SOFTWARE < <(x9_software_gunicorn | grep -v -e 'delay line' -e 'requests'; nginx -v 2>&1 | sed 's/.*: //'; curl --version | head -1 | cut -d' ' -f1-2)

CLIENT_LOG="$X9_WORK/client.log"
: >"$CLIENT_LOG"
# get N: one request from 127.0.0.3; curl's exit code, status, time and port logged.
get() {
  local rc=0 line
  line=$(cc_in curl -s -o /dev/null --interface 127.0.0.3 -m "$MAX_TIME" -w "%{local_port} /sleep/$SERVICE/c$1 %{http_code} %{time_total}" "http://127.0.0.2:8080/sleep/$SERVICE/c$1") || rc=$?
  echo "$line rc=$rc" >>"$CLIENT_LOG"
}

cc_capture_start "$OUT" "tcp port 8080"
pids=()
for i in 1 2 3 4; do
  get "$i" &
  pids+=("$!")
  sleep 0.01
done
wait "${pids[@]}"
# The worker answers the two given up later (1.8 s, 2.4 s) on the upstream leg, not captured.
sleep 1.2
cc_capture_stop

python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$CLIENT_LOG" "$X9_WORK/nginx-access.log" "$X9_WORK/app.log" "$MAX_TIME" "$SERVICE" "${SOFTWARE[@]}" <<'PY'
import json, sys
meta_path, client_log, access_log, app_log, max_time, service = sys.argv[1:7]
software = sys.argv[7:]
clients = [l.split() for l in open(client_log) if l.strip()]
by_uri = {c[1]: {'port': int(c[0]), 'status': int(c[2]), 'seconds': float(c[3]), 'rc': int(c[4].split('=')[1])} for c in clients}
access = open(access_log).read().splitlines()
status_of = {l.split('"')[1].split()[1]: int(l.split('"')[2].split()[0]) for l in access}
app = [json.loads(l) for l in open(app_log) if l.strip()]
ends = [a for a in app if a['event'] == 'end']
ok = sorted(u for u, v in by_uri.items() if v['status'] == 200)
gave_up = sorted(u for u, v in by_uri.items() if v['rc'] == 28)
assert len(ok) == 2 and len(gave_up) == 2, by_uri
assert all(status_of[u] == 499 for u in gave_up) and all(status_of[u] == 200 for u in ok), access
# The worker ran every request, one at a time: the two given up as well, after the client had gone.
assert len(ends) == 4, app
c = lambda u: f"127.0.0.3:{by_uri[u]['port']}"
meta = {
  'scenario': 'nginx-499-busy-backend-client-leg',
  'description': (
    "nginx 1.22 on 127.0.0.2:8080 (proxy_read_timeout 60 s) in front of one gunicorn sync worker on 127.0.0.1:8081 "
    f"whose handler takes {service} s; four curls from 127.0.0.3 with --max-time {max_time}, started 10 ms apart. "
    "nginx accepts and forwards all four at once; the worker answers them in turn (about 0.6 s and 1.2 s); the last two "
    f"outwait curl's {max_time} s (exit 28), nginx logs 499 and closes each client connection right behind the client's FIN. "
    "The capture holds port 8080 only (the client leg). The clients' timeout is the story; nginx accepted every connection "
    "(blind round 16 load S18 was told 'an application that did not accept() these connections ... EMFILE')."),
  'software': software,
  # curl's --max-time counts from the connect; on loopback the handshake is microseconds, so it reads as the request's timeout.
  'configured': {'clientTimeout': {'value': float(max_time), 'server': '127.0.0.2:8080'}},
  'observed': {
    'clientStatuses': {u: v['status'] for u, v in by_uri.items()},
    'clientSeconds': {u: v['seconds'] for u, v in by_uri.items()},
    'curlExit28': len(gave_up),
    'nginxAccess': access,
    'workerAnswered': len(ends),
  },
  'facts': {'capturedPorts': [8080], 'nginxStatuses': {u: status_of[u] for u in by_uri}, 'handlerSeconds': float(service), 'gunicornWorkers': 1, 'curlMaxTime': float(max_time)},
  'expect': [
    {'kind': 'unanswered-request', 'client': c(u), 'server': '127.0.0.2:8080',
     'notes': f"curl gave up after {by_uri[u]['seconds']} s (--max-time {max_time}, exit 28); nginx logged 499 and closed its side right behind the client's FIN: it had accepted the connection; the backend was busy with the two before"}
    for u in gave_up
  ] + [{'kind': None, 'client': c(u), 'server': '127.0.0.2:8080', 'notes': f"answered 200 after {by_uri[u]['seconds']} s (served in turn); clean"} for u in ok],
  'silent': False,
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
PY
cat "$CLIENT_LOG"; cat "$X9_WORK/nginx-access.log"
