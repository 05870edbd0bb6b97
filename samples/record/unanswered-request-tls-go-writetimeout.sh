#!/usr/bin/env bash
# unanswered-request-tls-go-writetimeout: HTTPS (TLS 1.3) requests to a Go net/http server
# (programs/tls-writetimeout-server.go: http.Server{WriteTimeout: 2s}, TLS 1.3 only, HTTP/1.1 only,
# a throwaway self-signed ECDSA P-256 certificate made here by openssl), everything on one network
# namespace's loopback (blind round 13b, tls s2/s10/s13). Every client is curl 7.88 with its default
# ALPN offer (h2, http/1.1: the server's choice of http/1.1 is encrypted in TLS 1.3), one fresh
# connection per request:
#   a. curl --max-time 1 GET /slow?ms=1500, 3 times: curl gives up at 1 s (exit 28, close_notify, FIN);
#      Go answers at 1.5 s (inside its WriteTimeout) into the closed socket: the client's kernel resets it.
#      What conncheck must say: the client's timeout (about 1 s), the late answer reset.
#   b. curl --max-time 10 GET /slow?ms=3000, 3 times: Go's WriteTimeout (2 s) has passed when the handler
#      ends at 3 s; Go sends its close_notify without a response, curl answers with its own close_notify and
#      FIN, Go resets. What conncheck must say: the SERVER closed 3 s after the request (not a client timer).
#   c. healthy contrast: curl --max-time 10 GET /slow?ms=500, twice: answered 200.
# Ground truth: curl's -w line (exit code, time, local port) and the server's log (handler start/end, write
# error). Writes samples/unanswered-request-tls-go-writetimeout.pcap and .meta.json.
# Rerun: sudo bash samples/record/unanswered-request-tls-go-writetimeout.sh (one run takes ~20 s).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go curl openssl tcpdump ip python3

SCENARIO=unanswered-request-tls-go-writetimeout
WRITE_TIMEOUT_S=2
cc_netns_up "${CC_TLSWT_NETNS:-cctlswt}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$WORK/server" "$HERE/programs/tls-writetimeout-server.go")

cc_bg "$WORK/server" -addr 127.0.0.1:8443 -cert "$WORK/cert.pem" -key "$WORK/key.pem" -write "${WRITE_TIMEOUT_S}s" \
  -max-seconds 60 -log "$WORK/server.log" 2>"$WORK/server.err"
SERVER_PID="$CC_LAST_PID"
cc_wait_port 8443
cc_capture_start "$OUT" "tcp port 8443"
one() {   # LANE MAXTIME MS
  local rc=0 line
  line="$(cc_in curl -sS -k --tlsv1.3 -o /dev/null --max-time "$2" -w '%{local_port} %{http_code} %{time_total} %{time_appconnect}' \
    "https://127.0.0.1:8443/slow?ms=$3&lane=$1" 2>>"$WORK/curl.err")" || rc=$?
  echo "$1 $rc $line" >>"$WORK/client.log"
}
for i in 1 2 3; do one a 1 1500; sleep 0.8; done
for i in 1 2 3; do one b 10 3000; sleep 0.2; done
for i in 1 2; do one c 10 500; sleep 0.2; done
sleep 0.5
cc_capture_stop
ccb_stop "$SERVER_PID"
cat "$WORK/client.log"

python3 - "$WORK" "$META" "$WRITE_TIMEOUT_S" "$(go version | sed 's/^go version //') net/http + crypto/tls (programs/tls-writetimeout-server.go)" \
  "$(curl --version | head -1 | cut -d' ' -f1-2) ($(curl --version | head -1 | grep -o 'OpenSSL/[^ ]*'), $(curl --version | head -1 | grep -o 'nghttp2/[^ ]*'))" <<'PY'
