#!/usr/bin/env python3
"""Meta checker for the round-13 load recordings (wrk / ab at volume).

Measures the capture with tshark (connections, requests, responses by status, resets,
server FINs, client requests sent after the server's FIN), reads the load generator's own
summary (wrk: requests, socket errors, non-2xx; ab: complete/failed/non-2xx/keep-alive) and
the server's access log (one line per request: "client_port status connection_requests"),
refuses to write the meta when they disagree, and writes samples/<scenario>.meta.json.
"""
import argparse, collections, json, re, subprocess, sys

def tshark(capture, fields, yfilter):
    cmd = ['tshark', '-r', capture, '-Y', yfilter, '-T', 'fields', '-E', 'separator=\t']
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split('\t') for line in out.splitlines() if line]

def measure(capture, port):
    syns = tshark(capture, ['tcp.stream', 'tcp.srcport'], f'tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport=={port}')
    reqs = tshark(capture, ['tcp.stream', 'frame.time_epoch'], 'http.request')
    resps = tshark(capture, ['tcp.stream', 'http.response.code'], 'http.response')
    rsts = tshark(capture, ['tcp.stream', 'tcp.srcport'], 'tcp.flags.reset==1')
    fins = tshark(capture, ['tcp.stream', 'tcp.srcport', 'frame.time_epoch', 'frame.number'], 'tcp.flags.fin==1')
    server_fin = {}
    client_fin = {}
    for stream, sport, t, frame in fins:
        (server_fin if int(sport) == port else client_fin).setdefault(stream, (float(t), int(frame)))
    ports = {s: int(p) for s, p in syns}
    close_responses = {s for s, in tshark(capture, ['tcp.stream'], 'http.response && http.connection contains "close"')}
    # The server closed first without announcing it (no "Connection: close"): an idle close.
    idle_closes = [s for s, (t, _) in server_fin.items()
                   if s not in close_responses and (s not in client_fin or t < client_fin[s][0])]
    # A request sent after the server's FIN on the same connection: the keep-alive race signature.
    after_fin = collections.Counter()
    for stream, t in reqs:
        if stream in server_fin and float(t) > server_fin[stream][0]:
            after_fin[stream] += 1
    # A reused connection (a request answered before) whose last request the server never answered
    # and that the server closed first (FIN or RST): its idle close met the request (a keep-alive
    # race, whether the request crossed the FIN or reached the socket just before it closed).
    req_count = collections.Counter(s for s, _ in reqs)
    resp_count = collections.Counter(s for s, _ in resps)
    server_rst = {s for s, p in rsts if int(p) == port}
    client_rst = {s for s, p in rsts if int(p) != port}
    races = {}
    for stream, n in req_count.items():
        unanswered = n - resp_count[stream]
        if unanswered <= 0 or resp_count[stream] == 0:
            continue
        server_first = (stream in server_fin and (stream not in client_fin or server_fin[stream][0] < client_fin[stream][0])) \
            or (stream not in server_fin and stream in server_rst and stream not in client_fin and stream not in client_rst)
        if server_first:
            races[f'127.0.0.1:{ports.get(stream, 0)}'] = unanswered
    return {
        'connections': len(syns),
        'requests': len(reqs),
        'responses': len(resps),
        'statuses': dict(collections.Counter(code for _, code in resps)),
        'resets': len(rsts),
        'resetsByServer': sum(1 for _, p in rsts if int(p) == port),
        'serverFins': len(server_fin),
        'clientFins': len(client_fin),
        'requestsAfterServerFin': {f'127.0.0.1:{ports.get(s, 0)}': n for s, n in after_fin.items()},
        'idleCloses': len(idle_closes),
        'resetsWithoutFin': len([s for s in server_rst if s not in server_fin]),
        'races': races,
        'streamsWithoutFin': len([s for s in ports if s not in server_fin and s not in client_fin]),
    }

def parse_wrk(path):
    text = open(path).read()
    out = {'requests': int(re.search(r'(\d+) requests in', text).group(1)),
           'errors': {'connect': 0, 'read': 0, 'write': 0, 'timeout': 0}, 'non2xx': 0}
    m = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
    if m:
        out['errors'] = dict(zip(['connect', 'read', 'write', 'timeout'], map(int, m.groups())))
    m = re.search(r'Non-2xx or 3xx responses: (\d+)', text)
    if m:
        out['non2xx'] = int(m.group(1))
    return out

def parse_ab(path):
    text = open(path).read()
    def num(label):
        m = re.search(label + r':\s+(\d+)', text)
        return int(m.group(1)) if m else 0
    return {'requests': num('Complete requests'), 'failed': num('Failed requests'),
            'non2xx': num('Non-2xx responses'), 'keepAlive': num('Keep-Alive requests'),
            'writeErrors': num('Write errors')}

