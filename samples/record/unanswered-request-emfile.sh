#!/usr/bin/env bash
# A server out of file descriptors, the true case of unanswered-request's "did not accept()"
# (the near miss of nginx-499-busy-backend-client-leg): programs/emfile-server.py (RLIMIT_NOFILE
# 64) on 127.0.0.1:8080. A keep-alive client (Python http.client, from 127.0.0.2) asks GET
# /exhaust (the server opens /dev/null until EMFILE) and then GET /busy every 0.1 s on its one
# connection, answered at once throughout. Three curls (--max-time 2, from 127.0.0.3) connect at
# 0.5, 0.7 and 0.9 s: the kernel completes their handshakes into the listen backlog and ACKs
# their GETs, but accept() fails with EMFILE (the server's log), so nobody reads them and nobody
# closes them: curl gives up at 2 s (exit 28), the kernel only ACKs its FIN. At 3.6 s the client
# asks GET /release: the server accepts the three, reads request and EOF, answers into the closed
# sockets (reset). Loopback, one namespace.
# Writes samples/unanswered-request-emfile.pcap and .meta.json (checked against the server's,
# the client's and curl's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump ip curl

SCENARIO=unanswered-request-emfile
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
MAX_TIME=2
cc_netns_up ccur-emfile
ccb_workdir
WORK="$CCB_WORK"

cc_bg python3 "$CC_RECORD_DIR/programs/emfile-server.py" --addr 127.0.0.1 --port 8080 --nofile 64 --lifetime 12 >"$WORK/server.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080"

# The keep-alive client: /exhaust, /busy every 0.1 s until 3.6 s, /release, one more /busy.
cc_in timeout 10 python3 - "$WORK/client.log" <<'PY' &
import http.client, json, sys, time
log = open(sys.argv[1], 'a', buffering=1)
c = http.client.HTTPConnection('127.0.0.1', 8080, source_address=('127.0.0.2', 0), timeout=5)
t0 = time.time()
def get(uri):
    c.request('GET', uri)
    r = c.getresponse()
    r.read()
    log.write(json.dumps({'t': round(time.time(), 6), 'uri': uri, 'status': r.status, 'port': c.sock.getsockname()[1]}) + '\n')
get('/exhaust')
while time.time() - t0 < 3.6:
    get('/busy')
    time.sleep(0.1)
get('/release')
time.sleep(0.3)
get('/busy')
c.close()
PY
KA=$!
pids=()
for at in 0.5 0.2 0.2; do
  sleep "$at"
  ( rc=0; line=$(cc_in curl -s -o /dev/null --interface 127.0.0.3 -m "$MAX_TIME" -w '%{local_port} %{http_code} %{time_total}' "http://127.0.0.1:8080/new") || rc=$?
    echo "$line rc=$rc" >>"$WORK/curl.log" ) &
  pids+=("$!")
done
wait "${pids[@]}"
wait "$KA"
sleep 0.3
cc_capture_stop
cat "$WORK/server.log" | grep -v '"answered", "port": [0-9]*, "uri": "/busy"' || true
cat "$WORK/curl.log"

python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$WORK/server.log" "$WORK/client.log" "$WORK/curl.log" "$MAX_TIME" "$(curl --version | head -1 | cut -d' ' -f1-2)" "Python $(python3 -c 'import platform; print(platform.python_version())')" <<'PY'
import json, sys
meta_path, server_log, client_log, curl_log, max_time, curl_v, py_v = sys.argv[1:8]
server = [json.loads(l) for l in open(server_log) if l.strip()]
client = [json.loads(l) for l in open(client_log) if l.strip()]
curls = [l.split() for l in open(curl_log) if l.strip()]
gave_up = [{'port': int(c[0]), 'seconds': float(c[2])} for c in curls if c[3] == 'rc=28']
assert len(gave_up) == 3, curls
failed = [e for e in server if e['event'] == 'accept-failed']
assert failed and 'Too many open files' in failed[0]['error'], failed
late = [e for e in server if e['event'] == 'answered' and e['uri'] == '/new']
assert len(late) == 3, late
exhausted = [e for e in server if e['event'] == 'exhausted']
released = [e for e in server if e['event'] == 'released']
assert exhausted and released
# Every curl gave up before the release: the server accepted them only after it.
assert all(e['t'] > released[0]['t'] for e in server if e['event'] == 'accepted' and e['port'] in {g['port'] for g in gave_up})
ka_port = client[0]['port']
busy = [c for c in client if c['uri'] == '/busy' and c['status'] == 200]
meta = {
  'scenario': 'unanswered-request-emfile',
  'description': (
    "A Python HTTP/1.1 server on 127.0.0.1:8080 (RLIMIT_NOFILE 64) out of file descriptors: after GET /exhaust it holds /dev/null open "
    "until EMFILE, and every accept() fails with EMFILE (retried every 50 ms, logged 'Too many open files'). Its one keep-alive client "
    "(127.0.0.2) is answered every 0.1 s throughout. Three curls from 127.0.0.3 (--max-time 2) connect at 0.5, 0.7 and 0.9 s: the kernel "
    "completes the handshakes from the backlog and ACKs the GETs, nobody reads them, curl gives up at 2 s and the kernel only ACKs its FIN. "
    "At 3.6 s GET /release frees the descriptors: the server accepts the three, answers into the closed sockets (reset). The true case of "
    "'an application that did not accept() these connections' (near miss: nginx-499-busy-backend-client-leg, where nginx closed behind the FINs)."),
  'software': [py_v + ' (programs/emfile-server.py, http.client keep-alive client)', curl_v],
  'configured': {'clientTimeout': {'value': float(max_time), 'server': '127.0.0.1:8080'}},
  'observed': {
    'curlGaveUp': gave_up,
    'acceptFailedAt': failed[0]['t'],
    'descriptorsHeld': exhausted[0]['held'],
    'releasedAt': released[0]['t'],
    'lateAnswers': len(late),
    'keepAliveAnswers': len(busy),
  },
  'facts': {'rlimitNofile': 64, 'capturedPorts': [8080]},
  'expect': [
    {'kind': 'unanswered-request', 'client': f"127.0.0.3:{g['port']}", 'server': '127.0.0.1:8080',
     'notes': f"curl gave up after {g['seconds']} s (--max-time {max_time}); accept() failed with EMFILE until the release, so the GET sat unread in the backlog; answered later into the closed socket: 'did not accept()'"}
    for g in gave_up
  ] + [{'kind': None, 'client': f"127.0.0.2:{ka_port}", 'server': '127.0.0.1:8080', 'notes': 'the keep-alive connection accepted before, answered throughout; clean'}],
  'silent': False,
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
PY
