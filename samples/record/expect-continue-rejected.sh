#!/usr/bin/env bash
# expect-continue-rejected: uploads that ask `Expect: 100-continue` and are refused at their head
# (417, 413, 401) before any body byte, on the loopback of a private namespace. RFC 9110 §10.1.1
# lets the client withhold the body then (go on with its next request on the connection, or close)
# or send it anyway. 3000-byte bodies.
#  Python http.server (HTTP/1.1, keep-alive; programs/xec-server.py) on 127.0.0.1:8417, refusing by
#  path without reading the body, keeping the connection unless the path ends in -close or -abort:
#   n1  Node http client (programs/xec-client.js, keep-alive agent, maxSockets 1): POST /r417 (417,
#       body withheld), GET, POST /ok (100 Continue, body sent, 200), POST /r413 (413, withheld),
#       GET: one connection; every request after a refusal came where the refused body would have.
#   c1  curl 7.88, one invocation with --next, -H 'Expect: 100-continue' on the POSTs: POST /r417once
#       (417 the first time: curl withholds the body and repeats the request on the same connection,
#       gets 100 Continue and sends the body, 200), a GET on it, then POST /r401 (401: curl stops
#       sending, 'HTTP error before end of send', and closes) and a GET on a new connection.
#   n2  Node client: POST /r417-abort: 417 + Connection: close, then the server closes with
#       SO_LINGER 0: FIN and RST at once, with nothing unread (the body never came) — the near
#       miss for rst-on-close, which reported unread request bytes there before.
#   s1  a raw socket client (programs/xec-raw-client.py): POST /r417-close, 417 + Connection: close
#       (the server closes), the body withheld, and 20 ms later its next request on the same
#       connection anyway: the closed socket answers it with RST. request-after-close-notice; before,
#       that request was read as the withheld body and the RST reported as rst-on-close.
#  Node http server (programs/xec-server.js) on 127.0.0.1:8418: every Expect upload refused 417
#  ('checkContinue'); Node adds Connection: close and closes:
#   n3  Node client: POST /r417 (withheld; the client closes), then GET on a new connection.
#   n4  Node client --anyway: POST /r417 whose body the client sends anyway after the 417: it meets
#       the closed socket, which answers it with RST: rst-on-close, as before this scenario.
# Ground truth: the servers' and clients' JSON logs, checked against each other and the capture
# (tshark) by the meta writer below.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark curl node ip python3
scenario=expect-continue-rejected
out="$CC_SAMPLES_DIR/$scenario.pcap"
py_port=8417
node_port=8418
work="$(mktemp -d)"
head -c 3000 /dev/zero | tr '\0' 'u' >"$work/3k"

cc_netns_up "$(cc_c_ns xec)"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/xec-server.py" "$py_port" 30 >"$work/py-server.log"
cc_bg node "$CC_C_PROGRAMS/xec-server.js" "$node_port" 30 >"$work/node-server.log"
cc_wait_port "$py_port"
cc_wait_port "$node_port"

cc_c_capture_start "$out" "tcp port $py_port or tcp port $node_port"
cc_c_run 15 node "$CC_C_PROGRAMS/xec-client.js" "$py_port" n1 /r417 'GET /n1/after-417' /ok /r413 'GET /n1/after-413' >>"$work/clients.log"
sleep 0.1
w='c1 %{local_port} %{http_code} %{num_connects} %{size_upload} %{exitcode} %{url}\n'
cc_c_run 15 curl -sS -v -o /dev/null -w "$w" -H 'Expect: 100-continue' --data-binary "@$work/3k" "http://127.0.0.1:$py_port/r417once" \
  --next -o /dev/null -w "$w" "http://127.0.0.1:$py_port/c1/after-417" \
  --next -o /dev/null -w "$w" -H 'Expect: 100-continue' --data-binary "@$work/3k" "http://127.0.0.1:$py_port/r401" \
  --next -o /dev/null -w "$w" "http://127.0.0.1:$py_port/c1/after-401" >"$work/curl.log" 2>"$work/curl.trace" || true
sleep 0.1
cc_c_run 15 node "$CC_C_PROGRAMS/xec-client.js" "$py_port" n2 /r417-abort >>"$work/clients.log"
sleep 0.1
cc_c_run 15 "$CC_C_PY" "$CC_C_PROGRAMS/xec-raw-client.py" "$py_port" /r417-close /s1/next >>"$work/clients.log"
sleep 0.1
cc_c_run 15 node "$CC_C_PROGRAMS/xec-client.js" "$node_port" n3 /r417 'GET /n3/after-417' >>"$work/clients.log"
sleep 0.1
cc_c_run 15 node "$CC_C_PROGRAMS/xec-client.js" "$node_port" n4 --anyway /r417-anyway >>"$work/clients.log"
sleep 0.3
cc_c_capture_stop
cat "$work/clients.log" "$work/curl.log" "$work/py-server.log" "$work/node-server.log"

