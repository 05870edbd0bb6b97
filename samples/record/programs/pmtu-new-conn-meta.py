#!/usr/bin/env python3
"""Writes the metas of pmtu-blackhole-new-connection-client-side and pmtu-icmp-allowed-client-side
(recorder pmtu-blackhole-new-connection.sh, both captured at the client's interface) after checking
them with tshark against curl's log, the hung server's log, nginx's access log and the router's
nftables counters; exits 1 (writing nothing) when they disagree.

Phase 1 (ICMP "fragmentation needed" dropped): /small whole; /big curl exit 28 at --max-time with 0
bytes, no data segment of the server's in the capture, the client's FIN acknowledging none, and a
later server packet whose sequence number is past a full-size segment's worth of bytes (sent, never
arrived); /hang curl exit 28, the server's ACK of the request and every later packet of it at
sequence 1 (it sent nothing), and the hung server's log saying so. Phase 2 (the ICMP let through):
/big whole, no server segment larger than the small MTU carries, the router's counter > 0.
"""
import argparse
import json
import subprocess
import sys

ap = argparse.ArgumentParser()
for opt in ('--blackhole-capture', '--allowed-capture', '--curl-log', '--curl-exit', '--curl-err', '--hang-log', '--access-log',
            '--nft1', '--nft2', '--samples'):
    ap.add_argument(opt, required=True)
ap.add_argument('--mtu', type=int, required=True)
ap.add_argument('--max-time', type=float, required=True)
ap.add_argument('--big', type=int, required=True)
ap.add_argument('--software', action='append', default=[])
a = ap.parse_args()

BLACKHOLE = 'pmtu-blackhole-new-connection-client-side'
ALLOWED = 'pmtu-icmp-allowed-client-side'


def fail(why):
    sys.stderr.write(f'pmtu-new-conn-meta: {why}\n')
    sys.exit(1)


