#!/usr/bin/env python3
"""Writes the meta.json of a round-5 (real network) sample from its capture, its programs' logs and
what the recorder configured, after checking with tshark that the capture shows what the scenario
claims; exits 1 (writing nothing) when it does not.

Usage: x5-meta.py SCENARIO --capture FILE --meta FILE --spec FILE
  The spec (JSON, written by the recorder) holds: description, software, configured, oneWayMs,
  capturePoint, and per scenario the programs' logs to read (clientLog, accessLog ...).
Scenarios:
  keepalive-race-arrival-far-client: lighttpd's idle sweep closes a reused connection as the request
    arrives; captured at the client, a round trip away: each EOF in the client log must be a request
    answered only by the server's FIN (acknowledging it), one round trip later.
  gateway-timeout-nginx-far-client: nginx answers 504 after proxy_read_timeout; captured at the
    client: each 504 in the curl log must come about timeout + round trip after its request.
  handshake-synack-lost-server-side: a healthy exchange whose first SYN-ACK was lost on the path;
    captured at the server: SYN, SYN-ACK, SYN again, SYN-ACK again, ACK.
  idle-timeout-mismatch-far-client: nginx closes idle connections after keepalive_timeout; the client
    reuses one after an idle just under it, which reaches nginx a round trip later, closer to it.
  keepalive-race-lost-fin-client-side: nginx closes an idle connection, its FIN is lost on the path;
    the client reuses the connection and gets a RST without ACK; captured at the client.
  unanswered-request-curl-max-time-far-client: curl --max-time gives up on requests a server never
    answers; each must be its connection's only request, unanswered, closed by the client.
"""
import argparse
import json
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument('scenario')
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--spec', required=True)
args = ap.parse_args()
spec = json.load(open(args.spec))


def fail(why):
    sys.stderr.write(f'x5-meta: {args.scenario}: {why}\n')
    sys.exit(1)


