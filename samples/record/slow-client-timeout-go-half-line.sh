#!/usr/bin/env bash
# slow-client-timeout-go-half-line: a Go net/http server (programs/go-header-timeout-server.go,
# standard library only; ReadHeaderTimeout 1 s, no Server header) meets heads that stopped inside
# their request line (programs/half-line-client.py), blind round 17 appservers s03 in small. At
# ReadHeaderTimeout net/http hands what it read to its parser: a line cut inside itself is parsed as
# it stands and answered "400 Bad Request" + FIN (the server first), where a head stopped at a line's
# end is closed on without a byte (slow-client-timeout-go-header). One client trickles its request line
# a byte every 0.3 s (Go answers 400 when it holds `GET `), one sends `GET /midline HT` and waits.
# Near misses (must stay clean): a client that sends `GET /shutdown HT` and half-closes 0.3 s later
# (the client first: Go answers 400 to that EOF at once, no timer of its own), and a whole GET answered 200.
# Loopback capture in a namespace of our own. Bounded: one attempt ~6 s, at most 3, until the logs
# show both heads answered 400 about 1 s after their accept and the near misses as described.
# Writes samples/slow-client-timeout-go-half-line.pcap and .meta.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-b.sh"
. "$here/lib-c.sh"
cc_require go tcpdump tshark ip
scenario=slow-client-timeout-go-half-line
port=8080

