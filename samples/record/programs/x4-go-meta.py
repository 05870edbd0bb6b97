#!/usr/bin/env python3
"""Check a Go net/http sample capture against the programs' own logs (go-http.go) and write its meta.json.

Usage:
  x4-go-meta.py client-timeout --capture F --meta OUT --client-log F --server-log F --server IP:PORT --timeout S --software NAME...
  x4-go-meta.py backend-killed --capture F --meta OUT --client-log F --proxy-log F --server-log F --killed-at EPOCH
                               --proxy IP:PORT --server IP:PORT --software NAME...
  x4-go-meta.py proxy-client-timeout --capture F --meta OUT --client-log F --proxy-log F --server-log F
                               --proxy IP:PORT --server IP:PORT --timeout S --software NAME...
  x4-go-meta.py churn --capture F --meta OUT --client-log F --server-log F --server IP:PORT --software NAME...

Everything is measured with tshark; the logs (one JSON line per request) say what each program saw.
Any failed check prints why and exits 1 without writing the meta.
"""
import argparse
import json
import subprocess
import sys

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def fail(why):
    print(f'x4-go-meta: {why}', file=sys.stderr)
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


def client_timeout(args):
    conns = connections(args.capture)
    log = read_log(args.client_log)
    served = read_log(args.server_log)
    timed_out = [e for e in log if e['outcome'] == 'error']
    answered = [e for e in log if e['outcome'] == 'response']
    if len(timed_out) < 3 or len(answered) < 2:
        fail(f'{len(timed_out)} timed-out and {len(answered)} answered requests (at least 3 and 2 expected)')
    if not all('Client.Timeout exceeded' in e['error'] for e in timed_out):
        fail(f"a request failed otherwise than by the client's timeout: {[e['error'] for e in timed_out]}")
    by_client = {c['client']: c for c in conns}
    expect, waits, lates = [], [], []
    for e in timed_out:
        port = e['conns'][-1].rsplit(':', 1)[1]
        c = by_client.get(f'127.0.0.1:{port}') or fail(f'no connection from port {port} in the capture')
        req = next((r for r in c['requests'] if r['uri'] == e['uri']), None) or fail(f"{c['client']}: {e['uri']} not in the capture")
        fin = c['clientFin'] or fail(f"{c['client']}: the client did not close (FIN) at its timeout")
        late = next((p for p in c['serverData'] if p['t'] > req['t']), None) or fail(f"{c['client']}: no late response from the server")
        rst = c['clientRst'] or fail(f"{c['client']}: the client's socket did not reset the late response")
        if not (req['t'] < fin['t'] < late['t'] <= rst['t']):
            fail(f"{c['client']}: expected request < client FIN < late response <= client RST")
        wait = fin['t'] - req['t']
        if abs(wait - args.timeout) > 0.05:
            fail(f"{c['client']}: the client closed {wait:.3f} s after the request, its timeout is {args.timeout} s")
        if not any(s['uri'] == e['uri'] and s['remote'] == c['client'] for s in served):
            fail(f"{c['client']}: the server did not log answering {e['uri']}")
        waits.append(round(wait, 3))
        lates.append(round(late['t'] - req['t'], 3))
        expect.append({
            'kind': 'unanswered-request', 'client': c['client'], 'server': args.server,
            'notes': f"{req['method']} {e['uri']} ({'reused connection' if e['reused'][-1] else 'new connection'}): the client gave up and "
                     f"closed (FIN) {wait:.3f} s after the request (Go: {e['error'].split(': ', 1)[1]}); the server answered 200 "
                     f"{late['t'] - req['t']:.3f} s after the request and the client's closed socket reset it (frame {rst['frame']}).",
            'evidence': {'closedBy': 'client', 'closedWith': 'FIN', 'waitSeconds': round(wait, 3), 'lateResponseStatus': 200,
                         'lateResponseAfter': round(late['t'] - req['t'], 3), 'requestFrame': req['frame'], 'finFrame': fin['frame'],
                         'lateResponseFrame': late['frame'], 'clientRstFrame': rst['frame']},
        })
    failed_clients = {x['client'] for x in expect}
    for c in conns:
        if c['client'] not in failed_clients:
            expect.append({'kind': None, 'client': c['client'], 'server': args.server,
                           'notes': f"{len(c['requests'])} request(s) answered in time ({', '.join(r['uri'] for r in c['requests'])})."})
    meta = {
        'scenario': 'unanswered-request-go-client-timeout',
        'description': (
            f'Go net/http on both sides: an http.Client with Timeout {args.timeout:g} s against an http.Server whose handler answers '
            'slow requests after 2.2-3 s. At its timeout the client closes the connection with a FIN (its error: context deadline '
            'exceeded (Client.Timeout exceeded while awaiting headers)); the server still answers 200 later, and the client\'s closed '
            'socket resets that late response. Fast requests in between are answered in time; two slow requests went on reused '
            'keep-alive connections. Before conncheck knew this, it said nothing: the exchanges had a response.'),
        'software': args.software,
        'configured': {'clientTimeout': args.timeout},
        'configuredNotes': 'clientTimeout is http.Client.Timeout (whole exchange, from the request being sent).',
        'observed': {'clientWaitSeconds': sorted(waits), 'lateResponseAfterSeconds': sorted(lates),
                     'clientErrors': sorted({e['error'].split(': ', 1)[1] for e in timed_out}), 'answeredInTime': len(answered)},
        'expect': expect,
        'silent': False,
    }
    write(args.meta, meta)
    print(f'x4-go-meta: {len(timed_out)} client timeouts at {sorted(waits)} s, late answers after {sorted(lates)} s; wrote {args.meta}')


