#!/usr/bin/env python3
"""Writes the metas of synack-lost-server-side and synack-lost-client-side (one run, captured at the
server's and the client's interface) after checking both captures with tshark against the client's
log, nginx's access log and the router's nftables counters; exits 1 (writing nothing) when they
disagree.

A connect is delayed when the client's log says connect() took more than half a second. Each
delayed one must show either the client's SYN timer recovering it (at the server, the server's
SYN-ACK for the first SYN before the client's same SYN came again; at the client, that SYN sent
again before any SYN-ACK arrived, and the SYN-ACK that came echoing the first SYN's TSval) or the
server's SYN-ACK timer firing first (at the server, the SYN-ACK sent again 0.9 s or more later and the
client's first ACK only after it; at the client, its one SYN answered by that repeated SYN-ACK). Every other connect must show one
SYN at both points. Every connect must have got 200, nginx must have logged each, no data segment may
have been sent twice (the router drops SYN-ACKs only), and the router must have dropped at least one
SYN-ACK per delayed connect.
"""
import argparse
import json
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument('--client-capture', required=True)
ap.add_argument('--server-capture', required=True)
ap.add_argument('--client-log', required=True)
ap.add_argument('--access-log', required=True)
ap.add_argument('--nft', required=True)
ap.add_argument('--samples', required=True)
ap.add_argument('--connects', type=int, required=True)
ap.add_argument('--drop-every', type=int, required=True)
ap.add_argument('--one-way-ms', type=float, required=True)
ap.add_argument('--software', action='append', default=[])
a = ap.parse_args()


def fail(why):
    sys.stderr.write(f'synack-meta: {why}\n')
    sys.exit(1)


