#!/usr/bin/env bash
# retried-request after the client's own timeout. A Python server answers GET /slow... only 2 s after
# the request, after each client below has given up and closed (its late answer is reset). Clients:
#  - curl --max-time 0.6 run three times in a shell loop with no sleep: a process and a connection
#    per call, each "Operation timed out" (28), the next ~10 ms later: no retry;
#  - a Python script with socket.settimeout(0.9), run three times 0.2 s apart: no retry;
#  - a Python client that, like Ruby's Net::HTTP (max_retries 1), sends the request once more at
#    once on a new connection after its own timeout, then gives up: 1 real retry.
# Writes samples/retried-request-giveup-loops.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 curl tcpdump ip

SCENARIO=retried-request-giveup-loops
PORT=8091
WORK="$(mktemp -d)"
cc_netns_up fxq-giveup-loops

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
cat >"$WORK/client.py" <<'PY'
# usage: client.py PORT URI TIMEOUT RESENDS: GET URI, give up after TIMEOUT s without a byte, and
# send it again at once on a new connection RESENDS times (Net::HTTP's max_retries); exit 3 on failure.
import socket, sys, time
port, uri, timeout, resends = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
for attempt in range(resends + 1):
    s = socket.create_connection(('127.0.0.1', port))
    s.settimeout(timeout)
    print(f'{time.time():.6f} attempt {attempt + 1} on {s.getsockname()[1]}', flush=True)
    s.sendall(f'GET {uri} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.encode())
    try:
        s.recv(1)
        sys.exit(0)
    except socket.timeout:
        print(f'{time.time():.6f} timeout after {timeout}s, closing', flush=True)
        s.close()
sys.exit(3)
PY
cc_bg python3 "$WORK/server.py" "$PORT" >"$WORK/server.log"
cc_wait_port "$PORT"
OUT="$WORK/$SCENARIO.pcap"
cc_capture_start "$OUT" "tcp port $PORT"
for i in 1 2 3; do
  cc_in curl -sS -o /dev/null --max-time 0.6 -w "%{local_port} %{time_total}\n" "http://127.0.0.1:$PORT/slow?c=curl" >>"$WORK/curl.log" 2>>"$WORK/curl.err" || echo "rc=$?" >>"$WORK/curl.log"
done
sleep 2.5
for i in 1 2 3; do
  cc_in python3 "$WORK/client.py" "$PORT" /slow?c=loop 0.9 0 >>"$WORK/loop.log" || echo "rc=$?" >>"$WORK/loop.log"
  sleep 0.2
done
sleep 2.5
cc_in python3 "$WORK/client.py" "$PORT" /slow?c=resend 0.7 1 >>"$WORK/resend.log" || echo "rc=$?" >>"$WORK/resend.log"
sleep 2.5
cc_capture_stop
cat "$WORK/curl.log" "$WORK/curl.err" "$WORK/loop.log" "$WORK/resend.log"
python3 - "$WORK" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$(curl --version | head -1 | cut -d' ' -f1-2)" "$(python3 --version)" <<'PY'
import json, re, sys
work, meta, curlver, pyver = sys.argv[1:5]
resend = [int(m.group(1)) for m in re.finditer(r'attempt 2 on (\d+)', open(f'{work}/resend.log').read())]
curl = [l for l in open(f'{work}/curl.log').read().splitlines() if l.strip()]
assert len(resend) == 1 and curl.count('rc=28') == 3, (resend, curl)
json.dump({
  'scenario': 'retried-request-giveup-loops',
  'description': "A Python server answers GET /slow... only 2 s after the request, when each client has given up and closed (the late answers are reset). curl --max-time 0.6 runs three times in a shell loop with no sleep (a process and a connection per call, exit 28, the next ~10 ms later): no retry. A Python script with socket.settimeout(0.9) runs three times 0.2 s apart: no retry. A Python client that, like Ruby's Net::HTTP (max_retries 1), sends the request once more at once on a new connection after its own timeout: 1 retry. Before, retried-request named each next call of the two loops a retry.",
  'software': [curlver, f'{pyver} socket client', f'{pyver} http.server'],
  'expect': [
    {'kind': 'unanswered-request', 'notes': 'every attempt: the client gave up at its timeout (0.6, 0.9, 0.7 s); the server answered 2 s after the request'},
    {'kind': 'retried-request', 'client': f'127.0.0.1:{resend[0]}', 'notes': 'the client resent GET /slow?c=resend at once on a new connection after its own timeout (its log: attempt 2)'},
  ],
  'facts': {'resendPort': resend[0], 'curlCalls': curl},
}, open(meta, 'w'), indent=2)
PY
cp "$OUT" "$CC_SAMPLES_DIR/"
