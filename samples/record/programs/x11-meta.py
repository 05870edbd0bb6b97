#!/usr/bin/env python3
"""Check a round-11 capture (HTTP clients: Node 20's fetch / undici, Go's net/http client) against
the programs' own logs and write its meta.json. The numbers come from the capture (tshark); the
logs say what the programs saw: the client's (x11-fetch-client.js: undici's diagnostics channels
and fetch's rejections; x11-go-client: httptrace GotConn and the errors), and the server's (nginx's
access log, go-http.go's or b-http-server.js's JSON lines: which requests reached it). Any check that
fails prints why and exits 1 without writing the meta (the recorder then records again).

Usage: x11-meta.py KIND --capture F --meta OUT --client-log F [--access-log F | --server-log F]
                   [--server-port P] [--set KEY=SECONDS ...] [--software NAME ...]
KIND: keepalive-race | healthy-hint | client-timeout
"""
import argparse
import json
import os
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument('kind', choices=['keepalive-race', 'healthy-hint', 'client-timeout'])
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--client-log', required=True)
ap.add_argument('--access-log')
ap.add_argument('--server-log')
ap.add_argument('--server-port', type=int, default=8080)
ap.add_argument('--server-name', default='the server')
ap.add_argument('--require-retry', action='store_true')
ap.add_argument('--set', action='append', default=[])
ap.add_argument('--software', nargs='*', default=[])
ap.add_argument('--description', default='')
args = ap.parse_args()

FIN, SYN, RST = 0x01, 0x02, 0x04


def fail(why):
    print(f'x11-meta: {os.path.basename(args.meta)}: {why}', file=sys.stderr)
    sys.exit(1)


def jsonl(path):
    if not path or not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        line = line.strip()
        if line.startswith('{'):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


FIELDS = ['frame.number', 'frame.time_relative', 'tcp.stream', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
          'tcp.flags', 'tcp.seq', 'tcp.ack', 'tcp.len', 'http.request.method', 'http.request.uri',
          'http.response.code']
out = subprocess.run(['tshark', '-r', args.capture, '-n', '-o', 'tcp.relative_sequence_numbers:TRUE',
                      '-d', f'tcp.port=={args.server_port},http', '-T', 'fields', '-E', 'separator=\t',
                      '-E', 'occurrence=f'] + sum([['-e', f] for f in FIELDS], []),
                     check=True, capture_output=True, text=True).stdout
conns = {}
for line in out.splitlines():
    v = line.split('\t')
    p = {'frame': int(v[0]), 't': float(v[1]), 'stream': int(v[2]), 'flags': int(v[7], 16), 'seq': int(v[8]),
         'ack': int(v[9] or 0), 'len': int(v[10] or 0), 'method': v[11], 'uri': v[12], 'status': v[13]}
    p['fromClient'] = int(v[6]) == args.server_port
    c = conns.setdefault(p['stream'], {'packets': []})
    c['client'], c['server'] = (f'{v[3]}:{v[4]}', f'{v[5]}:{v[6]}') if p['fromClient'] else (f'{v[5]}:{v[6]}', f'{v[3]}:{v[4]}')
    c['packets'].append(p)
for c in conns.values():
    pk = c['packets']
    c['port'] = int(c['client'].rsplit(':', 1)[1])
    c['requests'] = [p for p in pk if p['fromClient'] and p['method']]
    c['responses'] = [p for p in pk if not p['fromClient'] and p['status']]
    c['serverFin'] = next((p for p in pk if not p['fromClient'] and p['flags'] & FIN), None)
    c['clientFin'] = next((p for p in pk if p['fromClient'] and p['flags'] & FIN), None)
    c['serverRst'] = next((p for p in pk if not p['fromClient'] and p['flags'] & RST), None)
    c['clientRst'] = next((p for p in pk if p['fromClient'] and p['flags'] & RST), None)
    data = [p for p in pk if not p['fromClient'] and p['len'] > 0]
    c['lastServerData'] = data[-1] if data else None
if not conns:
    fail('empty capture')
server = next(iter(conns.values()))['server']
configured = {k: float(v) for k, v in (kv.split('=', 1) for kv in args.set)}
events = jsonl(args.client_log)
lib = next((e['lib'] for e in events if 'lib' in e), '?')
LIB = {'fetch': 'Node fetch (undici)', 'go': 'Go net/http'}.get(lib, lib)


