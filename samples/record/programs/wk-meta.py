#!/usr/bin/env python3
"""Check a worker-limit capture against the programs' own logs and write its meta.json (the
recorders worker-timeout-gunicorn-concurrent.sh and queued-behind-slow-php-fpm.sh). The numbers come
from the capture (tshark); the logs say what happened: gunicorn's error log (WORKER TIMEOUT), the
application's log (x9-wsgi-app.py: which worker started and ended which request), php-fpm's log (the
workers' own "wk start/end" lines from wk-work.php), nginx's access log and the client's log
(wk-schedule-client.py). Any check that fails prints why and exits 1 without writing the meta (the
recorder is then run again: the kills must fall on one check of gunicorn's tick for the sample to
show what it is for).

Usage: wk-meta.py worker-timeout|queued --capture F --meta OUT --client-log F --server-port P
                  [--proxy-port P] [--app-log F] [--error-log F] [--fpm-log F] [--access-log F]
                  [--proxy-error-log F] [--proxy-access-log F] [--set KEY=VALUE ...] [--software ...]
"""
import argparse
import json
import os
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument('kind', choices=['worker-timeout', 'queued'])
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--client-log', required=True)
ap.add_argument('--server-port', type=int, required=True)
ap.add_argument('--proxy-port', type=int, default=0)
ap.add_argument('--app-log')
ap.add_argument('--error-log')
ap.add_argument('--fpm-log')
ap.add_argument('--access-log')
ap.add_argument('--proxy-error-log')
ap.add_argument('--proxy-access-log')
ap.add_argument('--set', action='append', default=[])
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()
SCENARIO = os.path.basename(args.meta).replace('.meta.json', '')
FIN, SYN, RST = 0x01, 0x02, 0x04


def fail(why):
    print(f'wk-meta: {SCENARIO}: {why}', file=sys.stderr)
    sys.exit(1)


def jsonl(path):
    if not path or not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip().startswith('{')]


FIELDS = ['frame.number', 'frame.time_epoch', 'tcp.stream', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
          'tcp.flags', 'tcp.len', 'http.request.method', 'http.request.uri', 'http.response.code']
decode = ['-d', f'tcp.port=={args.server_port},http'] if args.kind == 'worker-timeout' or not args.proxy_port else []
if args.proxy_port:
    decode += ['-d', f'tcp.port=={args.proxy_port},http']
out = subprocess.run(['tshark', '-r', args.capture, '-n'] + decode + ['-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f']
                     + sum([['-e', f] for f in FIELDS], []), check=True, capture_output=True, text=True).stdout
conns = {}
for line in out.splitlines():
    v = line.split('\t')
    p = {'frame': int(v[0]), 't': float(v[1]), 'src': f'{v[3]}:{v[4]}', 'dst': f'{v[5]}:{v[6]}', 'flags': int(v[7], 16),
         'len': int(v[8] or 0), 'method': v[9], 'uri': v[10], 'status': v[11]}
    p['fromClient'] = int(v[6]) in (args.server_port, args.proxy_port)
    c = conns.setdefault(int(v[2]), {'packets': []})
    c['client'], c['server'] = (p['src'], p['dst']) if p['fromClient'] else (p['dst'], p['src'])
    c['packets'].append(p)
if not conns:
    fail('empty capture')
for c in conns.values():
    pk = c['packets']
    c['leg'] = 'upstream' if c['server'].endswith(f':{args.server_port}') else 'client'
    c['requestTs'] = next((p['t'] for p in pk if p['fromClient'] and p['len'] > 0), None)
    c['request'] = next((f"{p['method']} {p['uri']}" for p in pk if p['fromClient'] and p['method']), 'a FastCGI request')
    c['answerTs'] = next((p['t'] for p in pk if not p['fromClient'] and p['len'] > 0), None)
    c['status'] = next((p['status'] for p in pk if not p['fromClient'] and p['status']), None)
    c['serverFin'] = next((p for p in pk if not p['fromClient'] and p['flags'] & FIN), None)
    c['serverRst'] = next((p for p in pk if not p['fromClient'] and p['flags'] & RST), None)
    c['clientFin'] = next((p for p in pk if p['fromClient'] and p['flags'] & FIN), None)
    c['synAck'] = any(not p['fromClient'] and p['flags'] & SYN for p in pk)
    first_close = min([p for p in (c['serverFin'], c['serverRst'], c['clientFin']) if p], key=lambda p: p['frame'], default=None)
    c['firstClose'] = first_close
    c['closedBy'] = None if first_close is None else ('client' if first_close['fromClient'] else 'server')
refused = [c for c in conns.values() if not c['synAck']]
if refused:
    fail(f'{len(refused)} connections refused: the listener went away')
configured = {}
for kv in args.set:
    k, val = kv.split('=', 1)
    configured[k] = float(val) if re.fullmatch(r'[0-9.]+', val) else val
client_log = jsonl(args.client_log)
expect = []


def r3(x):
    return round(x, 3)


