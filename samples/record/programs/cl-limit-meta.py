#!/usr/bin/env python3
"""Meta for syn-dropped-connection-limit: checks the capture against the clients' logs.

For each port: the SYNs the capture holds with no SYN-ACK to them, how many connections from the
client were open (client SYN answered, not yet closed by RST or both FINs) when each was sent, and
the curl attempts' outcomes. 8080 (nft `ct count over 4 drop`) must show every unanswered SYN sent
with exactly 4 open; 8081 (nft `numgen inc mod 2` drop: every other new-connection packet) must not.
"""
import argparse, json, subprocess, collections

ap = argparse.ArgumentParser()
ap.add_argument('--capture'); ap.add_argument('--meta'); ap.add_argument('--lanes-log'); ap.add_argument('--curl-log')
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()

fields = ['frame.time_epoch', 'tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])],
                     capture_output=True, text=True, check=True).stdout
conns = collections.defaultdict(lambda: {'syns': [], 'synack': None, 'fin_c': None, 'fin_s': None, 'rst': None, 'port': None})
for line in out.splitlines():
    t, stream, sport, dport, syn, ack, fin, rst = line.split('\t')
    t = float(t); c = conns[stream]
    to_server = dport in ('8080', '8081')
    c['port'] = dport if to_server else sport
    if syn == '1' and ack == '0': c['syns'].append(t)
    if syn == '1' and ack == '1' and c['synack'] is None: c['synack'] = t
    if fin == '1':
        key = 'fin_c' if to_server else 'fin_s'
        if c[key] is None: c[key] = t
    if rst == '1' and c['rst'] is None: c['rst'] = t

def closed(c):
    ends = [x for x in (c['rst'],) if x is not None]
    if c['fin_c'] is not None and c['fin_s'] is not None: ends.append(max(c['fin_c'], c['fin_s']))
    return min(ends) if ends else float('inf')

observed = {}
for port in ('8080', '8081'):
    mine = [c for c in conns.values() if c['port'] == port]
    answered = [c for c in mine if c['synack'] is not None]
    def open_at(t):
        return sum(1 for c in answered if max(s for s in c['syns'] if s <= c['synack']) < t < closed(c))
    dropped = [s for c in mine for s in c['syns'] if c['synack'] is None or s < max(x for x in c['syns'] if x <= c['synack'])]
    observed[port] = {
        'connections': len(mine), 'handshakesAnswered': len(answered), 'unansweredSyns': len(dropped),
        'openAtUnansweredSyns': sorted(collections.Counter(open_at(t) for t in dropped).items()),
    }
curl = collections.Counter()
for line in open(args.curl_log):
    port, rc = line.split()
    curl[f'{port} rc={rc}'] += 1
lanes = collections.Counter()
for line in open(args.lanes_log):
    o = json.loads(line)
    lanes[f"{o['port']} {'ok' if 'status' in o else o['error']}"] += 1
limit_open = [n for n, _ in observed['8080']['openAtUnansweredSyns']]
assert limit_open == [4], f'8080: unanswered SYNs must all find 4 open, found {observed["8080"]["openAtUnansweredSyns"]}'
assert observed['8080']['unansweredSyns'] >= 4, observed
near = [n for n, _ in observed['8081']['openAtUnansweredSyns']]
assert observed['8081']['unansweredSyns'] >= 2, observed

meta = {
    'scenario': 'syn-dropped-connection-limit',
    'description': 'A Node http server on 127.0.0.1:8080 and :8081 behind nftables rules in the namespace. '
                   '8080: `tcp dport 8080 ct state new ct count over 4 drop` (a connection limit that drops). '
                   'A client holds 4 keep-alive connections to each port (4 lanes, a GET every 200 ms for 7 s) '
                   'while curl tries a new connection every ~1.2 s (--connect-timeout 1): on 8080 each curl SYN '
                   'finds the 4 lanes open and is dropped; the server keeps answering the lanes. '
                   '8081, the near miss: `numgen inc mod 2 == 0` drops every other new-connection packet whatever '
                   'is open: unanswered SYNs are not tied to a count.',
    'software': args.software,
    'configured': {'connectionLimit8080': 4, 'lanes': 4, 'laneIntervalMs': 200, 'curlConnectTimeoutSeconds': 1},
    'observed': {'ports': observed, 'curl': dict(curl), 'lanes': dict(lanes)},
    'silent': False,
    'facts': {'limit8080': 4, 'unansweredSyns8080': observed['8080']['unansweredSyns']},
    'expect': [
        {'kind': 'syn-unanswered', 'server': '127.0.0.1:8080',
         'notes': 'every unanswered SYN found exactly the 4 lane connections open, every answered handshake fewer: the diagnosis must name a limit of 4 concurrent connections, not an outage'},
        {'kind': 'syn-unanswered', 'server': '127.0.0.1:8081',
         'notes': 'near miss: SYNs dropped by a rule that counts packets, not connections: no connection limit may be named'},
    ],
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
print(json.dumps(meta['observed'], indent=1))
