#!/usr/bin/env python3
"""Round-15 meta checker for the accept-queue recorders (lib-x15.sh): reads the capture with tshark,
classifies each connection by what the server's kernel did to it, and compares that with the
ground truth the recorder kept - the server namespace's TcpExt ListenOverflows / ListenDrops
(/proc/net/netstat before and after), gunicorn's access log and curl's results. Writes
samples/<scenario>.meta.json only when they agree; exit 1 (and no meta) otherwise.

Per connection (client port), from the capture:
  synack_after_ack  SYN-ACKs the server sent after the client's handshake ACK (the kernel dropped
                    that ACK: the listener's queue was full, tcp_abort_on_overflow=0)
  rst_before_data   the server reset before sending any byte, within 0.2 s of the client's ACK
                    (tcp_abort_on_overflow=1)
  syn_retries       client SYNs beyond the first (a SYN dropped while the queue was full)
  served            the server sent an HTTP response
"""
import argparse
import json
import os
import subprocess
import sys


def netstat(path):
    lines = open(path).read().split('\n')
    out = {}
    for i in range(0, len(lines) - 1, 2):
        keys, vals = lines[i].split(), lines[i + 1].split()
        if keys and keys[0] == 'TcpExt:':
            out.update({k: int(v) for k, v in zip(keys[1:], vals[1:])})
    return out


def packets(capture, port):
    fields = ['frame.number', 'frame.time_relative', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.syn',
              'tcp.flags.ack', 'tcp.flags.reset', 'tcp.flags.fin', 'tcp.len', 'tcp.seq', 'tcp.ack']
    cmd = ['tshark', '-r', capture, '-T', 'fields', '-E', 'separator=,'] + sum((['-e', f] for f in fields), [])
    rows = []
    flag = lambda v: v in ('1', 'True')
    for line in subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines():
        n, t, sp, dp, syn, ack, rst, fin, ln, seq, acknum = line.split(',')
        rows.append({'frame': int(n), 't': float(t), 'fromServer': int(sp) == port, 'client': int(dp) if int(sp) == port else int(sp),
                     'syn': flag(syn), 'ack': flag(ack), 'rst': flag(rst), 'fin': flag(fin), 'len': int(ln or 0),
                     'seq': int(seq or 0), 'acknum': int(acknum or 0)})
    return rows


