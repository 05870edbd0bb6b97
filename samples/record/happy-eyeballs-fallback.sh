#!/usr/bin/env bash
# happy-eyeballs-fallback: clients connect to "svc", which the namespace's hosts file names as
# ::1 and 127.0.0.1, while a Node server listens on 127.0.0.1:8081 only (a service bound to IPv4
# whose name also has an IPv6 address). Each client tries ::1 first (RFC 6724 prefers it), is
# refused (RST), and falls back to 127.0.0.1 at once (curl, Python's socket.create_connection,
# Node's autoSelectFamily). Every request gets its 200. The refusals are the fallbacks' (info,
# one diagnosis), not a service down. The near miss: the same clients to svc:8082, where nothing
# listens on either family: each is refused on ::1, falls back to 127.0.0.1 and is refused there
# too (curl exits 7, Python and Node raise ECONNREFUSED). A fallback refused in turn got nowhere:
# those refusals are warnings, not fallbacks.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node curl python3 ip

out="$CC_SAMPLES_DIR/happy-eyeballs-fallback.pcap"
log="$(mktemp)"
cc_netns_up cc-a-eyeballs
# `ip netns exec` mounts /etc/netns/<ns>/hosts over /etc/hosts for the commands it runs.
mkdir -p /etc/netns/cc-a-eyeballs
printf '::1 svc\n127.0.0.1 svc\n' >/etc/netns/cc-a-eyeballs/hosts
trap 'rm -rf /etc/netns/cc-a-eyeballs; cc_cleanup' EXIT

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port 8081
cc_wait_port 8081

cc_capture_start "$out" "tcp port 8081 or tcp port 8082" --immediate-mode
for port in 8081 8082; do
  # On 8082 every client fails (refused on both families): its exit status is logged, not fatal.
  for i in 1 2; do
    cc_a_run 5 curl -sS -o /dev/null -w "curl $port %{http_code} %{remote_ip}\n" "http://svc:$port/items/$i" >>"$log" 2>&1 || echo "curl $port exit $?" >>"$log"
    cc_a_run 5 python3 -c "
import socket, sys
s = socket.create_connection(('svc', $port), timeout=2)
s.sendall(b'GET /items/$i HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n')
data = b''
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print('python', $port, data.split(b' ')[1].decode(), s.getpeername()[0])
" >>"$log" 2>&1 || echo "python $port exit $?" >>"$log"
    cc_a_run 5 node -e "
const http = require('http');
http.get({ host: 'svc', port: $port, path: '/items/$i', agent: false, autoSelectFamily: true }, (res) => {
  res.resume();
  res.on('end', () => console.log('node', $port, res.statusCode, res.socket.remoteAddress));
}).on('error', (e) => { console.log('node', $port, 'error', e.code); });
" >>"$log"
    sleep 0.2
  done
done
cc_capture_stop

ok=$(grep -c '^[a-z]* 8081 200 ' "$log" || true)
[ "$ok" = 6 ] || { cat "$log" >&2; echo "record: expected 6 answered requests, got $ok" >&2; exit 1; }
failed=$(grep -c -e '^curl 8082 exit 7' -e '^python 8082 exit' -e '^node 8082 error ECONNREFUSED' "$log" || true)
[ "$failed" = 6 ] || { cat "$log" >&2; echo "record: expected 6 requests to 8082 refused, got $failed" >&2; exit 1; }
grep -q "::1" "$log" && { cat "$log" >&2; echo "record: a request was answered over IPv6" >&2; exit 1; }
rm -f "$log"

cc_a_meta "$out" '{
  "scenario": "happy-eyeballs-fallback",
  "description": "Clients connect to svc, which the namespace hosts file names as ::1 and 127.0.0.1, port 8081, where a Node http server listens on 127.0.0.1 only. curl 7.88, Python socket.create_connection and Node 20 (http.get, autoSelectFamily) each request /items/1 and /items/2: each tries ::1 first, is refused (RST), and connects to 127.0.0.1 at once; all 6 requests get 200. The refusals are reported as the fallbacks they were (info, one diagnosis). The same clients then request svc:8082, where nothing listens on either family: each is refused on ::1 and again on 127.0.0.1 (curl exit 7, ECONNREFUSED): 12 refusals, errors (the clients failed), no fallback.",
  "software": ["curl 7.88", "python3 socket", "node v20 http client and server"],
  "configured": {},
  "silent": false,
  "expectMode": "refused",
  "expectNotes": {"refused": "SYN answered by RST,ACK: on 8081 nothing listens on ::1 and the client fell back to 127.0.0.1 at once (info); on 8082 nothing listens on either family and the fallback was refused too (warning)", "clean": "the fallback connection, answered 200: no finding"},
  "facts": {"httpRequests": 6}
}' 8081
