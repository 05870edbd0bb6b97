#!/usr/bin/env python3
"""Writes samples/tls-handshake-failed.meta.json from the capture (tshark: per connection, which
side sent which TLS records and alerts, its FIN or RST) checked against the programs' own logs:
curl's exit codes and errors and Go's errors (client.log), nginx's error and access logs, the
Python listeners' log. Each lane's connections come from fixed client ports (the recorder's curl
--local-port), so every connection is named; the expected findings are one per server and cause."""
import argparse, json, re, subprocess
from collections import defaultdict

ap = argparse.ArgumentParser()
for name in ['capture', 'meta', 'client-log', 'error-log', 'access-log', 'listener-log', 'nginx-version', 'curl-version']:
    ap.add_argument('--' + name, required=True)
a = ap.parse_args()

fields = ['frame.number', 'frame.time_epoch', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.len',
          'tls.record.content_type', 'tls.record.length', 'tls.alert_message.level', 'tls.alert_message.desc', 'http.response.code']
out = subprocess.run(['tshark', '-r', a.capture, '-d', 'tcp.port==8080,http', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=/']
                     + sum([['-e', f] for f in fields], []), capture_output=True, text=True, check=True).stdout
SERVER_PORTS = {8443, 9443, 7443, 8080, 6443, 5443, 8081}
conns = defaultdict(list)
for line in out.splitlines():
    p = dict(zip(fields, line.split('\t')))
    sport, dport = int(p['tcp.srcport']), int(p['tcp.dstport'])
    from_client = dport in SERVER_PORTS
    port, server = (sport, dport) if from_client else (dport, sport)
    conns[port].append({'frame': int(p['frame.number']), 't': float(p['frame.time_epoch']), 'server': server, 'c': from_client,
                        'fin': p['tcp.flags.fin'] == '1', 'rst': p['tcp.flags.reset'] == '1', 'len': int(p['tcp.len'] or 0),
                        'types': [int(x) for x in re.findall(r'\d+', p['tls.record.content_type'])],
                        'lengths': [int(x) for x in re.findall(r'\d+', p['tls.record.length'])],
                        'alert': [int(x) for x in re.findall(r'\d+', p['tls.alert_message.desc'])],
                        'status': p['http.response.code']})

clients = {}
for line in open(a.client_log):
    v = line.rstrip('\n').split('\t')
    if v[0] == 'f':  # the Go client: lane, URL, port, error|status, text
        clients[int(v[2])] = {'lane': 'f', 'exit': v[3], 'said': v[4]}
    else:
        clients[int(v[1])] = {'lane': v[0], 'exit': int(v[2]), 'said': v[3]}
errors = [l for l in open(a.error_log, errors='replace') if 'while SSL handshaking' in l or 'plain HTTP' in l]
access = open(a.access_log, errors='replace').read().splitlines()
listener = open(a.listener_log).read().splitlines()


def facts(port):
    pk = conns[port]
    data = [p for p in pk if p['len'] > 0]
    first_close = next((p for p in pk if p['fin'] or p['rst']), None)
    alert = next((p for p in data if p['alert']), None)
    enc = next((p for p in data if p['c'] and 19 in p['lengths']), None)
    return {'server': f"127.0.0.{3 if pk[0]['server'] == 8081 else 2}:{pk[0]['server']}", 'frames': len(pk),
            'alert': {'by': 'client' if alert['c'] else 'server', 'description': alert['alert'][0], 'frame': alert['frame']} if alert else None,
            'clientEncryptedAlertFrame': enc['frame'] if enc and not alert else None,
            'firstClose': {'by': 'client' if first_close['c'] else 'server', 'how': 'rst' if first_close['rst'] else 'fin', 'frame': first_close['frame']} if first_close else None,
            'serverFirstBytes': next((p for p in data if not p['c']), {'frame': None})['frame'],
            'httpStatus': next((p['status'] for p in data if p['status']), None)}


LANES = {
    'a13': ('alert', 'client sends unknown_ca (48) in clear (OpenSSL\'s TLS 1.3 client before its Finished)'),
    'a12': ('alert', 'client sends unknown_ca (48) in clear (TLS 1.2)'),
    'b': ('alert', 'server sends protocol_version (70)'),
    'c': ('alert', 'server sends unrecognized_name (112)'),
    'd': ('plain-http-to-tls-port', 'plain HTTP to the TLS port, answered 400'),
    'e': ('not-tls', 'ClientHello to the plain HTTP port, answered 400 in clear'),
    'f': ('encrypted-alert', "Go's TLS 1.3 client: change_cipher_spec then an encrypted alert (19-byte record)"),
    'g': ('closed', 'the listener closed right after the ClientHello'),
    'h': ('closed', 'the silent listener never answered; curl gave up after 1.5 s'),
    'j': ('alert', 'server sends handshake_failure (40): no shared cipher (an RSA-only client, an ECDSA certificate)'),
    'k-verify': ('verify-after-handshake', "nginx as a proxy (proxy_ssl_verify on) completes the handshake, rejects the certificate, closes with close_notify and answers 502"),
    'k-nosni': ('alert', 'nginx as a proxy without proxy_ssl_server_name: no SNI, unrecognized_name (112), a 502'),
    'i': (None, 'near miss'),
}
per_lane = defaultdict(list)
for port, c in sorted(clients.items()):
    per_lane[c['lane']].append(port)
# nginx's upstream connections (ports it chose): in the order the proxy lanes ran, to 8443 then 7443.
upstream = sorted((p for p in conns if p not in clients), key=lambda p: conns[p][0]['t'])
for port in upstream:
    server = conns[port][0]['server']
    lane = 'k-verify' if server == 8443 else 'k-nosni' if len(per_lane['k-nosni']) < 2 else 'i-proxy'
    per_lane[lane].append(port)
    clients[port] = {'lane': lane, 'exit': None, 'said': 'nginx upstream connection'}

observed, expect = {}, []
for port in sorted(conns):
    f = facts(port)
    c = clients.get(port, {'lane': '?', 'exit': None, 'said': ''})
    observed[f'127.0.0.1:{port}'] = {'lane': c['lane'], 'clientExit': c['exit'], 'clientSaid': c['said'][:160], **f}

groups = {}
# One finding per server and cause: the proxy's handshakes without SNI fail as lane c's do (the same
# server, side and alert), so they are counted in lane c's finding.
MERGED = {'a13': 'a12', 'c': 'k-nosni'}
for lane in ['a13', 'b', 'c', 'd', 'e', 'f', 'g', 'j', 'k-verify', 'h']:
    ports = per_lane[lane] + per_lane[MERGED.get(lane, '')]
    cause, what = LANES[lane]
    if lane in MERGED:
        what += f'; with lane {MERGED[lane]}: {LANES[MERGED[lane]][1]}' if MERGED[lane] in LANES else ''
    server = facts(ports[0])['server']
    expect.append({'kind': 'tls-handshake-failed', 'client': f'127.0.0.1:{ports[0]}', 'server': server,
                   'notes': f'lane {lane}: {what}; {len(ports)} connection(s) from ports {ports}, one finding',
                   'evidence': {'cause': cause, 'connections': len(ports)}})
for port in per_lane['k']:
    expect.append({'kind': None, 'client': f'127.0.0.1:{port}', 'server': '127.0.0.3:8081',
                   'notes': "the proxy's client leg: its 502 is the upstream handshake's failure, named on the upstream connection (intermittent-5xx leaves it to tls-handshake-failed)"})
for port in per_lane['i'] + per_lane['i-proxy']:
    assert port in conns, (port, sorted(conns))
    f = facts(port)
    expect.append({'kind': None, 'client': f'127.0.0.1:{port}', 'server': f['server'],
                   'notes': ("near miss: a TLS health check (Python ssl: handshake, close_notify, close; no request) with no 502 near it" if port == 41097
                             else "near miss: the proxy's upstream connection for /ok: the certificate trusted, SNI sent, answered 200" if port in per_lane['i-proxy']
                             else 'near miss: a completed handshake and an answered request' if f['firstClose']
                             else "near miss: the handshake was still waiting when the capture ended (no FIN or RST): not judged")})

# Cross-checks against the programs' logs: a recording that did not go as planned fails here.
assert all(clients[p]['exit'] == 60 for p in per_lane['a13'] + per_lane['a12']), 'curl without the CA must fail with exit 60'
assert all(clients[p]['exit'] == 35 for p in per_lane['b'] + per_lane['c'] + per_lane['e'] + per_lane['g'] + per_lane['j']), 'TLS errors must be curl exit 35'
assert sum('no shared cipher' in l for l in errors) == 2, errors
assert all(facts(p)['alert']['description'] == 40 for p in per_lane['j'])
assert all(clients[p]['exit'] == 28 for p in per_lane['h']), 'the silent listener must make curl time out'
assert all('certificate' in clients[p]['said'] for p in per_lane['f']), "Go must reject the certificate"
assert sum('alert unknown ca' in l for l in errors) == 4 and sum('bad certificate' in l for l in errors) == 2, errors
assert sum('unsupported protocol' in l for l in errors) == 2 and sum('handshake rejected' in l for l in errors) == 4, errors  # lane c, and the proxy's /nosni (server side)
assert sum('plain HTTP request to HTTPS port' in l for l in errors) == 2
assert sum(' 400 ' in l for l in access) == 4
assert sum('closed without a byte' in l for l in listener) == 2
assert len(per_lane['k-verify']) == 2 and len(per_lane['k-nosni']) == 2 and len(per_lane['i-proxy']) == 1, per_lane
assert sum('upstream SSL certificate verify error' in l for l in errors) == 2, errors
assert sum('unrecognized name' in l and 'to upstream' in l for l in errors) == 2, errors
assert sum('" 502 ' in l for l in access) == 4 and sum('GET /ok HTTP/1.' in l and '" 200 ' in l for l in access) == 2, [l for l in access if '/ok' in l or '502' in l]
assert all(clients[p]['exit'] == 0 for p in per_lane['k']), 'curl gets the 502 page (no -f)'
assert all(facts(p)['alert'] is None and facts(p)['firstClose']['by'] == 'client' for p in per_lane['k-verify'])
assert all(facts(p)['alert']['description'] == 112 for p in per_lane['k-nosni'])
assert all(facts(p)['alert']['description'] == 48 for p in per_lane['a13'] + per_lane['a12'])
assert all(facts(p)['clientEncryptedAlertFrame'] for p in per_lane['f'])

meta = {
    'scenario': 'tls-handshake-failed',
    'software': [f"nginx/{a.nginx_version} (OpenSSL 3.0; one worker; a throwaway self-signed ECDSA certificate)", a.curl_version,
                 'Go net/http client (programs/tls-hsf-go-client.go)', 'Python 3 listeners (programs/tls-hsf-listener.py)'],
    'description': ('TLS handshakes that never complete, on one namespace\'s loopback, each client from a fixed port: curl without the CA '
                    '(unknown_ca from the client, in clear, TLS 1.3 and 1.2), a TLS 1.2 client against a TLS 1.3-only server (protocol_version), '
                    'an SNI name nginx rejects (ssl_reject_handshake: unrecognized_name), plain HTTP to the TLS port (400), a ClientHello to the '
                    'plain HTTP port (400 in clear, curl "wrong version number"), Go\'s client rejecting the certificate (an encrypted alert), a '
                    'listener closing right after the ClientHello, nginx as a proxy rejecting the certificate after the handshake (proxy_ssl_verify on: '
                    'close_notify, then a 502) and sending no SNI (unrecognized_name, a 502), an RSA-only TLS 1.2 client against an ECDSA certificate (handshake_failure, "no shared cipher"), a listener never answering (curl gives up after 1.5 s); near misses: healthy TLS '
                    'connections (direct and through the proxy), a TLS health check (handshake, close_notify, no request), and a handshake cut by the capture\'s end.'),
    'configured': {},
    'facts': {'nginxErrorLog': [re.sub(r'^\S+ \S+ ', '', l.strip())[:200] for l in errors], 'listenerLog': listener},
    'observed': observed,
    'expect': expect,
}
json.dump(meta, open(a.meta, 'w'), indent=2)
open(a.meta, 'a').write('\n')
print(f'wrote {a.meta}: {len(expect)} expectations')
