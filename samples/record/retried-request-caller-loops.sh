#!/usr/bin/env bash
# retried-request, two shapes that are no retry and one that is. Clients:
#  - a Python http.client loop (timeout 1 s per call) whose calls to a Python server's /hang (it
#    answers 2 s after the request, to nobody) each time out; after each it closes, sleeps 1 s and
#    calls again, twice: the second call is its caller's loop, not a retry;
#  - a Python client that, like Ruby's Net::HTTP (max_retries 1), sends the request again at once on
#    a new connection after its own timeout: 1 retry;
#  - Python threads that each open a connection to a Node server (headersTimeout and requestTimeout
#    1 s, checked every 100 ms) and send their first GET /pre/1 1.05, 1.1 and 1.5 s later: Node has
#    answered 408 and closed each idle connection by then, so each request is reset; each is its
#    thread's own call on a connection opened long before, not a retry of the one before.
# Writes samples/retried-request-caller-loops.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 node tcpdump ip

SCENARIO=retried-request-caller-loops
PORT=8093
NODE_PORT=8094
WORK="$(mktemp -d)"
cc_netns_up fr6-caller-loops

cat >"$WORK/server.py" <<'PY'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def do_GET(self):
        time.sleep(2.0)
        body = b'late\n'
        try:
            self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
        except OSError:
            pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
cat >"$WORK/loop.py" <<'PY'
# The caller's loop: http.client with a 1 s timeout, close, sleep 1 s, call again (2 calls).
import http.client, sys, time
port = int(sys.argv[1])
for i in range(2):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=1); t = time.time()
    try:
        c.request('GET', '/hang?c=loop'); r = c.getresponse(); r.read(); print(f'{time.time():.6f} call {i} {r.status}', flush=True)
    except Exception as e:
        print(f'{time.time():.6f} call {i} on {c.sock.getsockname()[1] if c.sock else "?"} FAILED after {time.time() - t:.3f} s {e!r}', flush=True)
    c.close(); time.sleep(1)
PY
cat >"$WORK/resend.py" <<'PY'
# Net::HTTP-like: GET, give up after 1 s without a byte, send it again at once on a new connection once.
import socket, sys, time
port = int(sys.argv[1])
for attempt in range(2):
    s = socket.create_connection(('127.0.0.1', port)); s.settimeout(1)
    print(f'{time.time():.6f} attempt {attempt + 1} on {s.getsockname()[1]}', flush=True)
    s.sendall(b'GET /hang?c=resend HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    try:
        s.recv(1); sys.exit(0)
    except socket.timeout:
        print(f'{time.time():.6f} timeout, closing', flush=True); s.close()
sys.exit(3)
PY
cat >"$WORK/srv.js" <<'JS'
const http = require('http');
const s = http.createServer((req, res) => res.end('ok\n'));
s.headersTimeout = 1000; s.requestTimeout = 1000; s.keepAliveTimeout = 5000; s.connectionsCheckingInterval = 100;
s.listen(Number(process.argv[2]), '127.0.0.1');
JS
cat >"$WORK/preconn.py" <<'PY'
# Threads that each connect first and send their first request after their own idle time.
import socket, sys, threading, time
port = int(sys.argv[1])
def preconn(idle):
    s = socket.create_connection(('127.0.0.1', port)); p = s.getsockname()[1]
    print(f'{time.time():.6f} {p} preconnected, idle {idle}', flush=True)
    time.sleep(idle)
    try: s.sendall(b'GET /pre/1 HTTP/1.1\r\nHost: x\r\n\r\n'); print(f'{time.time():.6f} {p} sent', flush=True)
    except Exception as e: print(f'{time.time():.6f} {p} send error {e!r}', flush=True)
    s.settimeout(2)
    try: print(f'{time.time():.6f} {p} got {s.recv(100)[:30]!r}', flush=True)
    except Exception as e: print(f'{time.time():.6f} {p} error {e!r}', flush=True)
    s.close()
ts = [threading.Thread(target=preconn, args=(idle,)) for idle in (1.5, 1.05, 1.1)]
for t in ts: t.start(); time.sleep(0.05)
for t in ts: t.join()
PY
cc_bg python3 "$WORK/server.py" "$PORT" >"$WORK/server.log"
cc_bg node "$WORK/srv.js" "$NODE_PORT" >"$WORK/node.log"
cc_wait_port "$PORT"
cc_wait_port "$NODE_PORT"
OUT="$WORK/$SCENARIO.pcap"
cc_capture_start "$OUT" "tcp port $PORT or tcp port $NODE_PORT"
cc_in python3 "$WORK/loop.py" "$PORT" >"$WORK/loop.log"
sleep 2.5
cc_in python3 "$WORK/resend.py" "$PORT" >"$WORK/resend.log" || echo "rc=$?" >>"$WORK/resend.log"
sleep 2.5
cc_in python3 "$WORK/preconn.py" "$NODE_PORT" >"$WORK/preconn.log"
sleep 0.5
cc_capture_stop
cat "$WORK/loop.log" "$WORK/resend.log" "$WORK/preconn.log"
python3 - "$WORK" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$(python3 --version)" "node $(node --version)" <<'PY'
import json, re, sys
work, meta, pyver, nodever = sys.argv[1:5]
resend = [int(m.group(1)) for m in re.finditer(r'attempt 2 on (\d+)', open(f'{work}/resend.log').read())]
loop = open(f'{work}/loop.log').read()
pre = open(f'{work}/preconn.log').read()
assert len(resend) == 1 and loop.count('FAILED') == 2, (resend, loop)
assert pre.count('sent') == 3 and '408' in pre, pre
json.dump({
  'scenario': 'retried-request-caller-loops',
  'description': "A Python server answers GET /hang 2 s after the request, to nobody. A Python http.client loop (timeout 1 s) calls it, times out, closes, sleeps 1 s and calls again: the second call is its caller's loop, no retry. A Python client that, like Ruby's Net::HTTP (max_retries 1), sends the request again at once on a new connection after its own timeout: 1 retry. Python threads each open a connection to a Node server (headersTimeout 1 s) and send their first GET /pre/1 1.05, 1.1 and 1.5 s later, after Node answered 408 and closed: each is reset, and each is its thread's own call on a connection opened before, not a retry. Before, retried-request named the loop's second call and two of the threads' requests retries.",
  'software': [f'{pyver} http.client and socket clients', f'{pyver} http.server', nodever],
  'expect': [
    {'kind': 'unanswered-request', 'notes': 'every /hang attempt: the client gave up at its 1 s timeout; the server answered 2 s after the request'},
    {'kind': 'retried-request', 'client': f'127.0.0.1:{resend[0]}', 'notes': 'the client resent GET /hang?c=resend at once on a new connection after its own timeout (its log: attempt 2)'},
    {'kind': 'request-after-close-notice', 'notes': "each thread's GET /pre/1 on a connection Node had answered 408 (headersTimeout) and closed: reset (request-after-close-notice: a never-used connection's idle notice, error)"},
  ],
  'facts': {'resendPort': resend[0], 'loop': loop.splitlines(), 'preconnect': pre.splitlines()},
}, open(meta, 'w'), indent=2)
PY
cp "$OUT" "$CC_SAMPLES_DIR/"
