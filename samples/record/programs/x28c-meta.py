#!/usr/bin/env python3
"""Meta checker of the CONNECT-tunnel samples (connect-tunnel-healthy.sh, connect-tunnel-failures.sh):
forward proxies (Squid on 127.0.0.2:3128 and :3129, tinyproxy on 127.0.0.2:8888) that connect from
127.0.0.2 to targets on 127.0.0.3, clients on 127.0.0.1, both legs in one capture.

Measures the capture with pcap-facts.py's tshark reader: every connection to a proxy (its requests
up to a 2xx to CONNECT, after which the bytes are the tunnel's, not HTTP), every connection from the
proxies to the targets (its SYNs, SYN-ACK, RST, FINs), and pairs each CONNECT with the target
connection its proxy opened while the client waited. Compares that with the ground truth the
recorder kept: Squid's access log (one line per transaction: start, client ip:port, method, URL,
status, duration, Squid's codes, error code/detail), tinyproxy's log (request lines, connect failures,
refused CONNECTs, idle timeouts), nginx's access log, and the clients' own logs (curl.log: one JSON
line per URL; clients.log: python requests, the raw tunnel client and Node). Writes the meta only
when they agree and the run shows every part of its scenario; exit 1 (no meta) otherwise, so that
the recorder can try again.

healthy:  every CONNECT answered 200 (or 407 then 200 on one connection), every request inside and
          outside the tunnels answered 2xx, every tunnel closed by its client; silent.
failures: the CONNECTs the scenario provokes, each with the findings its mechanism calls for:
          refused target connect -> connection-refused on the proxy's target connection (the client's
          immediate 5xx is no timeout); SYNs dropped -> gateway-timeout on the client's connection and
          syn-unanswered on the proxy's; denied by the proxy's ACL -> nothing; a tunnel the proxy
          closed at its idle timeout -> tunnel-idle-timeout (knownMiss where the proxy's closes agree
          on no timer: Squid's whole-second checks, unless the client wrote into the tunnel afterwards
          (RST): a stale reuse of the tunnel, told as such whatever the other closes).

Usage: x28c-meta.py healthy|failures --scenario S --capture FILE --meta OUT --work DIR
         --description TEXT --software S... [--configured JSON] [--configured-notes TEXT]
"""
import argparse
import json
import os
import re
import sys
from collections import Counter, OrderedDict

import sibling

facts = sibling.load('pcap_facts', 'pcap-facts.py')
# tinyproxy's error pages end at its close, and curl resets the connection once it has read the head:
# tshark, reassembling the body, would never show the status. Heads are read on their own.
_run = facts.run
facts.run = lambda cmd: _run(cmd[:1] + ['-o', 'http.desegment_body:FALSE'] + cmd[1:] if cmd[0] == 'tshark' else cmd)

PROXIES = {'127.0.0.2:3128': 'squid', '127.0.0.2:3129': 'squid', '127.0.0.2:8888': 'tinyproxy'}
PROXY_ADDRESS = '127.0.0.2'
TARGET_ADDRESS = '127.0.0.3'
CLIENT_ADDRESS = '127.0.0.1'


def lines(path):
    return [l.rstrip('\n') for l in open(path)] if os.path.exists(path) else []


def jsonl(path):
    out = []
    for l in lines(path):
        if l.strip():
            out.append(json.loads(l))
    return out


def ip(endpoint):
    return endpoint.rsplit(':', 1)[0]


def port(endpoint):
    return int(endpoint.rsplit(':', 1)[1])


