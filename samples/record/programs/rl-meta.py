#!/usr/bin/env python3
# Writes syn-dropped-rate-limit's meta from curl's log, the slow-accept server's log and the nft
# counter: per port, how many curls connected (and how late) and how many timed out.
import argparse, json, re

ap = argparse.ArgumentParser()
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--curl-log', required=True)
ap.add_argument('--slow-log', required=True)
ap.add_argument('--nft', required=True)
ap.add_argument('--software', nargs='*', default=[])
a = ap.parse_args()

ports = {}
for line in open(a.curl_log):
    m = re.match(r'(\d+) (\d+) (\d+) connect=([\d.]+) total=([\d.]+) exit=(\d+)', line)
    if not m:
        continue
    port, _, code, connect, total, rc = m.groups()
    p = ports.setdefault(port, {'connected': 0, 'connectedLate': 0, 'connectTimeouts': 0, 'connectSeconds': []})
    if rc == '28' and float(connect) == 0:
        p['connectTimeouts'] += 1
    else:
        p['connected'] += 1
        p['connectSeconds'].append(round(float(connect), 3))
        if float(connect) > 0.5:
            p['connectedLate'] += 1
accepted = sum(1 for _ in open(a.slow_log))
drops = [int(x) for x in re.findall(r'counter packets (\d+)', open(a.nft).read())]
meta = {
    'scenario': 'syn-dropped-rate-limit',
    'description': 'Two listeners on one namespace\'s loopback, 8 curls (--connect-timeout 4) 50 ms apart to each. 127.0.0.1:8080: an idle Node http server behind nftables `tcp dport 8080 ct state new limit rate over 1/second burst 2 packets drop`: two curls connect at once, then about one per second as their SYN retransmissions find the limit open again, the rest time out; every connection is served at once. 127.0.0.1:8081, the near miss: a Python listener with listen(1) accepting one connection per second (no firewall): its full accept queue drops SYNs while the connections in it wait to be served.',
    'software': a.software,
    'configured': {'rateLimitPerSecond8080': 1, 'rateLimitBurst8080': 2, 'acceptIntervalSeconds8081': 1, 'listenBacklog8081': 1, 'curlConnectTimeoutSeconds': 4},
    'observed': {'curl': ports, 'slowServerAccepted': accepted, 'nftRateLimitDrops': drops},
    'facts': {'rateLimitDrops': drops[0] if drops else 0},
    'expect': [
        {'kind': 'syn-unanswered', 'server': '127.0.0.1:8080',
         'notes': 'SYNs dropped by a rate limit on new connections (1/s, burst 2) while the idle server served every connection at once: the diagnosis must name the rate limit (about one per second), not a full backlog'},
        {'kind': 'syn-unanswered', 'server': '127.0.0.1:8081',
         'notes': 'near miss: SYNs dropped by a full accept queue (listen(1), one accept per second): connections wait in the queue before being served, so no rate limit may be named; the backlog diagnosis stays'},
    ],
}
json.dump(meta, open(a.meta, 'w'), indent=2)
open(a.meta, 'a').write('\n')
print(json.dumps(meta['observed']))
