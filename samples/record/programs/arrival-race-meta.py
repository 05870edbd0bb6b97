#!/usr/bin/env python3
"""Check the keepalive-race-arrival capture against what it must show, and write its meta.json.

Usage: arrival-race-meta.py --capture FILE --meta OUT --client-log FILE --access-log FILE
                            --idle-setting SECONDS --software NAME...

The numbers come from the capture (tshark), measured independently of the programs that made it;
the client log (arrival-race-client.py) only says which requests met EOF, and lighttpd's access log
says which requests lighttpd actually handled. For each request that met EOF the capture must show:
the request on a reused connection (not its first), ACKed by the server's kernel, then the server's
FIN within 5 ms whose ACK covers the whole request, no server byte in between, and no access-log
line for it. Any failed check prints why and exits 1 without writing the meta.
"""
import argparse
import json
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--client-log', required=True)
ap.add_argument('--access-log', required=True)
ap.add_argument('--idle-setting', type=float, required=True)
ap.add_argument('--software', nargs='+', default=[])
args = ap.parse_args()

FIN, SYN, RST = 0x01, 0x02, 0x04
fields = ['frame.number', 'frame.time_relative', 'tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tcp.flags',
          'tcp.seq', 'tcp.ack', 'tcp.len', 'http.request.method', 'http.request.uri', 'http.response.code']
out = subprocess.run(['tshark', '-r', args.capture, '-n', '-o', 'tcp.relative_sequence_numbers:TRUE', '-T', 'fields',
                      '-E', 'separator=\t'] + sum([['-e', f] for f in fields], []), check=True, capture_output=True, text=True).stdout


def fail(why):
    print(f'arrival-race-meta: {why}', file=sys.stderr)
    sys.exit(1)


SERVER_PORT = 8082
conns = {}
for line in out.splitlines():
    v = line.split('\t')
    p = {
        'frame': int(v[0]), 't': float(v[1]), 'stream': int(v[2]), 'sport': int(v[3]), 'dport': int(v[4]),
        'flags': int(v[5], 16), 'seq': int(v[6]), 'ack': int(v[7] or 0), 'len': int(v[8] or 0),
        'method': v[9], 'uri': v[10], 'status': v[11],
    }
    p['fromClient'] = p['dport'] == SERVER_PORT
    c = conns.setdefault(p['stream'], {'client': None, 'packets': []})
    if p['fromClient']:
        c['client'] = f"127.0.0.1:{p['sport']}"
    c['packets'].append(p)

events = [json.loads(l) for l in open(args.client_log) if l.strip()]
access = [l for l in open(args.access_log) if l.strip()]
by_client = {c['client']: c for c in conns.values()}

races = []
for e in events:
    if e['event'] != 'eof':
        continue
    conn = by_client.get(e['client']) or fail(f"no connection for {e['client']}")
    pk = conn['packets']
    reqs = [p for p in pk if p['fromClient'] and p['method']]
    req = next((p for p in reqs if p['uri'] == e['uri'] and p['method'] == e['method'] and p is reqs[-1]), None)
    if req is None:
        fail(f"{e['client']}: the last request is not {e['method']} {e['uri']}")
    if len(reqs) < 2:
        fail(f"{e['client']}: the request is the connection's first")
    prev_resp = [p for p in pk if not p['fromClient'] and p['status'] and p['frame'] < req['frame']]
    if not prev_resp:
        fail(f"{e['client']}: no earlier response")
    last_resp = prev_resp[-1]
    req_end = max(p['seq'] + p['len'] for p in pk if p['fromClient'] and p['len'] > 0)
    fin = next((p for p in pk if not p['fromClient'] and p['flags'] & FIN), None) or fail(f"{e['client']}: no server FIN")
    if fin['frame'] < req['frame']:
        fail(f"{e['client']}: the FIN came before the request (crossing / stale reuse, not this scenario)")
    if fin['ack'] < req_end:
        fail(f"{e['client']}: the server's FIN does not acknowledge the whole request")
    if any(not p['fromClient'] and p['len'] > 0 and req['frame'] < p['frame'] < fin['frame'] for p in pk):
        fail(f"{e['client']}: the server sent bytes between the request and its FIN")
    if any(not p['fromClient'] and p['flags'] & RST for p in pk):
        fail(f"{e['client']}: the server reset (lighttpd is expected to close with a FIN)")
    close_after = fin['t'] - req['t']
    if close_after > 0.005:
        fail(f"{e['client']}: the FIN came {close_after * 1000:.3f} ms after the request (more than 5 ms)")
    retry = next((x for x in events if x['event'] == 'request' and x['client'] != e['client'] and x['uri'] == e['uri']
                  and x['method'] == e['method'] and x['mono'] >= e['mono']), None)
    races.append({
        'client': e['client'], 'method': e['method'], 'uri': e['uri'], 'requestFrame': req['frame'], 'finFrame': fin['frame'],
        'idleBeforeRequest': round(req['t'] - last_resp['t'], 3), 'closeAfterRequestMs': round(close_after * 1000, 3),
        'retryClient': retry['client'] if retry else None,
    })

