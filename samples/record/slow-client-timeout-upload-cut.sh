#!/usr/bin/env bash
# slow-client-timeout-upload-cut: a Go net/http server (programs/fu6-readtimeout-server.go, standard
# library only; ReadHeaderTimeout 0.7 s, ReadTimeout 2 s, WriteTimeout 1.5 s, IdleTimeout 1 s) and a
# python raw-socket client (programs/fu6-steady-upload-client.py) that uploads steadily, never
# pausing: two POST /upload?cutN (one after the other) announce 100000 bytes and send 10000 every 0.4 s; ReadTimeout runs out
# 2 s after the accept with about half of it sent, net/http closes (FIN) without a response, the
# client sends on and is reset (EPIPE / ECONNRESET). Near miss: POST /upload?whole, 30000 bytes in
# 10000-byte writes 0.4 s apart, read to its end within the 2 s and answered 200 (must stay clean).
# Loopback capture in a namespace of our own (fu6-...). Bounded: one attempt ~6 s, at most 3, until
# the client log shows the cut upload reset and the whole one answered.
# Writes samples/slow-client-timeout-upload-cut.pcap and .meta.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-b.sh"
. "$here/lib-c.sh"
cc_require go tcpdump tshark ip
scenario=slow-client-timeout-upload-cut
port=8080

cc_netns_up "fu6-upcut-$$"
ccb_workdir
work="$CCB_WORK"
(cd "$work" && GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$work/server" "$CC_C_PROGRAMS/fu6-readtimeout-server.go")
out="$work/$scenario.pcap"
go_v="$(go env GOVERSION)"
py_v="$(cc_c_py_version)"

for attempt in 1 2 3; do
  : >"$work/client.log"
  cc_bg "$work/server" -addr "127.0.0.1:$port" -log "$work/server.log" -lifetime 30s
  server_pid="$CC_LAST_PID"
  cc_wait_port "$port"
  cc_c_capture_start "$out" "tcp port $port"
  for name in cut1 cut2; do
    cc_c_run 10 "$CC_C_PY" "$CC_C_PROGRAMS/fu6-steady-upload-client.py" --port "$port" --name "$name" \
      --total 100000 --chunk 10000 --pace 0.4 >>"$work/client.log" || true
  done
  cc_c_run 10 "$CC_C_PY" "$CC_C_PROGRAMS/fu6-steady-upload-client.py" --port "$port" --name whole \
    --total 30000 --chunk 10000 --pace 0.4 >>"$work/client.log" || true
  sleep 0.3
  cc_c_capture_stop
  ccb_stop "$server_pid"
  cat "$work/client.log" "$work/server.log"
  if "$CC_C_PY" - "$work/client.log" "$out" "$scenario" "$go_v" "$py_v" >"$work/meta.json" <<'PY'
import json, sys
log, pcap, scenario, go_v, py_v = sys.argv[1:]
runs = {r['name']: r for r in map(json.loads, open(log))}
cuts, whole = [runs.get('cut1'), runs.get('cut2')], runs.get('whole')
if not all(cuts) or not whole or whole['answer'] != 'HTTP/1.1 200 OK' \
        or any(c['answer'] is not None or c['error'] is None or c['sent'] >= c['total'] for c in cuts):
    sys.exit(1)
cut = cuts[0]
server = '127.0.0.1:8080'
print(json.dumps({
  'scenario': scenario,
  'description': 'A Go net/http server (ReadHeaderTimeout 0.7 s, ReadTimeout 2 s, WriteTimeout 1.5 s, IdleTimeout 1 s) cuts an upload its client sends steadily '
    '(two uploads one after the other, each 10000 bytes every 0.4 s of 100000, never pausing): ReadTimeout runs out 2 s after the accept, the handler\'s read fails with i/o timeout and net/http '
    'closes (FIN) without a response; the client sends on after the FIN and is reset (%s after %d bytes). Two such cuts agree on the timer, 2 s after each request began. Near miss: a 30000-byte upload at the same pace, '
    'read to its end within the 2 s and answered 200 (%s).' % (cut['error'], cut['sent'], whole['answer']),
  'software': ['Go %s net/http server (programs/fu6-readtimeout-server.go, standard library only)' % go_v,
               'python %s raw-socket client (programs/fu6-steady-upload-client.py)' % py_v],
  'configured': {'serverClientTimeout': {'value': 2, 'server': server}, 'readHeaderTimeout': '0.7s', 'readTimeout': '2s', 'writeTimeout': '1.5s', 'idleTimeout': '1s',
                 'cutUploadBytes': 100000, 'wholeUploadBytes': 30000, 'chunkBytes': 10000, 'paceSeconds': 0.4},
  'expect': [
    *[{'kind': 'slow-client-timeout', 'client': '127.0.0.1:%d' % c['port'], 'server': server,
       'notes': 'POST /upload?%s cut by Go\'s ReadTimeout (2 s) while its body still flowed: FIN without a response, the client sent on and was reset (%s); the timer is the time since the request began, no silence came first' % (c['name'], c['error'])} for c in cuts],
    {'kind': None, 'client': '127.0.0.1:%d' % whole['port'], 'server': server,
     'notes': 'must stay clean: POST /upload?whole read to its end within ReadTimeout and answered 200; the idle close after it is IdleTimeout\'s'},
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
