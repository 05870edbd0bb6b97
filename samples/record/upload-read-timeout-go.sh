#!/usr/bin/env bash
# upload-read-timeout-go: a Go net/http server (programs/urt-readtimeout-answer-server.go, standard
# library only; ReadTimeout 1 s, no WriteTimeout, IdleTimeout 30 s) and python-requests uploads
# (programs/urt-requests-upload-client.py, one Session). Two chunked uploads of 1 KB every 0.3 s
# (slow1 on the connection a fast upload used, slow2 on a new one) outlast ReadTimeout: the
# handler's read fails with `i/o timeout` 1 s after each request began, it answers 400 while the
# body is still arriving, net/http closes, and the rest of the body draws a RST (the client gets
# ConnectionError(BrokenPipeError) or, reading after its EPIPE, the 400). Near misses: 'big' announces 300000 bytes and is
# refused 413 on its head at once, its body still coming (an early answer: rst-on-close); 'whole',
# 3 KB chunked 0.25 s apart, ends within the 1 s and is answered 200 (silent).
# Loopback capture in a namespace of our own (urt-...). Bounded: one attempt ~12 s, at most 3, until
# the programs' logs show both slow uploads cut by the timer, the 413 and the two 200s.
# Writes samples/upload-read-timeout-go.pcap and .meta.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-b.sh"
. "$here/lib-c.sh"
cc_require go tcpdump ip
scenario=upload-read-timeout-go
port=8080

cc_netns_up "urt-$$"
ccb_workdir
work="$CCB_WORK"
(cd "$work" && GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$work/server" "$CC_C_PROGRAMS/urt-readtimeout-answer-server.go")
out="$work/$scenario.pcap"
go_v="$(go env GOVERSION)"
py_v="$(cc_c_py_version)"
rq_v="$("$CC_C_PY" -c 'import requests; print(requests.__version__)')"

for attempt in 1 2 3; do
  cc_bg "$work/server" -addr "127.0.0.1:$port" -log "$work/server.log" -limit 65536 -lifetime 40s
  server_pid="$CC_LAST_PID"
  cc_wait_port "$port"
  cc_c_capture_start "$out" "tcp port $port"
  cc_c_run 30 "$CC_C_PY" "$CC_C_PROGRAMS/urt-requests-upload-client.py" "http://127.0.0.1:$port/upload" >"$work/client.log" || true
  sleep 0.3
  cc_c_capture_stop
  ccb_stop "$server_pid"
  cat "$work/client.log" "$work/server.log"
  if "$CC_C_PY" - "$work/client.log" "$work/server.log" "$scenario" "$go_v" "$py_v" "$rq_v" >"$work/meta.json" <<'PY'
import json, re, sys
clog, slog, scenario, go_v, py_v, rq_v = sys.argv[1:]
runs = {r['name']: r for r in map(json.loads, open(clog))}
# The server's own line per upload: the client's port, what its read got, its error.
srv = {}
for line in open(slog):
    m = re.search(r'SRV 127\.0\.0\.1:(\d+) POST /upload\?(\w+) (.*)$', line)
    if m:
        srv[m.group(2)] = {'port': int(m.group(1)), 'what': m.group(3)}
need = ['fast', 'slow1', 'slow2', 'big', 'whole']
if any(n not in runs or n not in srv for n in need):
    sys.exit(1)
ok = all(runs[n]['status'] == 200 for n in ('fast', 'whole')) \
    and all(runs[n]['status'] in (None, 400) and 'i/o timeout' in srv[n]['what'] for n in ('slow1', 'slow2')) \
    and 'refused length=300000' in srv['big']['what'] \
    and srv['slow1']['port'] == srv['fast']['port'] and srv['slow2']['port'] != srv['slow1']['port']
if not ok:
    sys.exit(1)
server = '127.0.0.1:8080'
cli = lambda n: '127.0.0.1:%d' % srv[n]['port']
print(json.dumps({
  'scenario': scenario,
  'description': 'python-requests (one Session) uploads to a Go net/http server with ReadTimeout 1 s (no WriteTimeout, IdleTimeout 30 s). '
    'Two chunked uploads of 1 KB every 0.3 s (slow1 on the connection of a fast 10 KB upload answered 200, slow2 on a new one) outlast ReadTimeout: '
    'the handler\'s read fails 1 s after each request began (server log: %s; %s), it answers 400 while the body is still arriving, net/http closes, '
    'and the rest of the body draws a RST: the client\'s upload fails (%s). Near misses: \'big\' announces Content-Length 300000 and is '
    'refused 413 on its head at once, its body still coming (%s: an early answer, rst-on-close); \'whole\', 3 KB chunked 0.25 s apart, ends within '
    'the 1 s and is answered 200.' % (srv['slow1']['what'], srv['slow2']['what'], runs['slow1']['error'] or runs['slow1']['status'], runs['big']['error'] or runs['big']['status']),
  'software': ['Go %s net/http server (programs/urt-readtimeout-answer-server.go, standard library only)' % go_v,
               'python %s requests %s (programs/urt-requests-upload-client.py)' % (py_v, rq_v)],
  'configured': {'serverClientTimeout': {'value': 1, 'server': server}, 'readTimeout': '1s', 'writeTimeout': 'none', 'idleTimeout': '30s',
                 'uploadLimitBytes': 65536, 'slowPieceBytes': 1024, 'slowPaceSeconds': 0.3},
  'observed': {n: {'client': runs[n], 'server': srv[n]} for n in need},
  'expect': [
    {'kind': 'slow-client-timeout', 'client': cli('slow1'), 'server': server,
     'notes': 'POST /upload?slow1 (chunked, reused connection): Go ReadTimeout 1 s from the request\'s first byte; the handler\'s read failed (%s) and it answered 400 while the body still flowed; the rest drew a RST (the client: %s): a read timer, not an early refusal' % (srv['slow1']['what'], runs['slow1']['error'] or runs['slow1']['status'])},
    {'kind': 'slow-client-timeout', 'client': cli('slow2'), 'server': server,
     'notes': 'POST /upload?slow2 (chunked, new connection): Go ReadTimeout 1 s from the accept; answered 400 while the body still flowed, the rest reset (the client: %s)' % (runs['slow2']['error'] or runs['slow2']['status'])},
    {'kind': 'rst-on-close', 'client': cli('big'), 'server': server,
     'notes': 'near miss: POST /upload?big announced 300000 bytes and was refused 413 on its head at once (the body never wanted); its rest, still coming, drew the RST: an early answer, as rst-on-close tells it'},
    {'kind': None, 'client': cli('whole'), 'server': server,
     'notes': 'must stay clean: POST /upload?whole, a slow chunked upload that ended within ReadTimeout, answered 200'},
  ],
}, indent=2))
PY
  then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $scenario: no usable recording in 3 attempts" >&2; exit 1; }
  sleep 1
done
cp "$out" "$CC_SAMPLES_DIR/$scenario.pcap"
cp "$work/meta.json" "$CC_SAMPLES_DIR/$scenario.meta.json"