def packets(capture):
    out = subprocess.run(
        ['tshark', '-r', capture, '-o', 'tcp.relative_sequence_numbers:TRUE', '-T', 'fields', '-E', 'separator=|',
         '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport',
         '-e', 'tcp.flags.syn', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset', '-e', 'tcp.seq', '-e', 'tcp.ack', '-e', 'tcp.len',
         '-e', 'tcp.options.mss_val', '-e', 'http.request.uri'],
        capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split('|')
        if not f[3]:
            continue
        rows.append({'frame': int(f[0]), 'ts': float(f[1]), 'src': f'{f[2]}:{f[3]}', 'dst': f'{f[4]}:{f[5]}',
                     'syn': f[6] in ('1', 'True'), 'fin': f[7] in ('1', 'True'), 'rst': f[8] in ('1', 'True'),
                     'seq': int(f[9] or 0), 'ack': int(f[10] or 0), 'len': int(f[11] or 0), 'mss': int(f[12] or 0), 'uri': f[13]})
    return rows


def counter(path, verdict):
    lines = [x for x in open(path).read().splitlines() if 'frag-needed' in x and verdict in x and 'packets ' in x]
    return sum(int(x.split('packets ')[1].split()[0]) for x in lines)


fetches = [json.loads(x) for x in open(a.curl_log) if x.strip()]
exits = {(e['phase'], e['url']): e['exit'] for e in (json.loads(x) for x in open(a.curl_exit) if x.strip())}
errors = [x.strip() for x in open(a.curl_err) if x.strip()]
hang_log = [json.loads(x) for x in open(a.hang_log) if x.strip()]
access = [x.strip() for x in open(a.access_log) if x.strip()]
dropped = counter(a.nft1, 'drop')
allowed = counter(a.nft2, 'accept')
for f in fetches:
    f['exit'] = exits[(f['phase'], f['url'])]
    f['server'] = f['url'].split('//')[1].split('/')[0]
    f['path'] = '/' + f['url'].split('//')[1].split('/', 1)[1]


def one(phase, path):
    got = [f for f in fetches if f['phase'] == phase and f['path'] == path]
    if len(got) != 1:
        fail(f'phase {phase} {path}: {len(got)} fetches')
    return got[0]


small, big, hang, big2 = one(1, '/small'), one(1, '/big'), one(1, '/hang'), one(2, '/big')
if small['exit'] != 0 or small['status'] != '200' or small['downloaded'] != 6:
    fail(f'/small failed: {small}')
for f in (big, hang):
    if f['exit'] != 28 or f['downloaded'] != 0 or abs(f['total'] - a.max_time) > 0.05:
        fail(f'{f["path"]} did not end at --max-time with no byte: {f}')
if big2['exit'] != 0 or big2['status'] != '200' or big2['downloaded'] != a.big:
    fail(f'phase 2 /big was not whole: {big2}')
if dropped == 0:
    fail('phase 1: the router dropped no ICMP "fragmentation needed": no black hole was made')
if allowed == 0:
    fail('phase 2: the router sent no ICMP "fragmentation needed"')
if len(errors) != 2 or not all('Operation timed out' in e for e in errors):
    fail(f'curl errors: {errors}')
if len(hang_log) != 1 or hang_log[0]['client'] != hang['local'] or hang_log[0]['event'] != 'client-closed':
    fail(f'the hung server\'s log: {hang_log}')
if not any('"GET /big HTTP/1.1" 200 ' + str(a.big) in x for x in access):
    fail(f'nginx did not log /big as written: {access}')

rows = packets(a.blackhole_capture)


def conn(rows, client, server):
    return [r for r in rows if (r['src'] == client and r['dst'] == server) or (r['src'] == server and r['dst'] == client)]


# /big: nothing of the server's arrived; a later packet of its carries a sequence number past a full-size segment's worth.
bc = conn(rows, big['local'], big['server'])
syn = next(r for r in bc if r['syn'] and r['src'] == big['local'])
full = syn['mss'] - 40
if any(r['len'] > 0 for r in bc if r['src'] == big['server']):
    fail('/big: a data segment of the server reached the client')
bclose = next(r for r in bc if r['src'] == big['local'] and (r['fin'] or r['rst']))
breq = next(r for r in bc if r['src'] == big['local'] and r['uri'] == '/big')
if bclose['ack'] != 1:
    fail(f'/big: the client\'s close acknowledges {bclose["ack"]}')
ahead = [r for r in bc if r['src'] == big['server'] and not r['syn'] and r['seq'] - 1 >= full]
if not ahead:
    fail('/big: no later server packet shows the bytes it sent')
# /hang: the server ACKed the request and never moved its sequence number.
hc = conn(rows, hang['local'], hang['server'])
hreq = next(r for r in hc if r['src'] == hang['local'] and r['uri'] == '/hang')
hclose = next(r for r in hc if r['src'] == hang['local'] and (r['fin'] or r['rst']))
hsrv = [r for r in hc if r['src'] == hang['server'] and not r['syn']]
if any(r['seq'] != 1 or r['len'] > 0 for r in hsrv) or not any(r['ack'] > 1 and r['frame'] > hreq['frame'] for r in hsrv):
    fail('/hang: the server sent something, or never ACKed the request')
# Phase 2: whole, in segments the small MTU carries.
rows2 = packets(a.allowed_capture)
sc2 = conn(rows2, big2['local'], big2['server'])
largest2 = max(r['len'] for r in sc2 if r['src'] == big2['server'])
if largest2 > a.mtu - 52:
    fail(f'phase 2: a {largest2}-byte segment passed a {a.mtu}-byte MTU')

network = {'oneWayDelayMs': 2, 'capturePoint': 'client', 'smallMtu': a.mtu, 'mssOffered': syn['mss'], 'tcpMtuProbing': 0}
common = (f'Client (10.55.1.1), router and server (10.55.2.2) namespaces joined by user-space wires (1 ms one way per wire, no loss); the router\'s link '
          f'toward the client has MTU {a.mtu}, both hosts 1500 (the client\'s SYN offers MSS {syn["mss"]}); net.ipv4.tcp_mtu_probing=0 in the server\'s namespace. '
          f'nginx on :8081 serves static files (the response head leaves with the body in full-size segments); programs/hang-server.py on :8080 reads a request '
          f'and then neither reads nor answers for 5 s. Each curl (--max-time {a.max_time:g}) is its own connection. Captured at the client\'s interface; '
          f'recorder pmtu-blackhole-new-connection.sh (blind round 13, S12).')
meta1 = {
    'scenario': BLACKHOLE,
    'description': (f'A PMTU black hole met by new connections, and a hung server on the same path. {common} nftables in the router drops the ICMP "fragmentation needed" '
                    f'it sends ({dropped} dropped). /small (6 bytes) passes; /big ({a.big} bytes): nginx writes it whole, every segment is full-size and dropped, '
                    f'curl gives up at {a.max_time:g} s with 0 bytes, and only the server\'s small packets reach the client, the last (its ACK of curl\'s FIN) '
                    f'with a sequence number {ahead[-1]["seq"] - 1} bytes past the handshake; /hang: the server ACKs the request and sends nothing, curl gives up at {a.max_time:g} s.'),
    'software': a.software,
    'configured': {'clientTimeoutFromConnect': a.max_time},
    'configuredNotes': 'clientTimeoutFromConnect is curl --max-time; one wait per server infers no timeout.',
    'network': dict(network, icmpFragNeededDropped=dropped),
    'facts': {'curl': [{k: f[k] for k in ('local', 'url', 'status', 'downloaded', 'total', 'exit')} for f in (small, big, hang)],
              'curlErrors': errors, 'hangServerLog': hang_log, 'nginxAccessLog': access[:2]},
    'observed': {
        'big': {'client': big['local'], 'server': big['server'], 'serverDataSegmentsArrived': 0, 'bytesProvenSent': ahead[-1]['seq'] - 1,
                'provenByFrame': ahead[-1]['frame'], 'requestFrame': breq['frame'], 'closeFrame': bclose['frame'],
                'requestToClose': round(bclose['ts'] - breq['ts'], 4)},
        'hang': {'client': hang['local'], 'server': hang['server'], 'serverBytesSent': 0, 'requestFrame': hreq['frame'], 'closeFrame': hclose['frame'],
                 'requestToClose': round(hclose['ts'] - hreq['ts'], 4)},
    },
    'silent': False,
    'expect': [
        {'kind': 'pmtu-blackhole', 'client': big['local'], 'server': big['server'],
         'notes': f'/big: none of nginx\'s {a.big}-byte response arrived (curl exit 28 at {big["total"]} s, 0 bytes); the server\'s ACK of curl\'s FIN (frame {ahead[-1]["frame"]}) '
                  f'carries sequence {ahead[-1]["seq"]}: {ahead[-1]["seq"] - 1} bytes sent, lost on the path (MTU {a.mtu}, ICMP dropped {dropped} times)',
         'evidence': {'requestFrame': breq['frame'], 'closeFrame': bclose['frame'], 'provenByFrame': ahead[-1]['frame']}},
        {'kind': 'unanswered-request', 'client': hang['local'], 'server': hang['server'],
         'notes': f'/hang: the hung server ACKed the request and sent nothing (its sequence number stays at 1; its log: {hang_log[0]["event"]} after its {hang_log[0]["held"]:g} s hold); '
                  f'curl gave up at {hang["total"]} s: the server is to blame, not the path',
         'evidence': {'requestFrame': hreq['frame'], 'closeFrame': hclose['frame']}},
    ],
}
meta2 = {
    'scenario': ALLOWED,
    'description': (f'Near miss of {BLACKHOLE}: the same path with the router\'s ICMP "fragmentation needed" let through ({allowed} sent). {common} '
                    f'/big ({a.big} bytes): the first full-size segments are dropped, the ICMP tells nginx\'s kernel the path MTU and the body arrives whole '
                    f'in segments of at most {largest2} bytes within {big2["total"]} s. Nothing failed: silent.'),
    'software': a.software,
    'network': dict(network, icmpFragNeededSent=allowed),
    'facts': {'curl': [{k: big2[k] for k in ('local', 'url', 'status', 'downloaded', 'total', 'exit')}], 'largestServerSegment': largest2},
    'silent': True,
}
for name, meta in ((BLACKHOLE, meta1), (ALLOWED, meta2)):
    with open(f'{a.samples}/{name}.meta.json', 'w') as out:
        json.dump(meta, out, indent=2)
        out.write('\n')
print(f'pmtu-new-conn-meta: black hole proven {ahead[-1]["seq"] - 1} bytes; hung server sent nothing; ICMP dropped {dropped}, allowed {allowed}')
