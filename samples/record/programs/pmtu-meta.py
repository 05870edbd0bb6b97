#!/usr/bin/env python3
"""Writes the metas of pmtu-blackhole-client-side and pmtu-blackhole-server-side (one run, captured at
the client's and the server's interface) after checking both captures with tshark against curl's log,
the servers' logs and the router's nftables counters; exits 1 (writing nothing) when they disagree.

Each big fetch must be: curl exit 28 after about --max-time with 0 body bytes; in the server-side
capture, its connection's first body segment (full-size) sent again at least 3 times and never
acknowledged by the client, whose ACKs did cover the smaller segments before it; in the client-side
capture, no server segment of that connection larger than the path's MTU allows, and none of the
body bytes (the client's FIN acknowledges only what came before them). The router must have dropped
ICMP "fragmentation needed" messages. Every small fetch must be whole.
"""
import argparse
import json
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument('--client-capture', required=True)
ap.add_argument('--server-capture', required=True)
ap.add_argument('--curl-log', required=True)
ap.add_argument('--curl-err', required=True)
ap.add_argument('--server-log', required=True)
ap.add_argument('--access-log', required=True)
ap.add_argument('--nft', required=True)
ap.add_argument('--samples', required=True)
ap.add_argument('--mtu', type=int, required=True)
ap.add_argument('--max-time', type=float, required=True)
ap.add_argument('--big', type=int, required=True)
ap.add_argument('--software', action='append', default=[])
a = ap.parse_args()


def fail(why):
    sys.stderr.write(f'pmtu-meta: {why}\n')
    sys.exit(1)