def ms(x):
    return round(x * 1000, 1)


def handled_counts():
    """How many times the server saw each URI (its own log)."""
    counts = {}
    if args.access_log:   # nginx: "METHOD URI HTTP/1.1"
        for m in re.finditer(r'"[A-Z]+ (\S+) HTTP/1\.[01]"', open(args.access_log).read()):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    for e in jsonl(args.server_log):   # go-http.go (uri) or b-http-server.js (url)
        uri = e.get('uri') or e.get('url')
        if uri and e.get('role', 'server') == 'server':
            counts[uri] = counts.get(uri, 0) + 1
    return counts


def attempts_of(uri):
    """The ports the client sent URI on, in order (undici sendHeaders, Go GotConn)."""
    return [e['port'] for e in events if e['event'] in ('sendHeaders', 'gotConn') and e.get('uri') == uri]


def idle_closes():
    gaps = []
    for c in conns.values():
        fin, last = c['serverFin'], c['lastServerData']
        if not fin or not last or not c['responses']:
            continue
        if c['clientFin'] and c['clientFin']['frame'] < fin['frame']:
            continue
        if any(last['frame'] < r['frame'] < fin['frame'] for r in c['requests']):
            continue
        gaps.append(round(fin['t'] - last['t'], 3))
    return sorted(gaps)


def client_idle_closes():
    """Idle gaps after which the client closed (its FIN first, after its last response)."""
    gaps = []
    for c in conns.values():
        fin, last = c['clientFin'], c['lastServerData']
        if not fin or not last or (c['serverFin'] and c['serverFin']['frame'] < fin['frame']):
            continue
        gaps.append(round(fin['t'] - last['t'], 3))
    return sorted(gaps)


def facts_common():
    states = {}
    for c in conns.values():
        s = 'RST' if (c['serverRst'] or c['clientRst']) else ('FIN-both' if c['serverFin'] and c['clientFin'] else 'other')
        states[s] = states.get(s, 0) + 1
    return {'connections': len(conns), 'requests': sum(len(c['requests']) for c in conns.values()),
            'responses': sum(len(c['responses']) for c in conns.values()), 'closeStates': states,
            'captureFile': os.path.basename(args.capture)}