import json, sys
work, meta, write_s, *software = sys.argv[1:]
write_s = float(write_s)
clients = []
for l in open(f'{work}/client.log'):
    lane, rc, port, code, total, appconnect = l.split()
    clients.append({'lane': lane, 'exit': int(rc), 'port': int(port), 'status': int(code), 'seconds': float(total), 'appconnect': float(appconnect)})
served = {str(s['port']): s for s in (json.loads(l) for l in open(f'{work}/server.log'))}
def check(c):
    s = served.get(str(c['port']))
    if s is None: return False
    took = s['end'] - s['start']
    if c['lane'] == 'a': return c['exit'] == 28 and 0.95 <= c['seconds'] < 1.2 and 1.5 <= took < 1.7 and s['writeError'] == ''
    if c['lane'] == 'b': return c['exit'] != 0 and c['status'] == 0 and 3.0 <= took < 3.2 and 2.9 < c['seconds'] < 3.3
    return c['exit'] == 0 and c['status'] == 200 and s['writeError'] == ''
bad = [c for c in clients if not check(c)]
if len(clients) != 8 or bad:
    sys.exit(f'record: unusable run: {bad or clients}; served {served}')
expect = []
for c in clients:
    s = served[str(c['port'])]
    client = f'127.0.0.1:{c["port"]}'
    if c['lane'] == 'a':
        expect.append({'kind': 'unanswered-request', 'client': client, 'server': '127.0.0.1:8443',
            'notes': f'lane a: curl --max-time 1 (TLS 1.3, h2 offered, http/1.1 chosen in the encrypted EncryptedExtensions) gave up after {c["seconds"]:.3f} s (exit 28, close_notify then FIN); Go wrote its answer {s["end"] - s["start"]:.3f} s after the handler began (inside WriteTimeout {write_s:g} s) into the closed socket, which the client kernel reset. The client\'s timer, a late answer.'})
    elif c['lane'] == 'b':
        expect.append({'kind': 'unanswered-request', 'client': client, 'server': '127.0.0.1:8443',
            'notes': f'lane b: curl --max-time 10 waited; the handler took {s["end"] - s["start"]:.3f} s, past Go\'s WriteTimeout {write_s:g} s, so Go wrote no response ("{s["writeError"]}" or none) and sent its close_notify first; curl answered with its own close_notify and FIN (exit {c["exit"]} after {c["seconds"]:.3f} s), Go reset. Closed by the SERVER about 3 s after the request: not a client timer.'})
    else:
        expect.append({'kind': None, 'client': client, 'notes': f'lane c: GET /slow?ms=500 answered 200 after {c["seconds"]:.3f} s: healthy'})
json.dump({
    'scenario': 'unanswered-request-tls-go-writetimeout',
    'description': f'On one network namespace\'s loopback: a Go net/http HTTPS server (http.Server{{WriteTimeout: {write_s:g}s}}, TLS 1.3 only, HTTP/1.1 only) and curl 7.88 with its default ALPN offer (h2, http/1.1), one fresh connection per request. (a) curl --max-time 1 to /slow?ms=1500, 3 times: curl gives up at 1 s, Go answers at 1.5 s into the closed socket, which the client resets. (b) curl --max-time 10 to /slow?ms=3000, 3 times: Go\'s WriteTimeout has passed when the handler ends, Go sends close_notify without a response, curl closes (close_notify, FIN) right after, Go resets. (c) /slow?ms=500 twice: answered 200.',
    'software': software,
    'configured': {'goWriteTimeout': write_s, 'clientTimeout': [{'value': 1.0, 'server': '127.0.0.1:8443', 'notes': 'curl --max-time 1 (lane a), counting from the start of the transfer'}]},
    'observed': {'clients': clients, 'server': list(served.values())},
    'facts': {'tls': '1.3', 'alpnOffered': ['h2', 'http/1.1'], 'alpnChosen': 'http/1.1 (encrypted)'},
    'expect': expect,
    'silent': False,
}, open(meta, 'w'), indent=2)
open(meta, 'a').write('\n')
print('clients', clients)
PY
