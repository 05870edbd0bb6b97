#!/usr/bin/env python3
"""Meta for response-truncated-sse-late-write: the capture (tshark) against nginx's error log, the
backend's write log and curl's exit codes.

On each /stall upstream leg: nginx's FIN ~3 s after the backend's last event before it, then the
backend's next event after that FIN (its late write) and nginx's RST; on the client leg nginx's FIN
without the last chunk. /ok streams complete (last chunk, curl exit 0)."""
import argparse, collections, json, re, subprocess

ap = argparse.ArgumentParser()
for a in ('--capture', '--meta', '--error-log', '--backend-log', '--curl-log'): ap.add_argument(a)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()

fields = ['frame.time_epoch', 'tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'tcp.flags.fin', 'tcp.flags.reset']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
legs = collections.defaultdict(lambda: {'port': None, 'data': [], 'fin_client': None, 'rst_client': None})
for line in out.splitlines():
    t, stream, sport, dport, length, fin, rst = line.split('\t')
    t = float(t); leg = legs[stream]
    if dport == '9000':
        leg['port'] = '9000'
        if fin == '1' and leg['fin_client'] is None: leg['fin_client'] = t
        if rst == '1' and leg['rst_client'] is None: leg['rst_client'] = t
    elif sport == '9000' and int(length) > 0:
        leg['data'].append(t)
stalls = []
for leg in legs.values():
    if leg['port'] != '9000' or leg['fin_client'] is None: continue
    before = [t for t in leg['data'] if t <= leg['fin_client']]
    after = [t for t in leg['data'] if t > leg['fin_client']]
    if leg['fin_client'] - before[-1] < 1.0: continue  # an /ok stream nginx closed once it was whole
    stalls.append({'silenceBeforeProxyFin': round(leg['fin_client'] - before[-1], 4), 'lateWrites': len(after),
                   'lateWriteAfterFin': round(after[0] - leg['fin_client'], 4) if after else None})
timed_out = len(re.findall(r'upstream timed out .* while reading upstream', open(args.error_log).read()))
writes = [json.loads(l) for l in open(args.backend_log)]
late_failed = sum(1 for w in writes if w.get('written') is False)
curl = collections.Counter(l.strip() for l in open(args.curl_log))
assert timed_out == 3, f'nginx timed out {timed_out} times, want 3'
assert len(stalls) == 3 and all(2.95 <= s['silenceBeforeProxyFin'] <= 3.2 and s['lateWrites'] >= 1 for s in stalls), stalls
meta = {
    'scenario': 'response-truncated-sse-late-write',
    'description': 'Server-sent event streams through nginx 1.22 (127.0.0.2:8080, proxy_buffering off, proxy_read_timeout 3s) '
                   'from a Python backend (127.0.0.3:9000) whose /stall streams send three events 0.5 s apart, go silent 4 s, '
                   'then write the next event whatever happened meanwhile: nginx gives up after 3 s, closes both legs (the client '
                   'gets no last chunk: curl exit 18), and the backend\'s late event lands in the closed upstream connection '
                   '(nginx answers RST). Both legs captured. Near miss: /ok streams with an event every 1 s complete.',
    'software': args.software,
    'configured': {'proxyReadTimeoutSeconds': 3.0, 'backendStallSeconds': 4.0},
    'observed': {'nginxUpstreamTimedOut': timed_out, 'stalledUpstreamLegs': stalls, 'backendWritesFailed': late_failed, 'curl': dict(curl)},
    'silent': False,
    'facts': {'proxyReadTimeout': 3.0, 'cutStreams': 3},
    'expect': [{'kind': 'response-truncated', 'server': '127.0.0.2:8080',
                'notes': "nginx's proxy_read_timeout (3 s of silence from the backend) cut 3 streams; the backend's event written after nginx's FIN must not be taken for its last byte before the close: responseStallTimeout ~3.0 s, not a 4.4 s limit"}],
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(meta['observed'], indent=1))