def streams(packets):
    """Per TCP connection: client and server (from the SYN), SYNs and SYN-ACK, the first FIN and RST of
    each side, payload by side, and its HTTP exchanges in order until a 2xx to CONNECT made it a tunnel."""
    out = OrderedDict()
    for p in packets:
        s = out.get(p['stream'])
        if s is None:
            syn = p['syn'] and not p['ack']
            s = out[p['stream']] = {
                'client': p['src'] if syn else p['dst'], 'server': p['dst'] if syn else p['src'],
                'synSeen': syn, 'syns': 0, 'synTimes': [], 'synAck': False, 't0': p['t'], 'tEnd': p['t'],
                'fin': {}, 'rst': {}, 'data': [], 'exchanges': [], 'tunnelAt': None, 'tunnelFrame': None}
        s['tEnd'] = p['t']
        side = 'client' if p['src'] == s['client'] else 'server'
        if p['syn'] and not p['ack']:
            s['syns'] += 1
            s['synTimes'].append(p['t'])
        if p['syn'] and p['ack']:
            s['synAck'] = True
        if p['fin'] and side not in s['fin']:
            s['fin'][side] = (p['frame'], p['t'])
        if p['rst'] and side not in s['rst']:
            s['rst'][side] = (p['frame'], p['t'])
        if p['len'] > 0:
            s['data'].append((p['t'], side, p['len'], p['frame']))
        if s['tunnelAt'] is not None:
            continue
        for m, u in zip(p['methods'], p['uris']):
            s['exchanges'].append({'method': m, 'uri': u, 'frame': p['frame'], 't': p['t'], 'status': None,
                                   'responseFrame': None, 'responseT': None})
        for code in p['codes']:
            ex = next((e for e in s['exchanges'] if e['status'] is None), None)
            if ex is None:
                continue
            ex['status'], ex['responseFrame'], ex['responseT'] = int(code), p['frame'], p['t']
            if ex['method'] == 'CONNECT' and 200 <= int(code) < 300:
                s['tunnelAt'], s['tunnelFrame'] = p['t'], p['frame']
                break
    return out


def squid_access(path):
    rows = []
    for l in lines(path):
        v = l.split()
        client, method, url, status, size, dur, codes, server, err = v[1], v[2], v[3], int(v[4]), int(v[5]), int(v[6]), v[7], v[8], v[9]
        rows.append({'start': float(v[0]), 'port': port(client), 'method': method, 'url': url, 'status': status,
                     'bytes': size, 'durationMs': dur, 'codes': codes, 'server': server, 'error': err,
                     'serverLocalPort': int(v[10]) if v[10].isdigit() and int(v[10]) > 0 else None, 'line': l})
    return rows


def tinyproxy_log(path):
    log = {'requests': [], 'connectFailed': [], 'refusedConnect': [], 'idleTimeouts': 0, 'established': 0}
    for l in lines(path):
        m = re.search(r'Request \(file descriptor \d+\): (\S+) (\S+) (HTTP/\S+)', l)
        if m:
            log['requests'].append(f'{m.group(1)} {m.group(2)}')
        m = re.search(r'Could not establish a connection to (\S+)', l)
        if m:
            log['connectFailed'].append(m.group(1))
        m = re.search(r'Refused CONNECT method on port (\d+)', l)
        if m:
            log['refusedConnect'].append(int(m.group(1)))
        if 'Idle Timeout' in l:
            log['idleTimeouts'] += 1
        if 'Established connection to host' in l:
            log['established'] += 1
    return log


def nginx_access(path):
    rows = []
    for l in lines(path):
        m = re.match(r'(\S+) (\d+) (\S+) (\d+) (\d+) "(\S+) (\S+) [^"]*" (\d+) (\d+) (\S+)', l)
        if m:
            rows.append({'t': float(m.group(1)), 'port': int(m.group(2)), 'remote': m.group(3), 'method': m.group(6),
                         'uri': m.group(7), 'status': int(m.group(8))})
    return rows


def client_outcomes(work):
    """What each client saw, one entry per request it made: client name, the local port of its
    connection to the proxy (None when it never had a tunnel), URL, the proxy's answer to CONNECT when
    known, the final status or error."""
    out = []
    for c in jsonl(os.path.join(work, 'curl.log')):
        out.append({'client': c['client'], 'lib': 'curl', 'port': c['port'] or None, 'url': c['url'],
                    'proxyStatus': int(c['connectCode']) or None, 'status': int(c['code']) or None,
                    'error': c['error'] or None, 'elapsed': c['time'], 'connects': c['connects']})
    pending_connect = {}
    for e in jsonl(os.path.join(work, 'clients.log')):
        if e['event'] == 'connect':
            pending_connect[e['client']] = e
            if 'node' not in e['lib'] and e['status'] // 100 != 2:
                out.append({'client': e['client'], 'lib': e['lib'], 'port': e['port'], 'url': f"https://{e['target']}",
                            'proxyStatus': e['status'], 'status': None, 'error': f"CONNECT answered {e['status']}",
                            'elapsed': e['elapsed']})
            continue
        if e['event'] not in ('response', 'error'):
            continue
        proxy_status = None
        port_ = e.get('port')
        conn = pending_connect.get(e['client'])
        if 'node' in e['lib'] and conn is not None:
            proxy_status = conn['status']
            port_ = port_ or conn['port']
            pending_connect.pop(e['client'])
        m = re.search(r'Tunnel connection failed: (\d+)', e.get('message', ''))
        if m:
            proxy_status = int(m.group(1))
        if e['event'] == 'response' and e['url'].startswith('https:'):
            proxy_status = proxy_status or 200
        out.append({'client': e['client'], 'lib': e['lib'], 'port': port_, 'url': e.get('url') or e.get('step'),
                    'proxyStatus': proxy_status, 'status': e.get('status'),
                    'error': None if e['event'] == 'response' else f"{e['error']}: {e['message']}",
                    'elapsed': e.get('elapsed')})
    return out


