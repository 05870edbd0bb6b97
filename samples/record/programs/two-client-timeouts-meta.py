#!/usr/bin/env python3
"""Check client-timeouts-two-clients-go-reverseproxy against the programs' logs and write its meta.json.

Usage: two-client-timeouts-meta.py --scenario NAME --capture F --meta OUT --go-log F --curl-log F --proxy-log F
                                   --server-log F --proxy IP:PORT --bind IP --server IP:PORT --slow URI
                                   --go-timeout S --curl-max-time S --proxy-timeout S --software NAME...

--proxy-timeout 0: the proxy has no timer; both clients give up on their own (the proxy cancels the
forward with its client). Else the proxy's ResponseHeaderTimeout fires first: it closes the forward
and answers 502, which the clients read (the near miss).

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
for name in ('scenario', 'capture', 'meta', 'go-log', 'curl-log', 'proxy-log', 'server-log', 'proxy', 'bind', 'server', 'slow'):
    ap.add_argument(f'--{name}', required=True)
for name in ('go-timeout', 'curl-max-time', 'proxy-timeout'):
    ap.add_argument(f'--{name}', type=float, required=True)
ap.add_argument('--software', nargs='+', default=[])
args = ap.parse_args()
proxy_timer = args.proxy_timeout > 0

conns = connections(args.capture)
up = [c for c in conns if c['server'] == args.server]
down = {c['client']: c for c in conns if c['server'] == args.proxy}
if any(not c['client'].startswith(args.bind + ':') for c in up):
    fail(f'an upstream connection not from {args.bind}: {[c["client"] for c in up]}')
go = read_log(args.go_log)
curl = read_log(args.curl_log)
proxied = read_log(args.proxy_log)
served = read_log(args.server_log)
go_slow = [e for e in go if e['uri'] == args.slow]
if [e.get('status') for e in go if e['uri'] != args.slow] != [200] or len(go_slow) != 2 or len(curl) != 2:
    fail(f'expected 2 slow and 1 fast Go requests (answered 200), 2 curl requests: {go} {curl}')
if proxy_timer:
    if not all(e['outcome'] == 'response' and e['status'] == 502 for e in go_slow) or not all(e['exit'] == 0 and e['status'] == '502' for e in curl):
        fail(f'expected both clients to read the proxy\'s 502: {go_slow} {curl}')
    errors = [p for p in proxied if p['uri'] == args.slow and p['status'] == 502 and 'timeout awaiting response headers' in p.get('error', '')]
else:
    if not all(e['outcome'] == 'error' and 'Client.Timeout exceeded' in e['error'] for e in go_slow) or \
            not all(e['exit'] == 28 and e['status'] == '000' for e in curl):
        fail(f'expected 2 Go client timeouts and 2 curl timeouts (exit 28): {go_slow} {curl}')
    errors = [p for p in proxied if p['uri'] == args.slow and p['status'] == 502 and 'context canceled' in p.get('error', '')]
if len(errors) != 4:
    fail(f'expected the proxy to log 4 x 502 ({"timeout awaiting response headers" if proxy_timer else "context canceled"}): {proxied}')
if len([s for s in served if s['uri'] == args.slow]) != 4:
    fail(f'expected the backend to finish {args.slow} 4 times (late answers)')
go_who = f'Go http.Client Timeout {args.go_timeout:g} s'
curl_who = f'curl --max-time {args.curl_max_time:g}'
# The slow requests as the capture shows them, each with its program (a Go connection that got a 502 carries its next requests).
go_ports = {c.rsplit(':', 1)[1] for e in go_slow for c in e['conns']}
curl_locals = {e['local'] for e in curl}
slow = []
for c in sorted(down.values(), key=lambda c: c['syn']['t']):
    who = go_who if c['client'].rsplit(':', 1)[1] in go_ports else curl_who if c['client'] in curl_locals else None
    slow += [(c['client'], who, r) for r in c['requests'] if r['uri'] == args.slow]
if len(slow) != 4 or any(who is None for _, who, _ in slow):
    fail(f'expected 4 slow requests in the capture, each from the Go client or curl: {[(c, w) for c, w, _ in slow]}')

expect, waits, follow = [], {'go': [], 'curl': []}, []
used = set()
for client, who, req in slow:
    d = down[client]
    u = next((c for c in up if c['client'] not in used and any(r['uri'] == args.slow and 0 <= r['t'] - req['t'] < 0.1 for r in c['requests'])), None) \
        or fail(f'{client}: its request was not forwarded upstream')
    used.add(u['client'])
    ufin = u['clientFin'] or fail(f"{u['client']}: the proxy did not close the upstream connection")
    if not any(p['t'] > ufin['t'] for p in u['serverData']) or u['clientRst'] is None:
        fail(f"{u['client']}: expected the backend's late answer, reset")
    answer = next((p for p in d['serverData'] if p['t'] > req['t']), None) or fail(f'{client}: the proxy sent no answer')
    kind = 'go' if who == go_who else 'curl'
    if proxy_timer:
        cut = ufin['t'] - req['t']
        if abs(cut - args.proxy_timeout) > 0.05 or not 0 <= answer['t'] - ufin['t'] < 0.05:
            fail(f"{client}: expected the proxy to close upstream {args.proxy_timeout} s after the request and answer with it: "
                 f"{cut:.3f} s, answer {1000 * (answer['t'] - ufin['t']):.2f} ms later")
        if d['clientFin'] is not None and d['clientFin']['t'] < answer['t']:
            fail(f'{client}: the client closed before the proxy answered')
        waits[kind].append(round(answer['t'] - req['t'], 3))
        follow.append(round(cut, 3))
        expect.append({'kind': 'gateway-timeout', 'client': client, 'server': args.proxy,
                       'notes': f"GET {args.slow} ({who}): answered 502 by the proxy {answer['t'] - req['t']:.3f} s after the request, its "
                                f"ResponseHeaderTimeout ({args.proxy_timeout:g} s); the upstream leg {u['client']} closed by the proxy with it."})
        expect.append({'kind': 'unanswered-request', 'client': u['client'], 'server': args.server,
                       'notes': f"the forwarded GET {args.slow}: the proxy closed the upstream connection {cut:.3f} s after the request (its "
                                "ResponseHeaderTimeout) and answered 502; the backend's late 200 was reset."})
        continue
    fin = d['clientFin'] or fail(f'{client}: the client did not close at its timeout')
    if answer['t'] < fin['t'] or d['clientRst'] is None:
        fail(f"{client}: expected the proxy's answer after the client's FIN, reset by the client")
    gap = ufin['t'] - fin['t']
    if not 0 <= gap < 0.05:
        fail(f"{u['client']}: the proxy closed upstream {gap * 1000:.2f} ms after its client's FIN (expected within 50 ms after)")
    wait = fin['t'] - req['t']
    waits[kind].append(round(wait, 3))
    follow.append(round(gap * 1000, 3))
    expect.append({'kind': 'unanswered-request', 'client': client, 'server': args.proxy,
                   'notes': f"GET {args.slow}: {who}: the client gave up and closed (FIN) {wait:.3f} s after the request; "
                            f"the proxy's 502 (context canceled) came {1000 * (answer['t'] - fin['t']):.2f} ms later and was reset."})
    expect.append({'kind': 'unanswered-request', 'client': u['client'], 'server': args.server,
                   'notes': f"the forwarded GET {args.slow}: the proxy closed the upstream connection {gap * 1000:.3f} ms after its "
                            "client's FIN (it cancelled the request with the client's context; no proxy timeout); the backend's late 200 was reset."})
# Each client's next slow request left while the backend still held (or would have held, 3 s) the forward before it.
slow_up = sorted(r['t'] for c in up for r in c['requests'] if r['uri'] == args.slow)
slow_down = sorted(r['t'] for c in down.values() for r in c['requests'] if r['uri'] == args.slow)
overlaps = sum(1 for t in slow_up if any(t < s < t + 3 for s in slow_down))
if overlaps < 3:
    fail(f'expected 3 client requests sent within 3 s of an earlier forward, saw {overlaps}')
named = {x['client'] for x in expect}
for c in list(down.values()) + up:
    if c['client'] not in named:
        expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': 'a fast request, answered in time.'})
setup = (f"client 127.0.0.1 runs a Go http.Client (Timeout {args.go_timeout:g} s) and curl (--max-time {args.curl_max_time:g}) against Go's "
         f"httputil.ReverseProxy on {args.proxy}, which connects upstream from {args.bind} to a Go http.Server on {args.server} "
         f"answering {args.slow} after 3 s")
if proxy_timer:
    description = (
        f'Near miss of client-timeouts-two-clients-go-reverseproxy: {setup}; the proxy has its own ResponseHeaderTimeout of '
        f'{args.proxy_timeout:g} s, shorter than both clients\' timeouts. It fires first: the proxy closes the forward and answers 502 '
        '(timeout awaiting response headers), which both clients read; the backend\'s late 200 is reset. Two clients with different '
        'timeouts share the proxy, and it is still the proxy\'s read timeout, paired with its upstream leg.')
    configured = {'proxyReadTimeout': args.proxy_timeout}
    notes = (f'proxyReadTimeout is the proxy\'s http.Transport.ResponseHeaderTimeout; the clients\' timeouts (Go {args.go_timeout:g} s, '
             f'curl {args.curl_max_time:g} s) never fire.')
    facts = {'proxyTimer': f'ResponseHeaderTimeout {args.proxy_timeout:g} s', 'gatewayErrorsReceived': 4, 'proxyUpstreamAddress': args.bind}
    observed = {'goAnsweredAfterSeconds': sorted(waits['go']), 'curlAnsweredAfterSeconds': sorted(waits['curl']),
                'upstreamClosedAfterSeconds': sorted(follow), 'clientRequestsWithin3sOfAForward': overlaps}
else:
    description = (
        'Two client programs with different timeouts through one proxy that has none of its own (blind 15, S17: Go 1 s and aiohttp 1.5 s '
        f'through Caddy): {setup}. Each client gives up on its own timer; the proxy cancels the forward with its client and '
        'answers 502 (context canceled) into the closed socket; the backend\'s late 200 is reset. Each client\'s next request leaves '
        'while the backend still holds the forward before it. Before, conncheck took those for the backend forwarding from the '
        'clients\' address: the clients became "the address proxy 127.0.0.3 connects to its backends from" and their timeouts a proxy '
        'read timeout.')
    configured = {'goClientTimeout': args.go_timeout, 'curlMaxTime': args.curl_max_time}
    notes = ('goClientTimeout is the Go http.Client.Timeout, curlMaxTime curl --max-time (which covers the connect): two '
             'programs on one host, one server, so each is inferred as clientTimeout by its own group (by User-Agent); '
             'the proxy has no timeout of its own (no proxyReadTimeout may be inferred, no 504).')
    facts = {'clientTimeouts': f"the clients' own (Go {args.go_timeout:g} s, curl {args.curl_max_time:g} s)", 'proxyTimer': None,
             'gatewayErrorsReceived': 0, 'proxyUpstreamAddress': args.bind}
    observed = {'goWaitSeconds': sorted(waits['go']), 'curlWaitSeconds': sorted(waits['curl']),
                'upstreamCloseAfterClientFinMs': sorted(follow), 'clientRequestsDuringBackendWait': overlaps}
meta = {
    'scenario': args.scenario,
    'description': description,
    'software': args.software,
    'configured': configured,
    'configuredNotes': notes,
    'observed': observed,
    'facts': facts,
    'expect': expect,
    'silent': False,
}
write(args.meta, meta)
print(f"two-client-timeouts-meta: {args.scenario}: Go {sorted(waits['go'])} s, curl {sorted(waits['curl'])} s, upstream {sorted(follow)}; wrote {args.meta}")
