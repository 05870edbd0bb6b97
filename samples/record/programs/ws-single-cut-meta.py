#!/usr/bin/env python3
"""Meta for websocket-single-idle-cut: the capture (tshark) against the clients' log and nginx's error log.
Both legs of each session are paired by their Sec-WebSocket-Key (nginx forwards it), the front leg by its
client port with the client's log. Checked: cut1 logged 1006, nginx logged one "upstream timed out ... while
proxying upgraded connection", and nginx sent the first FIN on both of cut1's legs ~2 s after the last frame
either way, within milliseconds; gone1 (killed) sent the first FIN of its front leg and nginx passed it on to
the backend right after; ping1 and bye1 ended with closing handshakes (1000)."""
import argparse, collections, json, re, subprocess

ap = argparse.ArgumentParser()
for a in ('--capture', '--meta', '--client-log', '--error-log'): ap.add_argument(a)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()

fields = ['frame.number', 'frame.time_epoch', 'tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'tcp.flags.fin', 'tcp.flags.reset',
          'http.sec_websocket_key']
out = subprocess.run(['tshark', '-r', args.capture, '-d', 'tcp.port==9001,http', '-T', 'fields', '-E', 'occurrence=f',
                      *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
legs = collections.defaultdict(lambda: {'data': [], 'close': None})
packets = 0
for line in out.splitlines():
    frame, t, stream, sport, dport, length, fin, rst, key = (line.split('\t') + [''] * 9)[:9]
    packets += 1
    leg = legs[stream]
    t = float(t)
    server_port = min(int(sport), int(dport)) if int(sport) in (8080, 9001) or int(dport) in (8080, 9001) else None
    leg['server'] = f'127.0.0.1:{8080 if 8080 in (int(sport), int(dport)) else 9001}'
    leg['clientPort'] = int(dport) if int(sport) in (8080, 9001) else int(sport)
    if key and 'key' not in leg: leg['key'] = key
    if int(length) > 0: leg['data'].append((t, int(frame)))
    if (fin == '1' or rst == '1') and leg['close'] is None:
        by = 'server' if int(sport) in (8080, 9001) else 'client'
        leg['close'] = {'t': t, 'frame': int(frame), 'by': by, 'with': 'rst' if rst == '1' else 'fin'}

tags = {}
ends = {}
for line in open(args.client_log):
    e = json.loads(line)
    if e.get('event') == 'connected': tags[e['localPort']] = e['tag']
    if e.get('event') == 'end': ends[e['tag']] = e.get('code')
front = {l['clientPort']: l for l in legs.values() if l['server'].endswith(':8080')}
upstream = {l.get('key'): l for l in legs.values() if l['server'].endswith(':9001')}
sessions = {}
for port, f in front.items():
    tag = tags[port]
    u = upstream[f['key']]
    last = max(f['data'][-1][0], u['data'][-1][0])
    sessions[tag] = {
        'client': f'127.0.0.1:{port}', 'upstreamLeg': f"127.0.0.1:{u['clientPort']} -> 127.0.0.1:9001", 'code': ends.get(tag, 'killed'),
        'frontClose': f['close'], 'upstreamClose': u['close'],
        'silenceBeforeFrontClose': round(f['close']['t'] - last, 4), 'legsClosedApartMs': round(abs(u['close']['t'] - f['close']['t']) * 1000, 3),
    }
timed_out = len(re.findall(r'upstream timed out .* while proxying upgraded connection', open(args.error_log).read()))
cut, gone = sessions['cut1'], sessions['gone1']
assert timed_out == 1, timed_out
assert cut['code'] == 1006 and cut['frontClose']['by'] == 'server' and cut['upstreamClose']['by'] == 'client', cut
# nginx re-arms its timer only for bytes 0.3 s apart: the cut comes 1.7-2.0 s after the last frame.
assert 1.65 <= cut['silenceBeforeFrontClose'] <= 2.1 and cut['legsClosedApartMs'] < 10, cut
assert gone['code'] == 'killed' and gone['frontClose']['by'] == 'client' and gone['upstreamClose']['by'] == 'client', gone
assert gone['upstreamClose']['t'] >= gone['frontClose']['t'] and gone['legsClosedApartMs'] < 10, gone
assert sessions['ping1']['code'] == 1000 and sessions['bye1']['code'] == 1000, sessions

meta = {
    'scenario': 'websocket-single-idle-cut',
    'description': 'One idle WebSocket cut by nginx 1.22 (127.0.0.1:8080, proxy_read_timeout 2s) in front of a hand-written Node WebSocket '
                   'server (127.0.0.1:9001), client, proxy and backend on one address, both legs captured: after a message each way cut1 '
                   f"stays silent and nginx closes both of its legs {cut['silenceBeforeFrontClose']} s after the last frame, without a close frame "
                   '(FIN to the backend and to the client; the client logs 1006; nginx "upstream timed out ... while proxying upgraded connection"). '
                   'Near misses: ping1 pings every second for 4 s and ends with a closing handshake; bye1 closes its idle WebSocket itself with a '
                   'closing handshake after 1 s; gone1 is killed (SIGKILL) with its tunnel idle: its kernel FINs the front leg and nginx passes '
                   'the FIN on to the backend at once, one close by the client (not a timer), on the same address as nginx.',
    'software': args.software,
    # proxy_read_timeout; one cut infers only a bound (tunnelIdleTimeoutAtMost: the silence it cut), checked in the test.
    'configured': {'nginxProxyReadTimeout': 2.0},
    'observed': {'nginxTimedOut': timed_out, 'sessions': sessions},
    'silent': False,
    'facts': {'packets': packets, 'connections': len(legs), 'proxyReadTimeoutSeconds': 2.0},
    'expect': [
        {'kind': 'tunnel-idle-timeout', 'client': cut['client'], 'server': '127.0.0.1:8080',
         'notes': f"cut1: nginx closed this idle WebSocket {cut['silenceBeforeFrontClose']} s after the last frame either way and its upstream leg "
                  f"{cut['legsClosedApartMs']} ms apart, no close frame; the client logged 1006, nginx \"upstream timed out ... while proxying upgraded connection\". "
                  'One cut: a proxy timer of at most that silence.'},
        {'kind': None, 'client': sessions['ping1']['client'], 'server': '127.0.0.1:8080', 'notes': 'ping1: pings every second, closing handshake (1000)'},
        {'kind': None, 'client': sessions['bye1']['client'], 'server': '127.0.0.1:8080', 'notes': 'bye1: its own closing handshake after 1 s idle (1000)'},
        {'kind': None, 'client': sessions['gone1']['client'], 'server': '127.0.0.1:8080',
         'notes': f"gone1: killed; its FIN first, nginx's FIN to the backend {gone['legsClosedApartMs']} ms later: one close by the client, not a timer"},
        {'kind': None, 'client': sessions['gone1']['upstreamLeg'].split(' ')[0], 'server': '127.0.0.1:9001',
         'notes': "gone1's upstream leg: nginx relayed its client's close"},
    ],
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(meta['observed'], indent=1))
