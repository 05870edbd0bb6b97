#!/usr/bin/env python3
"""Meta for response-truncated-paced-exit: the capture (tshark) against the server's event log and
the clients' reports. Each cut stream: the server's chunks 0.2 s apart and its FIN 0.2 s after the
last, with the last chunk never sent; the near miss finishes."""
import argparse, collections, json, subprocess

ap = argparse.ArgumentParser()
for a in ('--capture', '--meta', '--server-log', '--clients-log'): ap.add_argument(a)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()

fields = ['frame.time_epoch', 'tcp.stream', 'tcp.srcport', 'tcp.len', 'tcp.flags.fin']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
streams = collections.defaultdict(lambda: {'data': [], 'fin': None})
for line in out.splitlines():
    t, stream, sport, length, fin = line.split('\t')
    if sport != '8099': continue
    s = streams[stream]
    if int(length) > 0: s['data'].append(float(t))
    if fin == '1' and s['fin'] is None: s['fin'] = float(t)
events = [json.loads(l) for l in open(args.server_log)]
exits = [e for e in events if e['event'] == 'exit']
completes = [e for e in events if e['event'] == 'complete']
assert len(exits) == 3 and len(completes) == 1, events
clients = [l.strip() for l in open(args.clients_log) if l.strip()]
assert clients[0] == 'curl 18', clients
assert clients[1].startswith('fetch TypeError terminated / UND_ERR_SOCKET other side closed'), clients
assert clients[2] == 'java java.io.IOException: chunked transfer encoding, state: READING_LENGTH', clients
assert clients[3] == 'curl 0', clients
assert len(streams) == 4, len(streams)
ordered = sorted(streams.values(), key=lambda s: s['data'][0])
cuts = ordered[:3]
pauses, silences = [], []
for s in cuts:
    # The head and the first chunk may share a segment or not: the pauses are those between the chunks.
    gaps = [b - a for a, b in zip(s['data'], s['data'][1:])]
    pauses.append(round(max(gaps), 4))
    silences.append(round(s['fin'] - s['data'][-1], 4))
assert all(0.19 < p < 0.3 for p in pauses), pauses
assert all(0.19 < g < 0.3 for g in silences), silences
meta = {
    'scenario': 'response-truncated-paced-exit',
    'description': 'A raw Python server (127.0.0.2:8099) answers with a chunked 200, writes a 2000-byte chunk every 0.2 s and exits (os._exit) 0.2 s after '
                   'its third, mid-body: its kernel ends the connection with a FIN. Started anew for each of curl (exit 18), Node 20\'s fetch (TypeError '
                   '"terminated", cause SocketError "other side closed", UND_ERR_SOCKET) and Java 17\'s HttpClient (IOException "chunked transfer encoding, '
                   'state: READING_LENGTH"). The silence before each cut is as long as the pauses between the chunks before it: no timer on the silence '
                   'between bytes (it would have fired at the first pause), the server\'s own pace. Near miss: the same paced response finished (curl exit 0).',
    'software': args.software,
    'configured': {'pauseBetweenChunksSeconds': 0.2, 'chunksBeforeExit': 3},
    'observed': {'longestPauseBeforeLastChunkSeconds': pauses, 'silenceBeforeFinSeconds': silences, 'clients': clients},
    'silent': False,
    'facts': {'cutResponses': 3, 'completeResponses': 1},
    'expect': [{'kind': 'response-truncated', 'server': '127.0.0.2:8099',
                'notes': 'three chunked bodies cut by the server\'s exit one pause after its last chunk: the server\'s own pace, no stall timer inferred; '
                         'each client\'s own error named (curl 18, fetch "terminated", Java READING_LENGTH)'}],
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(meta['observed'], indent=1))
