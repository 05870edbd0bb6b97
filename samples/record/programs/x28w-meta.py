"""Checks a WebSocket recording (websocket-healthy, websocket-idle-proxy-timeout) against the
programs' own logs and writes its meta.json, or refuses (exit 1).

Ground truth read from --work: ws-clients.log (x28w-node-client.js and x28w-autobahn-client.py: per
session its tag, local port, frames, close code), http-*.log (paced-keepalive-client.js), the servers'
logs (node-server.log, aiohttp-server.log), nginx's error.log and nginx-access.log, haproxy.log.
The capture is read with tshark (HTTP decoded on 8080, 8081, 9001 and 9002, so that its WebSocket
dissector follows each 101). A session's legs are paired by their Sec-WebSocket-Key: the proxies
pass the client's key on unchanged.

--mode healthy: every session upgraded (101 on every leg, the key accepted), every echo and pong
came back, every session ended with a closing handshake (close frames both ways on every leg, code
1000/1001, clean in the client's log), then FINs; every plain request answered; no RST but HAProxy
aborting an idle pooled backend connection; nginx logged no error.
--mode timeout: the sessions whose plan ends with wait:MS and go through a proxy were closed by the
proxy: the client logged 1006 (no close frame), the proxy sent the first FIN on both legs, each
--timeout seconds (within 0.05 s before, 0.6 s after) after the last WebSocket frame on either leg of
the session; nginx logged one "upstream timed out ... while proxying upgraded connection" per nginx
idle session, HAProxy one log line per HAProxy session with its termination state; sessions that
ping (pingevery) or are direct ended with a closing handshake.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

PROXIES = {('127.0.0.2', 8080): 'nginx', ('127.0.0.2', 8081): 'haproxy'}
BACKENDS = {('127.0.0.3', 9001): 'node', ('127.0.0.3', 9002): 'aiohttp'}
WS_OPS = {0: 'cont', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong'}

problems = []


def refuse(msg):
    problems.append(msg)


def read_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        line = line.strip()
        if line.startswith('{'):
            out.append(json.loads(line))
    return out


def load_capture(path):
    fields = ['frame.number', 'frame.time_epoch', 'tcp.stream', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
              'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.len', 'http.request.method',
              'http.request.uri', 'http.response.code', 'http.sec_websocket_key', 'websocket.opcode', 'websocket.mask']
    cmd = ['tshark', '-r', path, '-d', 'tcp.port==8081,http', '-d', 'tcp.port==9001,http', '-d', 'tcp.port==9002,http',
           '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,']
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    streams = {}
    npackets = 0
    for line in out.splitlines():
        v = line.split('\t')
        if len(v) < len(fields):
            v += [''] * (len(fields) - len(v))
        npackets += 1
        fr, t, st = int(v[0]), float(v[1]), int(v[2])
        dport = int(v[6])
        src = (v[3], int(v[4]))
        dst = (v[5], int(v[6]))
        syn, ack, fin, rst = v[7] in ('1', 'True'), v[8] in ('1', 'True'), v[9] in ('1', 'True'), v[10] in ('1', 'True')
        s = streams.get(st)
        if s is None:
            s = streams[st] = {'stream': st, 'client': None, 'server': None, 'first': t, 'fins': [], 'rsts': [], 'reqs': [],
                               'resps': [], 'ws': [], 'lastPayload': None, 'frames': 0}
        if syn and not ack:
            s['client'], s['server'] = src, dst
        elif s['client'] is None:
            s['client'], s['server'] = (src, dst) if dport in (8080, 8081, 9001, 9002) else (dst, src)
        side = 'client' if src == s['client'] else 'server'
        s['frames'] += 1
        s['last'] = t
        if fin:
            s['fins'].append({'t': t, 'side': side, 'frame': fr})
        if rst:
            s['rsts'].append({'t': t, 'side': side, 'frame': fr})
        if int(v[11] or 0) > 0:
            s['lastPayload'] = t
        if v[12]:
            for m, u, k in zip(v[12].split(','), (v[13] or '').split(','), (v[15] or '').split(',') + [''] * 8):
                s['reqs'].append({'t': t, 'frame': fr, 'method': m, 'uri': u, 'key': k or None})
        if v[14]:
            for c in v[14].split(','):
                s['resps'].append({'t': t, 'frame': fr, 'status': int(c)})
        if v[16]:
            masks = (v[17] or '').split(',')
            for i, op in enumerate(v[16].split(',')):
                s['ws'].append({'t': t, 'frame': fr, 'side': side, 'op': WS_OPS.get(int(op), op),
                                'masked': i < len(masks) and masks[i] in ('1', 'True')})
    return streams, npackets


def addr(a):
    return f'{a[0]}:{a[1]}'


def parse_plan(plan):
    return [p.split(':') for p in plan.split(',')]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--mode', choices=['healthy', 'timeout'], required=True)
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--software', nargs='*', default=[])
    ap.add_argument('--timeout', type=float, default=3.0, help='the proxies\' idle timeout for tunnels (timeout mode)')
    ap.add_argument('--expect-kind', default=None, help='timeout mode: the kind expected on each proxy-closed leg')
    ap.add_argument('--known-miss', default=None, help='timeout mode: why conncheck does not report it yet')
    ap.add_argument('--description', default=None, help='healthy mode: the description, instead of websocket-healthy\'s')
    ap.add_argument('--notes', default=None, help='healthy mode: notes added to the common ones')
    a = ap.parse_args()

    streams, npackets = load_capture(a.capture)
    plans = {p['tag']: p for p in read_jsonl(os.path.join(a.work, 'plans.jsonl'))}
    wslog = read_jsonl(os.path.join(a.work, 'ws-clients.log'))
    by_tag = defaultdict(list)
    for e in wslog:
        by_tag[e['tag']].append(e)

    # the streams by their client's address and by the WebSocket key of their upgrade
    by_client = {addr(s['client']): s for s in streams.values() if s['client']}
    by_key = defaultdict(list)
    for s in streams.values():
        for r in s['reqs']:
            if r['key']:
                by_key[r['key']].append(s)

    sessions = []
    ws_streams = set()
    for tag, info in sorted(plans.items()):
        evs = by_tag.get(tag, [])
        ports = {e['localPort'] for e in evs if e.get('localPort')}
        ends = [e for e in evs if e['event'] == 'end']
        if len(ports) != 1 or len(ends) != 1:
            refuse(f'{tag}: client log has ports {ports} and {len(ends)} end events')
            continue
        port = ports.pop()
        end = ends[0]
        front = by_client.get(f'127.0.0.1:{port}')
        if front is None:
            refuse(f'{tag}: no connection from 127.0.0.1:{port} in the capture')
            continue
        via = PROXIES.get(front['server'], 'direct')
        keys = [r['key'] for r in front['reqs'] if r['key']]
        if len(keys) != 1:
            refuse(f'{tag}: {len(keys)} upgrade requests on its connection')
            continue
        legs = sorted(by_key[keys[0]], key=lambda s: s['first'])
        want = 1 if via == 'direct' else 2
        if len(legs) != want:
            refuse(f'{tag}: {len(legs)} legs with its key, expected {want}')
            continue
        back = legs[-1]
        if back['server'] not in BACKENDS:
            refuse(f'{tag}: its last leg goes to {addr(back["server"])}, not a backend')
            continue
        for leg in legs:
            ws_streams.add(leg['stream'])
        legs_facts = []
        for leg in legs:
            codes = [r['status'] for r in leg['resps']]
            if codes[:1] != [101]:
                refuse(f'{tag}: leg {addr(leg["client"])} -> {addr(leg["server"])} answered {codes}, not 101')
            ops = defaultdict(int)
            for w in leg['ws']:
                ops[f'{w["side"]}:{w["op"]}'] += 1
            if any(w['side'] == 'client' and not w['masked'] for w in leg['ws']):
                refuse(f'{tag}: an unmasked client frame on {addr(leg["client"])}')
            if any(w['side'] == 'server' and w['masked'] for w in leg['ws']):
                refuse(f'{tag}: a masked server frame on {addr(leg["client"])}')
            times = [leg['reqs'][0]['t']] + [w['t'] for w in leg['ws']]
            gaps = [round(y - x, 3) for x, y in zip(times, times[1:])]
            first_fin = min(leg['fins'], key=lambda f: f['t']) if leg['fins'] else None
            legs_facts.append({
                'client': addr(leg['client']), 'server': addr(leg['server']),
                'upgradeRequestFrame': leg['reqs'][0]['frame'],
                'switchingProtocolsFrame': leg['resps'][0]['frame'] if leg['resps'] else None,
                'wsFrames': dict(sorted(ops.items())), 'longestSilence': max(gaps) if gaps else None,
                'lastWsFrame': leg['ws'][-1]['frame'] if leg['ws'] else None,
                'lastWsFrameTime': leg['ws'][-1]['t'] if leg['ws'] else None,
                'firstFin': {'side': first_fin['side'], 'frame': first_fin['frame'], 't': first_fin['t']} if first_fin else None,
                'fins': len(leg['fins']), 'rsts': [r['frame'] for r in leg['rsts']],
                'duration': round((leg['last'] - leg['first']), 3),
            })
        steps = parse_plan(info['plan'])
        echo_ok = all(e.get('ok') for e in evs if e['event'] in ('echo', 'pong'))
        sessions.append({'tag': tag, 'impl': info['impl'], 'via': via, 'backend': BACKENDS[back['server']],
                         'plan': info['plan'], 'localPort': port, 'closeCode': end['code'], 'clean': bool(end['clean']),
                         'endTime': end['t'], 'repliesOk': echo_ok, 'legs': legs_facts, '_legs': legs,
                         'idleEnd': steps[-1][0] == 'wait', 'pings': info['plan'].count('ping')})

    # plain HTTP clients
    plain = []
    for path in sorted(glob.glob(os.path.join(a.work, 'http-*.log'))):
        tag = os.path.basename(path)[5:-4]
        lines = read_jsonl(path)
        errors = [l for l in lines if 'error' in l or l.get('status') not in (200, 201)]
        if errors:
            refuse(f'plain client {tag}: {errors}')
        plain.append({'tag': tag, 'requests': len(lines), 'answered': len(lines) - len(errors)})
    plain_streams = [s for s in streams.values() if s['stream'] not in ws_streams]
    for s in plain_streams:
        if any(r['key'] for r in s['reqs']):
            refuse(f'{addr(s["client"])}: an upgrade no client session accounts for')
        if len(s['resps']) != len(s['reqs']):
            refuse(f'{addr(s["client"])} -> {addr(s["server"])}: {len(s["reqs"])} requests, {len(s["resps"])} responses')
    timed_out_backend_legs = set()
    if a.mode == 'timeout':
        timed_out_backend_legs = {ss['_legs'][-1]['stream'] for ss in sessions if ss['idleEnd'] and ss['via'] == 'haproxy'}
    # resets: only HAProxy aborting an idle pooled backend connection (after its last response)
    rst_facts = []
    for s in streams.values():
        for r in s['rsts']:
            fact = {'frame': r['frame'], 'client': addr(s['client']), 'server': addr(s['server']), 'side': r['side']}
            if s['stream'] in timed_out_backend_legs and r['side'] == 'client':
                fact['why'] = 'HAProxy closing the backend leg of a tunnel at its timeout'
                rst_facts.append(fact)
                continue
            idle_plain = (s['stream'] not in ws_streams and s['server'] in BACKENDS and r['side'] == 'client'
                          and len(s['resps']) == len(s['reqs']) and s['resps'] and r['t'] - s['resps'][-1]['t'] > 0.5)
            if not idle_plain:
                refuse(f'a reset that is not an idle pooled backend connection\'s: {fact}')
            fact['idleBefore'] = round(r['t'] - s['resps'][-1]['t'], 3) if s['resps'] else None
            rst_facts.append(fact)

    errlog = open(os.path.join(a.work, 'error.log')).read() if os.path.exists(os.path.join(a.work, 'error.log')) else ''
    nginx_timeouts = re.findall(r'^(\S+ \S+) \[(?:info|error)\].*upstream timed out \(110: Connection timed out\) while proxying upgraded connection.*$',
                                errlog, re.M)
    nginx_errors = [l for l in errlog.splitlines() if '[error]' in l or '[crit]' in l or '[alert]' in l or 'timed out' in l]
    haproxy_lines = [l for l in open(os.path.join(a.work, 'haproxy.log')).read().splitlines()
                     if re.match(r'^\d+\.\d+ 127\.0\.0\.1:\d+ ', l)] if os.path.exists(os.path.join(a.work, 'haproxy.log')) else []
    haproxy_by_port = {}
    for l in haproxy_lines:
        f = l.split()
        haproxy_by_port.setdefault(int(f[1].split(':')[1]), []).append(
            {'accept': float(f[0]), 'method': f[2], 'uri': f[3], 'status': int(f[4]), 'timers': f[5], 'Tt': int(f[6]),
             'termination': f[7], 'backendPort': int(f[8]) if f[8].isdigit() else None})

    for ss in sessions:
        if ss['via'] == 'haproxy':
            hl = [h for h in haproxy_by_port.get(ss['localPort'], []) if h['status'] == 101]
            if len(hl) != 1:
                refuse(f'{ss["tag"]}: {len(hl)} HAProxy log lines with 101 for its port')
            else:
                ss['haproxyLog'] = hl[0]

    server_logs = {'node': defaultdict(list), 'aiohttp': defaultdict(list)}
    for name, f in (('node', 'node-server.log'), ('aiohttp', 'aiohttp-server.log')):
        for e in read_jsonl(os.path.join(a.work, f)):
            if e.get('port') is not None:
                server_logs[name][e['port']].append(e)
    if a.mode == 'healthy':
        for ss in sessions:
            if not ss['repliesOk'] or ss['closeCode'] not in (1000, 1001) or not ss['clean']:
                refuse(f'{ss["tag"]}: replies ok {ss["repliesOk"]}, close {ss["closeCode"]}, clean {ss["clean"]}')
            for lf in ss['legs']:
                if lf['wsFrames'].get('client:close', 0) != 1 or lf['wsFrames'].get('server:close', 0) != 1:
                    refuse(f'{ss["tag"]}: leg {lf["client"]}: close frames {lf["wsFrames"]}')
                if lf['fins'] < 2 or lf['rsts']:
                    refuse(f'{ss["tag"]}: leg {lf["client"]}: {lf["fins"]} FINs, resets {lf["rsts"]}')
            if ss.get('haproxyLog') and ss['haproxyLog']['termination'] != '----':
                refuse(f'{ss["tag"]}: HAProxy termination state {ss["haproxyLog"]["termination"]}')
        if nginx_errors:
            refuse(f'nginx logged errors: {nginx_errors}')
        for s in plain_streams:
            if len(s['fins']) < 1 and not s['rsts'] and s['server'] not in BACKENDS and s['server'] not in PROXIES:
                refuse(f'{addr(s["client"])}: not closed')
    else:
        idle_proxied = [ss for ss in sessions if ss['idleEnd'] and ss['via'] != 'direct']
        if not idle_proxied:
            refuse('no idle session through a proxy')
        for ss in sessions:
            if ss['idleEnd'] and ss['via'] != 'direct':
                if ss['closeCode'] != 1006 or ss['clean']:
                    refuse(f'{ss["tag"]}: expected 1006 unclean, client logged {ss["closeCode"]} clean={ss["clean"]}')
                last = max(w['t'] for leg in ss['_legs'] for w in leg['ws'])
                last_frame = max((w for leg in ss['_legs'] for w in leg['ws']), key=lambda w: w['t'])
                front, back = ss['_legs'][0], ss['_legs'][-1]
                ff = min(front['fins'], key=lambda f: f['t']) if front['fins'] else None
                bf = min(back['fins'] + back['rsts'], key=lambda f: f['t']) if back['fins'] + back['rsts'] else None
                if not ff or ff['side'] != 'server' or not bf or bf['side'] != 'client':
                    refuse(f'{ss["tag"]}: the proxy did not send the first FIN on both legs ({ff}, {bf})')
                    continue
                if any(w['op'] == 'close' for leg in ss['_legs'] for w in leg['ws']):
                    refuse(f'{ss["tag"]}: a close frame on a leg the proxy timed out')
                ss['proxyClose'] = {
                    'lastWsFrame': last_frame['frame'], 'lastWsFrameTime': round(last, 6),
                    'clientLegFinFrame': ff['frame'], 'clientLegIdle': round(ff['t'] - last, 3),
                    'backendLegFinFrame': bf['frame'], 'backendLegIdle': round(bf['t'] - last, 3),
                    'backendLegClosedWith': 'rst' if bf in back['rsts'] else 'fin',
                    'clientLoggedCloseAfter': round(ss['endTime'] - last, 3),
                }
                for k in ('clientLegIdle', 'backendLegIdle'):
                    if not (a.timeout - 0.05 <= ss['proxyClose'][k] <= a.timeout + 0.6):
                        refuse(f'{ss["tag"]}: {k} {ss["proxyClose"][k]} s, not the timeout {a.timeout} s')
                blog = server_logs[ss['backend']].get(back['client'][1], [])
                seen = [e for e in blog if (e['event'] == 'closed' and e.get('code') == 1006) or e['event'] == 'error']
                if not seen:
                    refuse(f'{ss["tag"]}: the {ss["backend"]} server logged no abnormal end for port {back["client"][1]}')
                else:
                    ss['proxyClose']['backendLogged'] = seen[0].get('error') or f'close code {seen[0]["code"]}'
                # the order the description states: nginx closes the backend leg first (FIN), HAProxy the
                # client leg first (FIN, then a RST to the backend)
                want_order = ('backend', 'fin') if ss['via'] == 'nginx' else ('client', 'rst')
                first = 'backend' if bf['frame'] < ff['frame'] else 'client'
                if (first, ss['proxyClose']['backendLegClosedWith']) != want_order:
                    refuse(f'{ss["tag"]}: {ss["via"]} closed the {first} leg first, the backend leg with a '
                           f'{ss["proxyClose"]["backendLegClosedWith"]}: not as the description says')
                if ss['via'] == 'haproxy' and ss.get('haproxyLog'):
                    ss['proxyClose']['haproxyTermination'] = ss['haproxyLog']['termination']
            else:
                if not ss['repliesOk'] or ss['closeCode'] not in (1000, 1001) or not ss['clean']:
                    refuse(f'{ss["tag"]}: replies ok {ss["repliesOk"]}, close {ss["closeCode"]}, clean {ss["clean"]}')
        n_nginx_idle = sum(1 for ss in idle_proxied if ss['via'] == 'nginx')
        if len(nginx_timeouts) != n_nginx_idle:
            refuse(f'nginx logged {len(nginx_timeouts)} upgraded-connection timeouts, {n_nginx_idle} idle nginx sessions')
        other = [l for l in nginx_errors if 'while proxying upgraded connection' not in l]
        if other:
            refuse(f'nginx logged other errors: {other}')

    if problems:
        for p in problems:
            print(f'x28w-meta: {a.scenario}: {p}', file=sys.stderr)
        sys.exit(1)

    # the meta
    switch_time = {}
    for ss in sessions:
        for leg in ss['_legs']:
            if leg['resps']:
                switch_time[addr(leg['client'])] = leg['resps'][0]['t']
        del ss['_legs']
    meta = {'scenario': a.scenario, 'software': a.software}
    facts = {
        'packets': npackets, 'connections': len(streams),
        'webSocketSessions': len(sessions),
        'webSocketConnections': sum(len(ss['legs']) for ss in sessions),
        'plainHttpConnections': len(plain_streams),
        'plainHttpRequestsOnWire': sum(len(s['reqs']) for s in plain_streams),
        'plainClients': plain,
        'resets': rst_facts,
        'nginxUpgradedTimeouts': nginx_timeouts,
        'sessions': sessions,
    }
    if a.mode == 'healthy':
        meta['description'] = a.description or DESC_HEALTHY
        if rst_facts:
            meta['description'] += (f' HAProxy reset {len(rst_facts)} of its pooled backend connection{"s" if len(rst_facts) > 1 else ""} '
                                    f'{", ".join(str(r["idleBefore"]) for r in rst_facts)} s after its last response, while it was idle, '
                                    'no request on it (HAProxy\'s own handling of idle server connections; no client saw an error): facts.resets.')
        meta['silent'] = True
        meta['expect'] = []
        meta['notes'] = NOTES_HEALTHY + (' ' + a.notes if a.notes else '')
        # each WebSocket leg's time from its 101 to its first FIN (the server's, after the closing handshake)
        facts['upgradeToFirstFin'] = {}
        for ss in sessions:
            for lf in ss['legs']:
                if lf['firstFin']:
                    facts['upgradeToFirstFin'].setdefault(lf['server'], []).append(
                        {'client': lf['client'], 'seconds': round(lf['firstFin']['t'] - switch_time[lf['client']], 3), 'by': lf['firstFin']['side']})
    else:
        idle_proxied = [ss for ss in sessions if ss['idleEnd'] and ss['via'] != 'direct']
        closes = [ss['proxyClose'][k] for ss in idle_proxied for k in ('clientLegIdle', 'backendLegIdle')]
        meta['description'] = DESC_TIMEOUT.format(
            n=len(idle_proxied), lo=min(closes), hi=max(closes),
            nn=sum(1 for ss in idle_proxied if ss['via'] == 'nginx'), nh=sum(1 for ss in idle_proxied if ss['via'] == 'haproxy'),
            term=', '.join(sorted({ss['proxyClose'].get('haproxyTermination', '') for ss in idle_proxied if ss['via'] == 'haproxy'})))
        meta['silent'] = False
        expect = []
        for proxy_addr, proxy in sorted(PROXIES.items()):
            mine = [ss for ss in idle_proxied if ss['via'] == proxy]
            if not mine:
                continue
            idles = [ss['proxyClose']['clientLegIdle'] for ss in mine]
            said = ((' and nginx "upstream timed out (110: Connection timed out) while proxying upgraded connection" (info)' if proxy == 'nginx'
                     else ' and HAProxy termination state ' + '/'.join(sorted({ss['proxyClose'].get('haproxyTermination', '?') for ss in mine}))))
            # One expectation per tunnel: the client leg the proxy closed, its upstream leg closed at the same moment.
            for ss in mine:
                pc = ss['proxyClose']
                e = {'kind': a.expect_kind, 'client': ss['legs'][0]['client'], 'server': addr(proxy_addr),
                     'notes': (f'{ss["tag"]}: {proxy} closed this idle WebSocket {pc["clientLegIdle"]} s after its last frame '
                               f'(one of {len(mine)}, {min(idles)}-{max(idles)} s; configured {a.timeout:g} s: ' +
                               ('proxy_read_timeout' if proxy == 'nginx' else 'timeout tunnel') +
                               '), with a FIN to the client and at the same moment a ' + ('FIN' if proxy == 'nginx' else 'RST') +
                               ' to the backend, no close frame; the client logged close code 1006' + said),
                     'evidence': {'session': ss['tag'], 'backendLeg': ss['legs'][-1]['client'] + ' -> ' + ss['legs'][-1]['server'],
                                  'lastWsFrame': pc['lastWsFrame'], 'clientLegFinFrame': pc['clientLegFinFrame'],
                                  'backendLegCloseFrame': pc['backendLegFinFrame'], 'backendLegClosedWith': pc['backendLegClosedWith'],
                                  'idle': pc['clientLegIdle']}}
                if a.known_miss:
                    e['knownMiss'] = a.known_miss
                expect.append(e)
        meta['configured'] = {'tunnelIdleTimeout': a.timeout}
        for ss in sessions:
            if not (ss['idleEnd'] and ss['via'] != 'direct'):
                for lf in ss['legs']:
                    expect.append({'kind': None, 'client': lf['client'], 'server': lf['server'],
                                   'notes': f'{ss["tag"]}: {"pings every second" if "pingevery" in ss["plan"] else "direct, idle 5 s"}, ended by a closing handshake ({ss["closeCode"]})'})
        meta['expect'] = expect
        meta['notes'] = NOTES_TIMEOUT
    meta['facts'] = facts
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x28w-meta: {a.scenario}: {len(sessions)} sessions, {len(streams)} connections, {npackets} packets: ok')


DESC_HEALTHY = (
    'WebSocket traffic mixed with ordinary keep-alive HTTP, on one namespace\'s loopback with both legs of each proxy '
    'captured. Servers on 127.0.0.3: a Node 20 http server whose WebSocket upgrade is written by hand on the \'upgrade\' '
    'event (Sec-WebSocket-Accept, unmasked server frames; :9001) and aiohttp 3.8\'s web server (web.WebSocketResponse; '
    ':9002); both echo text and binary messages, answer pings, and start the closing handshake themselves when asked. '
    'nginx 1.22 on 127.0.0.2:8080 proxies /node/ws and /py/ws as WebSockets (proxy_http_version 1.1, proxy_set_header '
    'Upgrade $http_upgrade and Connection "upgrade", proxy_read_timeout 300s) and /node/ and /py/ as plain HTTP through '
    'upstream keepalive pools; HAProxy 2.6 on 127.0.0.2:8081 (mode http, timeout tunnel 300s). Ten WebSocket sessions at '
    'once, four direct, four through nginx, two through HAProxy, from a hand-written Node client (masked frames) and '
    'autobahn 22.7\'s asyncio client: each an upgrade (GET with Upgrade: websocket, answered 101 Switching Protocols on '
    'every leg), text and binary messages (up to 70000 bytes), pings answered by pongs, silences of 0.5-3 s, and a closing '
    'handshake started by the client (1000) or the server (1000, 1001), the server\'s TCP close first. Four Node '
    'http.Agent keep-alive clients send 6-7 requests each (GET and POST, 0.2-2.5 s apart) to the same servers on other '
    'connections, directly and through both proxies. Everything works: conncheck must report nothing.')
NOTES_HEALTHY = (
    'Checked by samples/record/programs/x28w-meta.py against the clients\' logs (every echo and pong received, close '
    'code 1000/1001 with a clean closing handshake), the servers\' logs, nginx\'s error log (no error) and HAProxy\'s log '
    '(termination state ---- for every session). A session\'s legs are paired in facts.sessions by their '
    'Sec-WebSocket-Key; each leg lists its upgrade request and 101 frames, its WebSocket frames by side and opcode and '
    'its longest silence.')
DESC_TIMEOUT = (
    'Idle WebSockets closed by a proxy\'s idle timeout ("my websocket disconnects every 60 seconds"), 3 s here. On one '
    'namespace\'s loopback, both legs captured: nginx 1.22 on 127.0.0.2:8080 (proxy_http_version 1.1, Upgrade and '
    'Connection "upgrade" headers, proxy_read_timeout 3s) and HAProxy 2.6 on 127.0.0.2:8081 (mode http, timeout tunnel 3s, '
    'timeout client and server 30s) in front of a hand-written Node 20 WebSocket server (127.0.0.3:9001) and aiohttp 3.8\'s '
    '(127.0.0.3:9002). {n} sessions (hand-written Node client and autobahn 22.7\'s asyncio client, no keep-alive pings) '
    'exchange a message or two and then stay silent: {lo}-{hi} s after the last WebSocket frame on either leg the proxy '
    'closes both legs at once, without a close frame (nginx: FIN to the backend, then FIN to the client; HAProxy: FIN to '
    'the client, RST to the backend); the clients report close code 1006 (abnormal closure). nginx logged "upstream timed out (110: Connection timed out) while proxying upgraded connection" '
    'for each of its {nn}; HAProxy logged its {nh} with termination state {term}. Two sessions that ping every second '
    '(through each proxy) and one session straight to the server that idles 5 s outlive the timeout and end with a '
    'closing handshake. Five plain keep-alive requests through nginx on another connection. conncheck should tell each '
    'proxy\'s idle timeout for tunnels (3 s) from its closes.')
NOTES_TIMEOUT = (
    'Checked by samples/record/programs/x28w-meta.py against the clients\' logs (1006 for each idle proxied session, a '
    'clean close for the others), the backend servers\' logs (the Node server logs 1006 after nginx\'s FIN and ECONNRESET '
    'after HAProxy\'s RST; aiohttp 1006 after either: facts.sessions[].proxyClose.backendLogged), nginx\'s error log (one "while proxying upgraded connection" timeout per nginx idle '
    'session) and HAProxy\'s log (termination state); the proxy sends the first FIN on both legs of each idle session, '
    '3 s after the last frame on either leg (facts.sessions[].proxyClose). A correct finding would name the proxy, '
    'the inferred tunnel idle timeout (3 s: both legs closed by the proxy, FIN to the client and FIN to the backend, '
    'within milliseconds of each other, a constant time after the last frame on either leg, on several tunnels, and no '
    'close frame before them) and the remedy: raise proxy_read_timeout / timeout tunnel, or have the application send '
    'pings (or WebSocket-level heartbeats) more often than the timeout.')


if __name__ == '__main__':
    main()
