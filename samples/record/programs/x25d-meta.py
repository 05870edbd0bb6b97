#!/usr/bin/env python3
"""Meta checker for dead-upstream-nginx (samples/record/dead-upstream-nginx.sh): nginx round-robin over
three Node backends, 9003 down from the start, 9002 killed (SIGKILL) with requests in flight and
restarted. Measures the capture with pcap-facts.py's tshark reader and compares it with the ground
truth the recorder kept: the clients' logs (python requests lanes: lanes.log; curl: curl.log), nginx's
access log ($msec|$remote_port|$request|$status|$upstream_addr|$upstream_status|$request_time|
$upstream_connect_time|$upstream_response_time) and error log, the backends' logs, and the moments of
the kill and the restart. Writes the meta only when they agree and the run shows every part of the
scenario (a refused connect retried on another backend, an in-flight GET cut by the kill and retried
on another backend, an in-flight POST cut by the kill and answered 502, the restarted backend used
again); exit 1 (no meta) otherwise, so the recorder tries again.

Usage: x25d-meta.py --scenario S --capture FILE --meta OUT --work DIR --software S...
"""
import argparse
import json
import os
import re
import sys
from collections import OrderedDict

import sibling

facts = sibling.load('pcap_facts', 'pcap-facts.py')
capture_epoch = sibling.load('x24n_meta', 'x24n-meta.py').capture_epoch

PROXY = '127.0.0.2:8080'
BACKENDS = ['127.0.0.3:9001', '127.0.0.3:9002', '127.0.0.3:9003']
LIVE, KILLED, DEAD = BACKENDS
FAIL_TIMEOUT = 10


def lines(path):
    return [l.rstrip('\n') for l in open(path)] if os.path.exists(path) else []


def jsonl(path):
    out = []
    for l in lines(path):
        try:
            out.append(json.loads(l))
        except ValueError:
            out.append({'unparsed': l})
    return out


def access_rows(path):
    rows = []
    for l in lines(path):
        v = l.split('|')
        method, uri = v[2].split(' ')[:2]
        rows.append({'t': float(v[0]), 'port': int(v[1]), 'method': method, 'uri': uri, 'status': int(v[3]),
                     'upstreams': v[4].split(', '), 'upstreamStatus': v[5].split(', '), 'requestTime': float(v[6]),
                     'connectTime': v[7].split(', ')})
    return rows