def packets():
    """Every TCP packet: frame, time, ports, flags, seq/ack (relative), payload length, HTTP line."""
    out = subprocess.run(
        ['tshark', '-r', args.capture, '-o', 'tcp.relative_sequence_numbers:TRUE', '-T', 'fields', '-E', 'separator=|',
         '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport',
         '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset', '-e', 'tcp.seq', '-e', 'tcp.ack',
         '-e', 'tcp.len', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code'],
        capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split('|')
        rows.append({'frame': int(f[0]), 'ts': float(f[1]), 'src': f'{f[2]}:{f[3]}', 'dst': f'{f[4]}:{f[5]}',
                     'syn': f[6] in ('1', 'True'), 'ack': f[7] in ('1', 'True'), 'fin': f[8] in ('1', 'True'), 'rst': f[9] in ('1', 'True'),
                     'seq': int(f[10] or 0), 'acknum': int(f[11] or 0), 'len': int(f[12] or 0),
                     'method': f[13], 'uri': f[14], 'status': f[15]})
    return rows


def handshake_rtt(rows, client):
    syn = [r for r in rows if r['src'] == client and r['syn'] and not r['ack']]
    synack = [r for r in rows if r['dst'] == client and r['syn'] and r['ack']]
    return synack[0]['ts'] - syn[-1]['ts'] if syn and synack else None


def log_lines(name):
    return [json.loads(x) for x in open(spec[name]) if x.strip().startswith('{')]


rows = packets()
meta = {'scenario': args.scenario, 'description': spec['description'], 'software': spec['software'],
        'configured': spec.get('configured', {}), 'network': {'oneWayDelayMs': spec['oneWayMs'], 'capturePoint': spec['capturePoint']},
        'observed': {}, 'expect': []}
if 'configuredNotes' in spec:
    meta['configuredNotes'] = spec['configuredNotes']

if args.scenario == 'keepalive-race-arrival-far-client':
    events = log_lines('clientLog')
    eofs = [e for e in events if e['event'] == 'eof']
    if len(eofs) != 2:
        fail(f'{len(eofs)} EOFs in the client log, 2 expected')
    for e in eofs:
        client = e['client']
        req = [r for r in rows if r['src'] == client and r['method'] == e['method'] and r['uri'] == e['uri']]
        if len(req) != 1:
            fail(f'{client}: request {e["method"]} {e["uri"]} not found once')
        req = req[0]
        fin = [r for r in rows if r['src'] != client and r['dst'] == client and r['fin'] and r['frame'] > req['frame']]
        answer = [r for r in rows if r['dst'] == client and r['len'] > 0 and r['frame'] > req['frame']]
        if not fin or answer:
            fail(f'{client}: no FIN after the request, or an answer came')
        fin = fin[0]
        if fin['acknum'] < req['seq'] + req['len']:
            fail(f'{client}: the FIN does not acknowledge the request (a crossing, not a close on arrival)')
        prev = [r for r in rows if r['dst'] == client and r['len'] > 0 and r['frame'] < req['frame']][-1]
        rtt = handshake_rtt(rows, client)
        retry = next((x['client'] for x in events if x['event'] == 'request' and x['uri'] == e['uri'] and x['client'] != client), None)
        seen = (fin['ts'] - req['ts']) * 1000
        meta['expect'].append({
            'kind': 'keepalive-race', 'client': client, 'server': spec['server'],
            'notes': f'closed on arrival, seen from the client: {e["method"]} {e["uri"]} sent {req["ts"] - prev["ts"]:.3f} s after the previous response arrived; '
                     f'lighttpd\'s FIN, acknowledging the request, came back {seen:.3f} ms later, of which {rtt * 1000:.3f} ms are the round trip to the server '
                     f'(handshake): the idle sweep closed it about {seen - rtt * 1000:.3f} ms after it arrived; no response, no access-log line; the client got EOF and retried on {retry}.',
            'evidence': {'form': 'closed-on-arrival', 'method': e['method'], 'uri': e['uri'], 'closeAfterRequestMsSeen': round(seen, 3),
                         'serverRttMs': round(rtt * 1000, 3), 'requestFrame': req['frame'], 'finFrame': fin['frame'], 'retryClient': retry},
        })
        meta['expect'].append({'kind': 'retried-request', 'client': retry, 'server': spec['server'],
                               'notes': f'the client\'s retry of {e["method"]} {e["uri"]} on a new connection right after the EOF.'})
    access = open(spec['accessLog']).read()
    meta['observed']['accessLogLines'] = len(access.splitlines())

elif args.scenario == 'gateway-timeout-nginx-far-client':
    curl = [x.split() for x in open(spec['curlLog']) if x.startswith('curl ')]
    delays = []
    for _, port, code, total, uri in curl:
        client = f'{spec["clientIp"]}:{port}'
        req = [r for r in rows if r['src'] == client and r['method']]
        resp = [r for r in rows if r['dst'] == client and r['status']]
        if len(req) != 1 or len(resp) != 1 or resp[0]['status'] != code:
            fail(f'{client}: request or response not found as curl logged it ({code})')
        rtt = handshake_rtt(rows, client)
        delay = resp[0]['ts'] - req[0]['ts']
        if code == '504':
            delays.append(round(delay, 4))
            meta['expect'].append({'kind': 'gateway-timeout', 'client': client, 'server': spec['server'],
                                   'notes': f'GET {uri} answered 504 {delay:.4f} s after the request as seen at the client, {rtt * 1000:.3f} ms of it the round trip to nginx: '
                                            f'nginx gave up after its proxy_read_timeout of {spec["configured"]["proxyReadTimeout"]} s (its error log: upstream timed out).'})
        else:
            meta['expect'].append({'kind': None, 'client': client, 'server': spec['server'], 'notes': f'GET {uri} answered {code} in {delay * 1000:.1f} ms; clean.'})
    if len(delays) != 3:
        fail(f'{len(delays)} 504s, 3 expected')
    meta['observed']['gateway504DelaySecondsSeen'] = delays
    meta['observed']['nginxErrorLogTimeouts'] = sum('upstream timed out' in x for x in open(spec['errorLog']))

elif args.scenario == 'handshake-synack-lost-server-side':
    clients = sorted({r['src'] for r in rows if r['syn'] and not r['ack']})
    if len(clients) != 1:
        fail(f'{len(clients)} connections, 1 expected')
    client = clients[0]
    hs = [('SYN' if not r['ack'] else 'SYN-ACK') for r in rows if r['syn']]
    if hs != ['SYN', 'SYN-ACK', 'SYN', 'SYN-ACK']:
        fail(f'handshake packets {hs}, expected SYN, SYN-ACK, SYN, SYN-ACK')
    syns = [r for r in rows if r['syn']]
    ack = next(r for r in rows if r['src'] == client and not r['syn'] and r['ack'])
    meta['observed'] = {'handshake': [{'frame': r['frame'], 'what': w, 'offset': round(r['ts'] - syns[0]['ts'], 6)} for r, w in zip(syns, hs)],
                        'ackOffset': round(ack['ts'] - syns[0]['ts'], 6),
                        'serverRttFromAnsweringSynAck': round(syns[3]['ts'] - syns[2]['ts'], 6),
                        'clientRttFromAnsweringSynAck': round(ack['ts'] - syns[3]['ts'], 6)}
    meta['facts'] = {'connections': 1, 'captureNear': {client: 'server'}}
    meta['silent'] = True
    meta['expect'].append({'kind': None, 'client': client, 'server': spec['server'],
                           'notes': 'healthy exchanges; the first SYN-ACK was dropped on the path (the wire\'s --drop-synacks 1), the client sent its SYN again after its 1 s RTO and the server answered it.'})

elif args.scenario == 'idle-timeout-mismatch-far-client':
    events = [json.loads(x) for x in open(spec['clientLog']) if x.strip()]
    if any('error' in e['outcome'] for e in events):
        fail('a request failed: this scenario shows a near miss, not a race')
    reused = [e for e in events if e['gap'] == spec['longGapMs']]
    if len(reused) != 1:
        fail('the long reuse is not in the client log')
    client = f'{spec["clientIp"]}:{reused[0]["localPort"]}'
    reqs = [r for r in rows if r['src'] == client and r['method']]
    resps = [r for r in rows if r['dst'] == client and r['status']]
    last = reqs[-1]
    before = [r for r in resps if r['frame'] < last['frame']][-1]
    rtt = handshake_rtt(rows, client)
    # The server's idle closes: its FIN on a connection the client had not closed first.
    fins = [r for r in rows if r['dst'].startswith(spec['clientIp']) and r['fin']
            and not any(x['src'] == r['dst'] and x['fin'] and x['frame'] < r['frame'] for x in rows)]
    idle = last['ts'] - before['ts']
    meta['observed'] = {'reuseIdleSeen': round(idle, 4), 'serverRttMs': round(rtt * 1000, 3), 'reuseIdleAtServer': round(idle + rtt, 4), 'serverIdleCloses': len(fins)}
    meta['expect'].append({'kind': 'idle-timeout-mismatch', 'server': spec['server'],
                           'notes': f'{client} reused its connection after {idle:.3f} s idle as seen here; {rtt * 1000:.1f} ms away from nginx, the request reached it after '
                                    f'{idle + rtt:.3f} s, {spec["configured"]["serverIdleTimeout"] - idle - rtt:.3f} s before its keepalive_timeout: within the margin (10 % of the timeout) that races need.'})
elif args.scenario == 'unanswered-request-curl-max-time-far-client':
    curl = [x.split() for x in open(spec['curlLog']) if x.startswith('curl ')]
    if len(curl) != 3 or any(c[2] != '000' for c in curl):
        fail('3 requests given up by curl (status 000) expected')
    waits = []
    for _, port, _code, total, uri in curl:
        client = f'{spec["clientIp"]}:{port}'
        syn = [r for r in rows if r['src'] == client and r['syn']]
        req = [r for r in rows if r['src'] == client and r['method']]
        answer = [r for r in rows if r['dst'] == client and r['len'] > 0]
        fin = [r for r in rows if r['src'] == client and r['fin']]
        if len(req) != 1 or answer or not fin or not syn:
            fail(f'{client}: expected one request, no answer, a client FIN')
        rtt = handshake_rtt(rows, client)
        w = {'client': client, 'fromRequest': round(fin[0]['ts'] - req[0]['ts'], 4), 'fromSyn': round(fin[0]['ts'] - syn[0]['ts'], 4), 'handshakeRttMs': round(rtt * 1000, 3)}
        waits.append(w)
        meta['expect'].append({'kind': 'unanswered-request', 'client': client, 'server': spec['server'],
                               'notes': f'GET {uri} never answered (the server hangs it); curl --max-time {spec["configured"]["clientTimeoutFromConnect"]} gave up {w["fromSyn"]} s after its SYN, '
                                        f'{w["fromRequest"]} s after the request (the handshake took {w["handshakeRttMs"]} ms): client FIN.'})
    meta['observed']['waits'] = waits
elif args.scenario == 'keepalive-race-lost-fin-client-side':
    events = [json.loads(x) for x in open(spec['clientLog']) if x.strip()]
    failed = [e for e in events if 'error' in e['outcome']]
    if len(failed) != 1 or failed[0]['outcome']['error'] != 'ECONNRESET':
        fail('exactly one request failing with ECONNRESET expected')
    client = f'{spec["clientIp"]}:{failed[0]["localPort"]}'
    if any(r['fin'] and r['src'] == spec['server'] and r['dst'] == client for r in rows):
        fail(f'{client}: the server FIN reached the client (it was to be lost)')
    req = [r for r in rows if r['src'] == client and r['method']][-1]
    rst = [r for r in rows if r['src'] == spec['server'] and r['dst'] == client and r['rst']]
    if len(rst) != 1 or rst[0]['frame'] < req['frame'] or rst[0]['ack']:
        fail(f'{client}: expected one RST without ACK after the request')
    prev = [r for r in rows if r['dst'] == client and r['len'] > 0 and r['frame'] < req['frame']][-1]
    wires = [json.loads(x) for x in open(spec['wiresLog']) if x.strip().startswith('{')]
    meta['observed'] = {'idleBeforeRequestSeen': round(req['ts'] - prev['ts'], 4), 'rstAfterRequestMs': round((rst[0]['ts'] - req['ts']) * 1000, 3),
                        'finsDroppedByTheWire': sum(w.get('finsDropped', 0) for w in wires), 'nginxAccessLogLines': len(open(spec['accessLog']).read().splitlines())}
    meta['expect'].append({'kind': 'keepalive-race', 'client': client, 'server': spec['server'],
                           'notes': f'nginx closed the connection after {spec["configured"]["serverKeepaliveTimeout"]} s idle; its FIN was dropped on the path (the wire next to the server), so neither this capture '
                                    f'nor the client saw it; the client (a Node http.Agent) reused the connection after {req["ts"] - prev["ts"]:.3f} s and nginx\'s kernel answered with a RST without ACK '
                                    f'{(rst[0]["ts"] - req["ts"]) * 1000:.1f} ms later (one round trip); the client got ECONNRESET. A crossing whose FIN the capture never saw.'})
    for e in events:
        if 'error' not in e['outcome'] and e['localPort'] != failed[0]['localPort']:
            meta['expect'].append({'kind': None, 'client': f'{spec["clientIp"]}:{e["localPort"]}', 'server': spec['server'], 'notes': f'request {e["i"]} answered {e["outcome"]["status"]}; clean.'})
else:
    fail('unknown scenario')

json.dump(meta, open(args.meta, 'w'), indent=2)
open(args.meta, 'a').write('\n')
print(f'x5-meta: wrote {args.meta}')
