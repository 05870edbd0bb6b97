#!/usr/bin/env bash
# A backend taken out from behind a load-balanced address, as kube-proxy does when a pod goes away:
# three namespaces, clients (10.66.1.2) - a Linux router DNATing the Service address 10.66.3.10:80
# to two backends, every other new connection to each (iptables statistic nth) - two Node http
# servers on 10.66.2.2:8080 (A) and 10.66.2.3:8080 (B), keepAliveTimeout 120 s (they close nothing
# while idle). Six Python http.client clients each keep one connection and send a GET every 1.0 s
# (12 s read timeout), started 50 ms apart. 4.5 s in, backend B's DNAT rule and its address are deleted, its process
# left running: B's connections go dead at that moment (their next request retransmitted, the
# router answering ICMP unreachable, until the client's timeout), while A's connections, reused
# after the same 1.0 s idle, go on being answered. Not a middlebox's idle timeout: the answered
# reuses contradict one (middlebox-idle-timeout tells it as the path going away at one moment).
# BACKEND_STOP=1 (keepalive-race-backend-stop-dnat.sh) kills B's process as well, with four clients:
# B's two idle connections get a FIN at one instant, whatever their idle age, a stop and no idle timer
# (their ages depend on when the kill falls in the clients' 1 s cycles: in the committed recording
# 0.31 and 0.445 s, less than twofold apart, which main took for a 0.31 s idle timeout).
# Captured on the client's veth. Writes samples/$SCENARIO.pcap and .meta.json. Bounded: ~35 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump ip iptables

STOP="${BACKEND_STOP:-0}"
# Four clients when B is stopped: B holds two connections, closed at one instant (a pair is no burst).
if [ "$STOP" = 1 ]; then SCENARIO=keepalive-race-backend-stop-dnat; N=4; else SCENARIO=middlebox-backend-gone-dnat; N=6; fi
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
VIP=10.66.3.10

cc_netns_up fxd-r                          # the router (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add fxd-c
ccb_netns_add fxd-s
ip link add fxd-c0 type veth peer name fxd-rc
ip link add fxd-s0 type veth peer name fxd-rs
ip link set fxd-c0 netns fxd-c; ip link set fxd-rc netns fxd-r
ip link set fxd-s0 netns fxd-s; ip link set fxd-rs netns fxd-r
ip -n fxd-c addr add 10.66.1.2/24 dev fxd-c0; ip -n fxd-c link set fxd-c0 up
ip -n fxd-r addr add 10.66.1.1/24 dev fxd-rc; ip -n fxd-r link set fxd-rc up
ip -n fxd-r addr add 10.66.2.1/24 dev fxd-rs; ip -n fxd-r link set fxd-rs up
ip -n fxd-s addr add 10.66.2.2/24 dev fxd-s0; ip -n fxd-s addr add 10.66.2.3/24 dev fxd-s0; ip -n fxd-s link set fxd-s0 up
ip -n fxd-c route add default via 10.66.1.1
ip -n fxd-s route add default via 10.66.2.1
cc_in sysctl -qw net.ipv4.ip_forward=1
ip netns exec fxd-c ethtool -K fxd-c0 tso off gso off gro off >/dev/null 2>&1 || true
# Only a connection's first packet crosses the nat table: every other new connection goes to B.
cc_in iptables -t nat -A PREROUTING -d "$VIP" -p tcp --dport 80 -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 10.66.2.3:8080
cc_in iptables -t nat -A PREROUTING -d "$VIP" -p tcp --dport 80 -j DNAT --to-destination 10.66.2.2:8080