def facts():
    states = {}
    for c in conns.values():
        s = 'RST' if c['serverRst'] or any(p['flags'] & RST for p in c['packets']) else ('FIN-both' if c['serverFin'] and c['clientFin'] else 'other')
        states[s] = states.get(s, 0) + 1
    return {'connections': len(conns), 'requests': sum(1 for c in conns.values() if c['request']),
            'responses': sum(1 for c in conns.values() if c['status']), 'closeStates': states, 'captureFile': os.path.basename(args.capture)}


def write(description, observed):
    meta = {'scenario': SCENARIO, 'description': description, 'software': args.software, 'configured': configured,
            'expect': expect, 'silent': False, 'captureSide': 'loopback', 'observed': observed, 'facts': facts()}
    with open(args.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'wk-meta: wrote {args.meta}')


if args.kind == 'worker-timeout':
    timeout = configured['gunicornTimeout']
    err = open(args.error_log).read() if args.error_log else ''
    kills = re.findall(r'WORKER TIMEOUT \(pid:(\d+)\)', err)
    app = jsonl(args.app_log)
    started = {e['client'].rsplit(':', 1)[1]: e for e in app if e['event'] == 'start'}
    ended = {e['client'].rsplit(':', 1)[1] for e in app if e['event'] == 'end'}
    cut = [c for c in conns.values() if c['leg'] == 'upstream' and c['status'] is None]
    if len(kills) < len(cut):
        fail(f'{len(cut)} unanswered upstream requests but {len(kills)} WORKER TIMEOUT lines')
    for c in cut:
        port = c['client'].rsplit(':', 1)[1]
        if port not in started or port in ended:
            fail(f'{c["request"]} on port {port}: the application log does not show it started and unfinished')
        close = c['serverRst'] or c['serverFin']
        if c['closedBy'] != 'server' or close is None:
            fail(f'{c["request"]}: not closed by the server first')
        c['how'] = 'RST' if c['serverRst'] and (not c['serverFin'] or c['serverRst']['frame'] < c['serverFin']['frame']) else 'FIN'
        c['closeTs'] = close['t']
        c['wait'] = close['t'] - c['requestTs']
        if not timeout - 0.05 <= c['wait'] <= timeout + 1.2:   # counted from the accept, a little before the request's last byte
            fail(f'{c["request"]}: cut {c["wait"]:.3f} s after the request, not within a tick after --timeout {timeout}')
        c['pid'] = started[port]['pid']
    cut.sort(key=lambda c: c['closeTs'])
    moments, run = [], []
    for c in cut:
        if run and c['closeTs'] - run[-1]['closeTs'] > 0.05:
            moments.append(run)
            run = []
        run.append(c)
    if run:
        moments.append(run)
    together = [m for m in moments if len(m) >= 2]
    if not together:
        fail('no two workers were killed at one check (re-record)')
    for m in together:
        end = m[-1]['closeTs']
        served = [c for c in conns.values() if c['leg'] == 'upstream' and c['status'] and c['requestTs'] > end and c['answerTs'] - end <= 5]
        if not served:
            fail('no new connection served within 5 s after the kills')
    for c in sorted(conns.values(), key=lambda c: c['requestTs'] or 0):
        if c['leg'] == 'upstream' and c in cut:
            kind = 'reset-before-response' if c['how'] == 'RST' else 'unanswered-request'
            moment = next(m for m in moments if c in m)
            expect.append({'kind': kind, 'client': c['client'], 'server': c['server'],
                           'notes': f'{c["request"]}: gunicorn logged WORKER TIMEOUT (pid:{c["pid"]}) and the worker exited: {c["how"]} without a response '
                                    f'{c["wait"]:.3f} s after the request' + (f', with {len(moment) - 1} other worker(s) killed at the same check' if len(moment) > 1 else '') +
                                    ('; the body (24 KiB) was unread, so the kernel reset the connection' if c['how'] == 'RST' else '') + '.',
                           'evidence': {'closedWith': c['how'], 'waitSeconds': r3(c['wait'])}})
        elif c['leg'] == 'upstream':
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': f'{c["request"]}: answered {c["status"]} by gunicorn.'})
        else:
            up = next((u for u in cut if u['request'] == c['request']), None)
            note = (f'{c["request"]}: nginx answered {c["status"]} {c["answerTs"] - c["requestTs"]:.3f} s after the request, right after the upstream '
                    f'{up["how"]} (upstream prematurely closed connection); the upstream leg carries the finding.') if up else f'{c["request"]}: answered {c["status"]} by nginx.'
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': note})
    if args.proxy_port:
        # The client opens a connection per request to nginx, which keeps them alive.
        proxy = next(c['server'] for c in conns.values() if c['leg'] == 'client')
        expect.append({'kind': 'connection-churn', 'server': proxy,
                       'notes': 'the client (a fresh requests.Session per request) opened a new connection for each request to nginx, which keeps connections alive.'})
    configured['workerTimeLimit'] = {'value': timeout, 'server': cut[0]['server']}
    behind = ' Behind nginx (default proxy settings): nginx logs "upstream prematurely closed connection" (or "Connection reset by peer") and answers 502 to its client right after the upstream close.' if args.proxy_port else ''
    write(f'gunicorn\'s worker timeout hitting several workers at one arbiter check: {int(configured["gunicornWorkers"])} sync workers (--timeout {int(timeout)}); '
          f'pairs of requests to a slow handler (5 s), sent 0.4-0.7 s apart, occupy both workers. The arbiter checks heartbeats about once a second: '
          f'workers found overdue at one check are killed together ("[CRITICAL] WORKER TIMEOUT (pid:N)" for each), their connections closed without a response at one moment, '
          f'each {timeout:g}-{timeout + 1:g} s after its own request; GET and small POST requests close with FIN, POSTs of 24 KiB whose handler had not read the body yet '
          f'(/sleepfirst) are reset. The master never stops: it boots new workers and the fast requests sent right after are answered 200. Not a restart.{behind} '
          f'Loopback; the client is python requests, one thread and connection per request (wk-schedule-client.py).',
          {'killMoments': [[r3(c['wait']) for c in m] for m in moments], 'workerTimeoutLogLines': len(kills)})