def backend_killed(args):
    conns = connections(args.capture)
    clients = read_log(args.client_log)
    proxied = read_log(args.proxy_log)
    served = read_log(args.server_log)
    killed = args.killed_at
    up = [c for c in conns if c['server'] == args.server]
    down = [c for c in conns if c['server'] == args.proxy]
    slow = [e for e in clients if 'slow' in e['uri']]
    if len(slow) != 3 or any(e.get('status') != 502 for e in slow):
        fail(f"the slow GETs were not all answered 502: {[(e['uri'], e.get('status'), e.get('error')) for e in slow]}")
    if any('slow' in s['uri'] for s in served):
        fail('the backend answered a slow request before it was killed')
    # The upstream connections that carried a slow request: closed by the backend's kernel at the kill, unanswered.
    cut = []
    for c in up:
        reqs = [r for r in c['requests'] if 'slow' in r['uri']]
        if not reqs:
            continue
        fin = c['serverFin'] or fail(f"{c['client']}: the backend did not close the connection carrying {reqs[0]['uri']}")
        if any(p['t'] > reqs[0]['t'] for p in c['serverData']):
            fail(f"{c['client']}: the backend answered the slow request")
        cut.append({'conn': c, 'req': reqs[0], 'fin': fin})
    if len(cut) != 3:
        fail(f'{len(cut)} upstream connections carried a slow request (3 expected)')
    closes = [x['fin']['t'] for x in cut]
    if max(closes) - min(closes) > 0.01 or not all(abs(t - killed) < 0.2 for t in closes):
        fail(f'the backend closes are not one moment at the kill: {[round(t - killed, 4) for t in closes]}')
    ages = [x['fin']['t'] - x['req']['t'] for x in cut]
    refused = [c for c in up if c['synAck'] is None and c['serverRst'] is not None]
    if not refused or min(c['syn']['t'] for c in refused) - max(closes) > 1:
        fail('no upstream connection refused within a second of the kill')
    proxy_502 = [p for p in proxied if p['status'] == 502]
    if len(proxy_502) != len([e for e in clients if e.get('status') == 502]):
        fail('the proxy and the clients disagree on the 502s')
    expect = []
    for x in cut:
        c = x['conn']
        expect.append({
            'kind': 'unanswered-request', 'client': c['client'], 'server': args.server,
            'notes': f"{x['req']['method']} {x['req']['uri']} forwarded by the proxy; the backend was killed {x['fin']['t'] - x['req']['t']:.3f} s "
                     f"after it and its kernel closed the connection (FIN, frame {x['fin']['frame']}) unanswered. The three such closes fall "
                     f"within {1000 * (max(closes) - min(closes)):.2f} ms: the server going away (it refuses a connection right after), "
                     'not a timeout, although the requests, sent together, are of one age.',
        })
    for c in refused:
        expect.append({'kind': 'connection-refused', 'client': c['client'], 'server': args.server,
                       'notes': f"the proxy's connection attempt {c['syn']['t'] - killed:.3f} s after the kill, refused (RST): nothing listens."})
    # GET /items/N by id: /items/1 answered 200 before the kill, /items/2 502 after it, on the same connections.
    items = [p for p in proxied if p['method'] == 'GET' and p['uri'].startswith('/items/') and 'slow' not in p['uri']]
    if not (any(p['status'] == 200 for p in items) and any(p['status'] == 502 for p in items)):
        fail(f"GET /items/N was not answered both 200 and 502: {[(p['uri'], p['status']) for p in items]}")
    expect.append({'kind': 'intermittent-5xx', 'server': args.proxy,
                   'notes': f"GET /items/{{id}}: {sum(p['status'] == 200 for p in items)} answered 200 before the kill, "
                            f"{sum(p['status'] == 502 for p in items)} answered 502 after it (refused upstream): failures in one period, an outage."})
    cut_clients = {x['conn']['client'] for x in cut} | {c['client'] for c in refused}
    for c in up:
        if c['client'] not in cut_clients:
            expect.append({'kind': None, 'client': c['client'], 'server': args.server, 'notes': 'warm-up requests, answered.'})
    for c in down:
        statuses = [r['status'] for r in c['responses']]
        expect.append({'kind': None, 'client': c['client'], 'server': args.proxy,
                       'notes': f"the client's connection to the proxy, answered {statuses}: the 502s relay the backend's close or refusal "
                                '(no gateway timeout: no timer of the proxy fired; the GET /items/{id} ones are in the intermittent-5xx '
                                'finding, which names no single connection).'})
    meta = {
        'scenario': 'backend-killed-go-reverseproxy',
        'description': (
            "A backend killed with requests in flight, behind Go's httputil.ReverseProxy: client 127.0.0.1 (Go http.Client, 3 workers) -> "
            f'proxy {args.proxy} (connecting upstream from 127.0.0.2) -> Go http.Server {args.server}. Each worker sends a warm-up GET, then a '
            'slow GET (the handler sleeps 3 s); 0.5 s into them the backend is killed (SIGKILL): its kernel closes the upstream connections '
            '(FIN) with the requests unanswered, all at one moment, and the proxy answers 502 (EOF; a GET that failed on a reused upstream '
            "connection is retried by Go's Transport and refused). The workers' next GET and POST are refused upstream and answered 502 at once. "
            'Before, conncheck inferred a server timeout equal to the requests\' common age and a proxy read timeout for the 502s.'),
        'software': args.software,
        'configured': {},
        'observed': {'killedAt': killed, 'upstreamCloseAfterKillMs': sorted(round(1000 * (t - killed), 2) for t in closes),
                     'cutRequestAges': sorted(round(a, 3) for a in ages), 'refusedConnections': len(refused),
                     'proxyErrors': sorted({p.get('error', '') for p in proxy_502}), 'client502': len(proxy_502)},
        'expect': expect,
        'silent': False,
    }
    write(args.meta, meta)
    print(f'x4-go-meta: 3 requests cut at the kill (ages {sorted(round(a, 3) for a in ages)}), {len(refused)} refused, '
          f'{len(proxy_502)} 502s; wrote {args.meta}')


