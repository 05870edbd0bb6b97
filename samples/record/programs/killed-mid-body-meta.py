#!/usr/bin/env python3
"""Meta for response-truncated-killed-mid-body: the capture (tshark) against the server's write log
and curl's exit codes. Both /big downloads end with the server's FIN right after its last data (the
kernel closing a killed process's sockets), with fewer body bytes than declared; /small completes."""
import argparse, collections, json, subprocess

ap = argparse.ArgumentParser()
for a in ('--capture', '--meta', '--server-log', '--curl-log'): ap.add_argument(a)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()

fields = ['frame.time_epoch', 'tcp.stream', 'tcp.srcport', 'tcp.len', 'tcp.flags.fin']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
streams = collections.defaultdict(lambda: {'data': [], 'fin': None, 'bytes': 0})
for line in out.splitlines():
    t, stream, sport, length, fin = line.split('\t')
    if sport != '8080': continue
    s = streams[stream]
    if int(length) > 0: s['data'].append(float(t)); s['bytes'] += int(length)
    if fin == '1' and s['fin'] is None: s['fin'] = float(t)
writes = [json.loads(l) for l in open(args.server_log)]
sent = collections.defaultdict(int)
for w in writes:
    if 'sent' in w: sent[w['port']] = max(sent[w['port']], w['sent'])
curl = collections.Counter(l.strip() for l in open(args.curl_log))
assert curl == collections.Counter({'small 0': 1, 'big 18': 2}), curl
cuts = [s for s in streams.values() if s['bytes'] > 100_000]
assert len(cuts) == 2, len(cuts)
gaps = [round(s['fin'] - s['data'][-1], 4) for s in cuts]
assert all(g < 0.1 for g in gaps), gaps
assert len(sent) == 2 and all(0 < v < 5_000_000 for v in sent.values()), sent
fins = [s['fin'] for s in cuts]
assert abs(fins[0] - fins[1]) < 0.1, fins
meta = {
    'scenario': 'response-truncated-killed-mid-body',
    'description': 'A Node 20 server (127.0.0.2:8080) killed with SIGKILL while two downloads (Content-Length 5 000 000, written 64 KiB '
                   'every 50 ms, begun 0.4 s apart) are mid-body: its kernel ends both connections with a FIN right after the last bytes written, and curl '
                   'exits 18 ("transfer closed with N bytes remaining") for each. No timer is involved: the application ended the responses '
                   'early. Near miss: a /small response before completes. Snaplen 400.',
    'software': args.software,
    'configured': {'killAfterSeconds': 1.2, 'secondDownloadAfterSeconds': 0.4, 'declaredBodyBytes': 5_000_000},
    'observed': {'bodyBytesWrittenPerDownload': sorted(sent.values()), 'finAfterLastDataSeconds': gaps, 'curl': dict(curl)},
    'silent': False,
    'facts': {'cutResponses': 2},
    'expect': [{'kind': 'response-truncated', 'server': '127.0.0.2:8080',
                'notes': 'two downloads cut at the kill, each FIN right after its last data, both at one instant at different times since their requests: the "abrupt" reading (no timer; one event ended them), not a time limit'}],
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(meta['observed'], indent=1))
