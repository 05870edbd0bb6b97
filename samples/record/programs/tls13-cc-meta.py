#!/usr/bin/env python3
"""Checks samples/unanswered-request-tls13-client-cert.pcap against the programs' logs and writes its
meta.json (samples/record/unanswered-request-tls13-client-cert.sh), or refuses (exit 1).

Per connection to 127.0.0.2:8443 it reads from tshark the TLS record headers each way: the client's
second flight (its application-data records after the server's first flight, before the server's
next record), the server's records after it, requests (access log) and the close."""
import argparse
import json
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
for name in ('capture', 'meta', 'client-log', 'access-log', 'error-log', 'backend-log', 'nginx-version', 'curl-version', 'openssl-version'):
    ap.add_argument('--' + name, required=True)
a = ap.parse_args()

fields = ['frame.number', 'frame.time_relative', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.fin', 'tcp.flags.reset', 'tls.record.content_type', 'tls.record.opaque_type', 'tls.record.length']
out = subprocess.run(['tshark', '-r', a.capture, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,'] + [x for f in fields for x in ('-e', f)],
                     check=True, capture_output=True, text=True).stdout
conns = {}
for line in out.splitlines():
    frame, ts, sport, dport, fin, rst, ctype, otype, lengths = (line.split('\t') + [''] * 9)[:9]
    from_client = dport == '8443'
    port = int(sport if from_client else dport)
    c = conns.setdefault(port, {'events': []})
    types = [t for t in (ctype.split(',') if ctype else [])]
    lens = [int(x) for x in lengths.split(',')] if lengths else []
    # Records without a clear content type are TLS 1.3 encrypted (opaque type 23).
    recs = []
    ti = 0
    for i, n in enumerate(lens):
        t = int(types[ti]) if ti < len(types) and types[ti] else 23
        ti += 1
        recs.append((t, n))
    if otype:
        # tshark lists content_type only for records it names; opaque ones are application data
        named = [int(t) for t in types if t]
        recs = []
        for i, n in enumerate(lens):
            recs.append((named[i] if i < len(named) else 23, n))
    c['events'].append({'frame': int(frame), 'ts': float(ts), 'client': from_client, 'fin': fin in ('1', 'True'), 'rst': rst in ('1', 'True'), 'records': recs})

def describe(port, c):
    ev = c['events']
    server_flight = None
    flight, after, close = [], [], []
    stage = 0
    for e in ev:
        if e['fin'] or e['rst']:
            close.append(f"{'client' if e['client'] else 'server'} {'RST' if e['rst'] else 'FIN'} (frame {e['frame']})")
        app = [n for t, n in e['records'] if t == 23]
        if not app:
            continue
        if stage == 0 and not e['client']:
            stage = 1
            server_flight = e['frame']
        elif stage == 1 and e['client']:
            flight += app
            c.setdefault('flightFrame', e['frame'])
        elif stage >= 1 and not e['client'] and flight:
            stage = 2
            after.append((e['frame'], app))
        elif stage == 2 and e['client']:
            after.append((e['frame'], ['client'] + app))
    return {'serverFlightFrame': server_flight, 'clientFlightFrame': c.get('flightFrame'), 'clientAppRecordsAfterServerFlight': flight,
            'afterIt': [{'frame': f, 'records': r} for f, r in after[:6]], 'closeSequence': close}

clients = [l.rstrip('\n').split('\t') for l in open(a.client_log) if l.strip()]
access = [l.strip() for l in open(a.access_log) if l.strip()]
backend = [l.strip() for l in open(a.backend_log) if l.strip()]
errors = [re.sub(r'^\S+ \S+ ', '', l.strip()) for l in open(a.error_log) if 'client' in l and ('closed' in l or 'timed out' in l or 'SSL' in l)]
access_by_port = {}
for l in access:
    m = re.match(r'127\.0\.0\.1:(\d+) "([^"]*)" (\d+)', l)
    if m:
        access_by_port.setdefault(int(m.group(1)), []).append((m.group(2), int(m.group(3))))

problems = []
observed = {}
expect = []
fixed = {int(c[1]): c for c in clients if c[1] != '-'}
sclients = [c for c in clients if c[0] == 's']
for port in sorted(conns):
    d = describe(port, conns[port])
    lane = fixed[port][0] if port in fixed else 's'
    d['lane'] = lane
    d['clientLog'] = fixed[port][2:] if port in fixed else None
    d['accessLog'] = access_by_port.get(port, [])
    observed[f'127.0.0.1:{port}'] = d
    flight = d['clientAppRecordsAfterServerFlight']
    if lane in ('a', 'b', 's'):
        if d['accessLog']:
            problems.append(f'{port}: lane {lane} made a request')
        if lane == 'a' and len(flight) != 2:
            problems.append(f'{port}: flight {flight}, expected empty Certificate + Finished')
        if lane == 'b' and len(flight) != 3:
            problems.append(f'{port}: flight {flight}, expected Certificate + CertificateVerify + Finished')
        expect.append({'kind': None, 'client': f'127.0.0.1:{port}', 'server': '127.0.0.2:8443',
                       'notes': f'lane {lane}: TLS 1.3 handshake behind a CertificateRequest, the client\'s second flight {flight} (its Certificate{", CertificateVerify" if len(flight) == 3 else ""} and Finished), then no request: the server\'s session tickets answer the handshake; healthy.'})
    elif lane == 'c':
        if d['accessLog'] != [('GET /ok HTTP/1.1', 200)] and d['accessLog'] != [('GET /ok HTTP/2.0', 200)]:
            problems.append(f'{port}: expected one answered /ok, got {d["accessLog"]}')
        expect.append({'kind': None, 'client': f'127.0.0.1:{port}', 'server': '127.0.0.2:8443',
                       'notes': f'lane c: curl GET /ok answered 200 after the flight {flight}; healthy.'})
    elif lane == 'd':
        if fixed[port][2] != '28' or [s for _, s in d['accessLog']] != [499]:
            problems.append(f'{port}: expected curl exit 28 and nginx 499, got {fixed[port][2]} {d["accessLog"]}')
        expect.append({'kind': 'unanswered-request', 'client': f'127.0.0.1:{port}', 'server': '127.0.0.2:8443',
                       'notes': f'lane d: curl --max-time 1.5 GET /hang ({"with" if port == 42031 else "without"} a client certificate; flight {flight}), proxied to a backend that never answers: curl gave up at 1.5 s (exit 28), nginx logged 499. A real request after the mTLS flight, never answered: must stay reported.',
                       'evidence': {'encrypted': True}})
if len([p for p in observed.values() if p['lane'] == 's']) != 2 or any(c[2] != '0' for c in sclients):
    problems.append(f's_client connections: {len([p for p in observed.values() if p["lane"] == "s"])}, exits {[c[2] for c in sclients]}')
if len(backend) != 2:
    problems.append(f'backend read {len(backend)} requests, expected 2')
if len(observed) != 10:
    problems.append(f'{len(observed)} connections, expected 10')
if problems:
    print('tls13-cc-meta: refusing:\n  ' + '\n  '.join(problems), file=sys.stderr)
    sys.exit(1)

meta = {
    'scenario': 'unanswered-request-tls13-client-cert',
    'software': [f'nginx/{a.nginx_version} (Debian; ssl_protocols TLSv1.3, ssl_verify_client optional, one worker)', a.curl_version, a.openssl_version + ' (s_client)',
                 'Python 3.11 ssl (programs/tls13-cc-clients.py), Python socket backend that never answers (programs/tls13-cc-backend.py)'],
    'description': ('TLS 1.3 to nginx 1.22 on 127.0.0.2:8443 with ssl_verify_client optional (a CertificateRequest in every handshake), on one namespace\'s loopback; '
                    'only port 8443 captured. The client\'s second flight is then its Certificate (25 bytes empty) [CertificateVerify] and Finished. Lanes: (a) Python ssl without a certificate, '
                    'handshake, 0.3 s idle, FIN (2); (b) Python ssl with a certificate, handshake, 0.3 s idle, close_notify + FIN (2); (s) openssl s_client -tls1_3 without then with the certificate, stdin closed after 0.3 s (2); '
                    '(c) curl GET /ok with and without the certificate, answered 200 (2); (d) curl --max-time 1.5 GET /hang with and without the certificate, proxied to a backend that never answers: '
                    'curl exit 28, nginx 499 (2): the only findings.'),
    'configured': {},
    'facts': {'clientLog': ['\t'.join(c) for c in clients], 'accessLog': access, 'backendLog': backend, 'nginxErrorLog': errors[:20]},
    'observed': observed,
    'expect': expect,
}
with open(a.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
print(f'wrote {a.meta}: {len(observed)} connections, {sum(1 for e in expect if e["kind"])} expected finding(s)')
