#!/usr/bin/env bash
# slow-client-timeout-proxy-upload-cut: uploads that stop short behind proxies that stream the body.
# nginx (proxy_request_buffering off, client_body_timeout 10s, proxy_read_timeout 10s) on
# 127.0.0.2:8080 routes /go/ to a Go net/http server on 127.0.0.4:9002 (programs/fu6-readtimeout-server.go:
# ReadTimeout 2 s, which closes without a response) and /node/ to a Node http server on 127.0.0.3:9001
# (programs/fut-body-timeout-server.js: requestTimeout 2 s checked every 100 ms, which answers 408);
# HAProxy 2.6 (no option http-buffer-request, timeout client 10s) on 127.0.0.2:8081 forwards to the Go
# server. A python raw-socket client (programs/fut-upload-client.py) POSTs, declaring 50000 bytes:
#   trickle1 (nginx/Go), htrickle (HAProxy/Go): 10000 bytes in 1000-byte writes 0.18 s apart, then stalls:
#       the body stops 0.2-0.4 s before Go's timer (a body stopped short, no long silence);
#   stall2 (nginx/Go), stall3 (nginx/Node): 10000 bytes in 0.2 s, then stalls;
# each proxy forwards what came and has nothing more to send; the backend's read timeout fires first
# (before the proxies' 10 s) and the proxy answers 502 (nginx passes Node's 408 on).
# Near misses: fin (nginx) and hfin (HAProxy) half-close after 10000 bytes (both proxies abort at
# once: nginx 400, HAProxy CD, no timer); whole: 10000 of 10000 bytes in 1.35 s, answered 200.
# Everything on one loopback in a namespace of our own (both legs in one capture). Bounded: each client
# at most 12 s; one attempt ~20 s, at most 2. Meta checked against the client's, nginx's, HAProxy's,
# Go's and Node's logs. Writes samples/slow-client-timeout-proxy-upload-cut.pcap and .meta.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-b.sh"
. "$here/lib-c.sh"
. "$here/lib-x12.sh"
cc_require nginx haproxy node go tcpdump tshark ip
scenario=slow-client-timeout-proxy-upload-cut