def proxy_client_timeout(args):
    conns = connections(args.capture)
    clients = read_log(args.client_log)
    proxied = read_log(args.proxy_log)
    served = read_log(args.server_log)
    up = {c['client']: c for c in conns if c['server'] == args.server}
    down = {c['client']: c for c in conns if c['server'] == args.proxy}
    timed_out = [e for e in clients if e['outcome'] == 'error']
    if len(timed_out) != 3 or not all('Client.Timeout exceeded' in e['error'] for e in timed_out):
        fail(f"expected 3 client timeouts: {[(e['uri'], e.get('error')) for e in timed_out]}")
    if len([e for e in clients if e.get('status') == 200]) != 2:
        fail('expected the 2 fast requests answered 200')
    expect, waits, follow_gaps = [], [], []
    for e in timed_out:
        port = e['conns'][-1].rsplit(':', 1)[1]
        d = down.get(f'127.0.0.1:{port}') or fail(f'no client connection from port {port}')
        req = next((r for r in d['requests'] if r['uri'] == e['uri']), None) or fail(f"{d['client']}: {e['uri']} not in the capture")
        fin = d['clientFin'] or fail(f"{d['client']}: the client did not close at its timeout")
        answer = next((p for p in d['serverData'] if p['t'] > req['t']), None)
        if answer is None or answer['t'] < fin['t'] or d['clientRst'] is None:
            fail(f"{d['client']}: expected the proxy's answer after the client's FIN, reset by the client")
        logged = next((p for p in proxied if p['uri'] == e['uri']), None) or fail(f"the proxy did not log {e['uri']}")
        if logged['status'] != 502 or 'context canceled' not in logged.get('error', ''):
            fail(f"the proxy answered {e['uri']} {logged['status']} ({logged.get('error')}), expected 502 context canceled")
        # The upstream connection that carried the same request, closed by the proxy right after the client's FIN.
        u = next((c for c in up.values() if any(r['uri'] == e['uri'] and r['t'] >= req['t'] for r in c['requests'])), None) \
            or fail(f"{e['uri']} was not forwarded upstream")
        ureq = next(r for r in u['requests'] if r['uri'] == e['uri'])
        ufin = u['clientFin'] or fail(f"{u['client']}: the proxy did not close the upstream connection")
        gap = ufin['t'] - fin['t']
        if not 0 <= gap < 0.05:
            fail(f"{u['client']}: the proxy closed upstream {gap * 1000:.2f} ms after its client's FIN (expected within 50 ms after)")
        if not any(p['t'] > ufin['t'] for p in u['serverData']) or not any(s['uri'] == e['uri'] for s in served):
            fail(f"{u['client']}: the backend did not answer {e['uri']} late")
        waits.append(round(fin['t'] - req['t'], 3))
        follow_gaps.append(round(gap * 1000, 3))
        expect.append({
            'kind': 'unanswered-request', 'client': d['client'], 'server': args.proxy,
            'notes': f"{req['method']} {e['uri']}: the client gave up and closed (FIN) {fin['t'] - req['t']:.3f} s after the request "
                     f"(its Timeout); the proxy's 502 (context canceled) came {1000 * (answer['t'] - fin['t']):.2f} ms later and was reset.",
        })
        expect.append({
            'kind': 'unanswered-request', 'client': u['client'], 'server': args.server,
            'notes': f"the forwarded {ureq['method']} {e['uri']}: the proxy closed the upstream connection {gap * 1000:.3f} ms after its "
                     "client's FIN (it cancelled the request with the client's context; no proxy timeout); the backend's late 200 was reset.",
        })
    named = {x['client'] for x in expect}
    for c in list(down.values()) + list(up.values()):
        if c['client'] not in named:
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': 'fast requests, answered in time.'})
    meta = {
        'scenario': 'client-timeout-go-reverseproxy',
        'description': (
            f"A client's timeout through Go's httputil.ReverseProxy, which has none of its own: client 127.0.0.1 (Go http.Client, Timeout "
            f"{args.timeout:g} s) -> proxy {args.proxy} (connecting upstream from 127.0.0.2, no ResponseHeaderTimeout) -> Go http.Server "
            f"{args.server} answering slow requests after 2.2-3 s. At {args.timeout:g} s the client closes its connection; the proxy cancels "
            'the forwarded request with the client\'s context (it closes the upstream connection within a millisecond) and answers 502 '
            '(context canceled) into the closed connection, which the client resets; the backend\'s late 200 is reset too. Before, conncheck '
            'took the 502s for a proxy read timeout of 1.5 s (gateway-timeout); the upstream requests are not a proxy timeout either.'),
        'software': args.software,
        'configured': {'clientTimeout': args.timeout},
        'configuredNotes': 'clientTimeout is http.Client.Timeout; the proxy has no timeout of its own (no proxyReadTimeout may be inferred).',
        'observed': {'clientWaitSeconds': sorted(waits), 'upstreamCloseAfterClientFinMs': sorted(follow_gaps),
                     'proxyErrors': sorted({p.get('error', '') for p in proxied if p['status'] == 502})},
        'expect': expect,
        'silent': False,
    }
    write(args.meta, meta)
    print(f'x4-go-meta: 3 client timeouts at {sorted(waits)} s, upstream closed {sorted(follow_gaps)} ms after the client; wrote {args.meta}')


