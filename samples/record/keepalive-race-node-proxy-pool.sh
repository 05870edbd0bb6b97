#!/usr/bin/env bash
# A Node.js reverse proxy (http.request with Agent{keepAlive:true, maxSockets:20}, answering 502
# on any upstream error) in front of a Python ThreadingHTTPServer that closes idle keep-alive
# connections after 2 s. Node clients send bursts of 8 requests (GET and POST) with idle gaps
# around 2 s (1.984-2.014 s). Two forms of the same idle-close race reach the proxy's clients as
# a 502 within a few ms: requests written on a pooled connection as the backend's FIN crossed
# them (keepalive-race on the upstream leg), and requests the agent never wrote: it handed them
# a pooled socket whose FIN had just arrived, unread, and failed them with "socket hang up"
# (reusedSocket true) before sending anything upstream (keepalive-race form pool-picked-closed).
# Both legs are captured on lo. Writes samples/keepalive-race-node-proxy-pool.pcap and .meta.json;
# run as keepalive-race-node-proxy-client-leg.sh it captures the clients' leg (port 8001) only.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 node tcpdump ip

SCENARIO="${NODEPOOL_SCENARIO:-keepalive-race-node-proxy-pool}"
FILTER="${NODEPOOL_FILTER:-tcp port 8001 or tcp port 9001}"
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up fz7-nodepool
ccb_workdir
WORK="$CCB_WORK"

cat > "$WORK/backend.py" <<'PY'
import sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    timeout = 2  # idle keep-alive connections closed after 2 s
    def log_message(self, *a): pass
    def _h(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n: self.rfile.read(n)
        body = b'ok ' + self.path.encode() + b'\n'
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
    do_GET = _h; do_POST = _h
# A listen backlog above a burst's new connections (socketserver's default 5 drops their SYNs).
ThreadingHTTPServer.request_queue_size = 64
ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
PY
cat > "$WORK/proxy.js" <<'JS'
const http = require('http');
const [lh, lp, th, tp, la] = [process.argv[2], +process.argv[3], process.argv[4], +process.argv[5], process.argv[6]];
const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
http.createServer((req, res) => {
  const t0 = Date.now();
  const pr = http.request({ host: th, port: tp, localAddress: la, method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  pr.on('error', (e) => {
    console.log('ERR', req.method, req.url, e.code || '', e.message, 'reusedSocket', pr.reusedSocket, 'ms', Date.now() - t0);
    if (!res.headersSent) { res.writeHead(502); res.end('bad gateway\n'); }
  });
  req.pipe(pr);
}).listen(lp, lh);
JS

cc_bg python3 "$WORK/backend.py" 127.0.0.3 9001
cc_wait_port 9001
cc_bg node "$WORK/proxy.js" 127.0.0.2 8001 127.0.0.3 9001 127.0.0.2 > "$WORK/proxy.log"
cc_wait_port 8001
cc_capture_start "$OUT" "$FILTER"
cc_in timeout 120 node "$CCB_PROGRAMS/burst-keepalive-client.js" 127.0.0.2 8001 16 8 2000 2 > "$WORK/client.log" 2>&1 || true
sleep 3
cc_capture_stop
N502=$(grep -c ' 502$' "$WORK/client.log" || true)
NERR=$(grep -c '^ERR' "$WORK/proxy.log" || true)
echo "record: $N502 client 502s, proxy errors: $NERR" >&2
cat "$WORK/proxy.log" >&2
python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$N502" "$SCENARIO" <<'PY'
import json, sys
meta = {
  "scenario": "keepalive-race-node-proxy-pool",
  "description": "A Node.js reverse proxy (http.Agent keepAlive, maxSockets 20; 502 on upstream error) on 127.0.0.2:8001 in front of a Python ThreadingHTTPServer (127.0.0.3:9001) that closes idle keep-alive connections after 2 s. A Node client sends 16 bursts of 8 requests (GET/POST alternating, each its own path) with idle gaps of 1.984-2.014 s. Some requests are written on pooled connections as the backend's idle FIN crosses them (keepalive-race on the upstream leg); others the agent fails with ECONNRESET 'socket hang up' (reusedSocket true) before writing them, on a pooled socket whose FIN had just arrived: the proxy answers 502 within a few ms and nothing goes upstream (keepalive-race form pool-picked-closed on the client's connection, counted with the proxy's 502s in the backend's diagnosis).",
  "software": ["node v20 http.Agent keepAlive (proxy and client)", "python 3.11 http.server ThreadingHTTPServer (timeout 2)"],
  "configured": {"backendIdleTimeout": "2s", "proxyPool": "keepAlive, maxSockets 20, no idle timeout of its own", "clientGaps": "1.984-2.014s"},
  "measured": {"client502": int(sys.argv[2])},
  "expect": [
    {"kind": "keepalive-race", "server": "127.0.0.3:9001", "notes": "the backend's 2 s idle closes met the proxy's pool: requests written as the FIN crossed them, and 502s for requests the pool never wrote (pool-picked-closed)"},
    {"kind": "keepalive-race", "server": "127.0.0.2:8001", "notes": "pool-picked-closed: the 502s the proxy answered within ms for requests it never sent upstream, each on the client's connection to the proxy"},
    {"kind": "idle-timeout-mismatch", "server": "127.0.0.3:9001", "notes": "the clients' gaps reach past the backend's 2 s idle timeout"},
    {"kind": None, "notes": "no intermittent-5xx: every 502 is the race's"}
  ]
}
if sys.argv[3] == "keepalive-race-node-proxy-client-leg":
    meta["scenario"] = sys.argv[3]
    meta["description"] = "As keepalive-race-node-proxy-pool, captured on the clients' leg only (port 8001): the proxy's 502s come within a few ms of their requests, among successes, each request its own path; what failed upstream (a crossing FIN, or a pooled socket whose FIN had just arrived) is not in the capture."
    meta["expect"] = [
        {"kind": "intermittent-5xx", "server": "127.0.0.2:8001", "notes": "the proxy's fast 502s: failed at once (its upstream connection reset, closed or refused), the upstream side not captured"},
        {"kind": None, "notes": "nothing else: the backend is not in the capture"}
    ]
json.dump(meta, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
PY
