#!/usr/bin/env python3
"""Check the keepalive-race-apache-java capture against what it must show, and write its meta.json.

Usage: apache-java-race-meta.py --capture FILE --meta OUT --client-log FILE --access-log FILE --server IP:PORT
                                --keepalive-timeout S --delay-ms MS --pairs METHOD:GAP... --software NAME...

Everything is measured with tshark on the server-side capture; the client log (JavaHttpClients
race-pairs, one JSON line per request) says what the caller saw, Apache's access log what Apache
answered. A raced connection is one whose last request got no response; the capture must show, for
each: a reused connection (not its first request), the server's FIN before the request (crossing:
the request does not acknowledge the FIN; stale reuse: it does), no RST from the server anywhere
(lingering close), and for a GET the same request as the first on a new connection within 100 ms
(HttpClient's silent retry), for a POST none (HttpClient never retries one; its caller got an
IOException). At least 2 GET and 2 POST crossings, every POST sent once per pair, and the last POST
pair's POST first on a fresh connection after Apache's idle close. Any failed check prints why and
exits 1 without writing the meta.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--client-log', required=True)
ap.add_argument('--access-log', required=True)
ap.add_argument('--server', required=True)
ap.add_argument('--keepalive-timeout', type=float, required=True)
ap.add_argument('--delay-ms', type=float, required=True)
ap.add_argument('--pairs', nargs='+', required=True)
ap.add_argument('--software', nargs='+', default=[])
args = ap.parse_args()

SCENARIO = 'keepalive-race-apache-java'
FIN, SYN, RST = 0x01, 0x02, 0x04
SERVER_IP, SERVER_PORT = args.server.rsplit(':', 1)
SERVER_PORT = int(SERVER_PORT)


def fail(why):
    print(f'apache-java-race-meta: {why}', file=sys.stderr)
    sys.exit(1)


fields = ['frame.number', 'frame.time_relative', 'tcp.stream', 'ip.src', 'tcp.srcport', 'tcp.dstport', 'tcp.flags',
          'tcp.seq', 'tcp.ack', 'tcp.len', 'http.request.method', 'http.request.uri', 'http.response.code', 'http.response.line']
out = subprocess.run(['tshark', '-r', args.capture, '-n', '-o', 'tcp.relative_sequence_numbers:TRUE', '-T', 'fields',
                      '-E', 'separator=\t'] + sum([['-e', f] for f in fields], []), check=True, capture_output=True, text=True).stdout

conns = {}
for line in out.splitlines():
    v = line.split('\t')
    p = {'frame': int(v[0]), 't': float(v[1]), 'stream': int(v[2]), 'src': v[3], 'sport': int(v[4]), 'dport': int(v[5]),
         'flags': int(v[6], 16), 'seq': int(v[7]), 'ack': int(v[8] or 0), 'len': int(v[9] or 0),
         'method': v[10], 'uri': v[11], 'status': v[12],
         'keepAlive': (re.search(r'Keep-Alive: ([^\\]*)\\r\\n', v[13], re.I) or [None, None])[1]}
    p['fromClient'] = p['dport'] == SERVER_PORT
    c = conns.setdefault(p['stream'], {'client': None, 'packets': []})
    if p['fromClient']:
        c['client'] = f"{p['src']}:{p['sport']}"
    c['packets'].append(p)

for c in conns.values():
    pk = c['packets']
    c['syn'] = next((p for p in pk if p['fromClient'] and p['flags'] & SYN), None)
    # tshark names the request on the segment that completes it; the request starts with its first
    # payload segment after the previous request's end (the POST's headers and body are two segments).
    c['requests'], start = [], None
    for p in pk:
        if p['fromClient'] and p['len'] > 0 and start is None:
            start = p
        if p['fromClient'] and p['method']:
            c['requests'].append({'method': p['method'], 'uri': p['uri'], 'first': start, 'last': p})
            start = None
    c['responses'] = [p for p in pk if not p['fromClient'] and p['status']]
    c['serverFin'] = next((p for p in pk if not p['fromClient'] and p['flags'] & FIN), None)
    c['clientFin'] = next((p for p in pk if p['fromClient'] and p['flags'] & FIN), None)
    if c['syn'] is None:
        fail(f"{c['client']}: no SYN (the capture must hold whole connections)")

if any(not p['fromClient'] and p['flags'] & RST for c in conns.values() for p in c['packets']):
    fail('the server sent RST (Apache is expected to close idle connections with a lingering close)')

ordered = sorted(conns.values(), key=lambda c: c['syn']['t'])
log = [json.loads(l) for l in open(args.client_log) if l.strip()]
access = [l for l in open(args.access_log) if l.strip()]
if len(log) != 2 * len(args.pairs):
    fail(f'the client logged {len(log)} requests for {len(args.pairs)} pairs')

races, retries = [], []
for c in ordered:
    if len(c['requests']) <= len(c['responses']):
        continue
    if len(c['requests']) != len(c['responses']) + 1 or len(c['requests']) < 2:
        fail(f"{c['client']}: {len(c['requests'])} requests, {len(c['responses'])} responses (expected one unanswered on a reused connection)")
    req = c['requests'][-1]
    fin = c['serverFin'] or fail(f"{c['client']}: unanswered request and no server FIN")
    if fin['frame'] > req['first']['frame']:
        fail(f"{c['client']}: the server's FIN came after the request (closed on arrival, not this scenario)")
    form = 'stale-reuse' if req['first']['ack'] > fin['seq'] else 'crossing'
    prev = c['responses'][-1]
    retry = next((o for o in ordered if o is not c and o['syn']['t'] > req['first']['t'] and o['requests']
                  and o['requests'][0]['method'] == req['method'] and o['requests'][0]['uri'] == req['uri']
                  and o['syn']['t'] - req['first']['t'] < 0.1), None)
    if req['method'] == 'GET' and retry is None:
        fail(f"{c['client']}: GET {req['uri']} was not retried on a new connection within 100 ms")
    if req['method'] == 'POST' and retry is not None:
        fail(f"{c['client']}: POST retried on {retry['client']} (Java's HttpClient is not expected to retry a POST)")
    races.append({'conn': c, 'client': c['client'], 'method': req['method'], 'uri': req['uri'], 'form': form,
                  'requestFrame': req['first']['frame'], 'finFrame': fin['frame'], 'previousResponseFrame': prev['frame'],
                  'idleGapSeconds': round(fin['t'] - prev['t'], 3),
                  'requestAfterFinMs': round((req['first']['t'] - fin['t']) * 1000, 3),
                  'idleBeforeRequestSeconds': round(req['first']['t'] - prev['t'], 3),
                  'retryClient': retry['client'] if retry else None})
    if retry:
        retries.append({'client': retry['client'], 'method': req['method'], 'uri': req['uri'], 'failedOn': c['client'],
                        'afterMs': round((retry['syn']['t'] - fin['t']) * 1000, 1), 'requestFrame': retry['requests'][0]['first']['frame']})

get_crossings = [r for r in races if r['method'] == 'GET' and r['form'] == 'crossing']
post_crossings = [r for r in races if r['method'] == 'POST' and r['form'] == 'crossing']
if len(get_crossings) < 2 or len(post_crossings) < 2:
    fail(f'{len(get_crossings)} GET and {len(post_crossings)} POST crossings (at least 2 of each needed)')

# The caller's view: every GET answered (the retries are silent), a failed POST per POST race.
post_failures = [e for e in log if e['method'] == 'POST' and e['outcome'].startswith('FAIL')]
get_failures = [e for e in log if e['method'] == 'GET' and e['outcome'].startswith('FAIL')]
if get_failures:
    fail(f'{len(get_failures)} GETs failed at the client (HttpClient should have retried them)')
if len(post_failures) != len([r for r in races if r['method'] == 'POST']):
    fail(f"the client saw {len(post_failures)} POSTs fail, the capture shows {len([r for r in races if r['method'] == 'POST'])} POST races")
posts_sent = sum(1 for c in ordered for r in c['requests'] if r['method'] == 'POST')
post_pairs = sum(1 for p in args.pairs if p.startswith('POST:'))
if posts_sent != post_pairs:
    fail(f'{posts_sent} POSTs in the capture for {post_pairs} POST pairs (each must be sent once)')
answered = sum(len(c['responses']) for c in ordered)
if len(access) != answered:
    fail(f'Apache logged {len(access)} requests, the capture has {answered} responses')

# The trap: the last POST pair idled past the timeout, so its POST went first on a fresh
# connection, after a failed POST (the job's next POST, not a retry).
last_post_race = max((r for r in races if r['method'] == 'POST'), key=lambda r: r['conn']['syn']['t'])
trap = next((c for c in ordered if c['syn']['t'] > last_post_race['conn']['syn']['t'] and c['requests']
             and c['requests'][0]['method'] == 'POST'), None)
if trap is None or len(trap['responses']) != 1 or trap['responses'][0]['status'] != '201':
    fail('no answered POST first on a fresh connection after the last POST race')

# Idle closes: the server's FIN on a connection whose every request was answered.
raced = {id(r['conn']) for r in races}
idle_closes = sorted(round(c['serverFin']['t'] - c['responses'][-1]['t'], 3) for c in ordered
                     if id(c) not in raced and c['serverFin'] and c['responses']
                     and (c['clientFin'] is None or c['serverFin']['frame'] < c['clientFin']['frame']))
if len(idle_closes) < 3:
    fail(f'only {len(idle_closes)} idle closes by Apache')
t_s = statistics.median(idle_closes)
if abs(t_s - args.keepalive_timeout) > 0.02:
    fail(f'Apache closed idle connections after {t_s} s, KeepAliveTimeout is {args.keepalive_timeout} s')
reuse_gaps = sorted(r['idleBeforeRequestSeconds'] for r in races)
advertised = sorted({p['keepAlive'] or 'none' for c in ordered for p in c['responses']})

server = f'{SERVER_IP}:{SERVER_PORT}'
expect = [{
    'kind': 'idle-timeout-mismatch',
    'server': server,
    'notes': f'Apache closed {len(idle_closes)} idle connections after {min(idle_closes):.3f}-{max(idle_closes):.3f} s '
             f'(KeepAliveTimeout {args.keepalive_timeout:g}; Keep-Alive headers sent: {advertised}) and the '
             f'client reused connections after {reuse_gaps[0]:.3f}-{reuse_gaps[-1]:.3f} s idle as seen at the server: the races are the consequence.',
    'evidence': {'inferredServerIdleTimeoutSeconds': t_s, 'clientReuseGapsSeconds': reuse_gaps},
}]
for r in races:
    crossing = r['form'] == 'crossing'
    how = ('crossing: sent before the FIN reached the client (its ACK does not cover the FIN)' if crossing
           else 'stale reuse: its ACK covers the FIN, the client sent it after its kernel had the FIN')
    after = (f"HttpClient retried it silently on {r['retryClient']}" if r['retryClient']
             else 'HttpClient never retries a POST: the caller got IOException (header parser received no bytes), and nothing was resent')
    expect.append({
        'kind': 'keepalive-race',
        'client': r['client'],
        'server': server,
        'notes': f"{r['method']} {r['uri']} reached Apache {r['requestAfterFinMs']} ms after its idle FIN "
                 f"({r['idleGapSeconds']} s after the previous response; {how}). Lingering close: Apache read and dropped it, "
                 f"no response, no RST (outcome 'closed'). {after}.",
        'evidence': {'form': r['form'], 'method': r['method'], 'uri': r['uri'], 'idempotent': r['method'] == 'GET',
                     'outcome': 'closed', 'idleGapSeconds': r['idleGapSeconds'], 'requestAfterFinMs': r['requestAfterFinMs'],
                     'requestFrame': r['requestFrame'], 'finFrame': r['finFrame'], 'retried': r['retryClient'] is not None,
                     'retryClient': r['retryClient']},
    })
for x in retries:
    expect.append({
        'kind': 'retried-request',
        'client': x['client'],
        'server': server,
        'notes': f"HttpClient's silent retry of {x['method']} {x['uri']} on a new connection {x['afterMs']} ms after Apache's FIN on "
                 f"{x['failedOn']} (info: idempotent).",
        'evidence': {'method': x['method'], 'uri': x['uri'], 'failedOn': x['failedOn'], 'idempotent': True,
                     'requestFrame': x['requestFrame']},
    })
expect.append({
    'kind': None,
    'client': trap['client'],
    'server': server,
    'notes': f"the next round's POST /cgi-bin/post.sh, first on a fresh connection (Java had seen Apache close the round's GET "
             f"connection): the same bytes as the POST that failed on {last_post_race['client']}, but not a retry (Java never "
             f"retries a POST; the round's GET went in between). No finding of any kind.",
})

meta = {
    'scenario': SCENARIO,
    'description': (
        'Keep-alive race, crossing form, against Apache 2.4 (event MPM, KeepAliveTimeout 1) from Java 17\'s java.net.http.HttpClient, '
        f'{args.delay_ms:g} ms one-way latency, captured on the server side. Pairs of requests, each pair with a fresh HttpClient: '
        'GET /cart.json, an idle gap just under 1 s, then GET /cart.json?second or POST /cgi-bin/post.sh on the pooled connection. '
        'Apache closes the idle connection 1.001 s after its response with a lingering close (FIN, then it reads and drops what '
        'arrives: no RST); the second request crosses the FIN. HttpClient retries the GETs silently on a new connection (the caller '
        'sees 200); it never retries a POST (the caller gets IOException: header parser received no bytes). The last pair idles '
        'past the timeout: its POST goes first on a fresh connection a second after a failed POST, the job\'s next POST and not a retry.'),
    'software': args.software,
    'configured': {'serverIdleTimeout': args.keepalive_timeout, 'apacheKeepAliveTimeout': args.keepalive_timeout},
    'configuredNotes': 'serverIdleTimeout is Apache\'s KeepAliveTimeout (measured: the median idle close is within 20 ms of it). '
                       'Apache sends a Keep-Alive header only to clients that ask with Connection: keep-alive; HttpClient does not.',
    'observed': {
        'pairs': args.pairs,
        'oneWayDelayMs': args.delay_ms,
        'advertisedKeepAlive': advertised,
        'serverIdleCloseSeconds': idle_closes,
        'races': [{k: r[k] for k in ('client', 'method', 'form', 'idleGapSeconds', 'requestAfterFinMs', 'requestFrame', 'finFrame',
                                     'retryClient')} for r in races],
        'clientOutcomes': sorted({e['outcome'] for e in log}),
        'accessLogLines': len(access),
        'postsSent': posts_sent,
        'trapPostClient': trap['client'],
    },
    'expect': expect,
    'silent': False,
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
print(f"apache-java-race-meta: {len(races)} races ({', '.join(r['method'] + ' ' + r['form'] + ' +' + str(r['requestAfterFinMs']) + ' ms' for r in races)}), "
      f"{len(retries)} retries, idle closes {idle_closes[0]}-{idle_closes[-1]} s; wrote {args.meta}")
