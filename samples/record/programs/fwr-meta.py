#!/usr/bin/env python3
"""Check the two captures of reset-before-response-firewall against the clients' and the server's
logs, and write samples/SCENARIO.{pcap,meta.json} (client side) and
samples/SCENARIO-server-side.{pcap,meta.json}. The numbers come from the captures (tshark); the
logs say which connection played which role and what the applications saw. A check that fails
prints why and exits 1 without writing anything.

Usage: fwr-meta.py SCENARIO --work DIR --samples DIR --started T0 --kernel K --nft V --curl V --python V
"""
import argparse
import json
import shutil
import subprocess
import sys

SERVER = '10.131.2.2'
CLIENT = '10.131.1.2'
SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


def fail(what):
    print(f'fwr-meta: check failed: {what}', file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)


def packets(pcap):
    out = subprocess.run(['tshark', '-r', pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src',
                          '-e', 'ip.ttl', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags', '-e', 'tcp.seq_raw',
                          '-e', 'tcp.ack_raw', '-e', 'tcp.len'], capture_output=True, text=True, check=True).stdout
    res = []
    for line in out.splitlines():
        t, src, ttl, sport, dport, flags, seq, ack, ln = line.split('|')
        from_client = src == CLIENT
        res.append({'t': float(t), 'fromClient': from_client, 'ttl': int(ttl), 'port': int(sport if from_client else dport),
                    'flags': int(flags, 16), 'seq': int(seq), 'ack': int(ack), 'len': int(ln)})
    return res