else:
    limit = int(configured['concurrencyLimit'])
    # The worker's view: which request ran when (php-fpm workers' own lines, or the WSGI app's log).
    runs = []
    if args.fpm_log:
        starts = {}
        for m in re.finditer(r'wk (start|end) ([0-9.]+) pid (\d+) id (\S+)', open(args.fpm_log).read()):
            ev, t, pid, rid = m.group(1), float(m.group(2)), m.group(3), m.group(4)
            if ev == 'start':
                starts[rid] = (t, pid)
            else:
                runs.append({'id': rid, 'start': starts[rid][0], 'end': t, 'pid': starts[rid][1]})
    else:
        starts = {}
        for e in jsonl(args.app_log):
            rid = e['uri'].rstrip('/').rsplit('/', 1)[1]
            if e['event'] == 'start':
                starts[rid] = (e['t'], e['pid'])
            else:
                runs.append({'id': rid, 'start': starts[rid][0], 'end': e['t'], 'pid': starts[rid][1]})
    runs.sort(key=lambda r: r['start'])
    pids = {r['pid'] for r in runs}
    if len(pids) != limit:
        fail(f'{len(pids)} workers served requests, configured {limit}')
    # Every queued request started within 10 ms of some worker's previous end (it waited for it).
    queued = [r for r in runs if r['id'].startswith('q')]
    ends = [r['end'] for r in runs if r['id'].startswith('slow')] + [r['end'] for r in queued]
    for r in queued:
        if not any(0 <= r['start'] - e <= 0.01 for e in ends):
            fail(f'{r["id"]} started at {r["start"]:.3f}, not right after a worker became free')
    gave_up = [e for e in client_log if e['event'] == 'error']
    # Unanswered when the client (or nginx, on the FastCGI leg) closed before any answer came.
    cut = [c for c in conns.values() if c['answerTs'] is None or (c['closedBy'] == 'client' and c['answerTs'] > c['firstClose']['t'])]
    if len(gave_up) != len([c for c in cut if c['leg'] == 'client' or not args.proxy_port]):
        fail(f'{len(gave_up)} client errors but {len(cut)} connections closed unanswered')
    for c in sorted(conns.values(), key=lambda c: (c['leg'], c['requestTs'] or 0)):
        if c in cut:
            late = (c['answerTs'] - c['requestTs']) if c['answerTs'] else None
            expect.append({'kind': 'unanswered-request', 'client': c['client'], 'server': c['server'],
                           'notes': f'{c["request"]}: the client gave up {c["firstClose"]["t"] - c["requestTs"]:.3f} s after the request'
                                    + (' (nginx closed the FastCGI connection with it)' if c['leg'] == 'upstream' and args.proxy_port else '')
                                    + (f'; the answer came {late:.3f} s after the request and was reset' if late else '') + '.',
                           'evidence': {'waitSeconds': r3(c['firstClose']['t'] - c['requestTs'])}})
        else:
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': f'{c["request"]}: answered {c["status"] or "(its FastCGI response)"} in {c["answerTs"] - c["requestTs"]:.3f} s.'})
    server = 'php-fpm (pm = static, pm.max_children = %d) behind nginx (fastcgi_pass, default timeouts)' % limit if args.fpm_log else 'gunicorn (--workers 1, sync), the client direct'
    write(f'Requests queued behind long ones at a concurrency limit: {server}. {limit} request(s) work 5 s; three more, sent 0.5 s apart while they run, need 0.3 s each '
          f'but wait (their handshakes completed and requests ACKed by the kernel: the listen backlog) until a worker is free; each is then served right after a previous one ends, '
          f'so their waits shrink in the order they were sent. The client (python requests, timeout 4 s) gives up on all of them'
          + (', nginx closes their FastCGI connections with it, and php-fpm still runs them and answers into the closed connections (reset).' if args.fpm_log else ', and gunicorn still runs them and answers into the closed connections (reset).')
          + ' Two requests after that are answered in 0.3 s. Not a slow backend: a queue.',
          {'workerRuns': [{'id': r['id'], 'pid': r['pid'], 'startedAfterSeconds': r3(r['start'] - runs[0]['start']), 'ranSeconds': r3(r['end'] - r['start'])} for r in runs]})
