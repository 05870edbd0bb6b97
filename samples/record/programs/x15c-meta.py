#!/usr/bin/env python3
"""Checks connect-tunnel-stale-reuse's capture against the programs' own logs and writes its meta.json
(only when they agree; exit 1 otherwise, naming what disagreed).

The proxy (x15c-connect-proxy.go) logs each tunnel it opens and why it closed it; the clients
(x15c-tunnel-client.py) log each step with the tunnel's local port; the target (x15c-target.py) logs
each request it answered. From the capture (tshark): for each client->proxy tunnel, who sent the
first FIN, the silence before it, the client's data after it and the proxy's RST; for each
proxy->target connection, who closed it and when.

Usage: x15c-meta.py --capture PCAP --meta OUT --proxy-log F --client-log F --target-log F --idle S
         --proxy ADDR:PORT --target ADDR:PORT --description TEXT --software S..."""
import argparse, json, re, subprocess, sys

ap = argparse.ArgumentParser()
for k in ('capture', 'meta', 'proxy-log', 'client-log', 'target-log', 'proxy', 'target', 'description', 'capture-side'):
    ap.add_argument('--' + k, required=True)
ap.add_argument('--idle', type=float, required=True)
ap.add_argument('--software', nargs='+', required=True)
a = ap.parse_args()

out = subprocess.run(['tshark', '-r', a.capture, '-T', 'fields', '-E', 'separator=\t', '-e', 'frame.number', '-e', 'frame.time_epoch',
                      '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack',
                      '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset', '-e', 'tcp.len'], capture_output=True, text=True, check=True).stdout
packets = []
for line in out.splitlines():
    f = line.split('\t')
    flag = lambda v: v in ('1', 'True')
    packets.append({'frame': int(f[0]), 'ts': float(f[1]), 'src': f'{f[2]}:{f[3]}', 'dst': f'{f[4]}:{f[5]}', 'syn': flag(f[6]),
                    'fin': flag(f[8]), 'rst': flag(f[9]), 'len': int(f[10] or 0)})
conns = {}
for p in packets:
    if p['syn'] and not any(q['syn'] for q in packets if q['src'] == p['dst'] and q['dst'] == p['src'] and q['ts'] < p['ts']):
        if (p['src'], p['dst']) not in conns and (p['dst'], p['src']) not in conns:
            conns[(p['src'], p['dst'])] = []
for p in packets:
    key = (p['src'], p['dst']) if (p['src'], p['dst']) in conns else (p['dst'], p['src'])
    if key in conns:
        conns[key].append(p)

problems = []


def summary(client, server, pkts):
    first_fin = next((p for p in pkts if p['fin']), None)
    last_data = None
    if first_fin is not None:
        before = [p for p in pkts if p['len'] > 0 and p['ts'] <= first_fin['ts']]
        last_data = before[-1] if before else None
    after = [p for p in pkts if first_fin is not None and p['len'] > 0 and p['src'] == client and p['ts'] > first_fin['ts']]
    rst = next((p for p in pkts if p['rst'] and p['src'] == server), None)
    return {
        'client': client, 'server': server, 'packets': len(pkts),
        'firstFinBy': None if first_fin is None else ('client' if first_fin['src'] == client else 'server'),
        'firstFinFrame': first_fin and first_fin['frame'], 'firstFinTs': first_fin and first_fin['ts'],
        'silenceBeforeFin': None if first_fin is None or last_data is None else round(first_fin['ts'] - last_data['ts'], 6),
        'clientDataAfterFin': None if not after else {'frame': after[0]['frame'], 'bytes': after[0]['len'], 'after': round(after[0]['ts'] - first_fin['ts'], 6)},
        'rstFromServer': rst and rst['frame'],
    }


