#!/usr/bin/env python3
"""Meta for syn-unanswered-two-connect-timeouts: the capture (tshark) against the clients' reports.
Six SYNs, one per request, none answered and none retransmitted; Java's 4 requests each failed with
HttpConnectTimeoutException after about 1 s, PHP's 2 with errno 28 after about 0.7 s."""
import argparse, json, subprocess

ap = argparse.ArgumentParser()
for a in ('--capture', '--meta', '--clients-log'): ap.add_argument(a)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()

fields = ['frame.time_epoch', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.reset']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
syns = []
for line in out.splitlines():
    t, sport, dport, syn, ack, rst = line.split('\t')
    assert dport == '8096' and syn == '1' and ack == '0' and rst == '0', line  # nothing but the clients' SYNs
    syns.append((float(t), int(sport)))
ports = [p for _, p in syns]
assert len(syns) == 6 and len(set(ports)) == 6, syns  # one SYN per request, none retransmitted
clients = [l.split() for l in open(args.clients_log) if l.strip()]
java = [c for c in clients if c[0] == 'java']
php = [c for c in clients if c[0] == 'php']
assert len(java) == 4 and all(c[2] == 'HttpConnectTimeoutException' and 0.95 < float(c[3]) < 1.2 for c in java), java
assert len(php) == 2 and all(c[2] == '28' and 0.65 < float(c[3]) < 0.8 for c in php), php
gaps = [round(b[0] - a[0], 4) for a, b in zip(syns, syns[1:])]
meta = {
    'scenario': 'syn-unanswered-two-connect-timeouts',
    'description': 'Two client programs on one host connect one after the other to 127.0.0.2:8096, whose SYNs nftables drops (nothing listens): '
                   'Java 17\'s HttpClient with connectTimeout(1000), 4 requests, then PHP\'s curl with CURLOPT_CONNECTTIMEOUT_MS 700, 2 requests. Each request '
                   'is one SYN given up at its client\'s connect timeout (HttpConnectTimeoutException after 1 s; curl errno 28 after 0.7 s), the next request\'s '
                   'SYN at once from a new port. Two connect timeouts on one host, no retries.',
    'software': args.software,
    'configured': {'clientConnectTimeout': 1.0, 'otherClientConnectTimeout': 0.7},
    'observed': {'synGapsSeconds': gaps, 'java': [' '.join(c[1:]) for c in java], 'php': [' '.join(c[1:]) for c in php]},
    'silent': False,
    'facts': {'attempts': 6, 'synRetransmissions': 0},
    'expect': [{'kind': 'syn-unanswered', 'server': '127.0.0.2:8096',
                'notes': 'six single-SYN attempts, all abandoned: Java\'s series at 1 s (clientConnectTimeout) and PHP\'s at 0.7 s (otherClientConnectTimeout), '
                         'no retry count or total wait made up'}],
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(meta['observed'], indent=1))