def authority_of(url):
    m = re.match(r'(https?)://([^/:]+)(?::(\d+))?', url)
    if not m:
        return None
    return f"{m.group(2)}:{m.group(3) or (443 if m.group(1) == 'https' else 80)}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['healthy', 'failures'])
    ap.add_argument('--scenario', required=True)
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--description', required=True)
    ap.add_argument('--software', nargs='+', required=True)
    ap.add_argument('--configured', default='{}')
    ap.add_argument('--configured-notes', default=None)
    a = ap.parse_args()
    w = lambda name: os.path.join(a.work, name)
    rel = lambda t: round(t, 3)  # pcap-facts' times are relative to the capture's first packet
    problems = []

    conns = streams(facts.read_packets(a.capture, [80, 3128, 3129, 8888]))
    client_legs = [s for s in conns.values() if s['server'] in PROXIES]
    target_legs = [s for s in conns.values() if ip(s['client']) == PROXY_ADDRESS and ip(s['server']) == TARGET_ADDRESS]
    others = [s for s in conns.values() if s not in client_legs and s not in target_legs]
    if others:
        problems.append(f'connections neither to a proxy nor from a proxy to a target: {[(s["client"], s["server"]) for s in others]}')
    for s in client_legs:
        if ip(s['client']) != CLIENT_ADDRESS or not s['synSeen']:
            problems.append(f'client connection {s["client"]} -> {s["server"]} not from {CLIENT_ADDRESS} or without its SYN')

    # Each CONNECT paired with the target connection its proxy opened while the client waited.
    # The shortest waits first: a CONNECT answered quickly has one candidate, a slow one (an auth
    # helper, a connect timeout) may have seen other tunnels' connections open meanwhile.
    taken = set()
    tunnels = [{'conn': s, 'ex': ex, 'leg': None, 'proxy': PROXIES[s['server']]}
               for s in client_legs for ex in s['exchanges'] if ex['method'] == 'CONNECT']
    for t in sorted(tunnels, key=lambda t: (t['ex']['responseT'] or float('inf')) - t['ex']['t']):
        ex = t['ex']
        tport = int(ex['uri'].rsplit(':', 1)[1])
        until = ex['responseT'] if ex['responseT'] is not None else float('inf')
        leg = next((c for c in target_legs if id(c) not in taken and port(c['server']) == tport
                    and c['synTimes'] and ex['t'] <= c['synTimes'][0] <= until + 1e-6), None)
        if leg is not None:
            taken.add(id(leg))
            t['leg'] = leg
    unpaired = [t for t in target_legs if id(t) not in taken and port(t['server']) != 80]
    if unpaired:
        problems.append(f'target connections no CONNECT asked for: {[(t["client"], t["server"]) for t in unpaired]}')

    # Ground truth: the proxies' logs.
    access = squid_access(w('squid/access.log'))
    squid_seen = [(port(s['client']), ex['method'], ex['uri'], ex['status']) for s in client_legs if PROXIES[s['server']] == 'squid' for ex in s['exchanges']]
    squid_logged = [(r['port'], r['method'], r['url'], r['status']) for r in access]
    if Counter(squid_seen) != Counter(squid_logged):
        problems.append(f'squid: capture {sorted(Counter(squid_seen) - Counter(squid_logged))} not logged, '
                        f'logged {sorted(Counter(squid_logged) - Counter(squid_seen))} not in the capture')
    access_by = {}
    for r in access:
        access_by.setdefault((r['port'], r['method'], r['url']), []).append(r)
    tiny = tinyproxy_log(w('tinyproxy.log'))
    tiny_seen = [f"{ex['method']} {ex['uri']}" for s in client_legs if PROXIES[s['server']] == 'tinyproxy' for ex in s['exchanges']]
    if Counter(tiny_seen) != Counter(tiny['requests']):
        problems.append(f'tinyproxy: capture requests {sorted(tiny_seen)}, its log {sorted(tiny["requests"])}')

    # Ground truth: the clients.
    outcomes = client_outcomes(a.work)
    for o in outcomes:
        if o['port'] is None and o['proxyStatus'] is None and o['error']:
            problems.append(f'a client failed without a proxy answer: {o}')
    by_port = {}
    for o in outcomes:
        if o['port'] is not None:
            by_port.setdefault(o['port'], []).append(o)
    unported = [o for o in outcomes if o['port'] is None]
    for t in tunnels:
        p, ex = port(t['conn']['client']), t['ex']
        final = ex is t['conn']['exchanges'][-1] or ex['status'] // 100 == 2
        if not final:
            continue  # a 407 answered before the CONNECT with credentials on the same connection
        # By the local port (the raw client's errors name its step, not a URL: the port is its tunnel's).
        mine = [o for o in by_port.get(p, []) if authority_of(o['url'] or '') in (ex['uri'], None)]
        if not mine:
            cand = [o for o in unported if authority_of(o['url']) == ex['uri'] and o['proxyStatus'] == ex['status']]
            if cand:
                unported.remove(cand[0])
                mine = [cand[0]]
        t['clients'] = mine
        if not mine:
            problems.append(f'no client saw the CONNECT {ex["uri"]} -> {ex["status"]} on port {p}')
            continue
        for o in mine:
            if o['proxyStatus'] is not None and o['proxyStatus'] != ex['status']:
                problems.append(f'client {o["client"]} saw CONNECT status {o["proxyStatus"]}, the capture {ex["status"]} (port {p})')
    for o in unported:
        if authority_of(o['url'] or '') and o['error']:
            problems.append(f'client outcome not in the capture: {o}')

    nginx = nginx_access(w('nginx-access.log'))
    https_ok = [o for o in outcomes if o['url'] and o['url'].startswith('https:') and o['status'] and o['status'] < 400]
    nginx_tls = [r for r in nginx if r['port'] == 443]
    if len(https_ok) != len(nginx_tls):
        problems.append(f'{len(https_ok)} HTTPS responses the clients got, nginx logged {len(nginx_tls)} on :443')

    # What each tunnel became.
    rows, expect = [], []
    idle_tunnels = []
    for t in tunnels:
        s, ex, leg = t['conn'], t['ex'], t['leg']
        if ex['status'] is not None and ex['status'] // 100 != 2 and ex is not s['exchanges'][-1]:
            continue
        p = port(s['client'])
        squid_line = next(iter(access_by.get((p, 'CONNECT', ex['uri']), [])[-1:]), None)
        if squid_line is not None and squid_line['serverLocalPort'] is not None and \
                squid_line['serverLocalPort'] != (port(leg['client']) if leg is not None else None):
            problems.append(f"squid logged the CONNECT {ex['uri']} from port {p} on its local port "
                            f"{squid_line['serverLocalPort']}, the capture paired it with {leg and leg['client']}")
        row = OrderedDict([('client', s['client']), ('proxy', s['server']), ('proxySoftware', t['proxy']),
                           ('connect', ex['uri']), ('status', ex['status']),
                           ('requestFrame', ex['frame']), ('responseFrame', ex['responseFrame']),
                           ('wait', round(ex['responseT'] - ex['t'], 6) if ex['responseT'] is not None else None),
                           ('clients', sorted({o['client'] for o in t.get('clients', [])}))])
        if len(s['exchanges']) > 1:
            row['exchangesOnConnection'] = [f"{e['method']} {e['uri']} -> {e['status']}" for e in s['exchanges']]
        if leg is not None:
            row['targetLeg'] = OrderedDict([('client', leg['client']), ('server', leg['server']), ('syns', leg['syns']),
                                            ('synAck', leg['synAck']), ('rstFromTarget', 'server' in leg['rst'] and not leg['synAck']),
                                            ('firstSyn', rel(leg['synTimes'][0]))])
        if squid_line is not None:
            row['squidAccess'] = f"{squid_line['status']} {squid_line['codes']} {squid_line['durationMs']} ms {squid_line['error']}"
        if ex['status'] is not None and ex['status'] // 100 == 2:
            close_by = min(s['fin'].items(), key=lambda kv: kv[1][0])[0] if s['fin'] else None
            row['closedBy'] = close_by
            inner = [d for d in s['data'] if d[0] > ex['responseT']]
            gaps = [round(b[0] - a_[0], 3) for a_, b in zip(inner, inner[1:])]
            row['longestIdleInside'] = max(gaps) if gaps else 0.0
            if close_by == 'server':
                fin_t = s['fin']['server'][1]
                before = [d for d in s['data'] if d[0] < fin_t]
                row['idleBeforeProxyFin'] = round(fin_t - before[-1][0], 3) if before else None
                after = [d for d in s['data'] if d[0] > fin_t and d[1] == 'client']
                if after:
                    row['clientWroteAfterProxyFin'] = round(after[0][0] - fin_t, 3)
                    row['clientDataFrame'] = after[0][3]
                    row['proxyRst'] = s['rst'].get('server', (None,))[0]
                if leg is not None and 'client' in leg['fin']:
                    row['targetLegClosedByProxyAfter'] = round(leg['fin']['client'][1] - fin_t, 3)
        rows.append(row)

        client_entry = {'client': s['client'], 'server': s['server']}
        leg_entry = {'client': leg['client'], 'server': leg['server']} if leg is not None else None
        what = f"CONNECT {ex['uri']} through {t['proxy']} ({s['server']})"
        if ex['status'] is None:
            problems.append(f'{what}: no answer')
        elif ex['status'] // 100 == 2:
            if leg is None or not leg['synAck']:
                problems.append(f'{what}: 200 without an established target connection')
            if a.mode == 'healthy' and row.get('closedBy') == 'server' and (row.get('idleBeforeProxyFin') or 0) >= 1:
                problems.append(f'{what}: closed by the proxy in the healthy scenario')
            failed = [o for o in t.get('clients', []) if o['error']]
            idle_closed = row.get('closedBy') == 'server' and (row.get('idleBeforeProxyFin') or 0) >= 1
            if idle_closed:
                # The proxy's own log says it timed the tunnel out; conncheck tells a timer from closes after
                # silences that agree (tunnel-idle-timeout: two within 2 % or 50 ms), decided after the loop.
                reused = None
                if failed and row.get('clientWroteAfterProxyFin') is not None and row.get('proxyRst'):
                    # The stale reuse of the tunnel: tunnel-idle-timeout tells it (an error), one layer
                    # down from keepalive-race, which reads no request inside a tunnel.
                    reused = (f"; {row['clientWroteAfterProxyFin']} s after that FIN the client wrote its next request "
                              f"(frame {row['clientDataFrame']}) and the proxy's kernel answered RST (frame {row['proxyRst']}): "
                              f"the client failed ({failed[0]['error']}), a stale reuse of the tunnel")
                idle_tunnels.append({'proxy': t['proxy'], 'server': s['server'], 'client': s['client'],
                                     'silence': row['idleBeforeProxyFin'], 'what': what, 'reused': reused})
            elif not idle_closed:
                note = f'{what}: 200, a tunnel'
                if row.get('closedBy') == 'server' and (row.get('idleBeforeProxyFin') or 0) >= 1:
                    note += (f"; the proxy closed it {row['idleBeforeProxyFin']} s idle and the client, which drops a "
                             f"pooled connection once its peer's FIN has arrived, opened a new tunnel for its next request")
                    if row.get('clientWroteAfterProxyFin') is not None and row.get('proxyRst'):
                        note += (f" (it answered the FIN {row['clientWroteAfterProxyFin']} s later with its TLS close_notify "
                                 f"alert, frame {row['clientDataFrame']}, which the proxy's kernel reset, frame "
                                 f"{row['proxyRst']}: no request was lost)")
                expect.append({'kind': None, **client_entry, 'notes': note + '.'})
            if leg_entry is not None:
                expect.append({'kind': None, **leg_entry, 'notes': f'the target connection of {what}.'})
        elif ex['status'] in (403, 407):
            if leg is not None:
                problems.append(f'{what}: {ex["status"]} with a target connection')
            expect.append({'kind': None, **client_entry,
                           'notes': f"{what}: answered {ex['status']} at once by the proxy's access rules, no target connection."})
        elif ex['status'] >= 500:
            if leg is None:
                problems.append(f'{what}: {ex["status"]} with no target connection')
                continue
            if 'server' in leg['rst'] and not leg['synAck']:
                expect.append({'kind': None, **client_entry,
                               'notes': f"{what}: answered {ex['status']} {row['wait']} s after the request, as soon as the "
                                        f"target refused the proxy's connect: no timeout."})
                expect.append({'kind': 'connection-refused', **leg_entry,
                               'notes': f"the proxy's connect for {what} was answered by RST (nothing listens on that port); "
                                        f"the proxy answered its client {ex['status']}."})
            elif not leg['synAck'] and not leg['rst'].get('server'):
                expect.append({'kind': 'gateway-timeout', **client_entry,
                               'notes': f"{what}: the proxy's SYNs to the target were never answered (dropped by an "
                                        f"nftables rule); at its connect timeout it answered {ex['status']} after {row['wait']} s."})
                expect.append({'kind': 'syn-unanswered', **leg_entry,
                               'notes': f"the proxy's SYN for {what} was sent {leg['syns']} times, never answered, and "
                                        f"abandoned at the proxy's connect timeout."})
            else:
                problems.append(f'{what}: {ex["status"]} with a target connection that neither refused nor ignored the SYN')
        else:
            problems.append(f'{what}: unexpected status {ex["status"]}')
    # Tunnels the proxies closed at their idle timeout (their logs: tinyproxy "Idle Timeout", Squid
    # read_timeout). tinyproxy times each tunnel itself (3.000-3.005 s); Squid checks its timeouts once
    # a second against whole seconds, so its closes spread over a second or more and, unless two happen
    # to agree, tell no timer.
    by_proxy = {}
    for it in idle_tunnels:
        by_proxy.setdefault(it['server'], []).append(it)
    for server, items in sorted(by_proxy.items()):
        for it in items:
            agrees = any(o is not it and abs(o['silence'] - it['silence']) <= max(0.02 * max(o['silence'], it['silence']), 0.05) for o in items)
            e = {'kind': 'tunnel-idle-timeout', 'client': it['client'], 'server': server,
                 'notes': f"{it['what']}: the proxy closed the idle tunnel {it['silence']} s after its last byte, without a goodbye "
                          f"(its idle timeout for tunnels, {len(items)} closed so here: " + ', '.join(str(o['silence']) for o in items) + ' s)'
                          + (it['reused'] or '') + '.'}
            if not agrees and it['reused'] is None:
                e['knownMiss'] = (f"{it['proxy']}'s idle closes here ({', '.join(str(o['silence']) for o in items)} s) agree on no timer: "
                                  'tunnel-idle-timeout needs two within 2 % or 50 ms (Squid checks read_timeout once a second against whole seconds)')
            expect.append(e)
    # Plain (absolute-form) requests through the proxies, and the proxies' connections to port 80.
    plain = [(s, ex) for s in client_legs for ex in s['exchanges'] if ex['method'] != 'CONNECT']
    for s in client_legs:
        if not any(e['method'] == 'CONNECT' for e in s['exchanges']):
            expect.append({'kind': None, 'client': s['client'], 'server': s['server'],
                           'notes': f"plain requests through {PROXIES[s['server']]}: " +
                                    ', '.join(f"{e['method']} {e['uri']} -> {e['status']}" for e in s['exchanges'])})
    for t in target_legs:
        if port(t['server']) == 80 and id(t) not in taken:
            expect.append({'kind': None, 'client': t['client'], 'server': t['server'],
                           'notes': 'a proxy\'s connection to the plain target, carrying the absolute-form requests it relayed.'})

    statuses = Counter(r['status'] for r in rows)
    if a.mode == 'healthy':
        bad = [r for r in rows if r['status'] not in (200,)]
        bad += [{'plain': f"{e['method']} {e['uri']}", 'status': e['status']} for _, e in plain if e['status'] is None or e['status'] >= 400]
        bad += [o for o in outcomes if o['error'] or (o['status'] or 0) >= 400]
        if bad:
            problems.append(f'failures in the healthy scenario: {bad}')
        if not any(len(r.get('exchangesOnConnection', [])) > 1 and any('407' in x for x in r['exchangesOnConnection']) for r in rows):
            problems.append('no CONNECT answered 407 then 200 on one connection')
        if not any(r['connect'].endswith(':80') for r in rows):
            problems.append('no tunnel to port 80')
    else:
        kinds = Counter(e['kind'] for e in expect)
        need = {'connection-refused': 2, 'gateway-timeout': 4, 'syn-unanswered': 4, 'keepalive-race': 2}
        for k, n in need.items():
            if kinds[k] < n:
                problems.append(f'only {kinds[k]} {k} (at least {n} wanted)')
        if statuses[403] < 2:
            problems.append('fewer than 2 CONNECTs denied 403')
        for proxy in ('squid', 'tinyproxy'):
            if not any(r['proxySoftware'] == proxy and r.get('closedBy') == 'server' and (r.get('idleBeforeProxyFin') or 0) >= 1 for r in rows):
                problems.append(f'no tunnel closed idle by {proxy}')
        if tiny['idleTimeouts'] != sum(1 for r in rows if r['proxySoftware'] == 'tinyproxy' and r.get('closedBy') == 'server'
                                       and (r.get('idleBeforeProxyFin') or 0) >= 1):
            problems.append(f"tinyproxy logged {tiny['idleTimeouts']} idle timeouts")

    if problems:
        for p in problems:
            print(f'x28c-meta: {p}', file=sys.stderr)
        return 1

    def timeouts(pred):
        v = sorted(r['wait'] for r in rows if pred(r))
        return v
    observed = OrderedDict()
    observed['tunnels'] = rows
    observed['plainRequests'] = [OrderedDict([('client', s['client']), ('proxy', s['server']), ('method', e['method']),
                                              ('uri', e['uri']), ('status', e['status'])]) for s, e in plain]
    observed['connectStatuses'] = {str(k): v for k, v in sorted(statuses.items())}
    if a.mode == 'failures':
        for proxy in ('squid', 'tinyproxy'):
            observed[f'{proxy}ConnectTimeoutWaits'] = timeouts(lambda r: r['proxySoftware'] == proxy and r['status'] and r['status'] >= 500
                                                                and r.get('targetLeg', {}).get('synAck') is False
                                                                and not r['targetLeg']['rstFromTarget'])
            observed[f'{proxy}TunnelIdleCloses'] = sorted(r['idleBeforeProxyFin'] for r in rows
                                                          if r['proxySoftware'] == proxy and r.get('closedBy') == 'server'
                                                          and (r.get('idleBeforeProxyFin') or 0) >= 1)
    observed['clients'] = outcomes
    observed['capture'] = OrderedDict([('connections', len(conns)), ('toProxies', len(client_legs)),
                                       ('proxiesToTargets', len(target_legs))])
    meta = OrderedDict([('scenario', a.scenario), ('description', a.description), ('software', a.software)])
    configured = json.loads(a.configured)
    if configured:
        meta['configured'] = configured
    if a.configured_notes:
        meta['configuredNotes'] = a.configured_notes
    meta['captureSide'] = ("one namespace's loopback, both legs: clients 127.0.0.1 -> proxies 127.0.0.2:3128/3129 (Squid) "
                           "and :8888 (tinyproxy); proxies 127.0.0.2 -> targets 127.0.0.3 (nginx :443 TLS, :80 plain)")
    meta['observed'] = observed
    meta['silent'] = a.mode == 'healthy'
    if a.mode == 'failures':
        meta['expect'] = expect
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x28c-meta: {a.scenario}: {len(rows)} CONNECTs {dict(statuses)}, {len(plain)} plain requests, '
          f'{sum(1 for e in expect if e["kind"])} findings expected')
    return 0


if __name__ == '__main__':
    sys.exit(main())
