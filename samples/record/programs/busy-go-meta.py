#!/usr/bin/env python3
"""Meta for keepalive-race-go-busy-reset: the capture (tshark) against the Go clients' httptrace log.
A raced request is a reused connection's request that got no response while the server closed the
connection; each is classified by what its client received first: the server's FIN, or a RST with
no FIN before it. Every error the log shows must be on a raced connection, with Go's words for what
came first ("read: connection reset by peer" after a bare RST, EOF after a FIN). Fails (exit 1) when
no RST-only race with Go's "connection reset by peer" was recorded: the recorder tries again."""
import argparse, collections, json, re, subprocess, sys

ap = argparse.ArgumentParser()
for a in ('--capture', '--meta', '--client-log', '--server-log'): ap.add_argument(a)
ap.add_argument('--idle', type=float)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()
PORT = 8080
SERVER = '127.0.0.2:8080'

fields = ['frame.time_epoch', 'tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'tcp.flags.fin', 'tcp.flags.reset']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
streams = collections.defaultdict(lambda: {'port': None, 'requests': [], 'responses': [], 'fin': None, 'rst': None, 'clientFin': None})
for line in out.splitlines():
    t, stream, sport, dport, length, fin, rst = line.split('\t')
    s = streams[stream]
    t, length = float(t), int(length)
    if int(dport) == PORT:
        s['port'] = int(sport)
        if length > 0 and (not s['requests'] or t - s['requests'][-1] > 0.0005): s['requests'].append(t)
        if fin == '1' and s['clientFin'] is None: s['clientFin'] = t
    else:
        if length > 0: s['responses'].append(t)
        if fin == '1' and s['fin'] is None: s['fin'] = t
        if rst == '1' and s['rst'] is None: s['rst'] = t
raced = {}
for s in streams.values():
    if len(s['requests']) < 2 or not s['responses']: continue
    last = s['requests'][-1]
    if any(r > last for r in s['responses']): continue
    server_close = min(x for x in (s['fin'], s['rst']) if x is not None) if (s['fin'] or s['rst']) else None
    if server_close is None or (s['clientFin'] is not None and s['clientFin'] < server_close): continue
    first = 'FIN' if s['fin'] is not None and (s['rst'] is None or s['fin'] <= s['rst']) else 'RST'
    raced[s['port']] = {'client': f"127.0.0.1:{s['port']}", 'firstClose': first,
                        'idleBeforeRequest': round(last - s['responses'][-1], 4), 'closeAfterRequestMs': round((server_close - last) * 1000, 3)}

log = open(args.client_log).read().splitlines()
errors = []
retries = []
conn_of = {}
for line in log:
    m = re.search(r'(w\d+ k-?\d+) (\w+) GotConn#(\d) local=127\.0\.0\.1:(\d+)', line)
    if m:
        key, method, n, port = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        if n == 1: conn_of[key] = port
        else: retries.append({'failedOn': conn_of.get(key), 'client': f'127.0.0.1:{port}', 'method': method})
    m = re.search(r'(w\d+ k-?\d+) (\w+) ERROR .*127\.0\.0\.1:(\d+)->\S+: (.*) \(gotConns', line) or re.search(r'(w\d+ k-?\d+) (\w+) ERROR (\S+ "\S+"): (\w+) \(gotConns', line)
    if m and 'ERROR' in line:
        key = m.group(1)
        port = conn_of.get(key)
        text = line.split(' ERROR ', 1)[1].rsplit(' (gotConns', 1)[0]
        errors.append({'client': f'127.0.0.1:{port}', 'method': m.group(2), 'error': text})
for e in errors:
    port = int(e['client'].rsplit(':', 1)[1])
    assert port in raced, ('an error on a connection not raced', e)
    first = raced[port]['firstClose']
    e['firstClose'] = first
    assert ('connection reset by peer' in e['error']) == (first == 'RST') or (first == 'FIN' and e['error'].endswith('EOF')), e
for r in retries:
    assert r['failedOn'] in raced, ('a retry after no race', r)
reset_errors = [e for e in errors if e['firstClose'] == 'RST' and 'connection reset by peer' in e['error']]
if not reset_errors:
    print('no RST-only race with "connection reset by peer" in this attempt', file=sys.stderr)
    sys.exit(1)
counts = collections.Counter(r['firstClose'] for r in raced.values())
expect = [{'kind': 'keepalive-race', 'client': r['client'], 'server': SERVER,
           'notes': f"reused after {r['idleBeforeRequest']} s idle; the server closed {r['closeAfterRequestMs']} ms after the request, the client getting "
                    + ('a RST with no FIN before it' if r['firstClose'] == 'RST' else 'its FIN first')} for r in sorted(raced.values(), key=lambda r: r['client'])]
expect += [{'kind': 'retried-request', 'client': r['client'], 'server': SERVER,
            'notes': f"Go's Transport sent the {r['method']} that failed on 127.0.0.1:{r['failedOn']} again by itself (a second GotConn)"} for r in retries]
expect.append({'kind': 'idle-timeout-mismatch', 'server': SERVER, 'notes': f"the clients reuse connections idle {args.idle} s + 0-25 ms, at the server's IdleTimeout"})
meta = {
    'scenario': 'keepalive-race-go-busy-reset',
    'description': f'A Go 1.19 http.Server (IdleTimeout {args.idle:g} s, GOMAXPROCS=1 with a spinning goroutine: its idle close runs some ms after the timer fires) '
                   f'and 20 Go http.Transport clients (IdleConnTimeout 90 s, one connection each) reusing their connections every {args.idle:g} s + 0-25 ms (6 rounds), '
                   'alternating GET and POST, on a namespace loopback (no latency). A request that arrives after the timer fired but before the close is '
                   'closed unread: the kernel answers it with a RST and no FIN before it, and Go returns "read: connection reset by peer" (blind round 12, S2), '
                   'where a request that crossed the FIN gets EOF. Go sends a failed GET again on a new connection by itself; a POST fails.',
    'software': args.software,
    'configured': {'serverIdleTimeout': args.idle},
    'observed': {'races': sorted(raced.values(), key=lambda r: r['client']), 'firstClose': dict(counts), 'clientErrors': errors, 'goRetries': retries},
    'silent': False,
    'facts': {'races': len(raced), 'rstOnlyRaces': counts.get('RST', 0), 'finFirstRaces': counts.get('FIN', 0)},
    'expect': expect,
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(meta['observed'], indent=1))