"$CC_C_PY" - "$work" "$out" "$CC_SAMPLES_DIR/$scenario.meta.json" "$py_port" "$node_port" \
  "$("$CC_C_PY" --version) http.server" "node $(cc_c_node_version) http server and http client" "curl $(cc_c_curl_version)" <<'PY'
import json, subprocess, sys
work, pcap, meta_path, py_port, node_port = sys.argv[1:6]
software = sys.argv[6:]
clients = [json.loads(l) for l in open(f'{work}/clients.log')]
servers = [json.loads(l) for l in open(f'{work}/py-server.log')] + [json.loads(l) for l in open(f'{work}/node-server.log')]
curl = [l.split() for l in open(f'{work}/curl.log')]
trace = open(f'{work}/curl.trace').read()

def fail(msg):
    print(f'meta: {msg}', file=sys.stderr)
    sys.exit(1)

# Connections and their resets, from the capture.
fields = subprocess.run(['tshark', '-r', pcap, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.number', '-e', 'tcp.srcport',
                         '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.flags.reset', '-e', 'tcp.flags.fin', '-e', 'tcp.len'],
                        capture_output=True, text=True, check=True).stdout.split()
conns, resets, client_bytes = {}, {}, {}
for row in fields:
    frame, sport, dport, syn, ack, rst, fin, length = row.split(',')
    server = sport if sport in (py_port, node_port) else dport
    client = dport if server == sport else sport
    if syn in ('1', 'True') and ack in ('0', 'False'):
        conns[client] = server
    if rst in ('1', 'True') and sport == server:
        resets[client] = int(frame)
    if sport == client:
        client_bytes[client] = client_bytes.get(client, 0) + int(length)

def lane(name):
    return [c for c in clients if c['lane'] == name]

n1, n2, n3, n4, s1 = lane('n1'), lane('n2'), lane('n3'), lane('n4'), lane('s1')
# n1: one connection, two refusals with the body withheld, the next requests on it.
if [c['status'] for c in n1] != [417, 200, 200, 413, 200] or len({c['port'] for c in n1}) != 1: fail(f'n1: {n1}')
if [c['bodySent'] for c in n1] != [0, 0, 3000, 0, 0] or not n1[2]['continued']: fail(f'n1 bodies: {n1}')
n1_port = str(n1[0]['port'])
# Python logged the same, and read only the invited body.
py_n1 = [s for s in servers if str(s['port']) == n1_port]
if [(s['status'], s['bodyRead']) for s in py_n1] != [(417, 0), (200, 0), (200, 3000), (413, 0), (200, 0)]: fail(f'n1 server: {py_n1}')
# Its client sent the heads and one body: no withheld body reached the wire.
heads = client_bytes[n1_port] - 3000
# c1: 417 then the repeat on the same connection (body sent once), the GET on it; 401 (no body, curl
# closes), the last GET on a new connection.
if [(r[2], r[3], r[4]) for r in curl] != [('200', '1', '3000'), ('200', '0', '0'), ('401', '0', '0'), ('200', '1', '0')]: fail(f'c1: {curl}')
if curl[0][1] != curl[1][1] or curl[1][1] != curl[2][1] or curl[3][1] == curl[2][1]: fail(f'c1 ports: {curl}')
if trace.count('Got 417 while waiting for a 100') != 1 or 'HTTP error before end of send, stop sending' not in trace: fail('c1: trace')
c1_port, c1b_port = curl[0][1], curl[3][1]
py_c1 = [(s['path'], s['status'], s['bodyRead']) for s in servers if str(s['port']) == c1_port]
if py_c1 != [('/r417once', 417, 0), ('/r417once', 200, 3000), ('/c1/after-417', 200, 0), ('/r401', 401, 0)]: fail(f'c1 server: {py_c1}')
if client_bytes[c1_port] > 3000 + 1000: fail(f'c1 sent more than one body: {client_bytes[c1_port]} bytes')
# n2: 417 + close, the server's abortive close: a RST, and no client byte of the body.
if len(n2) != 1 or n2[0]['status'] != 417 or n2[0]['bodySent'] != 0: fail(f'n2: {n2}')
n2_port = str(n2[0]['port'])
if n2_port not in resets: fail('n2: no server RST')
# s1: 417 + close, the next request on the closed connection, reset by the server.
if len(s1) != 1 or s1[0]['status'] != 417 or s1[0]['connection'] != 'close' or s1[0]['nextOutcome'] not in ('ConnectionResetError', 'eof'): fail(f's1: {s1}')
s1_port = str(s1[0]['port'])
if s1_port not in resets: fail('s1: no server RST for the request after the close')
if [(s['path'], s['status']) for s in servers if str(s['port']) == s1_port] != [('/r417-close', 417)]: fail('s1: the server answered more than the 417')
# n3: 417 (Connection: close by Node), withheld, GET on a new connection; n4: the body sent anyway, RST.
if [c['status'] for c in n3] != [417, 200] or n3[0]['connection'] != 'close' or n3[0]['bodySent'] != 0 or n3[0]['port'] == n3[1]['port']: fail(f'n3: {n3}')
if len(n4) != 1 or n4[0]['status'] != 417 or n4[0]['bodySent'] != 3000: fail(f'n4: {n4}')
n4_port = str(n4[0]['port'])
if n4_port not in resets: fail('n4: no server RST after the body sent anyway')
if len(conns) != 8: fail(f'connections: {conns}')
unexpected_resets = set(resets) - {n2_port, n4_port, s1_port}
if unexpected_resets: fail(f'unexpected resets on {unexpected_resets}')

