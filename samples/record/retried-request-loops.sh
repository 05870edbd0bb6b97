#!/usr/bin/env bash
# retried-request against loops whose every call fails. A Python server answers GET /fast and, for
# GET /slow, closes the connection 1.2 s after the request without answering. Two clients:
#  - a Go net/http client in a loop (GET /fast, 0.3 s pause, GET /slow, 0.3 s pause), twice: its
#    Transport sends each failed /slow again by itself at once on a new connection (the failed one
#    was reused), which fails too: 2 real retries;
#  - curl run three times in a shell loop with `sleep 0.6`: a process and a connection per call,
#    every call "Empty reply from server" (52): no retry at all.
# Each Go attempt's local port is logged (httptrace GotConn), so the meta names the retries from the
# client's own log. Writes samples/retried-request-loops.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require go python3 curl tcpdump ip

SCENARIO=retried-request-loops
PORT=8090
WORK="$(mktemp -d)"
cc_netns_up fxr-retry-loops

cat >"$WORK/server.py" <<'PY'
import http.server, socket, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == '/slow':
            time.sleep(1.2)
            print(f'{time.time():.6f} /slow closed unanswered', flush=True)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = b'fast\n'
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
cat >"$WORK/client.go" <<'GO'
package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"time"
)

func get(c *http.Client, url string) {
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		fmt.Printf("%.6f attempt %s on %s reused=%v\n", float64(time.Now().UnixNano())/1e9, url, i.Conn.LocalAddr(), i.Reused)
	}}
	req, _ := http.NewRequest("GET", url, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := c.Do(req)
	if err != nil {
		fmt.Printf("%.6f result %s ERR %v\n", float64(time.Now().UnixNano())/1e9, url, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Printf("%.6f result %s %d\n", float64(time.Now().UnixNano())/1e9, url, resp.StatusCode)
}

func main() {
	base := os.Args[1]
	c := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < 2; i++ {
		get(c, base+"/fast")
		time.Sleep(300 * time.Millisecond)
		get(c, base+"/slow")
		time.Sleep(300 * time.Millisecond)
	}
}
GO
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off go build -o "$WORK/client" client.go)
cc_bg python3 "$WORK/server.py" "$PORT" >"$WORK/server.log"
cc_wait_port "$PORT"
OUT="$WORK/$SCENARIO.pcap"
cc_capture_start "$OUT" "tcp port $PORT"
cc_in timeout 30 "$WORK/client" "http://127.0.0.1:$PORT" >"$WORK/go.log"
sleep 0.5
for i in 1 2 3; do
  cc_in curl -sS -o /dev/null --max-time 5 -w "%{local_port} %{time_total}\n" "http://127.0.0.1:$PORT/slow" >>"$WORK/curl.log" 2>>"$WORK/curl.err" || echo "rc=$?" >>"$WORK/curl.log"
  sleep 0.6
done
cc_capture_stop
cat "$WORK/go.log" "$WORK/curl.log" "$WORK/curl.err"
python3 - "$WORK" "$OUT" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$(go version | sed 's/^go version //')" "$(curl --version | head -1 | cut -d' ' -f1-2)" <<'PY'
import json, sys, re
work, out, meta, gover, curlver = sys.argv[1:6]
go = open(f'{work}/go.log').read().splitlines()
# A /slow call logs one attempt per connection: the second is the Transport's own resend.
retries, attempts = [], []
for line in go:
    m = re.match(r'\S+ attempt (\S+) on 127\.0\.0\.1:(\d+) reused=(\w+)', line)
    if m and m.group(1).endswith('/slow'):
        attempts.append(int(m.group(2)))
    if re.match(r'\S+ result \S+/slow', line):
        assert len(attempts) == 2, f'expected the Transport to resend each /slow once: {attempts}'
        retries.append(attempts[1]); attempts = []
curl = [l for l in open(f'{work}/curl.log').read().splitlines() if l.strip()]
assert len(retries) == 2 and len(curl) >= 3, (retries, curl)
expect = [{'kind': 'unanswered-request', 'notes': 'every /slow attempt: the server closed it unanswered 1.2 s after the request'}]
expect += [{'kind': 'retried-request', 'client': f'127.0.0.1:{p}', 'notes': "Go's Transport resent the failed /slow at once on a new connection (its GotConn trace logged a second attempt)"} for p in retries]
json.dump({
  'scenario': 'retried-request-loops',
  'description': "A Python server closes GET /slow 1.2 s after the request without answering. A Go net/http client loops twice (GET /fast, 0.3 s, GET /slow, 0.3 s): its Transport resends each failed /slow at once on a new connection, which fails too (2 real retries); its loop's next /slow goes on a connection that first carried /fast. Then curl runs three times in a shell loop with `sleep 0.6`, a connection per call, each \"Empty reply from server\" (52): no retry. Before, retried-request named curl's second and third runs retries (each 0.6 s after a failure).",
  'software': [f'{gover} net/http client', curlver, 'python3 http.server'],
  'expect': expect,
  'facts': {'goRetryPorts': retries, 'curlCalls': curl},
}, open(meta, 'w'), indent=2)
PY
cp "$OUT" "$CC_SAMPLES_DIR/"
