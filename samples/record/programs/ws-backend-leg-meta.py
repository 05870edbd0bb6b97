#!/usr/bin/env python3
"""Meta for websocket-idle-proxy-timeout-backend-leg: the capture (tshark) against the clients' and the
backend's logs and nginx's error log. Each idle session: the client logged code 1006 (no close frame),
nginx logged "upstream timed out ... while proxying upgraded connection", and on its upstream leg
(the only one captured) nginx's FIN came ~3 s after the last frame. The pinging session and the
session closed by a closing handshake (code 1000) are the near misses."""
import argparse, collections, json, re, subprocess

ap = argparse.ArgumentParser()
for a in ('--capture', '--meta', '--client-log', '--error-log'): ap.add_argument(a)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()

fields = ['frame.time_epoch', 'tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'tcp.flags.fin', 'tcp.flags.reset']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
legs = collections.defaultdict(lambda: {'data': [], 'close': None, 'closer': None})
for line in out.splitlines():
    t, stream, sport, dport, length, fin, rst = line.split('\t')
    t = float(t); leg = legs[stream]
    if int(length) > 0: leg['data'].append(t)
    if (fin == '1' or rst == '1') and leg['close'] is None:
        leg['close'] = t; leg['closer'] = 'proxy' if dport == '9001' else 'backend'
silences = sorted(round(l['close'] - l['data'][-1], 4) for l in legs.values() if l['closer'] == 'proxy' and l['close'] - l['data'][-1] > 1)
ends = collections.Counter()
for line in open(args.client_log):
    e = json.loads(line)
    if e.get('event') == 'end': ends[f"{e['tag']} {e.get('code')}"] += 1
timed_out = len(re.findall(r'upstream timed out .* while proxying upgraded connection', open(args.error_log).read()))
assert timed_out == 3 and len(silences) == 3 and all(2.9 <= s <= 3.1 for s in silences), (timed_out, silences)
meta = {
    'scenario': 'websocket-idle-proxy-timeout-backend-leg',
    'description': 'Idle WebSockets through nginx 1.22 (127.0.0.2:8080, proxy_read_timeout 3s) to a hand-written Node WebSocket server '
                   '(127.0.0.3:9001), captured on the upstream leg only (tcp port 9001): nginx closes three idle sessions after 3 s '
                   'with a bare FIN on both legs (the clients log 1006), the capture holds only the FIN nginx sends the backend. '
                   'Near misses: a session that pings every second and ends with a closing handshake (1000), and one closed by its '
                   'client with a closing handshake after 1 s of silence.',
    'software': args.software,
    'configured': {'proxyReadTimeoutSeconds': 3.0},
    'observed': {'nginxTimedOut': timed_out, 'proxyClosedAfterSilence': silences, 'clientEnds': dict(ends)},
    'silent': False,
    'facts': {'tunnelIdleTimeout': 3.0, 'idleSessions': 3},
    'expect': [{'kind': 'tunnel-idle-timeout', 'server': '127.0.0.3:9001',
                'notes': "nginx's proxy_read_timeout seen from the upstream leg alone: its client (nginx, 127.0.0.2) closed 3 WebSockets after ~3 s of silence without a close frame; the pinging session and the one closed by a closing handshake stay silent"}],
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(meta['observed'], indent=1))