def write(description, expect, silent, observed, facts):
    meta = {'scenario': os.path.basename(args.meta).replace('.meta.json', ''), 'description': description,
            'software': args.software, 'configured': configured, 'expect': expect, 'silent': silent,
            'captureSide': 'server (tun ccbs in the server namespace)' if '10.99.0.' in server else 'loopback',
            'observed': observed, 'facts': facts}
    with open(args.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x11-meta: wrote {args.meta}')


def keepalive_race():
    handled = handled_counts()
    sends = [e for e in events if e['event'] == 'send' and 'probe' not in e['uri'] and not e['uri'].endswith('-warm')]
    outcome = {e['uri']: e for e in events if e['event'] in ('response', 'error')}
    candidates = {e['uri']: e for e in events if e['event'] == 'reuseCandidate'}
    expect, races, clean_new = [], [], []
    for s in sends:
        uri = s['uri']
        res = outcome.get(uri) or fail(f'{uri}: no outcome in the client log')
        tried = attempts_of(uri)
        on = [c for c in conns.values() if any(r['uri'] == uri for r in c['requests'])]
        if sorted(c['port'] for c in on) != sorted(tried):
            fail(f'{uri}: sent on ports {sorted(c["port"] for c in on)} in the capture, the client log says {tried}')
        answered = [c for c in on if c['responses'] and c['responses'][-1]['frame'] > next(r for r in c['requests'] if r['uri'] == uri)['frame']]
        failed = [c for c in on if c not in answered]
        cand = candidates.get(uri, {})
        if not failed:
            if cand.get('port') and tried and tried[0] != cand['port']:
                clean_new.append(uri)   # the pool had seen the FIN and opened a new connection
            continue
        if len(failed) != 1 or failed[0]['port'] != tried[0] or tried[0] != cand.get('port'):
            fail(f'{uri}: failed on {[c["port"] for c in failed]}, not (only) on the reused connection {cand.get("port")}')
        c = failed[0]
        fin, rst = c['serverFin'], c['serverRst']
        if not fin:
            fail(f'{uri}: no server FIN')
        req = next((p for p in c['packets'] if p['fromClient'] and p['len'] > 0 and p['frame'] > fin['frame']), None)
        if req is None:
            fail(f'{uri}: the request did not come after the server FIN')
        if not rst or rst['frame'] < req['frame']:
            fail(f'{uri}: no RST after the request')
        if handled.get(uri, 0) != len(answered):
            fail(f'{uri}: the server handled it {handled.get(uri, 0)} times, answered on {len(answered)} connections')
        retried = len(tried) > 1
        if res['event'] == 'error' and retried:
            fail(f'{uri}: retried and still an error')
        if res['event'] == 'response' and not retried:
            fail(f'{uri}: answered without a retry although it failed on {c["client"]}')
        form = 'stale-reuse' if req['ack'] > fin['seq'] else 'crossing'
        idle = fin['t'] - c['lastServerData']['t']
        method = s['method']
        key = ' (with an Idempotency-Key header)' if s.get('idempotencyKey') else ''
        note = (f'{method} {uri}{key} on a connection {args.server_name} closed after {idle:.3f} s idle ({form}: the request reached '
                f'the server {ms(req["t"] - fin["t"])} ms after its FIN left; the client program had '
                f'{"already" if cand.get("serverFinSeen") else "not yet"} seen the FIN when it sent); the closed socket answered RST.')
        if res['event'] == 'error':
            why = res['text'] + (f' (cause {res.get("causeName")} {res.get("causeCode")}: {res.get("causeText")})' if res.get('causeName') else '')
            note += f' {LIB} rejected the request: {why}; sent once (no retry).'
        else:
            note += f' {LIB} sent it again on a new connection ({answered[0]["client"]}), answered {res["status"]}: the application saw no error.'
        races.append({'client': c['client'], 'uri': uri, 'method': method, 'idempotencyKey': bool(s.get('idempotencyKey')),
                      'form': form, 'deltaMs': ms(req['t'] - fin['t']), 'idleGapSeconds': round(idle, 3),
                      'clientSaw': res['text'] if res['event'] == 'error' else f'HTTP {res["status"]}',
                      'causeCode': res.get('causeCode'), 'retriedByClient': retried,
                      'clientFinSeenBeforeSend': cand.get('serverFinSeen')})
        expect.append({'kind': 'keepalive-race', 'client': c['client'], 'server': c['server'], 'notes': note,
                       'evidence': {'form': form, 'method': method, 'uri': uri, 'idleGapSeconds': round(idle, 3),
                                    'deltaMs': ms(req['t'] - fin['t']), 'retried': retried}})
        for a in answered:
            expect.append({'kind': 'retried-request', 'client': a['client'], 'server': a['server'],
                           'notes': f'{LIB} sent {method} {uri}{key} again on a new connection after the race on {c["client"]}; '
                                    f'answered {a["responses"][-1]["status"]}.'})
    if not races:
        fail('no race')
    if not any(r['form'] == 'crossing' for r in races):
        fail('no crossing')
    if not any(r['method'] == 'POST' for r in races) or not any(r['method'] == 'GET' for r in races):
        fail('races need a GET and a POST')
    if args.require_retry and not any(r['retriedByClient'] for r in races):
        fail('no retry by the client')
    if not clean_new:
        fail('no round where the client saw the FIN first and opened a new connection')
    gaps = idle_closes()
    if len(gaps) < 3:
        fail(f'only {len(gaps)} idle closes')
    failed_clients = {e['client'] for e in expect}
    for c in conns.values():
        if c['client'] not in failed_clients:
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'],
                           'notes': 'answered; then idle-closed by the server.'})
    expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                   'notes': f'{args.server_name} closes idle connections after {min(gaps)}-{max(gaps)} s (configured: '
                            f'{configured.get("serverIdleTimeout")} s); the client reuses connections after about as long '
                            f'(its own pool idle timeout is longer): every race above is the consequence.'})
    write(args.description, expect, False,
          {'serverIdleCloseSeconds': gaps, 'races': races, 'newConnectionAfterFinSeen': clean_new,
           'clientRetries': sum(1 for r in races if r['retriedByClient'])}, facts_common())