cat > "$WORK/server.js" <<'JS'
const http = require('http');
const [host, port, name] = [process.argv[2], +process.argv[3], process.argv[4]];
const ts = () => (Date.now() / 1000).toFixed(3);
const srv = http.createServer((req, res) => {
  const body = `hello from ${name} ${req.url}\n`;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
srv.keepAliveTimeout = 120000; srv.headersTimeout = 121000; srv.requestTimeout = 0;
srv.on('connection', (s) => { const id = `${s.remoteAddress}:${s.remotePort}`; console.log(`${ts()} ${name} open ${id}`); s.on('close', () => console.log(`${ts()} ${name} close ${id}`)); });
srv.listen(port, host, () => console.log(`${ts()} ${name} listening`));
JS
cat > "$WORK/client.py" <<'PY'
import http.client, sys, time
host, n = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection(host, 80, timeout=12)
local = None
for i in range(n):
    time.sleep(0 if i == 0 else 1.0); t0 = time.time()
    try:
        conn.request('GET', f'/py/{i}'); r = conn.getresponse(); r.read(); local = conn.sock.getsockname()[1]
        print(f'{t0:.3f} ok {i} local={local}', flush=True)
    except Exception as e:
        print(f'{t0:.3f} error {i} local={local} {type(e).__name__}', flush=True); conn.close(); local = None
PY

ccb_capture_start fxd-c fxd-c0 "$OUT" "tcp port 80"
ccb_bg fxd-s node "$WORK/server.js" 10.66.2.2 8080 A; A_PID="$CC_LAST_PID"
ccb_bg fxd-s node "$WORK/server.js" 10.66.2.3 8080 B; B_PID="$CC_LAST_PID"
ccb_wait_port fxd-s 8080; sleep 0.3
CLIENTS=()
for k in $(seq 1 "$N"); do
  ip netns exec fxd-c timeout 60 python3 "$WORK/client.py" "$VIP" 12 > "$WORK/py$k.log" 2>&1 &
  CC_PIDS+=("$!"); CLIENTS+=("$!"); sleep 0.05
done
sleep 4.5
cc_in iptables -t nat -D PREROUTING 1
if [ "$STOP" = 1 ]; then ccb_stop "$B_PID" KILL; fi
ip -n fxd-s addr del 10.66.2.3/24 dev fxd-s0
for pid in "${CLIENTS[@]}"; do wait "$pid" || true; done
sleep 0.5
cc_capture_stop

# Which clients' connections were B's: those whose request failed.
python3 - "$SCENARIO" "$OUT" "$STOP" "$WORK" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$(uname -r)" "$(node -v)" <<'PY'
import glob, json, re, sys
scenario, out, stop, work, meta, kernel, nodev = sys.argv[1:8]
failed = []
for f in sorted(glob.glob(f'{work}/py*.log')):
    for line in open(f):
        m = re.match(r'[\d.]+ error \d+ local=(\d+) (\w+)', line)
        if m and m.group(1) != 'None': failed.append((int(m.group(1)), m.group(2)))
if not failed: sys.exit('record: no request failed: backend B had no connection')
kind = 'keepalive-race' if stop == '1' else 'middlebox-idle-timeout'
want = 'RemoteDisconnected' if stop == '1' else 'TimeoutError'
if any(e != want for _, e in failed): sys.exit(f'record: unexpected client errors {failed}')
gone = 'its process killed as well (SIGKILL): the kernel closed its idle connections with a FIN at one instant, whatever their idle age, and each client reused its connection after 1.0 s idle, after the FIN (Python http.client: RemoteDisconnected)' if stop == '1' else 'its process left running: its connections went dead at that moment, each client\'s next request (after 1.0 s idle) retransmitted with nothing back (the router answers ICMP unreachable, not in the capture) until the 12 s timeout (Python: TimeoutError)'
json.dump({
  'scenario': scenario,
  'description': f'A backend taken out from behind a load-balanced address (kube-proxy removing a pod). Three network namespaces: {"four" if stop == "1" else "six"} Python 3 http.client clients on 10.66.1.2, a Linux {kernel} router DNATing 10.66.3.10:80 to two Node {nodev} http servers (keepAliveTimeout 120 s), 10.66.2.2:8080 (A) and 10.66.2.3:8080 (B), every other new connection to each. Each client keeps one connection and sends a GET every 1.0 s. 4.5 s in, backend B\'s DNAT rule and address were deleted, {gone}; then it reconnected (to A). Connections to A, reused after the same 1.0 s idle, were answered throughout: no idle timeout on the path or the server. Captured on the client\'s veth (the Service address only).',
  'configured': {},
  'silent': False,
  'expect': [{'kind': kind, 'client': f'10.66.1.2:{p}', 'server': '10.66.3.10:80', 'notes': f'backend B\'s connection, its request after 1.0 s idle failed ({e})'} for p, e in failed],
}, open(meta, 'w'), indent=2)
open(meta, 'a').write('\n')
print(f'{scenario}: {len(failed)} failed requests on B\'s connections')
PY
