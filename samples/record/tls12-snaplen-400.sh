#!/usr/bin/env bash
# tls12-snaplen-400: HTTPS (TLS 1.2) to a Go net/http server, captured with `tcpdump -s 400`, as
# runbooks that keep captures small and payload-free say (blind round 14, variants 5c). At 400 bytes
# the ClientHello (517 bytes, padded) and the server's first flight (ServerHello, Certificate,
# ServerKeyExchange, ServerHelloDone in one 1.2 KB segment) are cut: the record headers behind the
# Certificate are lost, and reading must resume at the next segment that starts with a record (the
# server's ChangeCipherSpec), the ALPN offer unseen. Server: programs/tls-writetimeout-server.go
# -tls12 (http.Server{WriteTimeout: 1.5s, IdleTimeout: 2s}, HTTP/1.1 only). Client:
# programs/tls-keepalive-client.py (TLS 1.2, no ALPN, reuses its connection without checking it):
#   a. GET /slow?ms=2200, twice: past WriteTimeout, Go writes no response and closes the connection
#      2.2 s after the request. What conncheck must say: unanswered, the server closed ~2.2 s after.
#   b. GET /, then after 2.3 s idle GET / again on the same connection, twice: Go closed it idle at
#      2 s (IdleTimeout); the request meets the close: a keep-alive race, server idle timeout ≈ 2 s.
#   c. GET /, 1 s idle, GET /, twice: answered 200 both times (healthy).
# Ground truth: the client's JSON lines and the server's log. Writes samples/tls12-snaplen-400.pcap
# and .meta.json. Rerun: sudo bash samples/record/tls12-snaplen-400.sh (one run takes ~25 s).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go openssl tcpdump ip python3

SCENARIO=tls12-snaplen-400
WRITE_TIMEOUT_S=1.5
IDLE_TIMEOUT_S=2
cc_netns_up "${CC_TLS12SNAP_NETNS:-cctls12snap}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$WORK/server" "$HERE/programs/tls-writetimeout-server.go")

cc_bg "$WORK/server" -addr 127.0.0.1:8443 -cert "$WORK/cert.pem" -key "$WORK/key.pem" -tls12 \
  -write "${WRITE_TIMEOUT_S}s" -idle "${IDLE_TIMEOUT_S}s" -max-seconds 60 -log "$WORK/server.log" 2>"$WORK/server.err"
SERVER_PID="$CC_LAST_PID"
cc_wait_port 8443
cc_capture_start "$OUT" "tcp port 8443" -s 400
one() {   # LANE FIRST IDLE SECOND
  local line
  line="$(cc_in timeout 15 python3 "$HERE/programs/tls-keepalive-client.py" 127.0.0.1 8443 "$2" "$3" "$4" --timeout 8)"
  echo "{\"lane\": \"$1\", \"client\": $line}" >>"$WORK/client.log"
}
for i in 1 2; do one a "/slow?ms=2200&lane=a" 0 /; sleep 0.3; done
for i in 1 2; do one b "/?lane=b" 2.3 "/?lane=b2"; sleep 0.3; done
for i in 1 2; do one c "/?lane=c" 1 "/?lane=c2"; sleep 0.3; done
sleep 0.5
cc_capture_stop
ccb_stop "$SERVER_PID"
cat "$WORK/client.log"

python3 - "$WORK" "$META" "$WRITE_TIMEOUT_S" "$IDLE_TIMEOUT_S" "$(go version | sed 's/^go version //') net/http + crypto/tls (programs/tls-writetimeout-server.go -tls12)" \
  "Python $(python3 -c 'import ssl,sys; print(sys.version.split()[0], ssl.OPENSSL_VERSION)') (programs/tls-keepalive-client.py)" <<'PY'
import json, sys
work, meta, write_s, idle_s, *software = sys.argv[1:]
write_s, idle_s = float(write_s), float(idle_s)
runs = [json.loads(l) for l in open(f'{work}/client.log')]
served = [json.loads(l) for l in open(f'{work}/server.log')]
def check(r):
    c = r['client']
    if c.get('tls') != 'TLSv1.2': return False
    if r['lane'] == 'a': return c['first']['outcome'] in ('EOF', 'reset') and 2.1 < c['first']['at'] - c['first']['sent'] < 2.6
    if r['lane'] == 'b': return c['first']['outcome'] == '200' and c['second']['outcome'] in ('EOF', 'reset')
    return c['first']['outcome'] == '200' and c['second']['outcome'] == '200'
bad = [r for r in runs if not check(r)]
if len(runs) != 6 or bad:
    sys.exit(f'record: unusable run: {bad or runs}; served {served}')
expect = []
for r in runs:
    c = r['client']
    client = f'127.0.0.1:{c["port"]}'
    if r['lane'] == 'a':
        expect.append({'kind': 'unanswered-request', 'client': client, 'server': '127.0.0.1:8443',
            'notes': f'lane a: GET /slow?ms=2200 on a fresh connection; past Go\'s WriteTimeout {write_s:g} s the handler\'s write went nowhere and Go closed the connection {c["first"]["at"] - c["first"]["sent"]:.3f} s after the request without a response (client: {c["first"]["outcome"]}). The server closed, ~2.2 s after the request.'})
    elif r['lane'] == 'b':
        expect.append({'kind': 'keepalive-race', 'client': client, 'server': '127.0.0.1:8443',
            'notes': f'lane b: a second request {c["idle"]:g} s after the first response; Go had closed the connection idle at IdleTimeout {idle_s:g} s; the client saw {c["second"]["outcome"]}.'})
    else:
        expect.append({'kind': None, 'client': client, 'notes': f'lane c: a second request {c["idle"]:g} s after the first, answered 200: healthy'})
json.dump({
    'scenario': 'tls12-snaplen-400',
    'description': f'On one network namespace\'s loopback, captured with tcpdump -s 400: a Go net/http HTTPS server (TLS 1.2 only, HTTP/1.1 only, WriteTimeout {write_s:g} s, IdleTimeout {idle_s:g} s) and a Python TLS 1.2 client (no ALPN) that reuses its connection without checking it. The 517-byte ClientHello and the server\'s first flight are cut, the headers behind its Certificate lost. (a) GET /slow?ms=2200 twice: no response, Go closes ~2.2 s after. (b) a second request 2.3 s after the first response, twice: Go closed at 2 s idle, a keep-alive race. (c) a second request after 1 s, twice: healthy.',
    'software': software,
    'configured': {'goWriteTimeout': write_s, 'serverIdleTimeout': [{'value': idle_s, 'server': '127.0.0.1:8443', 'notes': 'Go http.Server IdleTimeout'}], 'snaplen': 400},
    'observed': {'clients': runs, 'server': served},
    'facts': {'tls': '1.2', 'alpnOffered': [], 'snaplen': 400, 'clientHelloBytes': 517},
    'expect': expect,
    'silent': False,
}, open(meta, 'w'), indent=2)
open(meta, 'a').write('\n')
print('runs', len(runs))
PY