def packets(capture):
    out = subprocess.run(
        ['tshark', '-r', capture, '-T', 'fields', '-E', 'separator=|',
         '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport',
         '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.seq_raw', '-e', 'tcp.len',
         '-e', 'tcp.options.timestamp.tsval', '-e', 'tcp.options.timestamp.tsecr', '-e', 'tcp.analysis.retransmission'],
        capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split('|')
        rows.append({'frame': int(f[0]), 'ts': float(f[1]), 'src': f'{f[2]}:{f[3]}', 'dst': f'{f[4]}:{f[5]}',
                     'syn': f[6] in ('1', 'True'), 'ack': f[7] in ('1', 'True'), 'seq': int(f[8] or 0), 'len': int(f[9] or 0),
                     'tsval': int(f[10]) if f[10] else None, 'tsecr': int(f[11]) if f[11] else None, 'retrans': f[12] != ''})
    return rows


log = [json.loads(x) for x in open(a.client_log) if x.strip()]
access = [x.strip() for x in open(a.access_log) if x.strip()]
counters = {c['counter']['name']: c['counter']['packets'] for c in json.load(open(a.nft))['nftables'] if 'counter' in c}
if len(log) != a.connects or any(c.get('status') != 200 for c in log):
    fail(f'not every connect got 200: {log}')
if len(access) != a.connects or any('" 200 ' not in x for x in access):
    fail(f'nginx did not log {a.connects} answers 200: {access}')
delayed = [c for c in log if c['connectSeconds'] > 0.5]
if not delayed:
    fail('no connect was delayed')
if counters.get('synacks_dropped', 0) < len(delayed):
    fail(f'the router dropped {counters.get("synacks_dropped")} SYN-ACKs for {len(delayed)} delayed connects')
sc = packets(a.server_capture)
cc = packets(a.client_capture)
for name, rows in (('server', sc), ('client', cc)):
    again = [r['frame'] for r in rows if r['len'] > 0 and r['retrans']]
    if again:
        fail(f'{name} capture: data segments sent again (frames {again}): the path lost more than SYN-ACKs')
server = None
observed = []
expect = {'server': [], 'client': []}
for c in log:
    client = c['local']
    s_rows = [r for r in sc if client in (r['src'], r['dst'])]
    c_rows = [r for r in cc if client in (r['src'], r['dst'])]
    if not s_rows or not c_rows:
        fail(f'{client}: missing from a capture')
    server = s_rows[0]['dst']
    s_syns = [r for r in s_rows if r['syn'] and not r['ack']]
    s_synacks = [r for r in s_rows if r['syn'] and r['ack']]
    c_syns = [r for r in c_rows if r['syn'] and not r['ack']]
    c_synacks = [r for r in c_rows if r['syn'] and r['ack']]
    if len({r['seq'] for r in s_syns}) != 1 or len({r['seq'] for r in c_syns}) != 1:
        fail(f'{client}: SYNs with different sequence numbers')
    if c not in delayed:
        if len(s_syns) != 1 or len(c_syns) != 1:
            fail(f'{client}: connect took {c["connectSeconds"]} s but its SYN was sent {len(c_syns)} times')
        expect['server'].append({'kind': None, 'client': client, 'server': server, 'notes': f'connect took {c["connectSeconds"]} s: one SYN, answered at once'})
        expect['client'].append(dict(expect['server'][-1]))
        continue
    if len(s_syns) >= 2:
        # The client's SYN timer recovered it. Server side: the SYN-ACK for the first SYN went out
        # before the same SYN came again.
        if not s_synacks or not (s_syns[0]['ts'] < s_synacks[0]['ts'] < s_syns[1]['ts']):
            fail(f'{client}: the server capture does not show its SYN-ACK before the repeated SYN')
        s_answer = next((r for r in s_synacks if r['ts'] >= s_syns[1]['ts']), None)
        # Client side: the SYN again before any SYN-ACK arrived, the answer echoing the first SYN's TSval.
        if len(c_syns) < 2 or not c_synacks or c_synacks[0]['ts'] < c_syns[1]['ts']:
            fail(f'{client}: the client capture does not show its SYN sent again before an answer')
        c_before = [r for r in c_syns if r['ts'] < c_synacks[0]['ts']]
        if c_synacks[0]['tsecr'] != c_syns[0]['tsval'] or c_before[-1]['tsval'] == c_syns[0]['tsval']:
            fail(f'{client}: the SYN-ACK that arrived does not echo the first SYN\'s TSval')
        rto = round(c_syns[1]['ts'] - c_syns[0]['ts'], 3)
        how = f'the client sent its SYN again {rto} s later (its SYN RTO) and that was answered'
        s_ev = {'firstSynFrame': s_syns[0]['frame'], 'lostSynAckFrame': s_synacks[0]['frame'], 'repeatedSynFrame': s_syns[1]['frame'],
                'answerFrame': s_answer['frame'] if s_answer else None}
        c_ev = {'firstSynFrame': c_syns[0]['frame'], 'repeatedSynFrame': c_syns[1]['frame'], 'answerFrame': c_synacks[0]['frame']}
        s_note = f'at the server, SYN frame {s_syns[0]["frame"]}, its SYN-ACK frame {s_synacks[0]["frame"]}, the repeated SYN frame {s_syns[1]["frame"]}'
        c_note = f'at the client, SYN frames {[r["frame"] for r in c_syns]}, the SYN-ACK frame {c_synacks[0]["frame"]} echoing the first SYN\'s TSval {c_syns[0]["tsval"]}'
    else:
        # The server's SYN-ACK timer fired first: server side, the SYN-ACK twice (1 s apart) and the
        # client's first ACK only after the second; client side, the one SYN answered 1 s late.
        if len(c_syns) != 1 or len(s_synacks) < 2 or s_synacks[1]['ts'] - s_synacks[0]['ts'] < 0.9:
            fail(f'{client}: one SYN, but the server did not send its SYN-ACK again at its timer')
        s_ack = next(r for r in s_rows if r['src'] == client and r['ack'])
        if s_ack['ts'] < s_synacks[1]['ts']:
            fail(f'{client}: the server capture shows the client\'s ACK before the repeated SYN-ACK')
        if not c_synacks or c_synacks[0]['ts'] - c_syns[0]['ts'] < 0.9 or c_synacks[0]['tsval'] != s_synacks[1]['tsval']:
            fail(f'{client}: the client capture does not show the repeated SYN-ACK as the first answer')
        rto = round(s_synacks[1]['ts'] - s_synacks[0]['ts'], 3)
        how = f'the server sent its SYN-ACK again {rto} s later (its SYN-ACK timer, before the client\'s SYN timer fired) and the client took that one'
        s_ev = {'firstSynFrame': s_syns[0]['frame'], 'lostSynAckFrame': s_synacks[0]['frame'], 'resentSynAckFrame': s_synacks[1]['frame'], 'clientAckFrame': s_ack['frame']}
        c_ev = {'firstSynFrame': c_syns[0]['frame'], 'answerFrame': c_synacks[0]['frame']}
        s_note = f'at the server, SYN frame {s_syns[0]["frame"]}, its SYN-ACK frame {s_synacks[0]["frame"]}, the SYN-ACK again in frame {s_synacks[1]["frame"]}, the client\'s ACK in frame {s_ack["frame"]}'
        c_note = f'at the client, SYN frame {c_syns[0]["frame"]} answered {round(c_synacks[0]["ts"] - c_syns[0]["ts"], 3)} s later by the repeated SYN-ACK, frame {c_synacks[0]["frame"]}'
    observed.append({'client': client, 'connectSeconds': c['connectSeconds'], 'recoveredBy': 'client SYN timer' if len(s_syns) >= 2 else 'server SYN-ACK timer',
                     'timerFiredAfter': rto, 'serverSide': s_ev, 'clientSide': c_ev})
    notes = f'connect() took {c["connectSeconds"]} s (client log): the router dropped the SYN-ACK for the first SYN, {how}'
    expect['server'].append({'kind': 'synack-lost', 'client': client, 'server': server, 'notes': f'{notes}; {s_note}', 'evidence': s_ev})
    expect['client'].append({'kind': 'synack-lost', 'client': client, 'server': server, 'notes': f'{notes}; {c_note}', 'evidence': c_ev})

fast = [c['connectSeconds'] for c in log if c not in delayed]
by_client = len([o for o in observed if o['recoveredBy'] == 'client SYN timer'])
recovered = '; '.join(
    ([f'for {by_client} the client sent its SYN again and the server answered it'] if by_client else [])
    + ([f'for {len(observed) - by_client} the server sent its SYN-ACK again before the client\'s timer fired'] if len(observed) > by_client else []))
description = (
    f'A path that drops a share of the server\'s SYN-ACKs and nothing else: client (10.55.1.1), router and server (10.55.2.2) namespaces joined by user-space wires '
    f'({a.one_way_ms:g} ms one way, no loss of their own); nftables in the router drops every {a.drop_every}th SYN-ACK from port 8080 it forwards '
    f'(`numgen inc mod {a.drop_every} == 0`, the first included): {counters["synacks_dropped"]} of {counters["synacks_seen"]}. '
    f'nginx serves a small file; a Python client makes {a.connects} connects one after another (GET, Connection: close). '
    f'{len(delayed)} of them took {min(c["connectSeconds"] for c in delayed)}-{max(c["connectSeconds"] for c in delayed)} s to connect (the others {min(fast)}-{max(fast)} s): '
    f'the SYN-ACK for the first SYN was dropped, and whichever 1 s timer fired first recovered the handshake: {recovered}. '
    f'Every request got 200; no data segment was lost or sent twice.')
for name, point, other in (('synack-lost-server-side', 'server', 'synack-lost-client-side'), ('synack-lost-client-side', 'client', 'synack-lost-server-side')):
    meta = {
        'scenario': name,
        'description': description + f' Captured at the {point}\'s interface; the other capture of the same run is {other}.',
        'software': a.software,
        'configured': {},
        'configuredNotes': 'Nothing configured to infer: the client\'s SYN retransmission timeout (Linux TCP_TIMEOUT_INIT, 1 s) is inferred as synRetransmissionTimeout.',
        'network': {'oneWayDelayMs': a.one_way_ms, 'capturePoint': point, 'router': f'nft: tcp sport 8080 tcp flags & (syn | ack) == (syn | ack) numgen inc mod {a.drop_every} == 0 drop',
                    'synAcksSeenByRouter': counters['synacks_seen'], 'synAcksDropped': counters['synacks_dropped']},
        'facts': {'server': server, 'connects': len(log), 'delayedConnects': len(delayed), 'clientLog': log, 'nginxAccessLog': access},
        'observed': {'delayed': observed},
        'silent': False,
        'expect': expect[point],
    }
    with open(f'{a.samples}/{name}.meta.json', 'w') as out:
        json.dump(meta, out, indent=2)
        out.write('\n')
print(f'synack-meta: {len(delayed)} of {len(log)} connects delayed, {counters["synacks_dropped"]} of {counters["synacks_seen"]} SYN-ACKs dropped')