py = f'127.0.0.1:{py_port}'
nd = f'127.0.0.1:{node_port}'
meta = {
    'scenario': 'expect-continue-rejected',
    'description': (
        'Uploads that ask Expect: 100-continue (3000-byte bodies) refused at their head before any body byte, on the loopback of a '
        'private namespace. Python http.server (HTTP/1.1, keep-alive) answers 417, 413 or 401 without reading the body and keeps the '
        'connection (or closes it on the -close and -abort paths, the latter with SO_LINGER 0: FIN and RST at once, nothing unread). '
        "Node's http client (keep-alive agent, maxSockets 1) withholds the body after a refusal and sends its next request on the same "
        'connection: POST /r417, GET, POST /ok (100 Continue, body sent, 200), POST /r413, GET on one connection. curl 7.88 (--next) gets 417 '
        'to POST /r417once, withholds the body and repeats the request on the same connection (100 Continue, body, 200), then a GET; '
        "then 401 to POST /r401: no body, curl closes, and a GET on a new connection. A Node http server refuses every Expect upload 417 ('checkContinue', Connection: close added by Node): one "
        'client withholds the body and closes, another sends it anyway after the 417 and the closed socket answers it with RST. '
        'Before, the request after a withheld body was read as that body: responses lost their requests, and the abortive close after '
        "the 417 was reported as rst-on-close ('request bytes unread') though no body byte was sent. A raw socket client gets 417 + "
        'Connection: close, withholds the body and sends its next request on the same connection 20 ms later: the closed socket resets '
        'it (request-after-close-notice; before, that request was read as the body and the RST reported as rst-on-close).'
    ),
    'software': software,
    'configured': {'uploadBodyBytes': 3000},
    'configuredNotes': 'No timeout is configured: the refusals are on the request heads.',
    'expect': [
        {'kind': None, 'client': f'127.0.0.1:{n1_port}', 'server': py,
         'notes': '5 exchanges: POST /r417 -> 417 (body withheld), GET -> 200, POST /ok -> 100+200 (body 3000), POST /r413 -> 413 (body withheld), GET -> 200; client FIN. Clean.'},
        {'kind': None, 'client': f'127.0.0.1:{c1_port}', 'server': py,
         'notes': '4 exchanges: POST /r417once -> 417 (curl withheld the body), the same POST again -> 100+200 (body 3000), GET -> 200, POST /r401 -> 401 (no body; curl stops sending and closes). Clean.'},
        {'kind': None, 'client': f'127.0.0.1:{c1b_port}', 'server': py, 'notes': 'GET -> 200. Clean.'},
        {'kind': None, 'client': f'127.0.0.1:{n2_port}', 'server': py,
         'notes': f'POST /r417-abort -> 417 + Connection: close; the server closes with SO_LINGER 0: FIN then RST (frame {resets[n2_port]}) with nothing unread (the client sent no body byte). Clean: no rst-on-close.'},
        {'kind': 'request-after-close-notice', 'client': f'127.0.0.1:{s1_port}', 'server': py,
         'notes': f'POST /r417-close -> 417 + Connection: close, body withheld; the server closes (FIN); 20 ms later the client sends GET /s1/next on the same connection and the closed socket answers it with RST (frame {resets[s1_port]}; the client: {s1[0]["nextOutcome"]}). No rst-on-close: no byte of the refused upload was sent.'},
        {'kind': None, 'client': f'127.0.0.1:{n3[0]["port"]}', 'server': nd, 'notes': 'POST /r417 -> 417 (Connection: close by Node), body withheld, client closes. Clean.'},
        {'kind': None, 'client': f'127.0.0.1:{n3[1]["port"]}', 'server': nd, 'notes': 'GET -> 200. Clean.'},
        {'kind': 'rst-on-close', 'client': f'127.0.0.1:{n4_port}', 'server': nd,
         'notes': f'POST /r417-anyway -> 417 (Connection: close); Node closes at once (FIN); the client sends the 3000-byte body anyway and the closed socket answers it with RST (frame {resets[n4_port]}).'},
    ],
    'silent': False,
    'facts': {
        'connections': len(conns),
        'clientLog': clients,
        'serverLog': servers,
        'curl': [' '.join(r) for r in curl],
        'curlSaw401WhileWaiting': 'Got 401 while waiting for a 100' in trace,
        'n1ClientHeadBytes': heads,
        'serverResets': {f'127.0.0.1:{k}': v for k, v in sorted(resets.items())},
    },
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
print(f'meta: wrote {meta_path}')
PY