def classify(rows):
    conns = {}
    for p in rows:
        c = conns.setdefault(p['client'], {'syns': [], 'synacks': [], 'ackTs': None, 'afterAck': [], 'rst': None,
                                           'serverBytes': 0, 'clientBytes': 0, 'dataEnd': 1, 'dataAckedTs': None,
                                           'retransBeforeAck': 0})
        if p['fromServer']:
            if p['syn'] and p['ack']:
                c['synacks'].append(p['t'])
                if c['ackTs'] is not None:
                    c['afterAck'].append(p['t'])
            elif p['rst'] and c['rst'] is None:
                c['rst'] = (p['t'], p['frame'], p['ack'])
            if p['ack'] and p['acknum'] > 1 and c['dataAckedTs'] is None and not p['syn']:
                c['dataAckedTs'] = p['t']
            c['serverBytes'] += p['len']
        else:
            if p['syn']:
                c['syns'].append(p['t'])
            elif p['ack'] and c['ackTs'] is None and c['synacks']:
                c['ackTs'] = p['t']
            if p['len'] > 0:
                end = p['seq'] + p['len']
                if end <= c['dataEnd'] and c['dataAckedTs'] is None:
                    c['retransBeforeAck'] += 1
                c['dataEnd'] = max(c['dataEnd'], end)
            c['clientBytes'] += p['len']
    for c in conns.values():
        c['synRetries'] = max(0, len(c['syns']) - 1)
        c['synackAfterAck'] = len(c['afterAck'])
        c['rstAtHandshake'] = bool(c['rst'] and c['serverBytes'] == 0 and c['ackTs'] is not None
                                   and c['rst'][0] - c['ackTs'] <= 0.2)
        c['served'] = c['serverBytes'] > 0
        # What the listener did to the handshake's last ACK / first data when its queue was full.
        c['overflowTrace'] = c['synackAfterAck'] > 0 or c['rstAtHandshake'] or c['retransBeforeAck'] > 0
        # The detector's documented thresholds (accept-queue-overflow.ts): two SYN-ACK repeats, or one
        # with the data dropped; a handshake RST; two retransmissions before the first ACK of data.
        c['reportable'] = (c['synackAfterAck'] >= 2 or (c['synackAfterAck'] >= 1 and c['retransBeforeAck'] > 0)
                           or c['rstAtHandshake'] or c['retransBeforeAck'] >= 2)
    return conns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--clients', type=int, required=True)
    ap.add_argument('--cookies', type=int, required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--configured', required=True)
    ap.add_argument('--description', required=True)
    ap.add_argument('--software', nargs='+', required=True)
    a = ap.parse_args()

    before, after = netstat(os.path.join(a.work, 'netstat.before')), netstat(os.path.join(a.work, 'netstat.after'))
    counters = {k: after.get(k, 0) - before.get(k, 0) for k in ('ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop',
                                                                 'TCPReqQFullDoCookies', 'SyncookiesSent', 'SyncookiesRecv')}
    curl = [json.loads(l) for l in open(os.path.join(a.work, 'client.log')) if l.strip()]
    access = [l for l in open(os.path.join(a.work, 'access.log')) if l.strip()]
    ss_during = ' '.join(open(os.path.join(a.work, 'ss.during')).read().split())
    conns = classify(packets(a.capture, a.port))
    traced = sorted(p for p, c in conns.items() if c['overflowTrace'])
    reportable = sorted(p for p, c in conns.items() if c['reportable'])
    resets = sorted(p for p, c in conns.items() if c['rstAtHandshake'])
    served = sorted(p for p, c in conns.items() if c['served'])
    syn_dropped = sorted(p for p, c in conns.items() if c['synRetries'] > 0)
    dropped_syns = sum(c['synRetries'] for c in conns.values())
    synacks = sum(len(c['synacks']) - c['synackAfterAck'] for c in conns.values())
    ok_curls = sorted(r['port'] for r in curl if r['status'] == '200')
    reset_curls = sorted(r['port'] for r in curl if 'reset' in r['error'].lower())

    per = {str(p): {k: c[k] for k in ('synRetries', 'synackAfterAck', 'rstAtHandshake', 'retransBeforeAck', 'served')}
           for p, c in sorted(conns.items())}
    summary = {'kernel': counters, 'ssDuring': ss_during, 'connections': len(conns), 'overflowTrace': traced,
               'reportable': reportable, 'handshakeResets': resets, 'served': served, 'synDropped': syn_dropped,
               'curlOk': ok_curls, 'curlReset': reset_curls, 'accessLogLines': len(access), 'perConnection': per}
    print(json.dumps(summary))

    problems = []
    if len(conns) != a.clients or len(curl) != a.clients:
        problems.append(f'{len(conns)} connections in the capture, {len(curl)} curl results, {a.clients} clients started')
    missing_syn = sorted(p for p, c in conns.items() if not c['syns'])
    if missing_syn:
        problems.append(f'connections without their SYN in the capture (capture started late): {missing_syn}')
    # Every refusal by a full accept queue increments ListenOverflows (and ListenDrops) once: a dropped
    # SYN, a dropped/reset handshake ACK, a dropped data segment carrying that ACK.
    traces = sum(c['synackAfterAck'] + int(c['rstAtHandshake']) + c['retransBeforeAck'] for c in conns.values())
    if traced and counters['ListenOverflows'] == 0:
        problems.append(f"{len(traced)} connections show an overflow trace but ListenOverflows did not grow")
    if counters['ListenOverflows'] > 0 and not traced and dropped_syns == 0:
        problems.append(f"ListenOverflows grew by {counters['ListenOverflows']} but the capture shows no dropped SYN, ACK or data")
    if counters['ListenDrops'] < dropped_syns + len(traced):
        problems.append(f"ListenDrops grew by {counters['ListenDrops']}, fewer than {dropped_syns} dropped SYNs + {len(traced)} overflowed connections")
    if counters['ListenDrops'] > 0 and dropped_syns + traces == 0:
        problems.append(f"ListenDrops grew by {counters['ListenDrops']} but the capture shows no dropped SYN, ACK or data")
    if served != ok_curls or len(access) != len(served):
        problems.append(f'served in capture {served}, curl 200s {ok_curls}, {len(access)} access-log lines')
    if reset_curls != resets:
        problems.append(f'curls reset {reset_curls} vs handshake RSTs in the capture {resets}')
    if a.cookies == 0 and counters['SyncookiesSent'] > 0:
        problems.append(f"tcp_syncookies=0 but SyncookiesSent grew by {counters['SyncookiesSent']}")
    if a.cookies == 2 and counters['SyncookiesSent'] != synacks:
        problems.append(f"tcp_syncookies=2 but SyncookiesSent {counters['SyncookiesSent']} != {synacks} SYN-ACKs in the capture")
    if problems:
        print('x15-meta: refusing to write the meta:\n  ' + '\n  '.join(problems), file=sys.stderr)
        sys.exit(1)

    expect = []
    for p in reportable:
        c = conns[p]
        how = []
        if c['synackAfterAck']:
            how.append(f"SYN-ACK re-sent {c['synackAfterAck']}x after the client's ACK")
        if c['rstAtHandshake']:
            how.append(f"RST {round(c['rst'][0] - c['ackTs'], 3)} s after the client's ACK, before any data")
        if c['retransBeforeAck']:
            how.append(f"request retransmitted {c['retransBeforeAck']}x before the server ACKed it")
        expect.append({'kind': 'accept-queue-overflow', 'client': f'10.99.0.1:{p}', 'server': f'10.99.0.2:{a.port}',
                       'notes': '; '.join(how) + ('; served later' if c['served'] else '; never served')})
    for p in syn_dropped:
        expect.append({'kind': 'syn-unanswered', 'client': f'10.99.0.1:{p}', 'server': f'10.99.0.2:{a.port}',
                       'notes': f"{conns[p]['synRetries']} SYN retransmission(s): the listener dropped its SYN(s)"})
    meta = {'scenario': a.scenario, 'description': a.description, 'software': a.software,
            'configured': json.loads(a.configured), 'expect': expect, 'silent': not expect,
            'facts': {'connections': len(conns), 'served': len(served), 'overflowTrace': len(traced),
                      'reportableOverflows': len(reportable), 'handshakeResets': len(resets),
                      'synDroppedConnections': len(syn_dropped), 'droppedSyns': dropped_syns,
                      'kernel': counters, 'ssDuringBurst': ss_during}}
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
