#!/usr/bin/env python3
"""Round-18m meta writer for the middlebox idle-timeout samples (middlebox-idle-reset-nat,
middlebox-idle-drop-nat). Reads both captures of one recording with tshark (client side: the
client's veth, 10.77.1.2 -> 10.77.2.2:8080; server side: the server's veth, 10.77.2.1 (the router's
masquerade address) -> 10.77.2.2:8080), pairs each connection with the clients' log lines
(x18m-node-client.js, x18m-requests-client.py: lane, URI, local port, outcome) and the server's log
(x18m-node-server.js), and checks that the recording shows what the scenario claims:
  - the four stale reuses (Node and requests, GET and POST, after the long pause) failed in the
    clients' logs on their pooled connection (reset variant: ECONNRESET / ConnectionResetError;
    drop variant: the client's own timeout), never reached the server (not in its log, and on the
    server-side capture nothing arrives on those connections after the warm requests), and the
    server sent neither FIN nor RST on any connection before them;
  - reset variant: on the client side each stale request is answered by a RST from the server's
    address that is not the server's (other IP TTL than the server's own segments);
    drop variant: each is retransmitted at least 3 times and nothing at all comes back;
  - every other request (warm, control after 1 and 2 s, the tcpka lane, the requests after the
    failures on new connections) was answered 200 and is in the server's log.
Exit 1 (no files written) when it does not. Otherwise copies the captures to
samples/SCENARIO.pcap and samples/SCENARIO-server-side.pcap and writes their meta.json files
(--client-side-only: only samples/SCENARIO.pcap and its meta.json; the server-side capture is still
checked).

--tls (middlebox-idle-reset-nat-tls: HTTPS on --port 8443): the requests are encrypted, so nothing is
read from the payloads. Each request of the clients' logs is found on the wire by its local port (the
connection) and its send time (sentAt): the first segment of TLS application data the client sent on
that connection at or after it (tshark decodes the port as TLS). The stale connections are those
whose stale reuse failed in the clients' logs; a connection reached the server when the server's log
(its remote port: the masquerade keeps the client's port) has its requests.

Usage: x18m-meta.py SCENARIO --work DIR --samples DIR --started EPOCH --invalid reset|drop
         --ct-timeout S --pause S --client-timeout S --server-ka-ms MS [--port 8080] [--tls]
         [--client-side-only] --description TEXT
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

SERVER = '10.77.2.2:8080'
CLIENT_IP = '10.77.1.2'
NAT_IP = '10.77.2.1'
TLS = False
FIELDS = ['frame.number', 'frame.time_epoch', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport', 'ip.ttl', 'ip.id',
          'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.len',
          'tcp.options.timestamp.tsval', 'tcp.analysis.retransmission', 'tcp.analysis.keep_alive', 'tcp.payload',
          'tls.record.content_type', 'tls.record.opaque_type']
REQ_RE = re.compile(rb'^(GET|POST) (\S+) HTTP/1\.1\r\n')


def fail(msg):
    print(f'x18m-meta: {msg}', file=sys.stderr)
    sys.exit(1)


def packets(capture):
    port = SERVER.split(':')[1]
    cmd = ['tshark', '-r', capture, '-T', 'fields', '-E', 'separator=|'] + sum((['-e', f] for f in FIELDS), [])
    if TLS:
        cmd += ['-d', f'tcp.port=={port},tls']
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    on = lambda v: v in ('1', 'True')
    rows = []
    for line in out.splitlines():
        (n, te, src, sp, dst, dp, ttl, ipid, syn, ack, fin, rst, seq, acknum, ln, tsval, retr, ka, pl, ctype, otype) = line.split('|')
        rows.append({'frame': int(n), 't': float(te), 'src': f'{src}:{sp}', 'dst': f'{dst}:{dp}', 'ttl': int(ttl),
                     'ipId': int(ipid, 16) if ipid.startswith('0x') else int(ipid or 0), 'syn': on(syn), 'ack': on(ack),
                     'fin': on(fin), 'rst': on(rst), 'seq': int(seq), 'acknum': int(acknum), 'len': int(ln or 0),
                     'ts': tsval != '', 'retr': retr != '', 'keepAlive': ka != '',
                     'payload': bytes.fromhex(pl.replace(':', '')) if pl else b'',
                     # TLS records by (outer) content type; TLS 1.3's encrypted records have an opaque type (23).
                     'tlsRecords': [int(x) for x in ctype.split(',') + otype.split(',') if x]})
    return rows


def request_at(pkts, sent_at):
    """(TLS) The request the client sent at SENT_AT on this connection: its first segment of TLS
    application data (content type 23) at or after that time."""
    for p in pkts:
        if not p['fromServer'] and p['len'] > 0 and not p['retr'] and p['t'] >= sent_at - 0.002 and 23 in p['tlsRecords']:
            return p
    return None


def tls_sessions(capture):
    """(TLS) The protocol versions and cipher suites the server chose (its ServerHellos)."""
    port = SERVER.split(':')[1]
    out = subprocess.run(['tshark', '-r', capture, '-d', f'tcp.port=={port},tls', '-Y', 'tls.handshake.type == 2', '-T', 'fields',
                          '-E', 'separator=|', '-e', 'tls.handshake.extensions.supported_version', '-e', 'tls.handshake.version',
                          '-e', 'tls.handshake.ciphersuite'], check=True, capture_output=True, text=True).stdout
    names = {'0x0304': 'TLS 1.3', '0x0303': 'TLS 1.2'}
    seen = {}
    for line in out.splitlines():
        sv, hv, cs = line.split('|')
        v = names.get((sv or hv).split(',')[0], sv or hv)
        seen[f'{v} {cs}'] = seen.get(f'{v} {cs}', 0) + 1
    return [f'{k} x{n}' for k, n in sorted(seen.items())]


def by_conn(rows):
    conns = {}
    for p in rows:
        fs = p['src'] == SERVER
        peer = p['dst'] if fs else p['src']
        p['fromServer'] = fs
        conns.setdefault(peer, []).append(p)
    return conns


def first_request(pkts, uri_prefix):
    for p in pkts:
        if not p['fromServer'] and p['len'] > 0 and not p['retr']:
            m = REQ_RE.match(p['payload'])
            if m and m.group(2).decode().startswith(uri_prefix):
                return p, m.group(1).decode(), m.group(2).decode()
    return None, None, None


def software():
    def run(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ''
    node = run(['node', '-v'])
    req = run(['/usr/bin/python3', '-c', 'import requests, urllib3, sys; print(requests.__version__, urllib3.__version__, sys.version.split()[0])']).split()
    nft = run(['nft', '--version'])
    ct = run(['conntrack', '--version'])
    return [
        (f'node {node} (server: https.Server, keepAliveTimeout 60 s, a self-signed ECDSA P-256 certificate made at run time; '
         'client: https.Agent keepAlive, maxSockets 1, rejectUnauthorized false)') if TLS else
        f'node {node} (server: http.Server, keepAliveTimeout 60 s; client: http.Agent keepAlive, maxSockets 1)',
        f'python requests {req[0]} (Debian python3-requests; urllib3 {req[1]}, /usr/bin/python3 {req[2]}' + (', verify=False)' if TLS else ')'),
        f'{nft.split(" (")[0]} (Debian nftables) and Linux {os.uname().release} netfilter conntrack (the middlebox: a router namespace with masquerade)',
        f'{ct} (router conntrack table snapshots)',
        'tcpdump ' + run(['tcpdump', '--version']).splitlines()[0].split()[-1],
    ] + ([run(['openssl', 'version']).split(' (')[0] + ' (the throwaway certificate: openssl req -x509 -newkey ec)'] if TLS else [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--work', required=True)
    ap.add_argument('--samples', required=True)
    ap.add_argument('--started', type=float, required=True)
    ap.add_argument('--invalid', choices=['reset', 'drop'], required=True)
    ap.add_argument('--ct-timeout', type=float, required=True)
    ap.add_argument('--pause', type=float, required=True)
    ap.add_argument('--client-timeout', type=float, required=True)
    ap.add_argument('--server-ka-ms', type=int, required=True)
    ap.add_argument('--port', type=int, default=8080)
    ap.add_argument('--tls', action='store_true')
    ap.add_argument('--client-side-only', action='store_true')
    ap.add_argument('--description', required=True)
    a = ap.parse_args()
    global SERVER, TLS
    SERVER = f'10.77.2.2:{a.port}'
    TLS = a.tls
    w = a.work
    reset = a.invalid == 'reset'

    log = [json.loads(l) for l in open(f'{w}/client.log') if l.strip()]
    if any(e.get('event') == 'gave-up' for e in log):
        fail('a client gave up (30 s)')
    server_log = [l.split() for l in open(f'{w}/server.log') if l.strip()]
    server_uris = {l[3] for l in server_log}
    lanes = {}
    for e in log:
        lanes.setdefault((e['client'], e['lane']), []).append(e)

    cside = packets(f'{w}/client-side.pcap')
    sside = packets(f'{w}/server-side.pcap')
    cconns = by_conn(cside)
    sconns = by_conn(sside)
    server_ttls = sorted({p['ttl'] for p in cside if p['fromServer'] and not p['rst']})

    # Every request other than the four stale reuses: answered.
    stale_uris = {'/items/n-stale-get', '/orders?attempt=n-stale-post', '/items/p-stale-get', '/orders?attempt=p-stale-post'}
    for e in log:
        if e['uri'] in stale_uris:
            continue
        if e['event'] != 'response' or e['status'] != 200 or e['uri'] not in server_uris:
            fail(f'{e["client"]} {e["uri"]}: expected answered 200 and in the server log, got {e}')

    stale = []
    first_warm = min(p['t'] for p in cside)
    for e in log:
        if e['uri'] not in stale_uris:
            continue
        want = ('ECONNRESET', 'requests.exceptions.ConnectionError') if reset else ('CLIENT_TIMEOUT', 'requests.exceptions.ReadTimeout')
        if reset and TLS:
            # requests' SSLError is a ConnectionError (the reset met inside the ssl module).
            want += ('requests.exceptions.SSLError',)
        if e['event'] != 'error' or e['error'] not in want or e['reused'] is not True or e['port'] is None:
            fail(f'stale reuse {e["uri"]} did not fail as expected on its pooled connection: {e}')
        if e['uri'] in server_uris:
            fail(f'stale reuse {e["uri"]} reached the server')
        key = f'{CLIENT_IP}:{e["port"]}'
        pk = cconns.get(key)
        if not pk:
            fail(f'no connection {key} in the client-side capture')
        if TLS:
            req, method, uri = request_at(pk, e['sentAt']), e['method'], e['uri']
        else:
            req, method, uri = first_request(pk, e['uri'])
        if req is None:
            fail(f'{key}: {e["uri"]} not in the client-side capture')
        before = [p for p in pk if p['frame'] < req['frame']]
        if any(p['fin'] or p['rst'] for p in before):
            fail(f'{key}: a FIN or RST before the stale request')
        prev = before[-1]
        last_resp = [p for p in before if p['fromServer'] and p['len'] > 0][-1]
        after = [p for p in pk if p['frame'] > req['frame']]
        own = [p for p in after if not p['fromServer']]
        back = [p for p in after if p['fromServer']]
        req_bytes = sum(p['len'] for p in own if not p['retr'] and p['len'] > 0) + req['len']
        c = {
            'client': key, 'server': SERVER, 'lane': f'{e["client"]} {e["lane"]}', 'library': e['lib'],
            'method': method, 'uri': uri, 'requestFrame': req['frame'],
            'idleGap': round(req['t'] - prev['t'], 4),
            'idleSinceLastResponse': round(req['t'] - last_resp['t'], 4),
            'requestSegmentBytes': req['len'],
            'warmRequests': (sum(1 for x in log if x['port'] == e['port'] and x['uri'].startswith('/warm/') and x['event'] == 'response')
                             if TLS else sum(1 for p in before if not p['fromServer'] and REQ_RE.match(p['payload'] or b''))),
            'serverFinOrRstBefore': False,
            'clientLog': {k: e[k] for k in ('event', 'error', 'message', 'elapsedMs') if k in e} | ({'cause': e['cause']} if 'cause' in e else {}),
        }
        if reset:
            rsts = [p for p in back if p['rst']]
            if not rsts:
                fail(f'{key}: no RST after the stale request')
            r = rsts[0]
            if r['ttl'] in server_ttls:
                fail(f'{key}: the RST has the server\'s own TTL {r["ttl"]}')
            sent_before_rst = [p for p in own if p['frame'] < r['frame']]
            c['reset'] = {
                'frame': r['frame'], 'from': r['src'], 'afterRequestMs': round((r['t'] - req['t']) * 1e3, 3),
                'flags': 'RST' + ('+ACK' if r['ack'] else ''), 'seq': r['seq'], 'ack': r['acknum'] if r['ack'] else None,
                'seqEqualsRequestAck': r['seq'] == req['acknum'], 'requestSeq': req['seq'], 'requestAck': req['acknum'],
                'ipTtl': r['ttl'], 'serverSegmentsIpTtl': server_ttls, 'ipId': r['ipId'], 'tcpTimestamps': r['ts'],
                'serverSegmentsTcpTimestamps': all(p['ts'] for p in pk if p['fromServer'] and not p['rst']),
            }
            c['requestBytesSentBeforeReset'] = req['len'] + sum(p['len'] for p in sent_before_rst)
            if TLS:
                # Encrypted: what left is counted in TLS records, not read.
                c['tlsRecordsSentBeforeReset'] = len(req['tlsRecords']) + sum(len(p['tlsRecords']) for p in sent_before_rst)
                c['requestComplete'] = None
            elif method == 'POST':
                hdr_end = req['payload'].find(b'\r\n\r\n')
                m = re.search(rb'(?i)content-length: *(\d+)', req['payload'])
                c['requestComplete'] = m is not None and len(req['payload']) - hdr_end - 4 >= int(m.group(1))
            else:
                c['requestComplete'] = True
        else:
            if back:
                fail(f'{key}: {len(back)} packet(s) came back after the stale request')
            retr = [p for p in own if p['retr'] and p['len'] > 0]
            if len(retr) < 3:
                fail(f'{key}: only {len(retr)} retransmission(s)')
            fins = [p for p in own if p['fin']]
            c['retransmissions'] = len(retr)
            c['retransmissionOffsets'] = [round(p['t'] - req['t'], 3) for p in retr]
            c['requestBytes'] = max(p['seq'] + p['len'] for p in own + [req]) - req['seq']
            c['anythingBack'] = False
            c['clientFin'] = ({'frame': fins[0]['frame'], 'afterRequest': round(fins[0]['t'] - req['t'], 3),
                               'withData': fins[0]['len'] > 0} if fins else None)
            c['clientGaveUpAfter'] = round(e['elapsedMs'] / 1e3, 3)
        # The server side: the same connection through the masquerade (same port kept, checked by its warm URIs).
        skey = f'{NAT_IP}:{e["port"]}'
        sp = sconns.get(skey)
        if not sp:
            fail(f'{skey} not in the server-side capture')
        warm_uri = f'/warm/{"n" if e["client"] == "node" else "p"}-{e["lane"]}-3'
        if TLS:
            warm_seen = any(l[1] == str(e['port']) and l[3] == warm_uri for l in server_log)
        else:
            warm_seen = first_request(sp, warm_uri)[0] is not None
        if not warm_seen:
            fail(f'{skey}: its last warm request {warm_uri} is not on the server side (port not kept?)')
        late = [p for p in sp if p['t'] > req['t'] - 0.5]
        if late:
            fail(f'{skey}: {len(late)} packet(s) on the server side around/after the stale request')
        if any(p['fin'] or p['rst'] for p in sp):
            fail(f'{skey}: the server side closed')
        c['serverSide'] = {'client': skey, 'packets': len(sp), 'lastPacketBeforeRequest': round(req['t'] - sp[-1]['t'], 4),
                           'afterStaleRequest': 0, 'closed': False}
        stale.append(c)
    if len(stale) != 4:
        fail(f'{len(stale)} stale reuses, want 4')

    # The connections that must stay silent.
    clean = []
    stale_keys = {c['client'] for c in stale}
    for (cl, lane), evs in sorted(lanes.items()):
        for port in sorted({e['port'] for e in evs if e['event'] == 'response'}):
            key = f'{CLIENT_IP}:{port}'
            if key in stale_keys:
                continue
            pk = cconns.get(key, [])
            if TLS:
                on_port = sorted((x for x in evs if x['port'] == port), key=lambda x: x['sentAt'])
                reqs = [request_at(pk, x['sentAt']) for x in on_port]
                if any(r is None for r in reqs):
                    fail(f'{key}: a request of the clients\' log is not in the client-side capture')
                reused = [r for r, x in zip(reqs, on_port) if x['reused']]
                gaps = [round(r['t'] - [p for p in pk if p['frame'] < r['frame']][-1]['t'], 3) for r in reused]
            else:
                reqs = [p for p in pk if not p['fromServer'] and REQ_RE.match(p['payload'] or b'') and not p['retr']]
                gaps = [round(reqs[i]['t'] - [p for p in pk if p['frame'] < reqs[i]['frame']][-1]['t'], 3) for i in range(1, len(reqs))]
            item = {'client': key, 'lane': f'{cl} {lane}', 'requests': len(reqs), 'answered': len(reqs),
                    'longestIdleBeforeReuse': max(gaps) if gaps else None,
                    'closedBy': 'client FIN' if any(p['fin'] and not p['fromServer'] for p in pk) else 'open at capture end'}
            if lane == 'tcpka' and cl == 'node':
                probes = [p for p in pk if p['keepAlive'] and not p['fromServer']]
                item['tcpKeepAliveProbes'] = len(probes)
                item['probeOffsetsAfterWarm'] = [round(p['t'] - probes[0]['t'], 3) for p in probes]
                if len(probes) < 3:
                    fail(f'{key}: only {len(probes)} TCP keep-alive probes on the tcpka lane')
            clean.append(item)

    def conntrack_snapshots():
        snaps, cur = [], None
        for line in open(f'{w}/conntrack.txt'):
            if line.startswith('# '):
                _, ts, label = line.split(' ', 2)
                cur = {'at': round(float(ts) - first_warm, 2), 'label': label.strip(), 'entries': []}
                snaps.append(cur)
            elif line.startswith('tcp'):
                f = line.split()
                sport = next(x for x in f if x.startswith('sport=')).split('=')[1]
                cur['entries'].append(f'{sport} {f[3]} {f[2]} s left')
        return snaps

    counters = [l.strip() for l in open(f'{w}/nft-counters.txt') if 'counter' in l]
    tcpdump = {side: [l.strip() for l in open(f'{w}/{side}.pcap.log') if 'packets' in l] for side in ('client-side', 'server-side')}
    sysctls = [l.strip() for l in open(f'{w}/router-sysctl.txt') if l.strip()]

    gaps = [c['idleGap'] for c in stale]
    facts_common = {
        'connections': len(cconns),
        'staleReuses': len(stale),
        'staleIdleGaps': sorted(gaps),
        'middleboxIdleTimeout': a.ct_timeout,
        'serverClosedAnything': False,
    }
    if TLS:
        facts_common['tlsSessions'] = tls_sessions(f'{w}/client-side.pcap')
    if reset:
        facts_common['resetFrom'] = sorted({c['reset']['from'] for c in stale})
        facts_common['resetIpTtl'] = sorted({c['reset']['ipTtl'] for c in stale})
        facts_common['serverIpTtl'] = server_ttls
        facts_common['resetSeqEqualsRequestAck'] = all(c['reset']['seqEqualsRequestAck'] for c in stale)
        facts_common['resetFlags'] = sorted({c['reset']['flags'] for c in stale})
        facts_common['resetHasTcpTimestamps'] = any(c['reset']['tcpTimestamps'] for c in stale)
        if TLS:
            facts_common['tlsRecordsSentBeforeReset'] = {c['client']: c['tlsRecordsSentBeforeReset'] for c in stale}
        else:
            facts_common['incompleteRequestsReset'] = [c['client'] for c in stale if not c['requestComplete']]
    else:
        facts_common['retransmissions'] = {c['client']: c['retransmissions'] for c in stale}
        facts_common['packetsBackAfterStaleRequests'] = 0
        facts_common['clientFinSeenAfterRequest'] = {c['client']: (c['clientFin'] or {}).get('afterRequest') for c in stale}

    configured = {
        'middleboxIdleTimeout': a.ct_timeout,
        'serverIdleTimeout': a.server_ka_ms / 1000,
        'clientPauseStale': a.pause,
        'clientPauseControl': 1,
        'clientPauseControl2': 2,
        'clientRequestTimeout': a.client_timeout,
        'nodeAgentKeepAliveMsecs': 30000,
        'nodeAgentKeepAliveMsecsTcpkaLane': 1000,
    }
    configured_notes = (
        f'middleboxIdleTimeout is the router namespace\'s net.netfilter.nf_conntrack_tcp_timeout_established ({a.ct_timeout:g} s; '
        'nf_conntrack_tcp_loose=0, so a mid-stream packet of a forgotten connection is ct state invalid and is not picked up). '
        f'serverIdleTimeout is the Node server\'s keepAliveTimeout ({a.server_ka_ms / 1000:g} s): it never fires during the recording '
        '(the server closes nothing); a diagnosis that infers a server idle timeout from these failures is wrong. '
        'clientRequestTimeout is the clients\' own timeout (Node req.setTimeout, requests timeout=(3, read)); '
        + ('it never fires in this variant (the reset comes at once). ' if reset else
           'on the wire the clients\' close never shows: the FIN is queued behind the unacknowledged request, which the kernel keeps retransmitting alone. ')
        + 'nodeAgentKeepAliveMsecs: the failing Node lanes\' Agents use keepAliveMsecs 30000, so the kernel sends no TCP keep-alive probe during the pause; '
        'the tcpka lane keeps Node\'s default 1000, its Agent turns on SO_KEEPALIVE with the first probe after 1 s idle, and the probes keep the router\'s conntrack entry alive.')

    conn_notes_stale = (
        'stale reuse after {gap} s idle (> the middlebox\'s {ct:g} s): the router\'s conntrack had forgotten the connection, ' +
        ('its reject rule answered the request' + (' (its first TLS application-data segment)' if TLS else '') +
         f' with a RST spoofed from {SERVER} (RST without ACK, seq = the request\'s ACK number, IP TTL 64 '
         'where the server\'s own segments arrive with {sttl}, no TCP timestamps). ' if reset else
         'its forward chain dropped the request and every retransmission ({retr}); nothing came back; the client gave up after its {ct2:g} s timeout, but its FIN, queued behind the unacknowledged request, never left: the connection is still open, the request unanswered, when the capture ends. ') +
        'The server never received it, never closed the connection (still open on the server side) and its keepAliveTimeout (60 s) never fired.')

    def expect_client():
        ex = []
        for c in stale:
            note = conn_notes_stale.format(gap=c['idleGap'], ct=a.ct_timeout, sttl='/'.join(map(str, server_ttls)),
                                           retr=c.get('retransmissions'), ct2=a.client_timeout)
            if reset and c['requestComplete'] is False:
                note += (' Only the POST\'s headers left the client before the RST (its body was never sent): the request is incomplete '
                         'on the wire, but it is still the request that failed.')
            ex.append({'kind': 'middlebox-idle-timeout', 'client': c['client'], 'server': SERVER,
                       'notes': f'{c["lane"]} {c["method"]} {c["uri"]}: ' + note})
        for item in clean:
            ex.append({'kind': None, 'client': item['client'], 'server': SERVER,
                       'notes': f'{item["lane"]}: {item["requests"]} request(s), all answered' +
                                (f', longest idle before a reuse {item["longestIdleBeforeReuse"]} s' if item['longestIdleBeforeReuse'] is not None else '') +
                                ('; TCP keep-alive probes every ~1 s refreshed the middlebox\'s state' if 'tcpKeepAliveProbes' in item else '') + '. Nothing failed here.'})
        return ex

    ground = {
        'clientLog': {
            'responses': sum(1 for e in log if e['event'] == 'response'),
            'errors': [{'client': f'{CLIENT_IP}:{e["port"]}', 'lane': f'{e["client"]} {e["lane"]}', 'method': e['method'], 'uri': e['uri'],
                        'error': e['error'], **({'cause': e['cause']} if 'cause' in e else {}), 'message': e['message'],
                        'elapsedMs': e['elapsedMs'], 'reused': e['reused']} for e in log if e['event'] == 'error'],
            'note': 'every error is a stale reuse on its pooled connection; neither client retried; each lane\'s next request went on a new connection and was answered',
        },
        'serverLog': {'requests': len(server_log), 'staleRequestsSeen': 0,
                      'note': 'the server answered every request it received and never closed a connection (keepAliveTimeout 60 s)'},
        'router': {'sysctls': sysctls, 'nftCounters': counters, 'conntrack': conntrack_snapshots()},
        'staleConnections': stale,
        'cleanConnections': clean,
    }

    base_meta = {
        'scenario': a.scenario,
        'description': a.description,
        'software': software(),
        'configured': configured,
        'configuredNotes': configured_notes,
    }
    client_meta = dict(base_meta)
    client_meta['captureSide'] = 'client namespace, the client\'s veth x18mc (10.77.1.2): every connection as the client sees it, before the masquerade'
    if TLS:
        client_meta['captureSide'] += (f'; HTTPS on {SERVER}: every request and response is TLS application data (no key log), '
                                       'the requests were found by the clients\' logs (local port, send time)')
    client_meta['silent'] = False
    client_meta['expect'] = expect_client()
    client_meta['facts'] = {**facts_common, 'tcpdump': tcpdump['client-side']}
    client_meta['groundTruth'] = ground

    server_meta = dict(base_meta)
    server_meta['scenario'] = a.scenario + '-server-side'
    server_meta['captureSide'] = ('server namespace, the server\'s veth x18ms (10.77.2.2): the same recording after the masquerade '
                                  '(clients appear as 10.77.2.1, same ports); the stale reuses, the middlebox\'s resets and the '
                                  'retransmissions never reach this side')
    server_meta['silent'] = True
    server_meta['expect'] = []
    server_meta['notes'] = ('Nothing fails on the server\'s side: every request that arrived was answered, the server closed nothing, and the '
                            'four stale connections simply go quiet after their warm requests and are still open when the capture ends. '
                            'A server-side capture alone cannot show a middlebox idle timeout; only its absence of the failed requests does.')
    server_meta['facts'] = {'connections': len(sconns), 'staleConnectionsStillOpen': len(stale),
                            'packetsOnStaleConnectionsAfterWarm': 0, 'serverClosedAnything': False, 'tcpdump': tcpdump['server-side']}
    server_meta['groundTruth'] = ground

    dst = a.samples
    shutil.copyfile(f'{w}/client-side.pcap', f'{dst}/{a.scenario}.pcap')
    written = [(a.scenario, client_meta)]
    if not a.client_side_only:
        shutil.copyfile(f'{w}/server-side.pcap', f'{dst}/{a.scenario}-server-side.pcap')
        written.append((a.scenario + '-server-side', server_meta))
    for name, meta in written:
        with open(f'{dst}/{name}.meta.json', 'w') as f:
            json.dump(meta, f, indent=2)
            f.write('\n')
    print(f'x18m-meta: wrote ' + ' and '.join(f'{n}.pcap/.meta.json' for n, _ in written) +
          f' ({len(stale)} stale reuses, idle gaps {sorted(gaps)})')


if __name__ == '__main__':
    main()
