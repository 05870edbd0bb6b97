#!/usr/bin/env python3
"""Check the merged capture of reset-before-response-firewall-merged (client and server captures,
mergecap) against the clients' and the server's logs and the router's rule counters, and write
samples/SCENARIO.{pcap,meta.json}. The numbers come from the two captures (tshark); the logs say
which connection played which role. A check that fails prints why and exits 1 without writing.

Usage: frm-meta.py SCENARIO --work DIR --samples DIR --started T0 --kernel K --nft V --python V --mergecap V
"""
import argparse
import json
import shutil
import subprocess
import sys

SERVER = '10.132.2.2'
CLIENT = '10.132.1.2'
RST, ACK = 0x04, 0x10


def fail(what):
    print(f'frm-meta: check failed: {what}', file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)


def packets(pcap):
    out = subprocess.run(['tshark', '-r', pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src',
                          '-e', 'ip.ttl', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags', '-e', 'tcp.seq_raw',
                          '-e', 'tcp.len'], capture_output=True, text=True, check=True).stdout
    res = []
    for line in out.splitlines():
        t, src, ttl, sport, dport, flags, seq, ln = line.split('|')
        from_client = src == CLIENT
        res.append({'t': float(t), 'fromClient': from_client, 'ttl': int(ttl), 'port': int(sport if from_client else dport),
                    'flags': int(flags, 16), 'seq': int(seq), 'len': int(ln)})
    return res


