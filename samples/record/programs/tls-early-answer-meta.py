#!/usr/bin/env python3
"""Meta for the http.client-over-TLS stale-reuse samples (keepalive-race-tls-early-answer, keepalive-race-tls-haproxy), from the capture (tshark: TLS record headers) and the programs' logs."""
import argparse
import json
import subprocess

ap = argparse.ArgumentParser()
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--client-log', required=True)
ap.add_argument('--access-log', required=True)
ap.add_argument('--keepalive-timeout', type=float, required=True)
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--software', action='append', default=[])
ap.add_argument('--scenario', default='keepalive-race-tls-early-answer')
ap.add_argument('--description', default=None)
ap.add_argument('--closer', default='nginx', help='who closes the idle TLS connections, in the notes')
args = ap.parse_args()

rows = subprocess.run(
    ['tshark', '-r', args.capture, '-o', f'tls.desegment_ssl_records:TRUE', '-d', f'tcp.port=={args.port},tls', '-T', 'fields',
     '-e', 'frame.time_epoch', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset',
     '-e', 'tcp.len', '-e', 'tls.record.content_type', '-e', 'tls.record.opaque_type'],
    check=True, capture_output=True, text=True).stdout.splitlines()
conns = {}
for line in rows:
    ts, sport, dport, syn, fin, rst, length, types, opaque = (line.split('\t') + [''] * 9)[:9]
    # TLS 1.3 records after the hellos carry their outer type as opaque_type (23).
    types = ','.join(t for t in (types, opaque) if t)
    from_client = int(dport) == args.port
    cport = int(sport) if from_client else int(dport)
    c = conns.setdefault(cport, {'events': []})
    c['events'].append((float(ts), from_client, syn == '1' or syn == 'True', fin == '1' or fin == 'True', rst == '1' or rst == 'True', int(length or 0), types))

client_log = [json.loads(l) for l in open(args.client_log)]
access = [l for l in open(args.access_log).read().splitlines() if l.strip()]
failed = [r for r in client_log if not r['ok']]
expect = []
observed = {'idleCloseSeconds': [], 'staleDeltaMs': [], 'earlyAnswers': 0}
for cport, c in sorted(conns.items()):
    ev = c['events']
    app = [e for e in ev if '23' in e[6].split(',')]
    fin = next((e for e in ev if not e[1] and e[3]), None)
    # The server's close begins with its close_notify: a type-21 record in TLS 1.2, an encrypted one
    # (type 23) in TLS 1.3; either way its last payload within 50 ms before its FIN, else the FIN.
    alert = None
    if fin is not None:
        alert = next((e for e in ev if not e[1] and e[5] > 0 and fin[0] - 0.05 <= e[0] <= fin[0]), fin)
    # An early answer: server application data between two client application-data records with no pause.
    for a, b, d in zip(app, app[1:], app[2:]):
        if a[1] and not b[1] and d[1] and d[0] - b[0] < 0.005:
            observed['earlyAnswers'] += 1
    stale = None
    if alert is not None:
        before = [e for e in app if e[0] < alert[0] - 0.05]
        observed['idleCloseSeconds'].append(round(alert[0] - before[-1][0], 4))
        after = [e for e in app if e[1] and e[0] > fin[0]]
        if after:
            stale = after[0]
            observed['staleDeltaMs'].append(round((stale[0] - fin[0]) * 1000, 1))
    if stale is not None:
        expect.append({'kind': 'keepalive-race', 'client': f'127.0.0.1:{cport}', 'server': f'127.0.0.1:{args.port}',
                       'notes': f'stale reuse over TLS: the POST left {round((stale[0] - fin[0]) * 1000, 1)} ms after {args.closer}\'s close_notify + FIN; {args.closer}\'s kernel answered RST; the client logged SSLEOFError',
                       'evidence': {'form': 'stale-reuse', 'idleCloseSeconds': round(alert[0] - [e for e in app if e[0] < alert[0] - 0.05][-1][0], 3)}})
    else:
        expect.append({'kind': None, 'client': f'127.0.0.1:{cport}', 'notes': 'no request met a close here'})
meta = {
    'scenario': args.scenario,
    'description': args.description or (
        f'nginx over TLS 1.2 (keepalive_timeout {args.keepalive_timeout:g}s, `return 200` for every POST) and one Python http.client '
        'HTTPSConnection posting after pauses. nginx answers on the request head alone; http.client writes the 300-byte body as its own '
        'TLS record right after the head, so each exchange reads head, answer, body. nginx closes each idle connection 1 s after with '
        'close_notify + FIN; the requests after the longer pauses go out on the closed connection (stale reuse), nginx\'s kernel answers '
        'RST and http.client raises ssl.SSLEOFError. The idle timeout must be inferred from the closes although each connection\'s last '
        'client record (the body) came after the answer.'),
    'software': args.software,
    'configured': {'serverIdleTimeout': args.keepalive_timeout},
    'observed': observed,
    'clientLog': client_log,
    'serverLog': {'accessLogLines': len(access), 'statuses': sorted({l.split('"')[2].split()[0] for l in access if l.count('"') >= 2})},
    'facts': {'connections': len(conns), 'requests': len(client_log), 'failedRequests': len(failed),
              'clientErrors': sorted({r['error'].split(':')[0] for r in failed})},
    'expect': expect,
}
if len(failed) != len([e for e in expect if e['kind'] == 'keepalive-race']):
    raise SystemExit(f'meta: {len(failed)} client failures but {len([e for e in expect if e["kind"] == "keepalive-race"])} races on the wire')
if len(access) != len(client_log) - len(failed):
    raise SystemExit(f'meta: the server logged {len(access)} requests, the client {len(client_log) - len(failed)} answered')
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
print(json.dumps(observed))
