#!/usr/bin/env python3
"""Meta for request-after-close-notice-idle-408 from fn4-idle408.py's client log; fails (writes
nothing) unless every client met what the scenario needs."""
import argparse, json, sys

p = argparse.ArgumentParser()
p.add_argument('--log', required=True)
p.add_argument('--meta', required=True)
p.add_argument('--port', type=int, default=8080)
p.add_argument('--idle', type=float, required=True)
p.add_argument('--software', nargs='*', default=[])
a = p.parse_args()
recs = {r['client']: r for r in (json.loads(l) for l in open(a.log) if l.strip())}
server = '127.0.0.1:%d' % a.port


def fail(why):
    print('meta: ' + why, file=sys.stderr)
    sys.exit(1)


def events(name):
    return recs[name]['serverEvents']


if set(recs) != {'healthy', 'crossed', 'after', 'stale', 'idle'}:
    fail('clients missing: %s' % sorted(recs))
if recs['healthy'].get('second') != 'HTTP/1.1 200 OK' or events('healthy'):
    fail('healthy reuse not answered: %r' % recs['healthy'])
if recs['crossed'].get('second') != 'HTTP/1.1 408 Request Timeout' or not events('crossed') or events('crossed')[0]['pending'] == 0:
    fail('crossed request not left unread under the 408: %r' % recs['crossed'])
for n in ('after', 'stale'):
    if not events(n) or events(n)[0]['pending'] != 0 or recs[n].get('second') == 'HTTP/1.1 200 OK':
        fail('%s: the request did not come after the 408: %r' % (n, recs[n]))
if recs['idle'].get('later') != 'HTTP/1.1 408 Request Timeout':
    fail('idle client did not read the 408: %r' % recs['idle'])


def client(n):
    return '127.0.0.1:%d' % recs[n]['port']


idle = a.idle
meta = {
    'scenario': 'request-after-close-notice-idle-408',
    'description': (
        'A raw Python HTTP/1.1 server (no Server header) whose idle keep-alive timer (%.1f s from its last response, run before reading on a %.1f s tick) '
        'announces the close with 408 Request Timeout + Connection: close and closes without reading what is pending (the kernel resets). '
        'Five clients, one connection each: one reuses after %.1f s (answered); one reuses %.2f s after its response, its request unread when the 408 goes '
        '(the 408 crosses it); two reuse 3 ms and 0.2 s after the 408 left, without reading it (RST); one never reuses, reads the 408 and EOF and closes (near miss: silent).'
        % (idle, 0.1, idle / 2, idle - 0.05)
    ),
    'software': a.software,
    'configured': {'serverIdleTimeout': idle},
    'configuredNotes': 'the server sends its 408 on the first %.1f s tick at which the connection has been idle %.1f s since its last response' % (0.1, idle),
    'observed': {n: {k: v for k, v in recs[n].items() if k != 'serverEvents'} | {'pendingAt408': [e['pending'] for e in events(n)]} for n in recs},
    'expect': [
        {'kind': None, 'client': client('healthy'), 'server': server, 'notes': 'reused within the idle timeout, answered 200; the client closes. Clean.'},
        {'kind': 'request-after-close-notice', 'client': client('crossed'), 'server': server,
         'notes': 'GET /crossed/2 sent %.3f s after the previous response; the server\'s idle timer fired at the next tick and sent the 408 with the request unread in its buffer (pending %d bytes), then closed (RST). A keep-alive race whose close is the 408 (error, noticeCrossed), not a slow client: no slow-client-timeout.' % (recs['crossed']['reusedAfter'], events('crossed')[0]['pending'])},
        {'kind': 'request-after-close-notice', 'client': client('after'), 'server': server,
         'notes': 'GET /after/2 sent 3 ms after the idle 408 + FIN left, on a connection that had carried a 200: a request after an idle close (error), idle measured from the 200, not from the connection\'s open.'},
        {'kind': 'request-after-close-notice', 'client': client('stale'), 'server': server,
         'notes': 'GET /stale/2 sent 0.2 s after the idle 408 + FIN, the client never having read it: stale reuse of an idle-closed connection (error).'},
        {'kind': None, 'client': client('idle'), 'server': server, 'notes': 'never reused: the idle 408 comes, the client reads it and EOF and closes. Nothing failed: silent.'},
    ],
    'silent': False,
}
with open(a.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