clients = [json.loads(l) for l in open(a.client_log)]
proxy_log = open(a.proxy_log).read()
targets = [json.loads(l) for l in open(a.target_log)]
tunnels, legs, expect = [], [], []
for (c, s), pkts in sorted(conns.items(), key=lambda kv: kv[1][0]['ts']):
    row = summary(c, s, pkts)
    if s == a.proxy:
        port = int(c.rsplit(':', 1)[1])
        steps = [x for x in clients if x['port'] == port]
        if not steps:
            problems.append(f'{c}: no client logged this tunnel')
            continue
        name = steps[0]['name']
        m = re.search(rf'{re.escape(c)} CONNECT {re.escape(a.target)} tunnel closing: (.*)', proxy_log)
        row.update(name=name, steps=[{k: v for k, v in x.items() if k not in ('name', 'ts', 'port')} for x in steps],
                   proxyLog=m and m.group(1))
        tunnels.append(row)
        failed = [x for x in steps if x.get('error')]
        if row['firstFinBy'] == 'server':
            # The proxy's idle timer: its log, the silence, and a later write answered by RST.
            if row['proxyLog'] != 'idle timeout':
                problems.append(f'{c}: the proxy closed first but logged {row["proxyLog"]!r}')
            if row['silenceBeforeFin'] is None or abs(row['silenceBeforeFin'] - a.idle) > 0.05:
                problems.append(f'{c}: closed after {row["silenceBeforeFin"]} s of silence, not {a.idle}')
            if row['clientDataAfterFin'] is None or row['rstFromServer'] is None or not failed:
                problems.append(f'{c}: no client write after the FIN answered by RST, or the client did not fail')
                continue
            expect.append({'kind': 'tunnel-idle-timeout', 'client': c, 'server': s,
                           'notes': f"{name}: CONNECT {a.target}, GET /a answered, then the tunnel idle; the proxy's idle timer closed it "
                                    f"{row['silenceBeforeFin']} s after its last byte (its log: 'tunnel closing: idle timeout'; FIN frame "
                                    f"{row['firstFinFrame']}) and its upstream leg at the same moment; {row['clientDataAfterFin']['after']} s "
                                    f"after that FIN the client wrote GET /b into the tunnel (frame {row['clientDataAfterFin']['frame']}, "
                                    f"{row['clientDataAfterFin']['bytes']} bytes), answered by the proxy's RST (frame {row['rstFromServer']}): "
                                    f"{failed[0]['error']}. A stale reuse of the tunnel (an error)."})
        else:
            if row['proxyLog'] == 'idle timeout' or failed or any(x.get('status') != 'HTTP/1.1 200 OK' for x in steps if x['step'].startswith('GET')):
                problems.append(f'{c}: expected a healthy tunnel the client closed, got {row}')
            expect.append({'kind': None, 'client': c, 'server': s,
                           'notes': f"{name}: CONNECT {a.target}, GET /a, then GET /b on the same tunnel {round(steps[2]['ts'] - steps[1]['ts'], 3)} s later, within the proxy's "
                                    f"{a.idle} s, both answered 200; the client closed the tunnel (near miss: a reused tunnel the proxy had not closed)."})
    elif s == a.target:
        legs.append(row)
        port = int(c.rsplit(':', 1)[1])
        paths = [t['path'] for t in targets if t['port'] == port]
        row['targetAnswered'] = paths
        expect.append({'kind': None, 'client': c, 'server': s,
                       'notes': f"the proxy's upstream leg of a tunnel (the target answered {', '.join(paths)}), closed by "
                                f"{'the proxy' if row['firstFinBy'] == 'client' else 'the target'}."})
    else:
        problems.append(f'unexpected connection {c} -> {s}')
reused = [t for t in tunnels if t['firstFinBy'] == 'server']
if len(reused) != 1 or len(tunnels) != 2 or len(legs) != 2:
    problems.append(f'expected 2 tunnels (1 closed by the proxy) and 2 upstream legs, got {len(tunnels)} / {len(reused)} / {len(legs)}')
for leg in legs:
    if reused and abs((leg['firstFinTs'] or 0) - reused[0]['firstFinTs']) < 0.1 and leg['firstFinBy'] != 'client':
        problems.append(f"{leg['client']}: the upstream leg of the timed-out tunnel was not closed by the proxy")
    if '/b' in leg['targetAnswered'] and reused and abs((leg['firstFinTs'] or 0) - reused[0]['firstFinTs']) < 0.1:
        problems.append('the target answered GET /b of the timed-out tunnel')
if problems:
    print('x15c-meta: capture and logs disagree:\n  ' + '\n  '.join(problems), file=sys.stderr)
    sys.exit(1)
for t in tunnels + legs:
    for k in ('firstFinTs',):
        t.pop(k, None)
meta = {
    'scenario': 'connect-tunnel-stale-reuse',
    'description': a.description,
    'software': a.software,
    'configured': {'tunnelIdleTimeoutAtMost': {'value': a.idle, 'server': a.proxy}},
    'configuredNotes': f'x15c-connect-proxy.go run with IDLE {a.idle} s: it sets each leg\'s read deadline to the tunnel\'s last byte + IDLE and, when it passes with no byte either way, closes both legs (FIN). '
                       'conncheck infers one such close as a bound (tunnelIdleTimeoutAtMost: a timer fires late, never early).',
    'captureSide': a.capture_side,
    'observed': {'tunnels': tunnels, 'upstreamLegs': legs},
    'facts': {'packets': len(packets), 'connections': len(conns), 'proxyIdleTimeoutSeconds': a.idle},
    'expect': expect,
}
with open(a.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
print(json.dumps(expect, indent=1))
