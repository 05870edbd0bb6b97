#!/usr/bin/env python3
"""Checks an accept-queue-abort-on-overflow recording against its ground truth and writes the meta:
the clients' own results (aqo5-clients.py: ECONNRESET for data1 and idle1, an answer for the
fills), the server's log (which client ports it served), the server namespace's counters
(ListenOverflows and EmbryonicRsts +2: the kernel reset two connections its full accept queue could
not take) and the capture (each reset a RST without ACK, seq = the client's ACK number, the server
having sent nothing but SYN-ACKs; data1's answering its data, idle1's its ACK of the repeated
SYN-ACK). Refuses (exit 1) when any of it does not hold."""
import argparse
import json
import subprocess
import sys


def nstat(path):
    out = {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith('Tcp'):
            out[parts[0]] = int(parts[1])
    return out


def packets(capture, port):
    fields = ['frame.number', 'frame.time_relative', 'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.len']
    cmd = ['tshark', '-r', capture, '-Y', f'tcp.port == {port}', '-T', 'fields'] + sum((['-e', f] for f in fields), [])
    rows = []
    for line in subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines():
        n, t, sp, dp, flags, seq, ack, length = line.split('\t')
        rows.append({'frame': int(n), 't': float(t), 'sport': int(sp), 'dport': int(dp), 'flags': int(flags, 16),
                     'seq': int(seq), 'ack': int(ack or 0), 'len': int(length)})
    return rows


SYN, RST, ACK = 0x02, 0x04, 0x10


def refuse(why):
    print(f'aqo5-meta: refused: {why}', file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scenario'); ap.add_argument('--description'); ap.add_argument('--capture'); ap.add_argument('--work')
    ap.add_argument('--meta'); ap.add_argument('--port', type=int); ap.add_argument('--configured'); ap.add_argument('--software', nargs='+')
    a = ap.parse_args()
    clients = {r['name']: r for r in map(json.loads, open(f'{a.work}/client.log'))}
    served = {int(l.split()[1]) for l in open(f'{a.work}/server.log') if l.startswith('served ')}
    before, after = nstat(f'{a.work}/nstat.before'), nstat(f'{a.work}/nstat.after')
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    rows = packets(a.capture, a.port)
    if len(clients) != 6:
        refuse(f'{len(clients)} client results, 6 expected')
    for name, r in clients.items():
        if name in ('data1', 'idle1'):
            if r['error'] != 'ECONNRESET':
                refuse(f'{name}: {r["error"]}, ECONNRESET expected')
        elif r['error'] is not None or r['port'] not in served:
            refuse(f'{name}: {r["error"]}, not served')
    if delta.get('TcpExtListenOverflows') != 2 or delta.get('TcpExtEmbryonicRsts') != 2:
        refuse(f'counters {delta}')
    expect, measured = [], {}
    for name in ('data1', 'idle1'):
        port = clients[name]['port']
        mine = [p for p in rows if port in (p['sport'], p['dport'])]
        server = [p for p in mine if p['sport'] == a.port]
        rsts = [p for p in server if p['flags'] & RST]
        if len(rsts) != 1 or rsts[0]['flags'] & ACK:
            refuse(f'{name}: server RSTs {rsts}, one without ACK expected')
        rst = rsts[0]
        if any(p['len'] > 0 for p in server) or any(not (p['flags'] & (SYN | RST)) for p in server):
            refuse(f'{name}: the server sent more than SYN-ACKs before its RST')
        answered = [p for p in mine if p['sport'] == port and p['t'] <= rst['t']][-1]
        if answered['ack'] != rst['seq']:
            refuse(f'{name}: RST seq {rst["seq"]} is not the ACK number {answered["ack"]} of the segment it answers')
        synacks = [p for p in server if p['flags'] & SYN]
        if name == 'data1' and (answered['len'] == 0 or len(synacks) != 1):
            refuse(f'{name}: the RST does not answer its first data')
        if name == 'idle1' and (answered['len'] != 0 or len(synacks) != 2 or answered['t'] < synacks[1]['t']):
            refuse(f'{name}: the RST does not answer its ACK of a repeated SYN-ACK')
        what = 'its first data' if name == 'data1' else 'its ACK of the SYN-ACK repeated after the 1 s deferral'
        expect.append({'kind': 'accept-queue-overflow', 'client': f'127.0.0.1:{port}', 'server': f'127.0.0.1:{a.port}',
                       'notes': f'RST without ACK {round((rst["t"] - answered["t"]) * 1e6)} µs after {what} (frame {answered["frame"]} -> {rst["frame"]}); ECONNRESET'})
        measured[f'127.0.0.1:{port}'] = {'rstFrame': rst['frame'], 'answeredFrame': answered['frame'], 'synAcks': len(synacks)}
    meta = {
        'scenario': a.scenario,
        'description': a.description,
        'software': a.software,
        'configured': json.loads(a.configured),
        'expect': expect,
        'silent': False,
        'facts': {
            'connections': len(clients),
            'served': len(served),
            'resetByListener': 2,
            'counters': {k: v for k, v in sorted(delta.items()) if v},
        },
        'measured': measured,
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
        f.write('\n')


main()
