#!/usr/bin/env python3
"""Meta for response-truncated-nginx-lazy-timer (both legs) and response-abandoned-proxy-stall-upstream
(its upstream leg alone): the capture (tshark) against nginx's error log, the backend's log and
curl's exit codes.

The /stall upstream leg: four chunks ~0.2 s apart, then nginx's FIN ~1.7 s after the third chunk
(the read that last moved its timer) and ~1.5 s after the fourth; nginx logged one "upstream timed
out". /ok completes (last chunk, curl 0); /exit: the backend's own FIN mid-body, passed on (curl 18)."""
import argparse, collections, json, re, subprocess

ap = argparse.ArgumentParser()
for a in ('--capture', '--upstream-capture', '--meta', '--upstream-meta', '--error-log', '--backend-log', '--curl-log'): ap.add_argument(a)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()

fields = ['frame.time_epoch', 'tcp.stream', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport', 'tcp.len', 'tcp.flags.fin', 'http.request.uri']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
legs = collections.defaultdict(lambda: {'client': None, 'server': None, 'uri': None, 'data': [], 'fin_client': None, 'fin_server': None})
for line in out.splitlines():
    t, stream, src, sport, dst, dport, length, fin, uri = (line.split('\t') + [''] * 9)[:9]
    t = float(t); leg = legs[stream]
    if dport in ('8080', '9000'):
        leg['client'], leg['server'] = f'{src}:{sport}', f'{dst}:{dport}'
        if uri and leg['uri'] is None: leg['uri'] = uri
        if fin == '1' and leg['fin_client'] is None: leg['fin_client'] = t
    else:
        if int(length or 0) > 0: leg['data'].append(t)
        if fin == '1' and leg['fin_server'] is None: leg['fin_server'] = t
by = {(l['server'].endswith(':9000'), l['uri'].split('?')[0]): l for l in legs.values() if l['uri']}
stall_up, stall_down = by[(True, '/stall')], by[(False, '/stall')]
ok_up, ok_down = by[(True, '/ok')], by[(False, '/ok')]
exit_up, exit_down = by[(True, '/exit')], by[(False, '/exit')]

# The /stall upstream leg: nginx's FIN after the backend's last chunk, before any close of the backend's.
fin = stall_up['fin_client']
data = [t for t in stall_up['data'] if t <= fin]
assert stall_up['fin_server'] is None or stall_up['fin_server'] > fin, 'the backend closed first'
chunk_times = []  # the backend's writes, merged when within a millisecond (the head and the first chunk)
for t in data:
    if not chunk_times or t - chunk_times[-1] > 0.001: chunk_times.append(t)
silence = fin - chunk_times[-1]
since_third = fin - chunk_times[-2]
last_gap = chunk_times[-1] - chunk_times[-2]
timed_out = len(re.findall(r'upstream timed out .* while reading upstream', open(args.error_log).read()))
backend = open(args.backend_log).read()
curl = dict(l.split() for l in open(args.curl_log) if l.strip())
assert timed_out == 1, f'nginx timed out {timed_out} times, want 1'
assert len(chunk_times) == 4, chunk_times
assert last_gap < 0.29, f'the last chunk came {last_gap:.4f} s after the third: it re-armed the timer'
assert abs(since_third - 1.7) <= 0.02, f'nginx closed {since_third:.4f} s after the third chunk, want ~1.7'
assert 1.4 <= silence <= 1.6, silence
assert 'peer closed' in backend and 'closing mid-body' in backend and 'complete' in backend, backend
assert curl['stall?n=4&gap=0.2'] == '18' and curl['ok?n=3&gap=1.0'] == '0' and curl['exit?n=3&gap=0.2'] == '18', curl
assert exit_up['fin_server'] is not None and (exit_up['fin_client'] is None or exit_up['fin_client'] > exit_up['fin_server'])
gaps_ok = [round(b - a, 4) for a, b in zip(ok_up['data'], ok_up['data'][1:]) if b - a > 0.001]

observed = {
    'nginxUpstreamTimedOut': timed_out,
    'stallUpstreamLeg': {'client': stall_up['client'], 'chunkGaps': [round(b - a, 4) for a, b in zip(chunk_times, chunk_times[1:])],
                         'silenceAfterLastChunk': round(silence, 4), 'sinceThirdChunk': round(since_third, 4)},
    'okUpstreamPauses': gaps_ok,
    'curl': curl,
}
desc_common = ('nginx 1.22 (127.0.0.2:8080, proxy_buffering off, proxy_http_version 1.1 with its default `Connection: close` upstream, '
               'proxy_read_timeout 1700ms) in front of a Python chunked backend (127.0.0.3:9000). /stall: four chunks 0.2 s apart, then '
               'silence: nginx moves its read timer only for a read 0.3 s or more after it last set it (NGX_TIMER_LAZY_DELAY), so the '
               'fourth chunk did not re-arm it: its FIN came ~1.7 s after the third chunk and only ~1.5 s after the last (blind round 14, S3c). '
               'Near misses: /ok pauses 1 s (below the timer) and completes; /exit: the backend closes mid-body itself (a process ending, no timer).')
both = {
    'scenario': 'response-truncated-nginx-lazy-timer',
    'description': desc_common + ' Both legs captured.',
    'software': args.software,
    'configured': {'proxyReadTimeoutSeconds': 1.7},
    'observed': observed,
    'silent': False,
    'facts': {'proxyReadTimeout': 1.7, 'silenceAfterLastChunk': round(silence, 3), 'sinceThirdChunk': round(since_third, 3)},
    'expect': [
        {'kind': 'response-truncated', 'client': stall_down['client'], 'server': '127.0.0.2:8080',
         'notes': f"nginx's proxy_read_timeout cut /stall: the timer's value lies between the silence after the last chunk ({silence:.3f} s) and the time since the third chunk ({since_third:.3f} s), read on the upstream leg; not the silence alone"},
        {'kind': 'response-truncated', 'client': exit_down['client'], 'server': '127.0.0.2:8080',
         'notes': "nginx passed on its backend's own cut of /exit (relayed, no timer of nginx's)"},
        {'kind': 'response-truncated', 'client': exit_up['client'], 'server': '127.0.0.3:9000',
         'notes': 'the backend closed /exit mid-body itself: its own cut, at its pace (no proxy timer)'},
        {'kind': None, 'client': ok_down['client'], 'notes': '/ok: pauses of 1 s below the 1.7 s timer, complete'},
        {'kind': None, 'client': ok_up['client'], 'server': '127.0.0.3:9000', 'notes': '/ok upstream: complete'},
    ],
}
upstream = {
    'scenario': 'response-abandoned-proxy-stall-upstream',
    'description': desc_common + ' Only the upstream leg (port 9000) of the same recording: the proxy, nginx by its requests (HTTP/1.1 with Connection: close from curl\'s User-Agent), gives up on the stalled backend mid-body.',
    'software': args.software,
    'configured': {'proxyReadTimeoutSeconds': 1.7},
    'observed': observed,
    'silent': False,
    'facts': {'proxyReadTimeout': 1.7, 'silenceAfterLastChunk': round(silence, 3), 'sinceThirdChunk': round(since_third, 3)},
    'expect': [
        {'kind': 'response-abandoned', 'client': stall_up['client'], 'server': '127.0.0.3:9000',
         'notes': f'the proxy (nginx by its requests) closed /stall mid-body {silence:.3f} s after the backend\'s last chunk: it gave up on a stalled backend (its read timeout, between {silence:.3f} and {since_third:.3f} s, or its client going away)'},
        {'kind': 'response-truncated', 'client': exit_up['client'], 'server': '127.0.0.3:9000',
         'notes': 'the backend closed /exit mid-body itself: blamed on the backend, not on the proxy'},
        {'kind': None, 'client': ok_up['client'], 'server': '127.0.0.3:9000', 'notes': '/ok: complete'},
    ],
}
for path, meta in ((args.meta, both), (args.upstream_meta, upstream)):
    with open(path, 'w') as f:
        json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(observed, indent=1))
