#!/usr/bin/env python3
"""Meta for backend-killed-caddy-retry-uwsgi (samples/record/backend-killed-caddy-retry-uwsgi.sh).

Reads what each program logged and checks it against the capture before writing the meta:
- curl's -w lines (url, status, total time, local port): the proxied /sleep/... got 502, the
  direct one nothing (000), the /items/... 200;
- the WSGI application's own log (x9-wsgi-app.py): each attempt that reached a worker ('start')
  and whether it ended ('end'): a killed one has none (uWSGI's http11 socket gives it no client
  address: the attempts' connections are read from the capture, as many as reached a worker);
- uWSGI's log: one "HARAKIRI ON WORKER" per killed attempt;
- Caddy's access log: the 502s, with the client's port and duration.
In the capture (tshark): each killed attempt's connection carries its request and the backend's
FIN, no response; each 502 follows the last attempt's FIN. Writes the meta only when all agree;
its `expect` lists every finding the sample must give (and the retried attempt's retried-request).
"""
import argparse
import json
import re
import subprocess
import sys
from collections import defaultdict


def fail(msg):
    print(f'bkr-meta: {msg}', file=sys.stderr)
    sys.exit(1)


def packets(capture):
    fields = ['frame.number', 'frame.time_epoch', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport', 'tcp.flags.fin',
              'tcp.flags.reset', 'tcp.len', 'http.request.method', 'http.request.uri', 'http.response.code']
    cmd = ['tshark', '-r', capture, '-o', 'tcp.desegment_tcp_streams:TRUE', '-d', 'tcp.port==8084,http', '-T', 'fields', '-E', 'separator=\t']
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        v = line.split('\t')
        v += [''] * (len(fields) - len(v))
        rows.append({
            'frame': int(v[0]), 't': float(v[1]), 'src': f'{v[2]}:{v[3]}', 'dst': f'{v[4]}:{v[5]}',
            'fin': v[6] in ('1', 'True'), 'rst': v[7] in ('1', 'True'), 'len': int(v[8] or 0),
            'method': v[9] or None, 'uri': v[10] or None, 'status': int(v[11]) if v[11] else None,
        })
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scenario', required=True)
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--client-log', required=True)
    ap.add_argument('--app-log', required=True)
    ap.add_argument('--uwsgi-log', required=True)
    ap.add_argument('--caddy-access-log', required=True)
    ap.add_argument('--proxy', required=True)
    ap.add_argument('--backend', required=True)
    ap.add_argument('--harakiri', type=float, required=True)
    ap.add_argument('--software', nargs='*', default=[])
    a = ap.parse_args()

    # curl: url status time local_port
    client = []
    for line in open(a.client_log):
        m = re.match(r'^(\S+) (\d{3}) ([\d.]+) (\d+)$', line.strip())
        if m:
            client.append({'url': m[1], 'status': int(m[2]), 'time': float(m[3]), 'port': int(m[4])})
    by_path = {re.sub(r'^http://[^/]+', '', c['url']): c for c in client}
    for path in ('/items/a', '/items/b', '/items/c'):
        if by_path.get(path, {}).get('status') != 200:
            fail(f'{path}: expected 200 from curl, got {by_path.get(path)}')
    for path in ('/sleep/6/r1', '/sleep/6/r2'):
        if by_path.get(path, {}).get('status') != 502:
            fail(f'{path}: expected 502 from curl, got {by_path.get(path)}')
    if by_path.get('/sleep/6/d1', {}).get('status') != 0:
        fail(f'/sleep/6/d1 (direct): expected no response (000), got {by_path.get("/sleep/6/d1")}')

    # The application: attempts per URI, and whether each ended.
    starts = defaultdict(list)
    ended = set()
    for line in open(a.app_log):
        rec = json.loads(line)
        if rec['event'] == 'start':
            starts[rec['uri']].append(rec)
        elif rec['event'] == 'end':
            ended.add((rec['uri'], rec['client']))
    attempts = {uri: starts[uri] for uri in ('/sleep/6/r1', '/sleep/6/r2', '/sleep/6/d1')}
    if [len(attempts[u]) for u in ('/sleep/6/r1', '/sleep/6/r2', '/sleep/6/d1')] != [2, 1, 1]:
        fail(f'attempts reaching a worker: {dict((u, len(v)) for u, v in attempts.items())}, expected r1 2 (Caddy re-sent it), r2 1, d1 1')
    killed = [rec for recs in attempts.values() for rec in recs]
    if any(uri.startswith('/sleep/') for uri, _ in ended):
        fail('a slow request ended in the application: it was not killed')
    harakiri = [line for line in open(a.uwsgi_log) if 'HARAKIRI ON WORKER' in line]
    if len(harakiri) != len(killed):
        fail(f'{len(harakiri)} HARAKIRI lines for {len(killed)} killed attempts')

    # Caddy's access log: the 502s, by the client's port.
    access = {}
    for line in open(a.caddy_access_log):
        rec = json.loads(line)
        req = rec.get('request', {})
        access[req.get('uri')] = {'status': rec.get('status'), 'duration': rec.get('duration'), 'port': int(req.get('remote_port', 0))}
    for path in ('/sleep/6/r1', '/sleep/6/r2'):
        got = access.get(path)
        if got is None or got['status'] != 502 or got['port'] != by_path[path]['port']:
            fail(f'caddy access log for {path}: {got}, curl {by_path[path]}')

    rows = packets(a.capture)
    proxy_port = int(a.proxy.rsplit(':', 1)[1])
    backend_port = int(a.backend.rsplit(':', 1)[1])

    def conn_rows(client_ep, server_ep):
        return [r for r in rows if (r['src'] == client_ep and r['dst'] == server_ep) or (r['src'] == server_ep and r['dst'] == client_ep)]

    # uWSGI's http11 socket gives the application no client address (REMOTE_ADDR 0.0.0.0): the
    # attempts' connections are those that carried the URI to the backend, as many as reached a worker.
    observed_attempts = {}
    for uri, recs in attempts.items():
        waits = []
        eps = sorted({r['src'] for r in rows if r['dst'] == a.backend and r['uri'] == uri}, key=lambda ep: min(r['t'] for r in rows if r['src'] == ep and r['uri'] == uri))
        if len(eps) != len(recs):
            fail(f'{uri}: {len(eps)} connections carried it to the backend, {len(recs)} attempts reached a worker')
        for ep in eps:
            cr = conn_rows(ep, a.backend)
            req = [r for r in cr if r['src'] == ep and r['uri'] == uri]
            fin = [r for r in cr if r['src'] == a.backend and r['fin']]
            if len(req) != 1 or not fin:
                fail(f'{uri} on {ep}: request {len(req)}, backend FIN {len(fin)} in the capture')
            after = [r for r in cr if r['src'] == a.backend and r['t'] > req[0]['t'] and (r['len'] > 0 or r['status'] is not None)]
            if after:
                fail(f'{uri} on {ep}: the backend sent data after the request (frame {after[0]["frame"]})')
            waits.append({'client': ep, 'requestFrame': req[0]['frame'], 'finFrame': fin[0]['frame'], 'wait': round(fin[0]['t'] - req[0]['t'], 6)})
        observed_attempts[uri] = waits
    for w in [x['wait'] for ws in observed_attempts.values() for x in ws]:
        if not (a.harakiri <= w <= a.harakiri + 2.1):
            fail(f'a kill {w} s after its request: not harakiri {a.harakiri} s on a 1 s check')

    client_502 = {}
    for path in ('/sleep/6/r1', '/sleep/6/r2'):
        ep = f'127.0.0.1:{by_path[path]["port"]}'
        cr = conn_rows(ep, a.proxy)
        req = [r for r in cr if r['src'] == ep and r['uri'] == path]
        resp = [r for r in cr if r['src'] == a.proxy and r['status'] == 502]
        last_fin = max(rows[x['finFrame'] - 1]['t'] for x in observed_attempts[path][-1:])
        if len(req) != 1 or not resp or resp[0]['t'] < last_fin:
            fail(f'{path}: client request {len(req)}, 502 {len(resp)} (after the last upstream FIN?) in the capture')
        client_502[path] = {'client': ep, 'after': round(resp[0]['t'] - req[0]['t'], 6), 'afterLastUpstreamFin': round(resp[0]['t'] - last_fin, 6),
                            'attempts': len(observed_attempts[path])}
    direct_ep = f'127.0.0.1:{by_path["/sleep/6/d1"]["port"]}'
    if observed_attempts['/sleep/6/d1'][0]['client'] != direct_ep:
        fail(f'direct request: the application saw {observed_attempts["/sleep/6/d1"][0]["client"]}, curl used {direct_ep}')

    expect = []
    for uri, ws in observed_attempts.items():
        for i, w in enumerate(ws):
            via = 'direct curl, no proxy' if uri.endswith('d1') else f'Caddy\'s attempt {i + 1} of {len(ws)}'
            expect.append({'kind': 'unanswered-request', 'client': w['client'], 'server': a.backend,
                           'notes': f'{uri} ({via}): uWSGI HARAKIRI killed the worker, FIN without a response {w["wait"]} s after the request (frames {w["requestFrame"]}, {w["finFrame"]}).'})
            if i > 0:
                expect.append({'kind': 'retried-request', 'client': w['client'], 'server': a.backend,
                               'notes': f'{uri}: Caddy (Go\'s Transport) sent the GET again on this new connection right after the backend closed the first attempt (on a reused connection) unanswered.'})
    for path, c in client_502.items():
        n = c['attempts']
        expect.append({'kind': 'unanswered-request', 'client': c['client'], 'server': a.proxy,
                       'notes': f'{path}: Caddy answered 502 {c["after"]} s after the request, {c["afterLastUpstreamFin"]} s after the backend\'s FIN of its '
                                + ('only attempt' if n == 1 else f'last of its {n} attempts: the client waited for all {n}') +
                                '. Reported on this client connection as the relay of the backend\'s close (relayedBackendClose), no proxy timer (no gateway-timeout).'})

    meta = {
        'scenario': a.scenario,
        'description': (
            f'uWSGI 2.0 (--http11-socket, keep-alive; --master --processes 2 --harakiri {a.harakiri:g}) on {a.backend} behind Caddy 2.6 reverse_proxy on {a.proxy} '
            '(transport defaults: no timer shorter than the kills), both legs on one loopback. uWSGI\'s master SIGKILLs a worker whose request outlives the harakiri deadline '
            '(whole seconds, checked once a second: 2-3 s after the request): its connection closes with FIN and no response ("HARAKIRI ON WORKER" in its log). '
            'GET /sleep/6/r1 went on the upstream connection that had carried /items/a: after its kill, Go\'s Transport (Caddy) sent the GET again on a new connection, '
            'killed too, and Caddy answered 502 after both attempts. GET /sleep/6/r2, sent after uWSGI had closed Caddy\'s idle connection (4 s socket-timeout), went on a new '
            'connection: not re-sent, 502 after one. GET /sleep/6/d1 went straight to uWSGI (curl: empty reply): the near miss, a backend\'s close with no proxy. No timer of Caddy\'s fired.'),
        'software': a.software,
        'configured': {'harakiri': a.harakiri},
        'observed': {
            'attempts': observed_attempts,
            'client502': client_502,
            'curl': client,
            'caddyAccess': {k: v for k, v in access.items() if k.startswith('/sleep/')},
            'harakiriLines': len(harakiri),
        },
        'facts': {
            'proxyTimerFired': False,
            'retriedByProxy': ['/sleep/6/r1'],
            'directClientNearMiss': '/sleep/6/d1',
        },
        'expect': expect,
        'silent': False,
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