def churn(args):
    conns = connections(args.capture)
    log = read_log(args.client_log)
    served = read_log(args.server_log)
    if any(e['outcome'] != 'response' or e['status'] != 200 for e in log) or len(served) != len(log):
        fail('every request must be answered 200 (and logged by the server)')
    one_shot = [c for c in conns if len(c['requests']) == 1 and c['clientFin'] is not None
                and (c['serverFin'] is None or c['clientFin']['frame'] < c['serverFin']['frame'])]
    pooled = [c for c in conns if len(c['requests']) >= 2]
    if len(one_shot) < 10 or len(one_shot) * 2 < len(conns) or not pooled:
        fail(f'{len(one_shot)} one-request connections closed by the client of {len(conns)}, {len(pooled)} pooled (expected most one-shot, some pooled)')
    for c in one_shot:
        resp = c['responses'][0] if c['responses'] else fail(f"{c['client']}: no response")
        if c['clientFin']['t'] - resp['t'] > 0.05:
            fail(f"{c['client']}: the client closed {c['clientFin']['t'] - resp['t']:.3f} s after the response (expected right after)")
    reused = sum(1 for e in log if e['reused'][-1])
    expect = [{
        'kind': 'connection-churn', 'client': '127.0.0.1', 'server': args.server,
        'notes': f"{len(one_shot)} of {len(conns)} connections carried one request and were closed by the client right after its response "
                 f"(Go's Transport had no idle room for them: MaxIdleConnsPerHost 2 with 8 requests at once); {len(pooled)} connections "
                 f"carried {sum(len(c['requests']) for c in pooled)} requests ({reused} requests reported reused by the client's trace).",
    }]
    meta = {
        'scenario': 'connection-churn-go-maxidleconns',
        'description': (
            "Connection churn from a Go client that does pool: 8 workers share one http.Client whose Transport keeps Go's default "
            'MaxIdleConnsPerHost (2) idle connections per host, against a Go http.Server that keeps connections alive. Each round the '
            '8 requests run at once; after their responses the Transport keeps 2 connections idle and closes the others, so most '
            'requests pay a new connection while a few connections carry many. Before, conncheck reported the churn but told the '
            'user to use a shared client and read bodies to EOF, which this client already does.'),
        'software': args.software,
        'configured': {},
        'observed': {'connections': len(conns), 'oneRequestClientClosed': len(one_shot), 'pooledConnections': len(pooled),
                     'requests': len(log), 'requestsOnReusedConnections': reused},
        'expect': expect,
        'silent': False,
    }
    write(args.meta, meta)
    print(f'x4-go-meta: {len(one_shot)} one-shot connections of {len(conns)}, {len(pooled)} pooled; wrote {args.meta}')


ap = argparse.ArgumentParser()
ap.add_argument('scenario', choices=['client-timeout', 'backend-killed', 'proxy-client-timeout', 'churn'])
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--client-log', required=True)
ap.add_argument('--server-log', required=True)
ap.add_argument('--proxy-log')
ap.add_argument('--server', required=True)
ap.add_argument('--proxy')
ap.add_argument('--timeout', type=float)
ap.add_argument('--killed-at', type=float)
ap.add_argument('--software', nargs='+', default=[])
a = ap.parse_args()
{'client-timeout': client_timeout, 'backend-killed': backend_killed, 'proxy-client-timeout': proxy_client_timeout, 'churn': churn}[a.scenario](a)
