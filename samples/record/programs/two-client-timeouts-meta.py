#!/usr/bin/env python3
"""Check client-timeouts-two-clients-go-reverseproxy against the programs' logs and write its meta.json.

Usage: two-client-timeouts-meta.py --capture F --meta OUT --go-log F --curl-log F --proxy-log F --server-log F
                                   --proxy IP:PORT --bind IP --server IP:PORT --slow URI --software NAME...

The capture is read with tshark (connections(), as x4-go-meta.py reads it); the logs (one JSON line per
request) say what each program saw. Any failed check prints why and exits 1 without writing the meta.
"""
import argparse
import json
import subprocess
import sys

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def fail(why):
    print(f'two-client-timeouts-meta: {why}', file=sys.stderr)
    sys.exit(1)


def read_log(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def connections(capture):
    """Every TCP connection of the capture: packets in order, by tcp.stream, with the client (SYN sender) named."""
    fields = ['frame.number', 'frame.time_epoch', 'tcp.stream', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport', 'tcp.flags',
              'tcp.len', 'tcp.ack', 'tcp.seq', 'http.request.method', 'http.request.uri', 'http.response.code']
    out = subprocess.run(['tshark', '-r', capture, '-n', '-o', 'tcp.relative_sequence_numbers:TRUE', '-T', 'fields', '-E', 'separator=\t']
                         + sum([['-e', f] for f in fields], []), check=True, capture_output=True, text=True).stdout
    conns = {}
    for line in out.splitlines():
        v = line.split('\t')
        p = {'frame': int(v[0]), 't': float(v[1]), 'src': f'{v[3]}:{v[4]}', 'dst': f'{v[5]}:{v[6]}', 'flags': int(v[7], 16),
             'len': int(v[8] or 0), 'ack': int(v[9] or 0), 'seq': int(v[10] or 0), 'method': v[11], 'uri': v[12], 'status': v[13]}
        c = conns.setdefault(int(v[2]), {'packets': []})
        c['packets'].append(p)
    result = []
    for c in conns.values():
        pk = c['packets']
        syn = next((p for p in pk if p['flags'] & SYN and not p['flags'] & ACK), None)
        if syn is None:
            fail(f"a connection without its SYN (frame {pk[0]['frame']}): the capture must hold whole connections")
        c['client'], c['server'] = syn['src'], syn['dst']
        c['syn'] = syn
        for p in pk:
            p['fromClient'] = p['src'] == c['client']
        c['synAck'] = next((p for p in pk if not p['fromClient'] and p['flags'] & SYN), None)
        c['requests'] = [p for p in pk if p['fromClient'] and p['method']]
        c['responses'] = [p for p in pk if not p['fromClient'] and p['status']]
        c['serverData'] = [p for p in pk if not p['fromClient'] and p['len'] > 0]
        c['clientFin'] = next((p for p in pk if p['fromClient'] and p['flags'] & FIN), None)
        c['serverFin'] = next((p for p in pk if not p['fromClient'] and p['flags'] & FIN), None)
        c['clientRst'] = next((p for p in pk if p['fromClient'] and p['flags'] & RST), None)
        c['serverRst'] = next((p for p in pk if not p['fromClient'] and p['flags'] & RST), None)
        result.append(c)
    return sorted(result, key=lambda c: c['syn']['t'])


def write(path, meta):
    with open(path, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')


ap = argparse.ArgumentParser()
for name in ('capture', 'meta', 'go-log', 'curl-log', 'proxy-log', 'server-log', 'proxy', 'bind', 'server', 'slow'):
    ap.add_argument(f'--{name}', required=True)
ap.add_argument('--software', nargs='+', default=[])
args = ap.parse_args()


conns = connections(args.capture)
up = [c for c in conns if c['server'] == args.server]
down = {c['client']: c for c in conns if c['server'] == args.proxy}
if any(not c['client'].startswith(args.bind + ':') for c in up):
    fail(f'an upstream connection not from {args.bind}: {[c["client"] for c in up]}')
go = read_log(args.go_log)
curl = read_log(args.curl_log)
proxied = read_log(args.proxy_log)
served = read_log(args.server_log)

go_failed = [e for e in go if e['outcome'] == 'error']
if len(go_failed) != 2 or not all('Client.Timeout exceeded' in e['error'] for e in go_failed):
    fail(f"expected 2 Go client timeouts: {[(e['uri'], e.get('error')) for e in go_failed]}")
if [e.get('status') for e in go if e['outcome'] == 'response'] != [200]:
    fail('expected the fast Go request answered 200')
if len(curl) != 2 or not all(e['exit'] == 28 and e['status'] == '000' for e in curl):
    fail(f'expected 2 curl timeouts (exit 28): {curl}')
failed = [(f"127.0.0.1:{e['conns'][-1].rsplit(':', 1)[1]}", 'Go http.Client Timeout 1 s', e) for e in go_failed] + \
         [(e['local'], 'curl --max-time 1.5', e) for e in curl]
if len([p for p in proxied if p['uri'] == args.slow and p['status'] == 502 and 'context canceled' in p.get('error', '')]) != 4:
    fail(f'expected the proxy to log 4 x 502 context canceled for {args.slow}: {proxied}')
if len([s for s in served if s['uri'] == args.slow]) != 4:
    fail(f'expected the backend to finish {args.slow} 4 times (late answers)')

expect, waits, follow = [], {'go': [], 'curl': []}, []
used = set()
for client, who, e in sorted(failed, key=lambda f: down[f[0]]['syn']['t'] if f[0] in down else 0):
    d = down.get(client) or fail(f'no client connection {client}')
    req = next((r for r in d['requests'] if r['uri'] == args.slow), None) or fail(f'{client}: {args.slow} not in the capture')
    fin = d['clientFin'] or fail(f'{client}: the client did not close at its timeout')
    answer = next((p for p in d['serverData'] if p['t'] > req['t']), None)
    if answer is None or answer['t'] < fin['t'] or d['clientRst'] is None:
        fail(f"{client}: expected the proxy's answer after the client's FIN, reset by the client")
    u = next((c for c in up if c['client'] not in used and any(r['uri'] == args.slow and 0 <= r['t'] - req['t'] < 0.1 for r in c['requests'])), None) \
        or fail(f'{client}: its request was not forwarded upstream')
    used.add(u['client'])
    ufin = u['clientFin'] or fail(f"{u['client']}: the proxy did not close the upstream connection")
    gap = ufin['t'] - fin['t']
    if not 0 <= gap < 0.05:
        fail(f"{u['client']}: the proxy closed upstream {gap * 1000:.2f} ms after its client's FIN (expected within 50 ms after)")
    if not any(p['t'] > ufin['t'] for p in u['serverData']) or u['clientRst'] is None:
        fail(f"{u['client']}: expected the backend's late answer, reset")
    wait = fin['t'] - req['t']
    waits['go' if who.startswith('Go') else 'curl'].append(round(wait, 3))
    follow.append(round(gap * 1000, 3))
    expect.append({'kind': 'unanswered-request', 'client': client, 'server': args.proxy,
                   'notes': f"GET {args.slow}: {who}: the client gave up and closed (FIN) {wait:.3f} s after the request; "
                            f"the proxy's 502 (context canceled) came {1000 * (answer['t'] - fin['t']):.2f} ms later and was reset."})
    expect.append({'kind': 'unanswered-request', 'client': u['client'], 'server': args.server,
                   'notes': f"the forwarded GET {args.slow}: the proxy closed the upstream connection {gap * 1000:.3f} ms after its "
                            "client's FIN (it cancelled the request with the client's context; no proxy timeout); the backend's late 200 was reset."})
# Each client's next slow request left while the backend still held the forward before it.
slow_up = sorted((r['t'], c) for c in up for r in c['requests'] if r['uri'] == args.slow)
slow_down = sorted(r['t'] for c in down.values() for r in c['requests'] if r['uri'] == args.slow)
overlaps = sum(1 for t, c in slow_up if any(t < s < t + 3 for s in slow_down))
if overlaps < 3:
    fail(f'expected 3 client requests sent while the backend held an earlier forward, saw {overlaps}')
named = {x['client'] for x in expect}
for c in list(down.values()) + up:
    if c['client'] not in named:
        expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': 'a fast request, answered in time.'})
meta = {
    'scenario': 'client-timeouts-two-clients-go-reverseproxy',
    'description': (
        'Two client programs with different timeouts through one proxy that has none of its own (blind 15, S17: Go 1 s and aiohttp 1.5 s '
        f'through Caddy): client 127.0.0.1 runs a Go http.Client (Timeout 1 s) and curl (--max-time 1.5) against Go\'s '
        f'httputil.ReverseProxy on {args.proxy}, which connects upstream from {args.bind} to a Go http.Server on {args.server} '
        f'answering {args.slow} after 3 s. Each client gives up on its own timer; the proxy cancels the forward with its client and '
        'answers 502 (context canceled) into the closed socket; the backend\'s late 200 is reset. Each client\'s next request leaves '
        'while the backend still holds the forward before it. Before, conncheck took those for the backend forwarding from the '
        'clients\' address: the clients became "the address proxy 127.0.0.3 connects to its backends from" and their timeouts a proxy '
        'read timeout.'),
    'software': args.software,
    'configured': {'goClientTimeout': 1, 'curlMaxTime': 1.5},
    'configuredNotes': 'goClientTimeout is the Go http.Client.Timeout, curlMaxTime curl --max-time (which covers the connect): two '
                       'programs on one host, one server, so each is inferred as clientTimeout by its own group (by User-Agent); '
                       'the proxy has no timeout of its own (no proxyReadTimeout may be inferred, no 504).',
    'observed': {'goWaitSeconds': sorted(waits['go']), 'curlWaitSeconds': sorted(waits['curl']),
                 'upstreamCloseAfterClientFinMs': sorted(follow), 'clientRequestsDuringBackendWait': overlaps},
    'facts': {'clientTimeouts': 'the clients\' own (Go 1 s, curl 1.5 s)', 'proxyTimer': None, 'gatewayErrorsReceived': 0,
              'proxyUpstreamAddress': args.bind},
    'expect': expect,
    'silent': False,
}
write(args.meta, meta)
print(f"two-client-timeouts-meta: Go waits {sorted(waits['go'])} s, curl waits {sorted(waits['curl'])} s, upstream closed "
      f"{sorted(follow)} ms after the client; wrote {args.meta}")
