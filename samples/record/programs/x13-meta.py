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
    if cap['requests'] != access['requests']:
        problems.append(f"capture has {cap['requests']} requests, access log {access['requests']}")
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
    races = cap['requestsAfterServerFin']
    if len(races) > read_errors:
        problems.append(f"{len(races)} requests after a server FIN but wrk counted only {read_errors} read errors")
    # wrk counts a read error when it reads a FIN with no response outstanding (read() returns 0
    # and its parser is between messages), so every unannounced server close is one read error,
    # and a race (request after the FIN) is one too: the same connection, not two.
    if gens and all(g['tool'] == 'wrk' for g in gens) and read_errors != cap['idleCloses']:
        problems.append(f"wrk counted {read_errors} read errors, the capture shows {cap['idleCloses']} unannounced server closes")
    if problems:
        print('x13-meta: refusing to write the meta:\n  ' + '\n  '.join(problems), file=sys.stderr)
        sys.exit(1)
    expect = [{'kind': 'keepalive-race', 'client': c, 'server': f'127.0.0.1:{args.port}',
               'notes': f'{n} request(s) sent after the server FIN on this connection'}
              for c, n in sorted(races.items())]
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