def lines(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip().startswith('{')]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    for k in ('work', 'samples', 'started', 'kernel', 'nft', 'curl', 'python'):
        ap.add_argument('--' + k, required=True)
    a = ap.parse_args()
    w = a.work
    clog = lines(f'{w}/client.log')
    slog = lines(f'{w}/server.log')
    lane = {e['lane']: e for e in clog}
    check(set(lane) >= {'keepalive', 'first', 'crash', 'synack'}, f'client lanes {sorted(lane)}')
    ka_port = lane['keepalive']['port']
    crash_port = lane['crash']['port']
    check(lane['keepalive']['uri'] == '/admin/1' and lane['keepalive'].get('error') == 'ConnectionResetError', 'keepalive lane: /admin/1 reset')
    check(lane['first']['status'] == '000' and lane['first']['curlExit'] == 56, 'curl /admin/2 failed with exit 56 (recv failure: reset)')
    check(lane['synack']['status'] == '200', 'curl /ok/4 answered 200')
    check(lane['crash'].get('error') == 'ConnectionResetError', 'crash lane: reset')
    seen = [e['uri'] for e in slog if e.get('method') == 'GET']
    check(not any(u.startswith('/admin') for u in seen), f'the server never received an /admin request: {seen}')
    check(any(e.get('event') == 'aborted' for e in slog), 'the server aborted /crash/1')
    with open(f'{w}/nft-counters.txt') as f:
        counters = [x.strip() for x in f if 'counter' in x]
    check('packets 2 ' in counters[0] and 'packets 1 ' in counters[1], f'router counters {counters}')

    # Client side: the RSTs in the server's name, their TTLs against the server's own packets.
    cs = packets(f'{w}/client-side.pcap')
    server_ttls = sorted({p['ttl'] for p in cs if not p['fromClient'] and not p['flags'] & RST})
    check(server_ttls == [63], f"the server's own packets arrive at the client with TTL 63: {server_ttls}")
    rsts = {}
    for p in cs:
        if not p['fromClient'] and p['flags'] & RST:
            rsts.setdefault(p['port'], []).append(p)
    check(sorted(rsts) == sorted([ka_port, 42001, crash_port]), f'server-named RSTs on {sorted(rsts)}')
    resets = {}
    for port, ps in rsts.items():
        r = ps[0]
        resets[str(port)] = {'ipTtl': r['ttl'], 'flags': 'RST,ACK' if r['flags'] & ACK else 'RST', 'at': round(r['t'] - float(a.started), 4)}
    for port in (ka_port, 42001):
        check(resets[str(port)]['ipTtl'] == 64 and resets[str(port)]['flags'] == 'RST', f'the firewall RST on {port}: TTL 64, no ACK')
    check(resets[str(crash_port)]['ipTtl'] == 63 and resets[str(crash_port)]['flags'] == 'RST,ACK', "the server's own RST on the crash lane: TTL 63, with ACK")
    synack_syns = [p for p in cs if p['port'] == 42999 and p['flags'] & SYN and not p['flags'] & ACK]
    synack_synacks = [p for p in cs if p['port'] == 42999 and p['flags'] & SYN and p['flags'] & ACK]
    check(len(synack_syns) == 2 and len({p['seq'] for p in synack_syns}) == 1 and len(synack_synacks) == 1,
          'client side, port 42999: the same SYN twice, one SYN-ACK (the first never reached the client)')
    syn_gap = round(synack_syns[1]['t'] - synack_syns[0]['t'], 3)

    # Server side: the firewall's RST in the client's name, the same SYN again, a SYN-ACK with a new ISN.
    ss = packets(f'{w}/server-side.pcap')
    p42999 = [p for p in ss if p['port'] == 42999]
    synacks = [p for p in p42999 if p['flags'] & SYN and p['flags'] & ACK]
    syns = [p for p in p42999 if p['flags'] & SYN and not p['flags'] & ACK]
    crst = [p for p in p42999 if p['fromClient'] and p['flags'] & RST]
    client_ttls = sorted({p['ttl'] for p in ss if p['fromClient'] and not p['flags'] & RST})
    check(client_ttls == [63], f"the client's own packets arrive at the server with TTL 63: {client_ttls}")
    check(len(synacks) == 2 and synacks[0]['seq'] != synacks[1]['seq'] and synacks[0]['ack'] == synacks[1]['ack'], 'two SYN-ACKs with different ISNs to one SYN')
    check(len(syns) == 2 and syns[0]['seq'] == syns[1]['seq'], 'the same SYN twice')
    check(len(crst) == 1 and crst[0]['ttl'] == 64 and crst[0]['t'] < syns[1]['t'], "the firewall's RST in the client's name (TTL 64) before the SYN again")
    isn_distance = (synacks[1]['seq'] - synacks[0]['seq']) % 2**32
    data = [p for p in p42999 if not p['fromClient'] and p['len'] > 0]
    check(data and data[0]['seq'] == (synacks[1]['seq'] + 1) % 2**32, "the server's response starts right after its second ISN")

    software = [f"python {a.python} http.server (ThreadingHTTPServer, HTTP/1.1 keep-alive) and http.client", a.curl,
                f"nftables {a.nft} (Debian nftables) and Linux {a.kernel} netfilter (the firewall: a router namespace)", 'tcpdump 4.99.3']
    configured = {'crashHandlerDelay': 0.3}
    desc = (f"A firewall between client and server resets connections in the server's name (at the client) and in the client's name (at the server), beside a reset by the server itself. "
            f"Three network namespaces: a client on {CLIENT}, a Linux {a.kernel} router (ip_forward; nftables {a.nft} forward chain: a segment to {SERVER}:8080 whose payload starts with 'GET /adm' is rejected with tcp reset; "
            "every second SYN-ACK to client port 42999, the first, is rejected with tcp reset) and a python http.server on 10.131.2.2:8080 (HTTP/1.1 keep-alive; GET /crash/... is read, worked on 0.3 s, then aborted with SO_LINGER 0). "
            "Clients one after the other: python http.client GET /ok/1, /ok/2, /admin/1 on one connection (the third reset by the router: RST without ACK, IP TTL 64, where the server's packets arrive with 63); "
            "curl --local-port 42001 GET /admin/2 (reset the same way, curl exit 56: the first request of a new connection); "
            "python GET /crash/1 (the near miss: the server's own RST, with ACK and TTL 63, 0.3 s after the request); curl --local-port 42999 GET /ok/4 (its first SYN-ACK rejected by the router, which resets the server's half-open connection in the client's name; "
            f"the client sends the same SYN again {syn_gap} s later and the server answers with a new ISN, {isn_distance} past the first). The server never received an /admin request.")
    common = {'software': software, 'configured': configured,
              'configuredNotes': 'crashHandlerDelay: the server works 0.3 s on GET /crash/... before it aborts the connection (SO_LINGER 0).'}
    rbr = 'reset-before-response'
    client_meta = {
        'scenario': a.scenario, 'description': desc + ' Captured on the client\'s veth (this file).', **common,
        'captureSide': f'client namespace, the client veth ({CLIENT})', 'silent': False,
        'expect': [
            {'kind': rbr, 'client': f'{CLIENT}:{ka_port}', 'server': f'{SERVER}:8080',
             'notes': "GET /admin/1, the third request on a kept-alive connection, reset at once by the router's reject rule: RST without ACK in the server's name with IP TTL 64, where the server's own packets have 63. The server never received it (its log) and never closed the connection. To be told as a firewall/path reset, not a server crash."},
            {'kind': rbr, 'client': f'{CLIENT}:42001', 'server': f'{SERVER}:8080',
             'notes': "curl GET /admin/2, a new connection's first request, reset at once by the router (RST without ACK, TTL 64; the server's SYN-ACK has 63). Not the listener's accept queue (the RST is not the server's), not a server crash."},
            {'kind': rbr, 'client': f'{CLIENT}:{crash_port}', 'server': f'{SERVER}:8080',
             'notes': "The near miss: GET /crash/1 read by the server, which aborts the connection 0.3 s later (SO_LINGER 0): its own RST with ACK and TTL 63, the server's TTL. The server-reset diagnosis (a worker that died with the request) stands."},
            {'kind': 'syn-unanswered', 'client': f'{CLIENT}:42999', 'server': f'{SERVER}:8080',
             'notes': f'The first SYN-ACK never reached the client (rejected by the router): the client sent its SYN again {syn_gap} s later and was answered then.'},
        ],
        'facts': {'serverIpTtlAtClient': 63, 'resetsInServerName': resets, 'synRetransmittedAfter': syn_gap,
                  'routerRuleCounters': counters, 'serverRequests': seen},
        'groundTruth': {'clientLog': clog, 'serverLog': slog},
    }
    server_meta = {
        'scenario': a.scenario + '-server-side', 'description': desc + ' Captured on the server\'s veth (this file).', **common,
        'captureSide': f'server namespace, the server veth ({SERVER})', 'silent': False,
        'expect': [
            {'kind': None, 'client': f'{CLIENT}:42001', 'server': f'{SERVER}:8080',
             'notes': 'The handshake, then nothing: GET /admin/2 never arrived (the router reset the client\'s side); the connection stays open on the server.'},
            {'kind': rbr, 'client': f'{CLIENT}:{crash_port}', 'server': f'{SERVER}:8080',
             'notes': "GET /crash/1: the server's own abort (SO_LINGER 0) 0.3 s after reading it."},
            {'kind': None, 'client': f'{CLIENT}:42999', 'server': f'{SERVER}:8080',
             'notes': f"SYN, SYN-ACK (ISN {synacks[0]['seq']}), the router's RST in the client's name (TTL 64, the client's packets 63), the same SYN again, a SYN-ACK with a new ISN ({isn_distance} further), GET /ok/4 answered 200. A new connection on the server's side from the second SYN on: no bytes missing (read as a continuation, the ISN distance was a 15 MiB capture hole)."},
            {'kind': None, 'client': f'{CLIENT}:{ka_port}', 'server': f'{SERVER}:8080',
             'notes': 'Two requests answered; the third never arrived (the router reset the client\'s side); the connection stays open on the server.'},
        ],
        'facts': {'clientIpTtlAtServer': 63, 'firewallResetIpTtl': crst[0]['ttl'], 'synAckIsns': [synacks[0]['seq'], synacks[1]['seq']],
                  'isnDistance': isn_distance, 'routerRuleCounters': counters},
        'groundTruth': {'clientLog': clog, 'serverLog': slog},
    }
    for meta, src in ((client_meta, 'client-side.pcap'), (server_meta, 'server-side.pcap')):
        shutil.copyfile(f'{w}/{src}', f"{a.samples}/{meta['scenario']}.pcap")
        with open(f"{a.samples}/{meta['scenario']}.meta.json", 'w') as f:
            json.dump(meta, f, indent=2)
            f.write('\n')
    print(f'fwr-meta: wrote {client_meta["scenario"]} and {server_meta["scenario"]}')


main()