if len(races) != 2:
    fail(f'expected 2 requests met by the idle close, found {len(races)}')
responses = [e for e in events if e['event'] == 'response']
if len(access) != len(responses):
    fail(f'lighttpd logged {len(access)} requests but the client got {len(responses)} responses')

idle_closes = []
for c in conns.values():
    pk = c['packets']
    fin = next((p for p in pk if not p['fromClient'] and p['flags'] & FIN), None)
    resp = [p for p in pk if not p['fromClient'] and p['status']]
    if fin and resp and c['client'] not in [r['client'] for r in races]:
        idle_closes.append(round(fin['t'] - resp[-1]['t'], 3))

expect = []
for r in races:
    expect.append({
        'kind': 'keepalive-race',
        'client': r['client'],
        'server': f'127.0.0.1:{SERVER_PORT}',
        'notes': f"closed on arrival: {r['method']} {r['uri']} came {r['idleBeforeRequest']} s after the previous response; lighttpd's "
                 f"once-a-second idle sweep ran before it read the request and closed the connection (FIN, lingering close) "
                 f"{r['closeAfterRequestMs']} ms later; its access log has no line for it; the client got EOF and retried on {r['retryClient']}.",
        'evidence': {'form': 'closed-on-arrival', 'method': r['method'], 'uri': r['uri'], 'idleBeforeRequest': r['idleBeforeRequest'],
                     'closeAfterRequestMs': r['closeAfterRequestMs'], 'requestFrame': r['requestFrame'], 'finFrame': r['finFrame'],
                     'retryClient': r['retryClient']},
    })
    if r['retryClient']:
        expect.append({
            'kind': 'retried-request',
            'client': r['retryClient'],
            'server': f'127.0.0.1:{SERVER_PORT}',
            'notes': f"the client's retry of {r['method']} {r['uri']} on a new connection right after the EOF"
                     + (' (a POST: a blind retry could apply it twice)' if r['method'] == 'POST' else '') + '.',
        })

meta = {
    'scenario': 'keepalive-race-arrival',
    'description': (
        'Keep-alive race, closed-on-arrival form, against lighttpd on loopback. lighttpd (server.max-keep-alive-idle = 1) checks idle '
        'keep-alive connections once per second, on the first event-loop pass of each new second and before it reads that pass\'s '
        'sockets. A Python client reads a response early in second k and sends its next request on the same connection 5 ms into '
        'second k + 2 (about 1.2 s idle): the request wakes lighttpd, the idle sweep runs first and closes the connection with the request '
        'unread in its buffer (its kernel has ACKed it; the FIN acknowledges it; lingering close, so no RST). No response, no access-log '
        'line; the client gets EOF and retries the same request on a new connection (GET, then POST). The last connection is left idle '
        'until lighttpd closes it.'),
    'software': args.software,
    'configured': {'lighttpdMaxKeepAliveIdle': args.idle_setting},
    'configuredNotes': 'lighttpdMaxKeepAliveIdle is server.max-keep-alive-idle; with the 1 s sweep an idle connection is closed 1-3 s after its last read.',
    'observed': {
        'closedOnArrival': [{k: r[k] for k in ('client', 'method', 'uri', 'idleBeforeRequest', 'closeAfterRequestMs')} for r in races],
        'serverIdleCloseSeconds': idle_closes,
        'accessLogLines': len(access),
        'clientResponses': len(responses),
    },
    'expect': expect,
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
print(f"arrival-race-meta: {len(races)} closes on arrival ({', '.join(str(r['closeAfterRequestMs']) + ' ms' for r in races)}), "
      f"idle closes {idle_closes}; wrote {args.meta}")