def healthy_hint():
    errors = [e for e in events if e['event'] == 'error']
    if errors:
        fail(f'the client saw errors: {errors}')
    sent = [e for e in events if e['event'] == 'send']
    answered = [e for e in events if e['event'] == 'response']
    if len(sent) != len(answered):
        fail(f'{len(sent)} requests sent, {len(answered)} answered')
    hints = {e.get('keepAlive') for e in answered}
    closes = client_idle_closes()
    if not closes:
        fail('the client closed no idle connection')
    if idle_closes():
        fail(f'the server closed idle connections first: {idle_closes()}')
    # undici saw the client's own close: the socket closed without an 'end' (no FIN from the server first).
    ends = {e['port'] for e in events if e['event'] == 'socketEnd'}
    closed = {e['port'] for e in events if e['event'] == 'socketClose'}
    own = sorted(closed - ends)
    expect = []
    for c in conns.values():
        if len(c['responses']) != len(c['requests']):
            fail(f'{c["client"]}: not every request answered')
        expect.append({'kind': None, 'client': c['client'], 'server': c['server'],
                       'notes': f'{len(c["requests"])} requests answered; the client closed the idle connection first.'})
    write(args.description, expect, True,
          {'keepAliveHeaders': sorted(h for h in hints if h), 'clientIdleCloseSeconds': closes,
           'clientClosedPorts': own}, facts_common())


def client_timeout():
    handled = handled_counts()
    timeout = configured['clientTimeout']
    errors = [e for e in events if e['event'] == 'error']
    if not errors:
        fail('no client timeout')
    expect, waits = [], []
    for e in errors:
        uri = e['uri']
        if handled.get(uri, 0) != 1:
            fail(f'{uri}: the server saw it {handled.get(uri, 0)} times')
        if abs(e['elapsed'] - timeout) > 0.1:
            fail(f'{uri}: the client gave up after {e["elapsed"]:.3f} s, not {timeout} s')
        on = [c for c in conns.values() if any(r['uri'] == uri for r in c['requests'])]
        if len(on) != 1:
            fail(f'{uri}: on {len(on)} connections')
        c = on[0]
        named = next(r for r in c['requests'] if r['uri'] == uri)
        before = [r['frame'] for r in c['responses'] if r['frame'] < named['frame']]
        # The request's first segment: the first client data after the previous response.
        req = next(p for p in c['packets'] if p['fromClient'] and p['len'] > 0 and p['frame'] > max(before, default=0))
        close = min((p for p in (c['clientFin'], c['clientRst']) if p), key=lambda p: p['frame'], default=None)
        if c['requests'][-1]['uri'] != uri or close is None or close['frame'] < named['frame']:
            fail(f'{uri}: not the last request on {c["client"]}, or the client did not close after it')
        if any(r['frame'] > named['frame'] and r['frame'] < close['frame'] for r in c['responses']):
            fail(f'{uri}: answered before the client closed')
        wait = close['t'] - req['t']
        waits.append(round(wait, 3))
        first = c['requests'][0]['uri'] == uri
        why = e['text'] + (f' (cause {e.get("causeName")}: {e.get("causeText")})' if e.get('causeName') else '')
        expect.append({'kind': 'unanswered-request', 'client': c['client'], 'server': c['server'],
                       'notes': f'{e["method"]} {uri}: the server answers after 2.5 s; the client gave up after {e["elapsed"]:.3f} s '
                                f'({"the first request on its connection" if first else "on a reused connection"}) and closed it '
                                f'({"RST" if close["flags"] & RST else "FIN"}) {wait:.3f} s after the request left; it saw: {why}. '
                                + ('The server\'s late answer met the closed socket (RST).' if c['clientRst'] or any(r['frame'] > close['frame'] for r in c['responses'])
                                   else 'The server closed its side at once (FIN): its answer was never sent.'),
                       'evidence': {'waitSeconds': round(wait, 3), 'firstOnConnection': first}})
    bad = {e['client'] for e in expect}
    for c in conns.values():
        if c['client'] not in bad:
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': 'answered in time.'})
    write(args.description, expect, False, {'clientGaveUpAfterSeconds': [round(e['elapsed'], 3) for e in errors],
                                            'closeAfterRequestSeconds': waits}, facts_common())


{'keepalive-race': keepalive_race, 'healthy-hint': healthy_hint, 'client-timeout': client_timeout}[args.kind]()