def packets(capture):
    out = subprocess.run(
        ['tshark', '-r', capture, '-o', 'tcp.relative_sequence_numbers:TRUE', '-T', 'fields', '-E', 'separator=|',
         '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport',
         '-e', 'tcp.flags.syn', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset', '-e', 'tcp.seq', '-e', 'tcp.ack', '-e', 'tcp.len',
         '-e', 'tcp.options.mss_val', '-e', 'http.request.uri', '-e', 'ip.len'],
        capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split('|')
        rows.append({'frame': int(f[0]), 'ts': float(f[1]), 'src': f'{f[2]}:{f[3]}', 'dst': f'{f[4]}:{f[5]}',
                     'syn': f[6] in ('1', 'True'), 'fin': f[7] in ('1', 'True'), 'rst': f[8] in ('1', 'True'),
                     'seq': int(f[9] or 0), 'ack': int(f[10] or 0), 'len': int(f[11] or 0), 'mss': int(f[12] or 0), 'uri': f[13],
                     'iplen': int(f[14] or 0)})
    return rows


curl = [json.loads(x) for x in open(a.curl_log) if x.strip()]
fetches = [c for c in curl if 'url' in c]
exits = [c for c in curl if 'exit' in c]
errors = [x.strip() for x in open(a.curl_err) if x.strip()]
server_log = [json.loads(x) for x in open(a.server_log) if x.strip()]
access = [x.strip() for x in open(a.access_log) if x.strip()]
nft = open(a.nft).read()
dropped = [int(x.split('packets ')[1].split()[0]) for x in nft.splitlines() if 'frag-needed' in x and 'packets ' in x]
if sum(dropped) == 0:
    fail('the router dropped no ICMP "fragmentation needed": no black hole was made')
if any(c['exit'] != 28 for c in exits):
    fail(f'a curl run did not time out: {exits}')
big = [c for c in fetches if '/big' in c['url']]
smalls = [c for c in fetches if '/small' in c['url']]
if any(c['status'] != '200' or c['downloaded'] != 200 for c in smalls):
    fail(f'a small fetch failed: {smalls}')
if len(big) == 0 or any(c['downloaded'] != 0 or abs(c['total'] - a.max_time) > 0.05 for c in big):
    fail(f'a big fetch did not end at --max-time with no body byte: {big}')
if len(errors) != len(big) or not all('Operation timed out' in e for e in errors):
    fail(f'curl errors: {errors}')

client_rows = packets(a.client_capture)
server_rows = packets(a.server_capture)
max_payload = a.mtu - 40 - 12  # IPv4 and TCP headers, TCP timestamps
observed = []
expect_client = []
expect_server = []
for c in big:
    client = c['local']
    port = int(c['url'].split(':')[2].split('/')[0])
    server = f"{c['url'].split('//')[1].split(':')[0]}:{port}"

    def conn(rows):
        return [r for r in rows if (r['src'] == client and r['dst'] == server) or (r['src'] == server and r['dst'] == client)]

    sc = conn(server_rows)
    cc = conn(client_rows)
    if not sc or not cc:
        fail(f'{client}: missing from a capture')
    syn = next(r for r in sc if r['syn'] and r['src'] == client)
    req = next(r for r in sc if r['src'] == client and '/big' in r['uri'])
    # Server side: the client's last acknowledgement, and the first unacknowledged body segment resent again and again.
    client_acks = [r['ack'] for r in sc if r['src'] == client and not r['syn']]
    acked = max(client_acks)
    sent = [r for r in sc if r['src'] == server and r['len'] > 0]
    resent = [r for r in sent if r['seq'] == acked]
    if len(resent) < 4 or resent[0]['len'] <= max_payload:
        fail(f'{client}: the server did not resend its first unacknowledged full-size segment (at {acked}) three times: {[(r["frame"], r["len"]) for r in resent]}')
    passed = [r['len'] for r in sent if r['seq'] + r['len'] <= acked]
    close = next(r for r in sc if r['src'] == client and (r['fin'] or r['rst']))
    if close['ack'] != acked:
        fail(f'{client}: the client\'s close acknowledges {close["ack"]}, not {acked}')
    # Client side: nothing larger than the path carries, none of the body.
    arrived = [r for r in cc if r['src'] == server and r['len'] > 0]
    if any(r['len'] > max_payload for r in arrived):
        fail(f'{client}: a server segment larger than the path MTU reached the client')
    cclose = next(r for r in cc if r['src'] == client and (r['fin'] or r['rst']))
    creq = next(r for r in cc if r['src'] == client and '/big' in r['uri'])
    if cclose['ack'] != acked or max(r['seq'] + r['len'] for r in arrived) != acked:
        fail(f'{client}: the client-side capture shows body bytes arriving')
    unacked = max(r['seq'] + r['len'] for r in sent) - acked
    observed.append({
        'client': client, 'server': server, 'mssOffered': syn['mss'],
        'lostSegmentBytes': resent[0]['len'], 'largestPassedSegmentBytes': max(passed), 'bytesNeverAcknowledged': unacked,
        'serverResends': len(resent) - 1, 'resendFrames': [r['frame'] for r in resent[1:]],
        'resendOffsets': [round(r['ts'] - resent[0]['ts'], 3) for r in resent[1:]],
        'requestToCloseClientSide': round(cclose['ts'] - creq['ts'], 4), 'requestToCloseServerSide': round(close['ts'] - req['ts'], 4),
        'curlTotal': c['total'],
    })
    notes = (f"{c['url'].split(server)[1]}: curl --max-time {a.max_time:g} gave up after {c['total']} s (exit 28, 0 of the body's bytes); "
             f"the server sent the body in {resent[0]['len']}-byte segments, which the router dropped (MTU {a.mtu} toward the client, ICMP frag-needed dropped), "
             f"resent the first one {len(resent) - 1} times at RTO backoff ({', '.join(str(x) for x in observed[-1]['resendOffsets'])} s after its first send); "
             f"segments of up to {max(passed)} bytes were acknowledged")
    expect_server.append({'kind': 'pmtu-blackhole', 'client': client, 'server': server, 'notes': notes,
                          'evidence': {'resendFrames': observed[-1]['resendFrames'], 'closeFrame': close['frame'], 'requestFrame': req['frame']}})
    expect_client.append({'kind': 'pmtu-blackhole', 'client': client, 'server': server, 'notes': notes + '; captured at the client, where the resends never show',
                          'evidence': {'closeFrame': cclose['frame'], 'requestFrame': creq['frame']}})

servers_seen = sorted({o['server'] for o in observed})
n_python = len([c for c in big if ':8080/' in c['url']])
n_nginx = len([c for c in big if ':8081/' in c['url']])
description = (
    f'A PMTU black hole: client (10.55.1.1), router and server (10.55.2.2) namespaces joined by user-space wires (1 ms one way per wire, no loss); '
    f'the router\'s link toward the client has MTU {a.mtu}, both hosts 1500 (the client\'s SYN offers MSS 1460), and nftables in the router drops the ICMP '
    f'"fragmentation needed" (type 3 code 4) and ICMPv6 "packet too big" it sends ({sum(dropped)} dropped); net.ipv4.tcp_mtu_probing=0 in the server\'s namespace. '
    f'Servers: a Python ThreadingHTTPServer on :8080 (head and body in two writes: the head passes) and nginx on :8081 (head and body leave together: nothing passes). '
    f'curl --max-time {a.max_time:g} fetches /small (200 bytes: passes) then a {a.big}-byte /big on one connection, {n_python} times from Python and {n_nginx} from nginx; each big body leaves in '
    f'full-size segments the router drops, the server resends the first one at RTO backoff and curl gives up at {a.max_time:g} s '
    f'("Operation timed out after 800x milliseconds with 0 out of {a.big} bytes received").')
for name, capture_point, expect in (('pmtu-blackhole-client-side', 'client', expect_client), ('pmtu-blackhole-server-side', 'server', expect_server)):
    meta = {
        'scenario': name, 'description': description + f' Captured at the {capture_point}\'s interface; the other capture of the same run is '
        + ('pmtu-blackhole-server-side.' if capture_point == 'client' else 'pmtu-blackhole-client-side.'),
        'software': a.software,
        'configured': {'clientTimeoutFromConnect': a.max_time},
        'configuredNotes': 'clientTimeoutFromConnect is curl --max-time; no detector infers it here (the path, not a timer, is the diagnosis).',
        'network': {'oneWayDelayMs': 2, 'capturePoint': capture_point, 'smallMtu': a.mtu, 'icmpFragNeededDropped': sum(dropped)},
        'facts': {'servers': servers_seen, 'bigFetches': len(big), 'smallFetchesWhole': len(smalls), 'serverLog': server_log, 'nginxAccessLog': access},
        'observed': {'blackHoles': observed},
        'silent': False,
        'expect': expect,
    }
    with open(f'{a.samples}/{name}.meta.json', 'w') as out:
        json.dump(meta, out, indent=2)
        out.write('\n')
print(f'pmtu-meta: {len(big)} black-holed fetches, {sum(dropped)} ICMP frag-needed dropped')