def parse_access(path):
    lines = [l.split() for l in open(path) if l.strip()]
    return {'requests': len(lines), 'statuses': dict(collections.Counter(l[1] for l in lines)),
            'maxRequestsPerConnection': max((int(l[2]) for l in lines), default=0)}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scenario', required=True)
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--port', type=int, default=8080)
    ap.add_argument('--gen', action='append', default=[], help='wrk:PATH or ab:PATH (one per run)')
    ap.add_argument('--access-log', required=True)
    ap.add_argument('--description', required=True)
    ap.add_argument('--software', action='append', default=[])
    ap.add_argument('--configured', default='{}', help='JSON object of configured values (seconds, counts)')
    args = ap.parse_args()

    cap = measure(args.capture, args.port)
    gens = []
    for g in args.gen:
        kind, path = g.split(':', 1)
        gens.append({'tool': kind, **(parse_wrk(path) if kind == 'wrk' else parse_ab(path))})
    access = parse_access(args.access_log)
    problems = []
    # Requests sent after the server's FIN never reach the server's log (the kernel resets them).
    late = sum(cap['races'].values())
    if cap['requests'] - late != access['requests']:
        problems.append(f"capture has {cap['requests']} requests ({late} unanswered on connections the server closed), access log {access['requests']}")
    if cap['responses'] != access['requests']:
        problems.append(f"capture has {cap['responses']} responses, access log {access['requests']}")
    if cap['statuses'] != access['statuses']:
        problems.append(f"statuses differ: capture {cap['statuses']} access log {access['statuses']}")
    gen_requests = sum(g['requests'] for g in gens)
    # wrk stops counting at the end of its duration: responses in flight then are in the
    # capture and the access log but not in wrk's total (at most one per connection).
    if gen_requests > cap['responses'] or cap['responses'] - gen_requests > cap['connections']:
        problems.append(f"load generator counted {gen_requests} responses, capture {cap['responses']}")
    for g in gens:
        if g.get('non2xx'):
            problems.append(f"{g['tool']} saw {g['non2xx']} non-2xx responses: not a healthy run")
        if g.get('failed') or g.get('writeErrors'):
            problems.append(f"ab reported failures: {g}")
        errs = g.get('errors', {})
        if errs.get('connect') or errs.get('write') or errs.get('timeout'):
            problems.append(f"wrk reported connect/write/timeout errors: {errs}")
    read_errors = sum(g.get('errors', {}).get('read', 0) for g in gens)
    races = cap['races']
    if any(g['tool'] == 'ab' for g in gens) and races:
        problems.append(f"ab reported no failure but the capture shows unanswered requests: {races}")
    # wrk counts a read error when it reads a FIN with no response outstanding (read() returns 0
    # and its parser is between messages: every unannounced server FIN, a crossed one included),
    # and when a read fails with ECONNRESET (a connection the server reset without a FIN).
    expected_read_errors = cap['idleCloses'] + cap['resetsWithoutFin']
    if gens and all(g['tool'] == 'wrk' for g in gens) and read_errors != expected_read_errors:
        problems.append(f"wrk counted {read_errors} read errors, the capture shows {cap['idleCloses']} unannounced server FINs and {cap['resetsWithoutFin']} resets without FIN")
    if problems:
        print('x13-meta: refusing to write the meta:\n  ' + '\n  '.join(problems), file=sys.stderr)
        sys.exit(1)
    expect = [{'kind': 'keepalive-race', 'client': c, 'server': f'127.0.0.1:{args.port}',
               'notes': f'{n} request(s) on this reused connection unanswered: the server closed it first (idle timer)'}
              for c, n in sorted(races.items())]
    if expect:
        # wrk sends the same GET on the connection it opens next (to conncheck, the failed request
        # sent again), and it reused connections idle as long as nginx's timeout (the mismatch).
        expect.append({'kind': 'retried-request', 'server': f'127.0.0.1:{args.port}',
                       'notes': 'wrk reconnects and sends the same GET on its new connection'})
        expect.append({'kind': 'idle-timeout-mismatch', 'server': f'127.0.0.1:{args.port}',
                       'notes': "wrk reuses connections idle as long as the server's idle timeout"})
    meta = {
        'scenario': args.scenario,
        'description': args.description,
        'software': args.software,
        'configured': json.loads(args.configured),
        'expect': expect if expect else [{'kind': None, 'notes': 'healthy load: every request answered, no race'}],
        'silent': not expect,
        'facts': {
            'connections': cap['connections'],
            'exchanges': cap['responses'],
            'statuses': cap['statuses'],
            'resets': cap['resets'],
            'serverFins': cap['serverFins'],
            'clientFins': cap['clientFins'],
            'idleCloses': cap['idleCloses'],
            'races': len(races),
            'readErrorsNotRaces': read_errors - len(races),
        },
        'groundTruth': {'loadGenerator': gens, 'accessLog': access},
    }
    with open(args.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(json.dumps(meta['facts']), json.dumps(meta['groundTruth']))

if __name__ == '__main__':
    main()
