#!/usr/bin/env bash
# uWSGI's harakiri: one worker (--harakiri 2) runs a handler that sleeps 6 s; the master, which
# checks harakiri in whole seconds once a second, logs "*** HARAKIRI ON WORKER 1 (pid: N) ***" and
# SIGKILLs the worker: the connection is closed (FIN) without a response 2.5-3.5 s after the
# request. The client (requests) gets "Connection aborted." RemoteDisconnected. Three slow requests
# (GET, POST, GET) between fast ones, loopback, one connection per request.
# Writes samples/worker-timeout-uwsgi.pcap and .meta.json (x9-meta.py checks it against the logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
cc_require python3 tcpdump tshark ip uwsgi

SCENARIO=worker-timeout-uwsgi
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
HARAKIRI_S=2
cc_netns_up ccx9-wu
ccb_workdir
X9_WORK="$CCB_WORK"
x9_uwsgi ccx9-wu 127.0.0.1:8083 --processes 1 --harakiri "$HARAKIRI_S"
mapfile -t SOFTWARE < <(echo "uWSGI $(uwsgi --version) (Debian, python3 plugin, --http-socket)"; x9_software_gunicorn | sed -n 2p)
cc_capture_start "$OUT" "tcp port 8083"
cc_in timeout 40 python3 "$X9_PROGRAMS/x9-timeout-client.py" --base http://127.0.0.1:8083 --log "$X9_WORK/client.log" --pause 0.5 \
  GET:/items/a GET:/sleep/6/s1 GET:/items/b POST:/sleep/6/s2 GET:/items/c GET:/sleep/6/s3 GET:/items/d
cc_capture_stop
python3 "$X9_PROGRAMS/x9-meta.py" worker-timeout --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$X9_WORK/client.log" --app-log "$X9_WORK/app.log" --error-log "$X9_WORK/uwsgi.log" --server-port 8083 \
  --server-name uWSGI --kill-lag-max 2.1 --set harakiri="$HARAKIRI_S" \
  --description "uWSGI's harakiri: one worker (--master --processes 1 --harakiri 2, native --http-socket); three requests (GET, POST, GET) reach a handler that sleeps 6 s. uWSGI sets the deadline in whole seconds and its master checks it once a second: it logs '*** HARAKIRI ON WORKER 1 (pid: N, try: 1) ***' and SIGKILLs the worker, whose connection closes with FIN and no response 0.5-1.5 s after the 2 s deadline (2.5-3.5 s after the request in the recordings made; the request had been ACKed); the master respawns the worker, which answers the next requests (its first answers came 0.5 s late). uWSGI's http-socket answers HTTP/1.1 without keep-alive and closes after each response. Loopback; the client (requests, one Session per request) gets ConnectionError ('Connection aborted.', RemoteDisconnected)." \
  --software "${SOFTWARE[@]}"
grep -v DEBUG "$X9_WORK/client.log"; grep -i 'harakiri on\|died\|respawn' "$X9_WORK/uwsgi.log" || true