def streams(packets):
    """Per TCP connection: client, server, SYN/RST frames, and its exchanges in order
    (method, uri, request frame and time, status, response frame), the server's first FIN."""
    out = OrderedDict()
    for p in packets:
        s = out.get(p['stream'])
        if s is None:
            syn = p['syn'] and not p['ack']
            s = out[p['stream']] = {'client': p['src'] if syn else p['dst'], 'server': p['dst'] if syn else p['src'],
                                    'synFrame': p['frame'] if syn else None, 't0': p['t'], 'synAck': False,
                                    'serverRst': None, 'serverFin': None, 'clientFin': None, 'exchanges': []}
        from_server = p['src'] == s['server']
        if from_server and p['syn']:
            s['synAck'] = True
        if from_server and p['rst'] and s['serverRst'] is None:
            s['serverRst'] = (p['frame'], p['t'])
        if p['fin'] and (s['serverFin'] if from_server else s['clientFin']) is None:
            s['serverFin' if from_server else 'clientFin'] = (p['frame'], p['t'])
        for m, u in zip(p['methods'], p['uris']):
            s['exchanges'].append({'method': m, 'uri': u, 'frame': p['frame'], 't': p['t'], 'status': None, 'responseFrame': None})
        for code in p['codes']:
            ex = next((e for e in s['exchanges'] if e['status'] is None), None)
            if ex is not None:
                ex['status'], ex['responseFrame'] = int(code), p['frame']
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scenario', required=True)
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--software', nargs='+', required=True)
    a = ap.parse_args()
    w = lambda name: os.path.join(a.work, name)
    epoch = capture_epoch(a.capture)
    rel = lambda t: round(t - epoch, 3)
    killed_at = rel(float(open(w('killed-at')).read()))
    restarted_at = rel(float(open(w('restarted-at')).read()))
    conns = streams(facts.read_packets(a.capture, [8080, 9001, 9002, 9003]))
    access = access_rows(w('access.log'))
    errors = lines(w('error.log'))
    lanes = [e for e in jsonl(w('lanes.log')) if e.get('event') in ('response', 'error')]
    curls = jsonl(w('curl.log'))
    restarted_log = [e for e in jsonl(w('backend-9002-restarted.log')) if 'url' in e]

    # What the clients saw, by local port and request: (method, uri, status or error).
    seen = [{'client': 'python requests', 'port': e.get('port'), 'method': e['method'], 'uri': e['uri'],
             'status': e.get('status'), 'error': e.get('error')} for e in lanes]
    for c in curls:
        uri = re.sub(r'^http://[^/]+', '', c.get('url', ''))
        seen.append({'client': 'curl', 'port': c.get('port'), 'method': c.get('method'), 'uri': uri,
                     'status': c.get('status'), 'error': c.get('error') or None})
    problems = []
    by_key = {(r['port'], r['method'], r['uri']): r for r in access}
    for s in seen:
        r = by_key.get((s['port'], s['method'], s['uri']))
        if s['error'] or r is None or r['status'] != s['status']:
            problems.append(f'client saw {s} but nginx logged {r}')
    if len(seen) != len(access):
        problems.append(f'{len(seen)} client outcomes, {len(access)} access log lines')

    client_leg = {k: c for k, c in conns.items() if c['server'] == PROXY}
    upstream = {k: c for k, c in conns.items() if c['server'] in BACKENDS}
    wire = {}
    for c in client_leg.values():
        for ex in c['exchanges']:
            wire[(int(c['client'].rsplit(':', 1)[1]), ex['method'], ex['uri'])] = ex['status']
    for r in access:
        if wire.get((r['port'], r['method'], r['uri'])) != r['status']:
            problems.append(f"access log {r['port']} {r['method']} {r['uri']} {r['status']}: capture shows {wire.get((r['port'], r['method'], r['uri']))}")

    # Refused connects: SYN answered by RST (no SYN-ACK), each one an access-log attempt with no connect time.
    refused = [c for c in upstream.values() if c['synFrame'] and not c['synAck'] and c['serverRst']]
    refused_attempts = [(r, i) for r in access for i, u in enumerate(r['upstreams']) if r['connectTime'][i] == '-']
    n_refused_log = sum('connect() failed (111: Connection refused)' in l for l in errors)
    if not (len(refused) == len(refused_attempts) == n_refused_log) or not refused:
        problems.append(f'{len(refused)} refused SYNs in the capture, {len(refused_attempts)} attempts without connect time, '
                        f'{n_refused_log} "connect() failed (111)" in the error log (at least one wanted, all equal)')
    for c, (r, i) in zip(sorted(refused, key=lambda c: c['t0']), sorted(refused_attempts, key=lambda x: x[0]['t'])):
        c['attempt'] = {'port': r['port'], 'request': f"{r['method']} {r['uri']}", 'status': r['status'],
                        'upstreams': r['upstreams'], 'upstreamStatus': r['upstreamStatus'], 'server': r['upstreams'][i]}
        if c['server'] != r['upstreams'][i] or r['status'] >= 500:
            problems.append(f'refused connect {c["client"]}->{c["server"]} vs access log {r}')

    # Requests cut by the kill: unanswered on the upstream leg to 9002, the backend's FIN right after the kill.
    cut = []
    for c in upstream.values():
        if c['server'] != KILLED or not c['serverFin']:
            continue
        open_ex = [ex for ex in c['exchanges'] if ex['status'] is None]
        if open_ex and -0.05 <= c['serverFin'][1] - killed_at < 0.2:
            ex = open_ex[0]
            r = next((r for r in access if r['method'] == ex['method'] and r['uri'] == ex['uri']), None)
            retry = None
            if r is not None and len(r['upstreams']) > 1:
                retry = next(((k, c2, e2) for k, c2 in upstream.items() if c2['server'] == r['upstreams'][-1]
                              for e2 in c2['exchanges'] if e2['uri'] == ex['uri'] and e2['t'] > ex['t']), None)
            cut.append({'conn': c, 'ex': ex, 'access': r, 'retry': retry})
    premature = [l for l in errors if 'upstream prematurely closed connection' in l or 'reset by peer' in l]
    if len(cut) != len(premature):
        problems.append(f'{len(cut)} requests cut on the wire, {len(premature)} in the error log')
    cut_get = [x for x in cut if x['ex']['method'] == 'GET']
    cut_post = [x for x in cut if x['ex']['method'] == 'POST']
    for x in cut_get:
        if not x['access'] or x['access']['status'] != 200 or x['retry'] is None or x['access']['upstreams'][-1] == KILLED:
            problems.append(f"cut GET {x['ex']['uri']} not retried on another backend: {x['access']}")
    for x in cut_post:
        if not x['access'] or x['access']['status'] != 502 or len(x['access']['upstreams']) != 1:
            problems.append(f"cut POST {x['ex']['uri']} not answered 502 at once: {x['access']}")
    if not cut_get or not cut_post:
        problems.append(f'{len(cut_get)} GETs and {len(cut_post)} POSTs cut by the kill; at least one of each wanted')
    client_5xx = [r for r in access if r['status'] >= 500]
    if sorted((r['method'], r['uri']) for r in client_5xx) != sorted((x['ex']['method'], x['ex']['uri']) for x in cut_post):
        problems.append(f'client-visible 5xx {[(r["method"], r["uri"]) for r in client_5xx]} are not the cut POSTs')
    no_live = sum('no live upstreams' in l for l in errors)
    used_again = [c for c in upstream.values() if c['server'] == KILLED and c['t0'] > restarted_at and c['exchanges']]
    if not used_again or not restarted_log:
        problems.append('the restarted backend was not used again')
    if problems:
        print('x25d-meta: refusing to write the meta:\n  ' + '\n  '.join(problems), file=sys.stderr)
        sys.exit(1)

    disabled = [l for l in errors if 'upstream server temporarily disabled' in l]
    meta = {
        'scenario': a.scenario,
        'description': (
            'Dead upstreams behind nginx round-robin: nginx 1.22 (one worker) on 127.0.0.2:8080 (proxy_bind 127.0.0.2) proxies to '
            'upstream be = Node http servers 127.0.0.3:9001, :9002, :9003, each max_fails=1 fail_timeout=10s (nginx\'s defaults, '
            'written out), proxy_next_upstream error timeout (the default: no non_idempotent), keepalive 8, proxy_http_version 1.1, '
            'Connection "". 9003 is down from the start: its SYNs are answered by RST; nginx logs "connect() failed (111: Connection '
            'refused)" and "upstream server temporarily disabled", sends the request (a GET, or a POST: it was never sent) to the next '
            'server, the client gets 200/201, and 9003 is not tried again until fail_timeout has passed. Three python requests lanes '
            '(one keep-alive connection each) send GET /items and POST /orders every 0.35 s; at 3.5 s eight curl clients send GET and '
            'POST /slow?ms=2500 at once; 0.5 s later 9002 is killed (SIGKILL): its kernel closes every connection with FIN, the '
            'requests in flight unanswered ("upstream prematurely closed connection while reading response header"). nginx retries the '
            'cut GETs on 9001 (the client gets 200 after both waits) and answers the cut POSTs 502 (a request already sent with a '
            'non-idempotent method is not retried). 9002 is marked down for 10 s; restarted 3 s after the kill, it gets requests again '
            'once fail_timeout has passed. 9001 stays up throughout: no "no live upstreams".'),
        'software': a.software,
        'configured': {'fail_timeout': FAIL_TIMEOUT, 'max_fails': 1, 'proxy_next_upstream': 'error timeout',
                       'upstreamKeepalive': 8, 'backendKeepAliveTimeoutMs': 30000},
        'observed': {
            'killedAt': killed_at, 'restartedAt': restarted_at,
            'refusedConnects': [{'frame': c['synFrame'], 't': round(c['t0'], 3), 'from': c['client'], **c['attempt']}
                                for c in sorted(refused, key=lambda c: c['t0'])],
            'cutByKill': [{'upstreamConn': x['conn']['client'], 'request': f"{x['ex']['method']} {x['ex']['uri']}",
                           'requestFrame': x['ex']['frame'], 'finFrame': x['conn']['serverFin'][0],
                           'finAfterKillMs': round((x['conn']['serverFin'][1] - killed_at) * 1000, 1),
                           'clientPort': x['access']['port'], 'clientStatus': x['access']['status'],
                           'upstreams': x['access']['upstreams'], 'upstreamStatus': x['access']['upstreamStatus'],
                           'requestTime': x['access']['requestTime'],
                           'retryConn': x['retry'][1]['client'] if x['retry'] else None,
                           'retryFrame': x['retry'][2]['frame'] if x['retry'] else None} for x in cut],
            'clientVisible5xx': [{'port': r['port'], 'request': f"{r['method']} {r['uri']}", 'status': r['status'],
                                  'requestTime': r['requestTime']} for r in client_5xx],
            'errorLog': {'connectRefused': n_refused_log, 'prematurelyClosed': len(premature),
                         'temporarilyDisabled': len(disabled), 'noLiveUpstreams': no_live},
            'requests': len(access), 'restartedBackendRequests': len(restarted_log),
            'capture': {'connections': len(conns), 'clientLeg': len(client_leg), 'upstreamLeg': len(upstream)},
        },
        'expect': expect_entries(client_leg, upstream, refused, cut, access, killed_at),
        'silent': False,
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(json.dumps(meta['observed'], indent=1))


def expect_entries(client_leg, upstream, refused, cut, access, killed_at):
    expect = []
    done = set()
    for c in sorted(refused, key=lambda c: c['t0']):
        at = c['attempt']
        expect.append({'kind': 'connection-refused', 'client': c['client'], 'server': c['server'],
                       'notes': f"nginx's connect to the down backend for {at['request']} (client port {at['port']}), SYN frame "
                                f"{c['synFrame']} answered by RST: \"connect() failed (111: Connection refused)\", server disabled for "
                                f"fail_timeout 10 s; nginx sent the request to {at['upstreams'][-1]} (upstream_status "
                                f"{', '.join(at['upstreamStatus'])}): the client got {at['status']} and never saw the refusal."})
        done.add(c['client'])
    for x in cut:
        c, ex, r = x['conn'], x['ex'], x['access']
        told = (f"nginx retried it on {r['upstreams'][-1]} (proxy_next_upstream error; a GET) and the client (port {r['port']}) got "
                f"{r['status']} after {r['requestTime']} s" if ex['method'] == 'GET' else
                f"not retried (a POST already sent; no non_idempotent): the client (port {r['port']}) got 502 after {r['requestTime']} s")
        expect.append({'kind': 'unanswered-request', 'client': c['client'], 'server': c['server'],
                       'notes': f"{ex['method']} {ex['uri']} (frame {ex['frame']}) in flight when the backend was killed: its kernel closed "
                                f"the connection with FIN (frame {c['serverFin'][0]}) unanswered, with the other cut requests at one moment "
                                f"(\"upstream prematurely closed connection\"); {told}."})
        done.add(c['client'])
        if x['retry'] is not None:
            rc, re_ = x['retry'][1], x['retry'][2]
            expect.append({'kind': 'retried-request', 'client': rc['client'], 'server': rc['server'],
                           'notes': f"{ex['method']} {ex['uri']} sent again by nginx (frame {re_['frame']}) to {rc['server']} after the "
                                    f"kill cut it on {c['client']} -> {c['server']} (proxy_next_upstream; conncheck's retried-request "
                                    f"with movedToServer); answered {re_['status']}."})
            done.add(rc['client'])
    # The same kind of request (method, path) answered 2xx on some client connections and 5xx on others:
    # conncheck's intermittent-5xx (at least 2 of each). Here only the POST /slow clients can be: the kill
    # cut those dealt to 9002 (502), those dealt to 9001 were answered 201.
    kinds = {}
    for r in access:
        k = kinds.setdefault((r['method'], r['uri'].split('?')[0]), {'ok': [], 'failed': []})
        k['failed' if r['status'] >= 500 else 'ok'].append(r)
    intermittent = {k for k, v in kinds.items() if len(v['ok']) >= 2 and len(v['failed']) >= 2}
    for (method, path) in sorted(intermittent):
        v = kinds[(method, path)]
        expect.append({'kind': 'intermittent-5xx', 'server': PROXY,
                       'notes': f"{method} {path}: nginx answered {len(v['failed'])} with 502 (client ports "
                                f"{[r['port'] for r in v['failed']]}: dealt to 127.0.0.3:9002 and cut by its kill, not retried: POST) and "
                                f"{len(v['ok'])} with 2xx (dealt to 127.0.0.3:9001), all in one period: the outage of one "
                                "backend of the pool. The finding does not name the backend's death (the unanswered-request "
                                "findings on the upstream leg) as their cause."})
    for c in client_leg.values():
        port = int(c['client'].rsplit(':', 1)[1])
        statuses = [ex['status'] for ex in c['exchanges']]
        bad = [r for r in access if r['port'] == port and r['status'] >= 500]
        if bad:
            note = (f"{len(statuses)} requests, answered {statuses}: the 502 to {', '.join(r['method'] + ' ' + r['uri'] for r in bad)} "
                    "relays the kill of 127.0.0.3:9002 (nginx did not retry a POST already sent); no gateway timeout (no timer "
                    "of nginx fired); " + ("counted in the intermittent-5xx finding, which names no single connection" if
                    any((r['method'], r['uri'].split('?')[0]) in intermittent for r in bad) else
                    "no intermittent-5xx either (fewer than 2 answers of each kind): no conncheck finding names this 502") +
                    "; its cause is the unanswered-request finding on the upstream leg, which does not name it.")
        else:
            retried = [r for r in access if r['port'] == port and len(r['upstreams']) > 1]
            note = (f"{len(statuses)} requests, all answered 2xx" +
                    (f"; {len(retried)} of them after nginx retried on another backend ("
                     + '; '.join(f"{r['method']} {r['uri']}: {', '.join(r['upstreams'])}" for r in retried) + ')' if retried else ''))
        expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': note})
    for c in upstream.values():
        if c['client'] in done:
            continue
        statuses = [ex['status'] for ex in c['exchanges']]
        how = ('closed by the backend\'s kernel (FIN) when it was killed, idle in nginx\'s keepalive pool'
               if c['server'] == KILLED and c['serverFin'] and abs(c['serverFin'][1] - killed_at) < 0.2 else 'no failure')
        expect.append({'kind': None, 'client': c['client'], 'server': c['server'],
                       'notes': f"nginx's upstream connection, {len(statuses)} requests answered 2xx; {how}."})
    return expect


if __name__ == '__main__':
    main()