def lines(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip().startswith('{')]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    for k in ('work', 'samples', 'started', 'kernel', 'nft', 'python', 'mergecap'):
        ap.add_argument('--' + k, required=True)
    a = ap.parse_args()
    w = a.work
    t0 = float(a.started)
    clog = lines(f'{w}/client.log')
    slog = lines(f'{w}/server.log')
    lane = {e['lane']: e for e in clog}
    check(set(lane) == {'keepalive', 'dl', 'crash'}, f'client lanes {sorted(lane)}')
    ka_port, dl_port, crash_port = lane['keepalive']['port'], lane['dl']['port'], lane['crash']['port']
    check(lane['keepalive']['uri'] == '/admin/1' and lane['keepalive'].get('error') == 'ConnectionResetError', 'keepalive lane: /admin/1 reset')
    check('error' in lane['dl'], f"dl lane: the download failed: {lane['dl']}")
    check(lane['crash'].get('error') == 'ConnectionResetError', 'crash lane: reset')
    seen = [e['uri'] for e in slog if e.get('method') == 'GET']
    check(not any(u.startswith('/admin') for u in seen), f'the server never received an /admin request: {seen}')
    check('/dl/300000' in seen, 'the server received the download request')
    check(any(e.get('event') == 'aborted' for e in slog), 'the server aborted /crash/1')
    with open(f'{w}/nft-counters.txt') as f:
        counters = [x.strip() for x in f if 'counter' in x]
    check(len(counters) == 2 and 'packets 1 ' in counters[0] and 'packets 0 ' not in counters[1], f'router counters {counters}')

    cs = packets(f'{w}/client-side.pcap')
    ss = packets(f'{w}/server-side.pcap')
    check(sorted({p['ttl'] for p in cs if not p['fromClient'] and not p['flags'] & RST}) == [63], "the server's packets arrive at the client with TTL 63")
    check(sorted({p['ttl'] for p in ss if not p['fromClient']}) == [64], "the server's packets have TTL 64 at the server")
    resets = {}
    for port in (ka_port, dl_port, crash_port):
        at_client = [p for p in cs if p['port'] == port and not p['fromClient'] and p['flags'] & RST]
        at_server = [p for p in ss if p['port'] == port and not p['fromClient'] and p['flags'] & RST]
        check(at_client, f'a RST in the server\'s name on {port} at the client')
        r = at_client[0]
        resets[str(port)] = {'ipTtlAtClient': r['ttl'], 'flags': 'RST,ACK' if r['flags'] & ACK else 'RST', 'at': round(r['t'] - t0, 4),
                             'seenAtServer': len(at_server) > 0}
    for port in (ka_port, dl_port):
        check(resets[str(port)]['ipTtlAtClient'] == 64 and not resets[str(port)]['seenAtServer'], f'the firewall RST on {port}: TTL 64, not at the server')
    check(resets[str(crash_port)]['ipTtlAtClient'] == 63 and resets[str(crash_port)]['seenAtServer'], "the server's own RST on the crash lane: at both points, TTL 63 at the client")
    # The download: the server never sent a RST and went on sending after the firewall's.
    rst_at = resets[str(dl_port)]['at'] + t0
    after = [p for p in ss if p['port'] == dl_port and not p['fromClient'] and p['len'] > 0 and p['t'] > rst_at]
    check(len(after) >= 3, f'the server went on sending on {dl_port} after the firewall RST: {len(after)} segments')
    retrans_seq = after[-1]['seq']
    check(sum(1 for p in after if p['seq'] == retrans_seq) >= 2, 'the server retransmitted its last unacknowledged segment')
    dl_bytes_at_client = sum(p['len'] for p in cs if p['port'] == dl_port and not p['fromClient'] and p['t'] <= rst_at)

    software = [f"python {a.python} http.server (ThreadingHTTPServer, HTTP/1.1 keep-alive) and http.client",
                f"nftables {a.nft} (Debian nftables) and Linux {a.kernel} netfilter (the firewall: a router namespace)", 'tcpdump 4.99.3',
                f'mergecap {a.mergecap}']
    desc = (f"A firewall between client and server resets connections in the server's name; captured at the client AND at the server and merged (mergecap, pcapng), "
            "so each packet that crossed the router is here twice: at the point near its sender (IP TTL 64) and at the far one (63). "
            f"Three network namespaces: a client on {CLIENT}, a Linux {a.kernel} router (ip_forward; nftables {a.nft} forward chain: a client segment to {SERVER}:8080 whose payload starts with 'GET /adm' "
            "is rejected with tcp reset; once a connection's reply direction passed 60000 bytes every client segment on it is rejected with tcp reset, the client's own RSTs dropped) "
            f"and a python http.server on {SERVER}:8080 (HTTP/1.1 keep-alive; GET /crash/... read, worked on 0.3 s, aborted with SO_LINGER 0; GET /dl/N answers N bytes). "
            f"Clients one after the other: python http.client GET /ok/1, /ok/2, /admin/1 on one connection (the third reset by the router: RST without ACK, TTL 64, seen at the client only); "
            f"GET /dl/300000 (the router rejected the client's ACK after {dl_bytes_at_client} bytes of the response had reached the client: RST without ACK, TTL 64, at the client only; "
            f"the server never learned and went on sending, then retransmitting, {len(after)} segments after it); "
            "GET /crash/1 (the near miss: the server's own RST with ACK, at both points: TTL 64 at the server, 63 at the client). The server never received an /admin request.")
    rbr = 'reset-before-response'
    meta = {
        'scenario': a.scenario, 'description': desc, 'software': software,
        'configured': {'crashHandlerDelay': 0.3, 'firewallReplyByteLimit': 60000, 'downloadBytes': 300000},
        'configuredNotes': 'crashHandlerDelay: the server works 0.3 s on GET /crash/... before it aborts (SO_LINGER 0). firewallReplyByteLimit: nft `ct reply bytes > 60000` on the client\'s segments. downloadBytes: GET /dl/300000.',
        'captureSide': f'both: the client veth ({CLIENT}) and the server veth ({SERVER}), merged by mergecap (one pcapng interface per capture)',
        'silent': False,
        'expect': [
            {'kind': rbr, 'client': f'{CLIENT}:{ka_port}', 'server': f'{SERVER}:8080',
             'notes': "GET /admin/1 reset by the router's reject rule: RST without ACK, TTL 64, seen at the client only, where the server's packets have 63 (at the server 64). To be told as a firewall/path reset, as on the client capture alone; the server never received the request and never closed the connection."},
            {'kind': rbr, 'client': f'{CLIENT}:{dl_port}', 'server': f'{SERVER}:8080',
             'notes': "GET /dl/300000 cut mid-body by the router (RST without ACK, TTL 64, at the client only). The server's capture shows it sending and retransmitting after that RST and never resetting: a firewall/path reset, not the server aborting mid-response."},
            {'kind': rbr, 'client': f'{CLIENT}:{crash_port}', 'server': f'{SERVER}:8080',
             'notes': "The near miss: GET /crash/1, the server's own abort (SO_LINGER 0) 0.3 s after reading it, seen at both points (TTL 64 at the server, 63 at the client). The server-reset diagnosis stands."},
        ],
        'facts': {'serverIpTtlAtClient': 63, 'serverIpTtlAtServer': 64, 'resetsInServerName': resets,
                  'downloadBytesAtClientBeforeReset': dl_bytes_at_client, 'serverSegmentsAfterFirewallReset': len(after),
                  'routerRuleCounters': counters, 'serverRequests': seen},
        'groundTruth': {'clientLog': clog, 'serverLog': slog},
    }
    shutil.copyfile(f'{w}/merged.pcap', f"{a.samples}/{a.scenario}.pcap")
    with open(f"{a.samples}/{a.scenario}.meta.json", 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'frm-meta: wrote {a.scenario}')


main()