cc_netns_up "gohalf-$$"
ccb_workdir
work="$CCB_WORK"
(cd "$work" && GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$work/server" "$CC_C_PROGRAMS/go-header-timeout-server.go")
out="$work/$scenario.pcap"
go_v="$(go env GOVERSION)"
py_v="$(cc_c_py_version)"
client="$CC_C_PROGRAMS/half-line-client.py"

for attempt in 1 2 3; do
  : >"$work/client.log"
  cc_bg "$work/server" -addr "127.0.0.1:$port" -log "$work/server.log" -lifetime 20s
  server_pid="$CC_LAST_PID"
  cc_wait_port "$port"
  cc_c_capture_start "$out" "tcp port $port"
  cc_c_run 10 "$CC_C_PY" "$client" --port "$port" --name whole --mode whole >>"$work/client.log" || true
  sleep 0.2
  cc_c_run 10 "$CC_C_PY" "$client" --port "$port" --name trickle --mode trickle --step 0.3 >>"$work/client.log" || true
  sleep 0.2
  cc_c_run 10 "$CC_C_PY" "$client" --port "$port" --name midline --mode midline >>"$work/client.log" || true
  sleep 0.2
  cc_c_run 10 "$CC_C_PY" "$client" --port "$port" --name shutdown --mode shutdown --pause 0.3 >>"$work/client.log" || true
  sleep 0.3
  cc_c_capture_stop
  ccb_stop "$server_pid"
  cat "$work/client.log" "$work/server.log"
  if "$CC_C_PY" - "$work/client.log" "$work/server.log" "$scenario" "$go_v" "$py_v" >"$work/meta.json" <<'PY'
import json, sys
log, srvlog, scenario, go_v, py_v = sys.argv[1:]
runs = {r['name']: r for r in map(json.loads, open(log))}
whole, trickle, midline, shut = (runs.get(n) for n in ('whole', 'trickle', 'midline', 'shutdown'))
if not all((whole, trickle, midline, shut)):
    sys.exit(1)
bad = 'HTTP/1.1 400 Bad Request'
if whole['answer'] != 'HTTP/1.1 200 OK' or trickle['answer'] != bad or midline['answer'] != bad or shut['answer'] != bad:
    sys.exit(1)
# The server's own record of each connection (ConnState): new, active (first bytes read), closed; no request reached the handler.
states = {}
for line in open(srvlog):
    f = line.split()
    if len(f) == 4 and f[1] == 'STATE':
        states.setdefault(f[2], []).append((float(f[0]), f[3]))
def closed_after(run):
    st = states.get('127.0.0.1:%d' % run['port'], [])
    if [s for _, s in st] != ['new', 'active', 'closed']:
        return None
    return st[2][0] - st[0][0]
t_trickle, t_mid, t_shut = closed_after(trickle), closed_after(midline), closed_after(shut)
if t_trickle is None or t_mid is None or t_shut is None:
    sys.exit(1)
# Both timed-out heads closed at ReadHeaderTimeout (1 s from the accept, a little late on a busy box);
# the half-closed one at once after its shutdown (0.3 s), long before the timer.
if not (0.95 <= t_trickle <= 1.3 and 0.95 <= t_mid <= 1.3 and t_shut < 0.8):
    sys.exit(1)
if not (shut['answeredAt'] > shut['shutdown'] and trickle['sentText'] in ('G', 'GE', 'GET', 'GET ', 'GET /')):
    sys.exit(1)
server = '127.0.0.1:8080'
print(json.dumps({
  'scenario': scenario,
  'description': 'A Go net/http server (ReadHeaderTimeout 1 s; Go sends no Server header) meets heads stopped inside their request line. '
    'At the timeout net/http parses what it read and answers "400 Bad Request" + FIN: to a line trickled a byte every 0.3 s (it held %r) %.3f s after the accept, '
    'and to `GET /midline HT` sent at once %.3f s after the accept (ConnState new -> active -> closed, no request reached the handler). '
    'Near misses: `GET /shutdown HT` half-closed by its client 0.3 s later, answered 400 at once after that FIN (%.3f s after the accept: the server answered the '
    'client\'s close, no timer), and a whole GET answered 200. Blind round 17 appservers s03 in small.'
    % (trickle['sentText'], t_trickle, t_mid, t_shut),
  'software': ['Go %s net/http server (programs/go-header-timeout-server.go, standard library only)' % go_v,
               'python %s raw-socket client (programs/half-line-client.py)' % py_v],
  'configured': {'serverHeaderTimeout': {'value': 1, 'server': server}, 'readHeaderTimeout': '1s', 'trickleStepSeconds': 0.3, 'shutdownAfterSeconds': 0.3},
  'observed': {'trickleClosedAfterAccept': round(t_trickle, 3), 'midlineClosedAfterAccept': round(t_mid, 3), 'shutdownClosedAfterAccept': round(t_shut, 3),
               'trickleClient': trickle, 'midlineClient': midline, 'shutdownClient': shut, 'wholeClient': whole},
  'facts': {'goAnswers400ToAHeadCutInsideALine': True, 'serverClosedFirstOnTimedOutHeads': True, 'clientClosedFirstOnNearMiss': True},
  'expect': [
    {'kind': 'slow-client-timeout', 'client': '127.0.0.1:%d' % trickle['port'], 'server': server,
     'notes': 'the request line trickled a byte every 0.3 s (%r when the timer ran out): 400 Bad Request + FIN at ReadHeaderTimeout; counted as a request (method only)' % trickle['sentText']},
    {'kind': 'slow-client-timeout', 'client': '127.0.0.1:%d' % midline['port'], 'server': server,
     'notes': '`GET /midline HT` then nothing: 400 Bad Request + FIN at ReadHeaderTimeout; two such answers agree on the timer from the accept (~1 s), Go named'},
    {'kind': None, 'client': '127.0.0.1:%d' % shut['port'], 'server': server,
     'notes': 'must stay clean: the client half-closed its half-sent line first; Go\'s 400 answered that close, no timer'},
    {'kind': None, 'client': '127.0.0.1:%d' % whole['port'], 'server': server, 'notes': 'must stay clean: a whole GET answered 200'},
  ],
}, indent=2))
PY
  then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $scenario: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$out" "$CC_SAMPLES_DIR/$scenario.pcap"
cp "$work/meta.json" "$CC_SAMPLES_DIR/$scenario.meta.json"
