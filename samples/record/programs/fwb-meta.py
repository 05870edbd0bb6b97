#!/usr/bin/env python3
"""Check the two captures of reset-before-response-firewall-bytes against the clients' and the
server's logs, and write samples/SCENARIO.{pcap,meta.json} (client side) and
samples/SCENARIO-server-side.{pcap,meta.json}. The numbers come from the captures (tshark); the
logs say which connection played which role and what the applications saw. A check that fails
prints why and exits 1 without writing anything.

Usage: fwb-meta.py SCENARIO --work DIR --samples DIR --started T0 --kernel K --nft V --curl V --python V
"""
import argparse
import json
import shutil
import subprocess
import sys

SERVER = '10.133.2.2'
CLIENT = '10.133.1.2'
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
CUT, CANCEL, CRASH = 43001, 43002, 43003


def fail(what):
    print(f'fwb-meta: check failed: {what}', file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)


def packets(pcap):
    out = subprocess.run(['tshark', '-r', pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src',
                          '-e', 'ip.ttl', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags', '-e', 'tcp.len'],
                         capture_output=True, text=True, check=True).stdout
    res = []
    for line in out.splitlines():
        t, src, ttl, sport, dport, flags, ln = line.split('|')
        from_client = src == CLIENT
        res.append({'t': float(t), 'fromClient': from_client, 'ttl': int(ttl), 'port': int(sport if from_client else dport),
                    'flags': int(flags, 16), 'len': int(ln)})
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
    check(set(lane) == {'cut', 'cancel', 'crash'}, f'client lanes {sorted(lane)}')
    check(lane['cut']['curlExit'] == 28 and 0 < lane['cut']['bodyBytes'] < 150000, f"cut lane: curl timed out mid-body {lane['cut']}")
    check(lane['cancel']['aborted'] and lane['cancel']['status'] == '200' and lane['cancel']['bodyBytesRead'] < 30000, f"cancel lane: aborted mid-body {lane['cancel']}")
    check(lane['crash']['curlExit'] == 56, f"crash lane: curl recv failure (reset) {lane['crash']}")
    ends = {e['uri']: e for e in slog if 'event' in e}
    check(ends.get('/dl/150000', {}).get('event') == 'writeFailed', f"the server's write of /dl/150000 failed (reset in the client's name): {ends}")
    check(ends.get('/paced/30000', {}).get('event') == 'writeFailed', f"the server's write of /paced/30000 failed (the client's own abort): {ends}")
    check(ends.get('/crash/1', {}).get('event') == 'aborted', 'the server aborted /crash/1')
    with open(f'{w}/nft-counters.txt') as f:
        counters = [x.strip() for x in f if 'counter' in x]
    check(len(counters) == 1 and 'packets 0 ' not in counters[0], f'router counter {counters}')

    # Server side: the RSTs in the client's name, their TTLs against the client's own packets.
    ss = packets(f'{w}/server-side.pcap')
    client_ttls = sorted({p['ttl'] for p in ss if p['fromClient'] and not p['flags'] & RST})
    check(client_ttls == [63], f"the client's own packets arrive at the server with TTL 63: {client_ttls}")
    crst = {}
    for p in ss:
        if p['fromClient'] and p['flags'] & RST:
            crst.setdefault(p['port'], []).append(p)
    check(sorted(crst) == [CUT, CANCEL], f'client-named RSTs at the server on {sorted(crst)}')
    check({p['ttl'] for p in crst[CUT]} == {64}, "the firewall's RSTs in the client's name: TTL 64")
    check({p['ttl'] for p in crst[CANCEL]} == {63}, "the client's own abort: TTL 63")
    cut_sent = sum(p['len'] for p in ss if p['port'] == CUT and not p['fromClient'] and p['t'] < crst[CUT][0]['t'])
    cancel_sent = sum(p['len'] for p in ss if p['port'] == CANCEL and not p['fromClient'] and p['t'] < crst[CANCEL][0]['t'])
    check(cancel_sent < 30000, f"the client's abort came while the server was still sending ({cancel_sent} bytes sent)")

    # Client side: no RST on the cut connection (the rule dropped the rest); the server's own on /crash/1.
    cs = packets(f'{w}/client-side.pcap')
    server_ttls = sorted({p['ttl'] for p in cs if not p['fromClient'] and not p['flags'] & RST})
    check(server_ttls == [63], f"the server's own packets arrive at the client with TTL 63: {server_ttls}")
    srst = {p['port'] for p in cs if not p['fromClient'] and p['flags'] & RST}
    check(CUT not in srst and CRASH in srst, f'server-named RSTs at the client on {sorted(srst)}')
    check({p['ttl'] for p in cs if p['port'] == CRASH and p['flags'] & RST} == {63}, "the server's own RST: TTL 63, its packets' TTL")
    cut_got = sum(p['len'] for p in cs if p['port'] == CUT and not p['fromClient'])

    software = [f"python {a.python} http.server (ThreadingHTTPServer, HTTP/1.1 keep-alive) and a python socket client", a.curl,
                f"nftables {a.nft} (Debian nftables) and Linux {a.kernel} netfilter (the firewall: a router namespace)", 'tcpdump 4.99.3']
    desc = (f"A firewall between client and server resets a connection once its response passed 60000 bytes, forging the RST toward the server in the client's name (blind round 17, s08). "
            f"Three network namespaces: a client on {CLIENT}, a Linux {a.kernel} router (ip_forward; nftables {a.nft} forward chain: `ip saddr {SERVER} tcp sport 8080 ct reply bytes > 60000 reject with tcp reset`) "
            f"and a python http.server on {SERVER}:8080. Clients one after the other: curl -m 1.5 --local-port {CUT} GET /dl/150000 (the server sent {cut_sent} bytes before the router's first RST in the client's name, IP TTL 64 where the client's packets arrive with 63; "
            f"the client received {cut_got} bytes, then nothing, curl exit 28 after {lane['cut']['seconds']} s; the server's write failed, {ends['/dl/150000'].get('error')}); "
            f"python --local-port {CANCEL} GET /paced/30000 (5000 bytes per 50 ms), aborted (SO_LINGER 0) after reading {lane['cancel']['bodyBytesRead']} body bytes: the near miss, the client's own RST (TTL 63) mid-response; "
            f"curl --local-port {CRASH} GET /crash/1: the near miss in the server's name, the server's own abort 0.3 s after the request (TTL 63 at the client, its packets' TTL; curl exit 56).")
    common = {'software': software, 'configured': {'responseByteLimit': 60000, 'crashHandlerDelay': 0.3},
              'configuredNotes': 'responseByteLimit: the router rejects server segments once the reply direction carried more than 60000 bytes (nft `ct reply bytes`, counted with IP headers). crashHandlerDelay: the server works 0.3 s on GET /crash/... before it aborts.'}
    rbr = 'reset-before-response'
    client_meta = {
        'scenario': a.scenario, 'description': desc + " Captured on the client's veth (this file).", **common,
        'captureSide': f'client namespace, the client veth ({CLIENT})', 'silent': False,
        'expect': [
            {'kind': 'response-abandoned', 'client': f'{CLIENT}:{CUT}', 'server': f'{SERVER}:8080',
             'notes': "The cut download as the client sees it: the response stops mid-body with no close and curl gives up at its 1.5 s --max-time. Nothing at this point tells a firewall from a server that stalled (the rule dropped the rest and reset only the server's side)."},
            {'kind': rbr, 'client': f'{CLIENT}:{CRASH}', 'server': f'{SERVER}:8080',
             'notes': "The near miss: the server's own abort of GET /crash/1, RST with TTL 63 like its other packets: a server reset, not the path's."},
        ],
        'facts': {'serverIpTtlAtClient': 63, 'cutBytesReceived': cut_got, 'routerRuleCounters': counters},
        'groundTruth': {'clientLog': clog, 'serverLog': slog},
    }
    server_meta = {
        'scenario': a.scenario + '-server-side', 'description': desc + " Captured on the server's veth (this file).", **common,
        'captureSide': f'server namespace, the server veth ({SERVER})', 'silent': False,
        'expect': [
            {'kind': rbr, 'client': f'{CLIENT}:{CUT}', 'server': f'{SERVER}:8080',
             'notes': "GET /dl/150000 reset at the server mid-response by RSTs in the client's name with IP TTL 64, where the client's own packets have 63: the firewall's, told as the path's (resetFrom path, resetInNameOf client), not the client's nor a server stall."},
            {'kind': None, 'client': f'{CLIENT}:{CANCEL}', 'server': f'{SERVER}:8080',
             'notes': "The near miss: the client's own abort mid-response (RST with TTL 63, its packets' TTL): its choice, not the path's."},
            {'kind': rbr, 'client': f'{CLIENT}:{CRASH}', 'server': f'{SERVER}:8080',
             'notes': "GET /crash/1: the server's own abort 0.3 s after reading it."},
        ],
        'facts': {'clientIpTtlAtServer': 63, 'firewallResetIpTtl': 64, 'firewallResets': len(crst[CUT]), 'cutBytesSentBeforeReset': cut_sent,
                  'cancelBytesSentBeforeAbort': cancel_sent, 'routerRuleCounters': counters},
        'groundTruth': {'clientLog': clog, 'serverLog': slog},
    }
    for meta, src in ((client_meta, 'client-side.pcap'), (server_meta, 'server-side.pcap')):
        shutil.copyfile(f'{w}/{src}', f"{a.samples}/{meta['scenario']}.pcap")
        with open(f"{a.samples}/{meta['scenario']}.meta.json", 'w') as f:
            json.dump(meta, f, indent=2)
            f.write('\n')
    print(f'fwb-meta: wrote {client_meta["scenario"]} and {server_meta["scenario"]}')


main()
