#!/usr/bin/env python3
"""Checks connection-refused-two-outages' capture against its ground truth and writes its meta.

Ground truth: events.log (each kill with its time, each server listening), clients.log (each
request's outcome). From the capture (tshark): every connection attempt, refused (SYN answered by
RST) or accepted (SYN-ACK). Checked: every refusal of a port falls in one of its down windows (from
a kill to the next listening), each down window of 8080 has refusals, 8080 accepted connections
between its two outages, 8081 had one outage. Refuses (exit 1) otherwise.
"""
import argparse, json, subprocess, sys
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--events', required=True)
ap.add_argument('--clients', required=True)
ap.add_argument('--software', nargs='*', default=[])
a = ap.parse_args()

events = [json.loads(l) for l in open(a.events) if l.strip()]
clients = [json.loads(l) for l in open(a.clients) if l.strip()]
t0 = next(e['t'] for e in events if e['event'] == 'load')

down = defaultdict(list)  # port -> [(from, to)]
for e in events:
    if e['event'] == 'kill':
        down[e['port']].append([e['t'], None])
    elif e['event'] == 'listening' and down[e['port']] and down[e['port']][-1][1] is None:
        down[e['port']][-1][1] = e['t']

out = subprocess.run(['tshark', '-r', a.capture, '-Y', 'tcp.flags.syn==1 || tcp.flags.reset==1', '-T', 'fields',
                      '-e', 'frame.time_epoch', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags.syn',
                      '-e', 'tcp.flags.ack', '-e', 'tcp.flags.reset', '-e', 'tcp.stream'], capture_output=True, text=True, check=True).stdout
syn, synack, rst = {}, {}, {}
for line in out.splitlines():
    ts, sp, dp, s, ack, r, stream = line.split('\t')
    ts, sp, dp = float(ts), int(sp), int(dp)
    if s == '1' and ack == '0': syn.setdefault(stream, (ts, dp, sp))
    elif s == '1': synack.setdefault(stream, ts)
    elif r == '1' and sp in (8080, 8081): rst.setdefault(stream, ts)
refused = defaultdict(list)
accepted = defaultdict(list)
for stream, (ts, port, cport) in syn.items():
    if stream in synack: accepted[port].append(synack[stream])
    elif stream in rst: refused[port].append(rst[stream])

wrong = []
windows = {}
for port in (8080, 8081):
    ws = down[port]
    per = []
    for f, t in ws:
        inside = sorted(r for r in refused[port] if f <= r <= t)
        between = [x for x in accepted[port] if inside and inside[0] < x < inside[-1]]
        per.append({'killAt': round(f - t0, 3), 'listeningAt': round(t - t0, 3), 'downSeconds': round(t - f, 3),
                    'refusals': len(inside), 'firstRefusalAt': round(inside[0] - t0, 3) if inside else None,
                    'lastRefusalAt': round(inside[-1] - t0, 3) if inside else None,
                    'nextAcceptedAfterLastRefusalMs': round((min((x for x in accepted[port] if x > inside[-1]), default=t) - inside[-1]) * 1000, 1) if inside else None})
        if not inside: wrong.append(f'{port}: no refusal in the down window {f - t0:.3f}-{t - t0:.3f}')
        if between: wrong.append(f'{port}: a connection accepted between the refusals of one down window')
    outside = [r for r in refused[port] if not any(f <= r <= t for f, t in ws)]
    if outside: wrong.append(f'{port}: {len(outside)} refusals outside its down windows')
    windows[port] = per
if len(windows[8080]) != 2 or len(windows[8081]) != 1: wrong.append('expected two outages of 8080 and one of 8081')
else:
    gap = [x for x in accepted[8080] if down[8080][0][1] < x < down[8080][1][0]]
    if len(gap) < 5: wrong.append(f'8080: only {len(gap)} connections accepted between its outages')
if wrong:
    print('fxo-outages-meta: the recording is not what was meant:', *wrong, sep='\n  ', file=sys.stderr)
    sys.exit(1)

errors = defaultdict(int)
for c in clients:
    errors[(c['port'], c['lane'], c.get('error', 'ok'))] += 1
meta = {
    'scenario': 'connection-refused-two-outages',
    'description': ('Two Node http servers on 127.0.0.1:8080 and :8081 under a keep-alive lane (http.Agent keepAlive, maxSockets 1) and '
                    'a connection-per-request lane each, a GET every 100 ms per lane for 12 s. 8080 is killed (SIGKILL) and restarted '
                    '~1.5 s later, serves normally for ~5 s (connections accepted), then gets SIGTERM (Node exits at once) and is '
                    'restarted ~1 s later: two separate outages. 8081, the near miss, is killed once and restarted ~3 s later: one outage.'),
    'software': a.software,
    'configured': {'serverKeepAliveTimeoutSeconds': 30.0, 'requestIntervalMs': 100, 'loadSeconds': 12},
    'observed': {'outages': {str(p): w for p, w in windows.items()},
                 'acceptedBetween8080Outages': len([x for x in accepted[8080] if down[8080][0][1] < x < down[8080][1][0]]),
                 'refusals': {str(p): len(refused[p]) for p in (8080, 8081)},
                 'accepted': {str(p): len(accepted[p]) for p in (8080, 8081)},
                 'clientOutcomes': {f'{p} {lane} {o}': n for (p, lane, o), n in sorted(errors.items())}},
    'silent': False,
    'facts': {'refusals8080': len(refused[8080]), 'refusals8081': len(refused[8081]), 'outages8080': 2, 'outages8081': 1},
    'expect': [
        {'kind': 'connection-refused', 'server': '127.0.0.1:8080',
         'notes': 'two outages (SIGKILL then restart; SIGTERM then restart) with connections accepted between: the diagnosis must list 2 separate outages, each with its own count and window'},
        {'kind': 'connection-refused', 'server': '127.0.0.1:8081',
         'notes': 'near miss: one kill and one restart: one outage, not split'},
    ],
}
json.dump(meta, open(a.meta, 'w'), indent=2)
print(f"fxo-outages-meta: wrote {a.meta}: 8080 outages {windows[8080]}, 8081 {windows[8081]}")
