#!/usr/bin/env python3
"""Meta for response-truncated-single-cut: the client-leg capture (tshark) against nginx's error log
and curl's exit codes. The /stall stream: nginx's FIN about 2 s after its last event, no last chunk
(curl exit 18), one "upstream timed out" in the log; the /ok stream: complete (curl exit 0)."""
import argparse, collections, json, re, subprocess

ap = argparse.ArgumentParser()
for a in ('--capture', '--meta', '--error-log', '--curl-log'): ap.add_argument(a)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()

fields = ['frame.time_epoch', 'tcp.stream', 'tcp.srcport', 'tcp.len', 'tcp.flags.fin']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
streams = collections.defaultdict(lambda: {'data': [], 'fin': None})
for line in out.splitlines():
    t, stream, sport, length, fin = line.split('\t')
    if sport != '8080': continue
    s = streams[stream]
    if int(length) > 0: s['data'].append(float(t))
    if fin == '1' and s['fin'] is None: s['fin'] = float(t)
silences = sorted(round(s['fin'] - max(d for d in s['data'] if d <= s['fin']), 4) for s in streams.values() if s['fin'] is not None and s['data'])
timed_out = len(re.findall(r'upstream timed out .* while reading upstream', open(args.error_log).read()))
curl = collections.Counter(l.strip() for l in open(args.curl_log))
assert timed_out == 1, f'nginx timed out {timed_out} times, want 1'
assert curl == collections.Counter({'stall/1 18': 1, 'ok/1 0': 1}), curl
assert len(silences) == 2 and silences[0] < 1.5 and 1.9 <= silences[1] <= 2.2, silences
meta = {
    'scenario': 'response-truncated-single-cut',
    'description': 'One server-sent event stream through nginx 1.22 (127.0.0.2:8080, proxy_buffering off, proxy_read_timeout 2s) '
                   'from a Python backend (127.0.0.3:9000) that sends three events 0.5 s apart and then goes silent for 4 s: nginx gives up '
                   'after 2 s of silence and closes the client leg without the last chunk (curl exit 18). Only the client leg (port 8080) '
                   'is captured. Near miss: an /ok stream with an event every 1 s completes. One cut infers no timer: the diagnosis must '
                   'still name the proxy\'s read timeout as the likely one, without inferring a value.',
    'software': args.software,
    'configured': {'proxyReadTimeoutSeconds': 2.0, 'backendStallSeconds': 4.0},
    'observed': {'nginxUpstreamTimedOut': timed_out, 'clientLegSilencesBeforeFin': silences, 'curl': dict(curl)},
    'silent': False,
    'facts': {'proxyReadTimeout': 2.0, 'cutStreams': 1},
    'expect': [{'kind': 'response-truncated', 'server': '127.0.0.2:8080',
                'notes': "nginx's proxy_read_timeout (2 s of silence from the backend) cut 1 stream: a diagnosis naming nginx proxy_read_timeout as likely, no inferred value from one cut"}],
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(meta['observed'], indent=1))