cc_netns_up "fut-upcut-$$"
ccb_workdir
work="$CCB_WORK"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
(cd "$work" && GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$work/goserver" "$CC_C_PROGRAMS/fu6-readtimeout-server.go")
ccb_nginx_conf "$work/nginx.conf" <<CONF
  access_log $work/access.log;
  server {
    listen 127.0.0.2:8080;
    client_body_timeout 10s;
    client_max_body_size 10m;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_request_buffering off;
    proxy_read_timeout 10s;
    proxy_send_timeout 10s;
    location /go/ { proxy_pass http://127.0.0.4:9002/; }
    location /node/ { proxy_pass http://127.0.0.3:9001/; }
  }
CONF
out="$work/$scenario.pcap"
py_v="$(cc_c_py_version)"
node_v="$(cc_c_node_version)"
go_v="$(go env GOVERSION)"
nginx_v="$(nginx -v 2>&1 | sed 's/.*nginx\///')"
client() { cc_c_run 12 "$CC_C_PY" "$CC_C_PROGRAMS/fut-upload-client.py" 127.0.0.2 8080 "$@" >>"$work/client.log" || true; }

for attempt in 1 2; do
  : >"$work/client.log"; : >"$work/backend.log"; : >"$work/error.log"; : >"$work/access.log"; : >"$work/goserver.log"
  cc_bg node "$CC_C_PROGRAMS/fut-body-timeout-server.js" --host 127.0.0.3 --port 9001 --request-timeout 2000 --check-interval 100 2>"$work/backend.log"
  node_pid="$CC_LAST_PID"
  cc_wait_port 9001
  cc_bg "$work/goserver" -addr 127.0.0.4:9002 -log "$work/goserver.log" -lifetime 40s
  go_pid="$CC_LAST_PID"
  cc_wait_port 9002
  cc_bg nginx -p "$work" -c "$work/nginx.conf"
  nginx_pid="$CC_LAST_PID"
  cc_wait_port 8080
  x12_haproxy_start "$CC_NS" 127.0.0.2:8081 "server go 127.0.0.4:9002" "  timeout connect 1s
  timeout server 10s
  timeout http-request 10s"
  cc_c_capture_start "$out" "tcp port 8080 or tcp port 8081 or tcp port 9001 or tcp port 9002"
  client /go/upload trickle1 50000 10000 1000 0.18 stall 4
  client /go/upload stall2 50000 10000 5000 0.2 stall 4
  client /node/upload stall3 50000 10000 5000 0.2 stall 4
  client /go/upload fin 50000 10000 5000 0.2 fin 4
  client /go/upload whole 10000 10000 1000 0.15 done 1.5
  cc_c_run 12 "$CC_C_PY" "$CC_C_PROGRAMS/fut-upload-client.py" 127.0.0.2 8081 /upload htrickle 50000 10000 1000 0.18 stall 4 >>"$work/client.log" || true
  cc_c_run 12 "$CC_C_PY" "$CC_C_PROGRAMS/fut-upload-client.py" 127.0.0.2 8081 /upload hfin 50000 10000 5000 0.2 fin 4 >>"$work/client.log" || true
  sleep 0.3
  cc_c_capture_stop
  ccb_stop "$nginx_pid"
  x12_haproxy_stop
  ccb_stop "$node_pid"
  ccb_stop "$go_pid"
  cat "$work/client.log" "$work/backend.log" "$work/goserver.log" "$work/error.log" "$work/access.log" "$work/haproxy.log"
  if "$CC_C_PY" - "$work" "$scenario" "$nginx_v" "$(haproxy -v | head -1 | cut -d' ' -f3)" "$go_v" "$node_v" "$py_v" >"$work/meta.json" <<'PY'
import json, re, sys
work, scenario, nginx_v, haproxy_v, go_v, node_v, py_v = sys.argv[1:]
runs = {r['name']: r for r in map(json.loads, open(work + '/client.log'))}
names = ['trickle1', 'stall2', 'stall3', 'fin', 'whole', 'htrickle', 'hfin']
if set(runs) != set(names):
    sys.exit('missing client runs: %s' % sorted(set(names) - set(runs)))
# The backends' own words: Go's read error per upstream port, Node's events.
go = {}
for line in open(work + '/goserver.log'):
    m = re.search(r'SRV (\S+):(\d+) POST /upload\?(\w+) read n=(\d+) of (\d+) err=(.*)$', line)
    if m:
        go[m.group(3)] = {'upstream': '%s:%s' % (m.group(1), m.group(2)), 'read': int(m.group(4)), 'err': m.group(6)}
node = {}
for e in map(json.loads, open(work + '/backend.log')):
    if e.get('event') in ('aborted', 'body'):
        node[e['url'].split('?')[1]] = {'upstream': '127.0.0.1:%d' % e['port'], 'event': e['event'], 'read': e['bodyBytes']}
access = {}
for line in open(work + '/access.log'):
    m = re.search(r'"POST \S+\?(\w+) HTTP/1.1" (\d+)', line)
    if m:
        access[m.group(1)] = int(m.group(2))
hap = {}
for line in open(work + '/haproxy.log'):
    m = re.search(r'POST /upload\?(\w+) (-?\d+) \S+ (\S+)', line)
    if m:
        hap[m.group(1)] = {'status': int(m.group(2)), 'termination': m.group(3)}
timeouts = ['trickle1', 'stall2', 'htrickle']
ok = (all('i/o timeout' in go.get(n, {}).get('err', '') for n in timeouts)
      and node.get('stall3', {}).get('event') == 'aborted'
      and all(runs[n]['answer'] == 'HTTP/1.1 502 Bad Gateway' for n in timeouts)
      and runs['stall3']['answer'] == 'HTTP/1.1 408 Request Timeout'
      and access.get('trickle1') == 502 and access.get('stall2') == 502 and access.get('stall3') == 408
      and access.get('fin') == 400 and runs['fin']['answer'] is None
      and hap.get('htrickle', {}).get('termination') == 'SH--' and hap.get('hfin', {}).get('termination') == 'CD--'
      and runs['whole']['answer'] == 'HTTP/1.1 200 OK' and go.get('whole', {}).get('err') == '<nil>'
      and 'fin' in go and 'hfin' in go)
if not ok:
    sys.exit('the recording does not show the scenario: %s %s %s %s' % (go, node, access, hap))
client = lambda n: '127.0.0.1:%d' % runs[n]['port']
up = lambda n: (node if n == 'stall3' else go)[n]['upstream']
front = lambda n: '127.0.0.2:8081' if n.startswith('h') else '127.0.0.2:8080'
backend = lambda n: '127.0.0.3:9001' if n == 'stall3' else '127.0.0.4:9002'
notes = {
    'trickle1': 'trickled 10000 of 50000 bytes over 1.6 s then stalled; nginx forwarded them as they came; Go ReadTimeout (2 s from the accept) closed without a response (%s) 0.38 s after the last byte: a body stopped short, no silence that long timed' % go['trickle1']['err'],
    'stall2': 'sent 10000 of 50000 bytes in 0.2 s then stalled; Go ReadTimeout closed without a response 1.8 s after the last byte (%s)' % go['stall2']['err'],
    'stall3': 'sent 10000 of 50000 bytes then stalled; Node requestTimeout (2 s, checked every 100 ms) answered 408 Request Timeout and closed (%s after %d bytes); nginx passed the 408 on' % (node['stall3']['event'], node['stall3']['read']),
    'htrickle': 'trickled 10000 of 50000 bytes over 1.6 s then stalled; HAProxy forwarded them; Go ReadTimeout closed without a response (%s); HAProxy answered 502 (log %s)' % (go['htrickle']['err'], hap['htrickle']['termination']),
}
expect = []
for n in timeouts + ['stall3']:
    expect.append({'kind': 'slow-client-timeout', 'client': up(n), 'server': backend(n), 'notes': 'upstream leg, POST /upload?%s: %s' % (n, notes[n])})
    expect.append({'kind': 'slow-client-timeout', 'client': client(n), 'server': front(n),
                   'notes': "client leg, %s: the proxy's %s, the backend's read timeout passed on (not the proxy's client_body_timeout / timeout client, 10 s)" % (n, runs[n]['answer'])})
expect.append({'kind': None, 'client': client('fin'), 'server': front('fin'), 'notes': 'must stay clean: the client half-closed mid-body (FIN after 10000 of 50000 bytes); nginx took it for an abort (%d, error log: client prematurely closed connection) and closed both legs: no timer' % access['fin']})
expect.append({'kind': None, 'client': go['fin']['upstream'], 'server': '127.0.0.4:9002', 'notes': 'must stay clean: nginx closed this upstream leg on its client\'s FIN (Go: %s)' % go['fin']['err']})
expect.append({'kind': None, 'client': client('hfin'), 'server': front('hfin'), 'notes': 'must stay clean: the client half-closed mid-body; HAProxy aborted (log %s) and reset the backend leg' % hap['hfin']['termination']})
expect.append({'kind': None, 'client': go['hfin']['upstream'], 'server': '127.0.0.4:9002', 'notes': 'must stay clean: HAProxy reset this upstream leg on its client\'s FIN (Go: %s)' % go['hfin']['err']})
expect.append({'kind': None, 'client': client('whole'), 'server': front('whole'), 'notes': 'near miss, must stay clean: a slow but complete upload (10000 bytes in 1000-byte writes 0.15 s apart, 1.35 s) answered 200'})
expect.append({'kind': None, 'client': go['whole']['upstream'], 'server': '127.0.0.4:9002', 'notes': 'near miss, must stay clean: the whole body read within ReadTimeout and answered 200'})
print(json.dumps({
    'scenario': scenario,
    'description': 'Uploads that stop short behind proxies that stream the request body: nginx %s (proxy_request_buffering off, client_body_timeout 10s) on 127.0.0.2:8080 '
        'in front of a Go net/http server (ReadTimeout 2 s, 127.0.0.4:9002) and a Node http server (requestTimeout 2 s, 127.0.0.3:9001), and HAProxy %s (no option '
        'http-buffer-request, timeout client 10s) on 127.0.0.2:8081 in front of the Go server. Clients declare 50000 bytes, send 10000 and stall: the proxy has nothing '
        'more to forward, the backend\'s read timeout fires first (Go closes without a response, Node answers 408), and the proxy answers its client 502 (or passes the '
        '408 on). Two uploads trickle up to 0.2-0.4 s before the backend\'s timer (a body stopped short, not a long silence). Near misses: clients that half-close '
        'mid-body (both proxies abort at once: 400 / CD, no timer) and a slow but complete upload answered 200. Both legs in one loopback capture.' % (nginx_v, haproxy_v),
    'software': ['nginx %s' % nginx_v, 'HAProxy %s' % haproxy_v, 'Go %s net/http server (programs/fu6-readtimeout-server.go)' % go_v,
                 'Node.js %s http server (programs/fut-body-timeout-server.js)' % node_v, 'python %s raw-socket client (programs/fut-upload-client.py)' % py_v],
    'configured': {'serverClientTimeout': {'value': 2, 'server': '127.0.0.4:9002'}, 'goReadTimeout': '2s', 'nodeRequestTimeout': '2s',
                   'nginxClientBodyTimeout': '10s', 'haproxyTimeoutClient': '10s', 'declaredBytes': 50000, 'sentBytes': 10000},
    'observed': {
        'clientAnswers': {n: runs[n]['answer'] for n in names},
        'nginxAccessStatus': access,
        'haproxyLog': hap,
        'goReadErrors': {n: v['err'] for n, v in go.items()},
        'nodeEvents': {n: v['event'] for n, v in node.items()},
    },
    'facts': {'backendTimedOut': timeouts + ['stall3'], 'clientAborted': ['fin', 'hfin'], 'answeredWhole': ['whole']},
    'expect': expect,
}, indent=2))
PY
  then
    break
  fi
  [ "$attempt" = 2 ] && { echo "record: $scenario: no usable recording in 2 attempts" >&2; exit 1; }
done
cp "$out" "$CC_SAMPLES_DIR/$scenario.pcap"
cp "$work/meta.json" "$CC_SAMPLES_DIR/$scenario.meta.json"
