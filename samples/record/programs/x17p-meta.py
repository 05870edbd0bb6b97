#!/usr/bin/env python3
"""Round-17p meta writer for the layer-4 (TCP-mode) proxy samples (keepalive-race-haproxy-tcp,
keepalive-race-nginx-stream): reads the capture (both legs: client <-> proxy on PROXY, proxy <->
backend on BACKEND) with tshark, rebuilds every connection, pairs each client-leg connection with
the backend-leg connection that carried its bytes (same request URIs, every URI is unique), and
checks all of it against the clients' logs (x17p-node-lanes.js, x17p-requests-lanes.py), the
backend's log (x17p-node-server.js) and the proxy's log; writes samples/<scenario>.meta.json only
when they agree. Exit 1 (no meta) when they disagree or when fewer than --need-races client-leg
connections raced.

Usage: x17p-meta.py SCENARIO --capture PCAP --meta OUT --proxy 10.99.0.2:8080 --backend 127.0.0.3:9001
         --proxy-kind haproxy|nginx --client-log F --backend-log F --proxy-log F [--error-log F]
         --configured JSON --configured-notes TEXT --description TEXT --software S... [--need-races N]
         [--tcpdump-log F]

On the client leg, a race is a connection on which the client sent a request after it had been
idle and after (or just as) the proxy's idle timeout closed it: "crossing" when the request does
not acknowledge the proxy's FIN (it left the client before the FIN arrived there), "stale-reuse"
when it does, "closed-on-arrival" when no FIN came before it but the proxy closed (FIN or RST)
within 5 ms with the request unanswered. Every race must match exactly one client error on its
port, its URI must be missing from the backend's log and from the backend leg, and every client
error must be such a race.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys

SETTING = {'haproxy': 'mode tcp `timeout client` / `timeout server`, or `timeout tunnel` when set', 'nginx': 'stream `proxy_timeout`'}
METHOD_RE = re.compile(rb'^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH) (\S+) HTTP/1\.[01]\r\n')
STATUS_RE = re.compile(rb'^HTTP/1\.[01] (\d{3})')


def packets(capture):
    fields = ['frame.number', 'frame.time_epoch', 'frame.time_relative', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
              'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.seq', 'tcp.ack', 'tcp.len', 'tcp.payload']
    cmd = ['tshark', '-r', capture, '-T', 'fields', '-E', 'separator=|', '-o', 'tcp.relative_sequence_numbers:TRUE',
           '-o', 'tcp.analyze_sequence_numbers:TRUE'] + sum((['-e', f] for f in fields), [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    flag = lambda v: v in ('1', 'True')
    rows = []
    for line in out.splitlines():
        n, te, tr, src, sp, dst, dp, syn, ack, fin, rst, seq, acknum, ln, payload = line.split('|')
        rows.append({'frame': int(n), 'epoch': float(te), 't': float(tr), 'src': f'{src}:{sp}', 'dst': f'{dst}:{dp}',
                     'syn': flag(syn), 'ack': flag(ack), 'fin': flag(fin), 'rst': flag(rst), 'seq': int(seq or 0),
                     'acknum': int(acknum or 0), 'len': int(ln or 0),
                     'payload': bytes.fromhex(payload.replace(':', '')) if payload else b''})
    return rows


def connections(rows, server):
    """Connections to SERVER (address:port), in the order of their first packet."""
    conns = {}
    for p in rows:
        if server not in (p['src'], p['dst']):
            continue
        from_server = p['src'] == server
        client = p['dst'] if from_server else p['src']
        c = conns.setdefault(client, {'client': client, 'server': server, 'pk': []})
        p['fromServer'] = from_server
        c['pk'].append(p)
    for c in conns.values():
        c['requests'], c['responses'] = [], []
        c['fin'] = {'server': None, 'client': None}
        c['rst'] = {'server': None, 'client': None}
        seen = set()
        for p in c['pk']:
            side = 'server' if p['fromServer'] else 'client'
            if p['fin'] and c['fin'][side] is None:
                c['fin'][side] = p
            if p['rst'] and c['rst'][side] is None:
                c['rst'][side] = p
            if p['len'] == 0 or (side, p['seq']) in seen:
                continue
            seen.add((side, p['seq']))
            if side == 'client':
                m = METHOD_RE.match(p['payload'])
                if m:
                    c['requests'].append({'method': m.group(1).decode(), 'uri': m.group(2).decode(), 'frame': p['frame'], 't': p['t'],
                                          'epoch': p['epoch'], 'acknum': p['acknum'], 'bytes': p['len'], 'lastT': p['t']})
                elif c['requests']:
                    c['requests'][-1]['bytes'] += p['len']
                    c['requests'][-1]['lastT'] = p['t']
            else:
                m = STATUS_RE.match(p['payload'])
                if m:
                    c['responses'].append({'status': int(m.group(1)), 'frame': p['frame'], 't': p['t'], 'lastT': p['t'],
                                           'keepAlive': (re.search(rb'\r\nKeep-Alive: ([^\r]*)', p['payload'], re.I) or [None, None])[1]})
                elif c['responses']:
                    c['responses'][-1]['lastT'] = p['t']
        c['ka'] = [r['keepAlive'].decode() for r in c['responses'] if r['keepAlive']]
    return list(conns.values())


def read_jsonl(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def fail(msg):
    print(f'x17p-meta: {msg}', file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--proxy', required=True)
    ap.add_argument('--backend', required=True)
    ap.add_argument('--proxy-kind', required=True, choices=['haproxy', 'nginx'])
    ap.add_argument('--client-log', required=True)
    ap.add_argument('--backend-log', required=True)
    ap.add_argument('--proxy-log', required=True)
    ap.add_argument('--error-log')
    ap.add_argument('--tcpdump-log')
    ap.add_argument('--configured', required=True)
    ap.add_argument('--configured-notes', default='')
    ap.add_argument('--description', required=True)
    ap.add_argument('--software', nargs='+', required=True)
    ap.add_argument('--need-races', type=int, default=3)
    a = ap.parse_args()

    rows = packets(a.capture)
    t0 = rows[0]['epoch']
    front = connections(rows, a.proxy)
    back = connections(rows, a.backend)
    clog = read_jsonl(a.client_log)
    blog = read_jsonl(a.backend_log)
    # Requests the backend saw, by URI.
    backend_uris = {e['uri']: e for e in blog if e['event'] == 'request'}
    # Backend leg by URI (each URI is unique).
    back_by_uri = {}
    for b in back:
        for r in b['requests']:
            back_by_uri[r['uri']] = b

    # The proxy's own log, by client port.
    plog = {}
    with open(a.proxy_log) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4 or not re.match(r'^\d+\.\d+$', parts[0]):
                continue
            if a.proxy_kind == 'haproxy':
                # accept-time client backend-source Tw/Tc/Tt bytes-out bytes-in termination-state
                plog[parts[1]] = {'line': line.strip(), 'backendSource': parts[2], 'Tt': int(parts[3].split('/')[2]),
                                  'bytesToClient': int(parts[4]), 'bytesFromClient': int(parts[5]), 'termination': parts[6]}
            else:
                # end-time client upstream status bytes-to-client bytes-from-client session-time connect-time
                plog[parts[1]] = {'line': line.strip(), 'upstream': parts[2], 'status': int(parts[3]), 'bytesToClient': int(parts[4]),
                                  'bytesFromClient': int(parts[5]), 'sessionTime': float(parts[6])}

    client_errors = [e for e in clog if e.get('event') == 'error']
    client_responses = [e for e in clog if e.get('event') == 'response']

    expect, races, clean_notes, idle_closes, reuse_gaps, pairs = [], [], [], [], [], []
    both_leg_deltas = []
    for c in front:
        reqs, resps = c['requests'], c['responses']
        if not reqs:
            fail(f'{c["client"]}: no request on a client-leg connection')
        # The backend-leg connection that carried this connection's bytes.
        b = back_by_uri.get(reqs[0]['uri'])
        if b is None:
            fail(f'{c["client"]}: first request {reqs[0]["uri"]} is not on the backend leg')
        for r in reqs[: len(resps)]:
            if back_by_uri.get(r['uri']) is not b:
                fail(f'{c["client"]}: {r["uri"]} answered but not on backend connection {b["client"]}')
        if len(resps) > len(reqs) or len(reqs) - len(resps) > 1:
            fail(f'{c["client"]}: {len(reqs)} requests, {len(resps)} responses')
        pfin, prst = c['fin']['server'], c['rst']['server']
        pclose = min([p for p in (pfin, prst) if p is not None], key=lambda p: p['t'], default=None)
        bpfin, bprst = b['fin']['client'], b['rst']['client']   # what the proxy sent the backend
        bclose = min([p for p in (bpfin, bprst) if p is not None], key=lambda p: p['t'], default=None)
        if b['fin']['server'] is not None and (bclose is None or b['fin']['server']['t'] < bclose['t']):
            fail(f'{b["client"]}: the backend closed first (its keepAliveTimeout should never fire)')
        last_resp = resps[-1] if resps else None
        for i in range(1, len(resps)):
            reuse_gaps.append(round(reqs[i]['t'] - resps[i - 1]['lastT'], 4))
        plog_e = plog.get(c['client'])
        if plog_e is None:
            fail(f'{c["client"]}: no line in the proxy log')
        pair = {'client': c['client'], 'backendLeg': b['client'], 'requests': len(reqs), 'answered': len(resps)}
        if a.proxy_kind == 'haproxy' and plog_e['backendSource'] != b['client']:
            fail(f'{c["client"]}: HAProxy logs backend source {plog_e["backendSource"]}, the capture pairs {b["client"]}')
        # The proxy's idle close: its first FIN/RST on the client leg, with no request outstanding before it.
        outstanding = reqs[len(resps):]
        if pclose is None:
            fail(f'{c["client"]}: the proxy never closed the client leg')
        idle = round(pclose['t'] - last_resp['lastT'], 4) if last_resp else None
        cclose = min([p for p in (c['fin']['client'], c['rst']['client']) if p is not None], key=lambda p: p['t'], default=None)
        client_closed_first = cclose is not None and cclose['t'] < pclose['t']
        proxy_idle_close = last_resp is not None and not client_closed_first and (not outstanding or outstanding[0]['t'] >= pclose['t'] - 0.005)
        legs = None
        if bclose is not None:
            legs = {'clientLegClose': 'FIN' if pclose is pfin else 'RST', 'clientLegCloseFrame': pclose['frame'],
                    'backendLegClose': '+'.join(k for k, p in (('FIN', bpfin), ('RST', bprst)) if p is not None),
                    'backendLegCloseFrames': [p['frame'] for p in (bpfin, bprst) if p is not None],
                    'backendLegFirstCloseMinusClientLegMs': round((bclose['t'] - pclose['t']) * 1000, 3)}
            if bpfin is not None and bprst is not None:
                legs['backendRstAfterFinMs'] = round((bprst['t'] - bpfin['t']) * 1000, 3)
        if proxy_idle_close:
            idle_closes.append(idle)
            if legs is not None:
                both_leg_deltas.append(legs['backendLegFirstCloseMinusClientLegMs'])
        pair.update({'proxyIdleClose': proxy_idle_close, 'clientClosedFirst': client_closed_first, 'idleBeforeClose': idle, 'closes': legs,
                     'proxyLog': plog_e['line']})
        pairs.append(pair)
        if not outstanding:
            errs = [e for e in client_errors if e.get('port') == int(c['client'].split(':')[1])]
            if errs:
                fail(f'{c["client"]}: client error(s) {errs} on a connection whose requests were all answered')
            clean_notes.append(c['client'])
            expect.append({'kind': None, 'client': c['client'], 'server': a.proxy,
                           'notes': f'{len(reqs)} request(s), all answered' +
                                    (f'; reused after idle gaps {[round(reqs[i]["t"] - resps[i - 1]["lastT"], 4) for i in range(1, len(resps))]} s (server side)' if len(resps) > 1 else '') +
                                    (f'; then the proxy\'s idle close after {idle} s (frame {pclose["frame"]}, {legs["clientLegClose"]}; on the backend leg {b["client"]} {legs["backendLegClose"]}, frames {legs["backendLegCloseFrames"]}); the client closed its side. Clean.'
                                     if proxy_idle_close else
                                     (f'; then the client closed it (frame {cclose["frame"]}, after {round(cclose["t"] - last_resp["lastT"], 4)} s idle), the proxy closed both legs after it. Clean.'
                                      if client_closed_first else '. Clean.'))})
            continue
        r = outstanding[0]
        if last_resp is None:
            fail(f'{c["client"]}: the first request was never answered')
        gap = round(r['t'] - last_resp['lastT'], 4)
        if pfin is not None and pfin['t'] <= r['t']:
            form = 'crossing' if r['acknum'] <= pfin['seq'] else 'stale-reuse'
        elif pclose['t'] - r['t'] <= 0.005:
            form = 'closed-on-arrival'
        else:
            fail(f'{c["client"]}: {r["method"]} {r["uri"]} unanswered, the proxy closed {round(pclose["t"] - r["t"], 4)} s later')
        answer_rst = next((p for p in c['pk'] if p['fromServer'] and p['rst'] and p['t'] >= r['t']), None)
        if r['uri'] in backend_uris or r['uri'] in back_by_uri:
            fail(f'{c["client"]}: raced {r["uri"]} reached the backend')
        port = int(c['client'].split(':')[1])
        errs = [e for e in client_errors if e.get('port') == port and e.get('uri') == r['uri']]
        if len(errs) != 1:
            fail(f'{c["client"]}: raced {r["method"]} {r["uri"]}: {len(errs)} client error(s) logged for it')
        e = errs[0]
        if not e.get('reused'):
            fail(f'{c["client"]}: raced request not on a reused connection by the client log')
        ev = {'form': form, 'method': r['method'], 'uri': r['uri'], 'requestFrame': r['frame'], 'requestBytes': r['bytes'],
              'idempotent': r['method'] in ('GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'),
              'idleSinceResponse': gap, 'proxyIdleClose': idle, 'proxyCloseFrame': pclose['frame'],
              'proxyClose': 'FIN' if pclose is pfin else 'RST',
              'requestAfterProxyCloseMs': round((r['t'] - pclose['t']) * 1000, 3),
              'requestAcksFin': (pfin is not None and r['acknum'] > pfin['seq']),
              'answeredWith': 'RST' if answer_rst is not None else None,
              'rstFrame': answer_rst['frame'] if answer_rst else None,
              'rstAfterRequestMs': round((answer_rst['t'] - r['t']) * 1000, 3) if answer_rst else None,
              'backendLeg': b['client'], 'backendLegClose': legs,
              'clientLib': e['lib'], 'clientError': e.get('error'), 'clientMessage': e.get('message'),
              'clientGapAsked': e.get('gapAsked'), 'retried': False,
              'proxyLog': plog_e['line']}
        races.append(ev)
        where = {'crossing': 'left the client before the proxy\'s idle-timeout FIN reached it (its ACK does not cover the FIN)',
                 'stale-reuse': 'was sent after the proxy\'s idle-timeout FIN had reached the client (its ACK covers the FIN)',
                 'closed-on-arrival': 'reached the proxy just as its idle timeout closed the connection (no FIN before it)'}[form]
        expect.append({'kind': 'keepalive-race', 'client': c['client'], 'server': a.proxy,
                       'notes': f'{r["method"]} {r["uri"]} (frame {r["frame"]}) on a connection the proxy closed after {idle} s idle '
                                f'(last response byte to its close, frame {pclose["frame"]}) {where}; the proxy\'s kernel answered '
                                f'{"RST (frame %d)" % answer_rst["frame"] if answer_rst else "nothing"}; the request never reached the '
                                f'backend (the proxy had closed its backend connection {b["client"]} at the same moment: '
                                f'{legs["backendLegClose"] if legs else "?"}). Client: {e["lib"].split(" (")[0]}, {e.get("error")}; not retried.',
                       'evidence': ev})

    # Every client error is a race, every client response is in the capture.
    raced = {(ev['uri']) for ev in races}
    for e in client_errors:
        if e['uri'] not in raced:
            fail(f'client error not matched by a race in the capture: {e}')
    captured_resp_uris = set()
    for c in front:
        for i, _ in enumerate(c['responses']):
            captured_resp_uris.add(c['requests'][i]['uri'])
    for e in client_responses:
        if e['uri'] not in captured_resp_uris:
            fail(f'client response not in the capture: {e}')
    if len(client_responses) != len(captured_resp_uris):
        fail(f'{len(client_responses)} client responses, {len(captured_resp_uris)} in the capture')
    for b in back:
        if b['fin']['server'] is not None and (b['fin']['client'] is None or b['fin']['server']['t'] < b['fin']['client']['t']) \
                and (b['rst']['client'] is None or b['fin']['server']['t'] < b['rst']['client']['t']):
            fail(f'{b["client"]}: backend closed first')
        expect.append({'kind': None, 'client': b['client'], 'server': a.backend,
                       'notes': f'backend leg ({len(b["requests"])} request(s), all answered): the proxy closed it when its idle timeout fired '
                                f'({"+".join(k for k, p in (("FIN", b["fin"]["client"]), ("RST", b["rst"]["client"])) if p is not None)}); '
                                f'the backend (keepAliveTimeout 10 s) never closed a connection itself. Nothing failed here.'})

    # The proxy's logs agree: one timeout per idle close, none else.
    if a.proxy_kind == 'haproxy':
        timeouts = sum(1 for v in plog.values() if v['termination'] in ('cD', 'sD'))
        by_port = {k: v['termination'] for k, v in plog.items()}
        for p in pairs:
            if p['proxyIdleClose'] != (by_port[p['client']] in ('cD', 'sD')):
                fail(f'{p["client"]}: HAProxy termination {by_port[p["client"]]} but proxyIdleClose {p["proxyIdleClose"]}')
    else:
        timeouts = sum(1 for l in open(a.error_log) if 'timed out' in l)
    if timeouts != len(idle_closes):
        fail(f'the proxy logged {timeouts} timeouts, the capture shows {len(idle_closes)} idle closes')
    if len(races) < a.need_races:
        fail(f'only {len(races)} race(s), {a.need_races} needed')

    configured = json.loads(a.configured)
    median_idle = round(statistics.median(idle_closes), 4)
    ka_values = sorted({v for c in front for v in c['ka']})
    expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': a.proxy,
                   'notes': f'the proxy ({a.proxy_kind}, layer 4) closes idle connections after {median_idle} s '
                            f'({len(idle_closes)} idle closes, {min(idle_closes)}-{max(idle_closes)} s, last response byte to the proxy\'s FIN) '
                            f'while the responses it relays carry the backend\'s Keep-Alive: {", ".join(ka_values)}, and the clients reuse '
                            f'pooled connections after about as long (answered reuses after {min(reuse_gaps) if reuse_gaps else "-"}-{max(reuse_gaps) if reuse_gaps else "-"} s idle, server side; '
                            f'{len(races)} raced). The timer that closes is the proxy\'s ({SETTING[a.proxy_kind]}): raise it above the backend\'s 10 s, '
                            f'or lower the backend\'s keepAliveTimeout well below it (the backend then closes first and the proxy relays its FIN); '
                            f'the backend\'s keepAliveTimeout alone, raised, changes nothing.'})
    errors_by_lib = {}
    for e in client_errors:
        k = f'{e["lib"].split(" (")[0]}: {e.get("error")}'
        errors_by_lib[k] = errors_by_lib.get(k, 0) + 1
    forms = {}
    for ev in races:
        forms[ev['form']] = forms.get(ev['form'], 0) + 1
    backend_close_kinds = {}
    for p in pairs:
        if p['closes'] and p['proxyIdleClose']:
            k = f'client leg {p["closes"]["clientLegClose"]}, backend leg {p["closes"]["backendLegClose"]}'
            backend_close_kinds[k] = backend_close_kinds.get(k, 0) + 1
    tcpdump = None
    if a.tcpdump_log:
        tcpdump = [l.strip() for l in open(a.tcpdump_log) if 'packets' in l]
    proxy_error_log = None
    if a.error_log:
        lines = [l.strip() for l in open(a.error_log) if 'timed out' in l]
        proxy_error_log = {'timedOutLines': len(lines), 'example': lines[0] if lines else None}
    meta = {
        'scenario': a.scenario,
        'description': a.description,
        'software': a.software,
        'configured': configured,
        'configuredNotes': a.configured_notes,
        'captureSide': 'server namespace, all interfaces (tcpdump -i any, Linux cooked v2): the client leg on the delay line\'s tun ccbs, the backend leg on lo',
        'silent': False,
        'facts': {
            'clientLegConnections': len(front),
            'backendLegConnections': len(back),
            'requests': sum(len(c['requests']) for c in front),
            'responses': sum(len(c['responses']) for c in front),
            'races': len(races),
            'raceForms': forms,
            'racedMethods': {m: sum(1 for ev in races if ev['method'] == m) for m in sorted({ev['method'] for ev in races})},
            'proxyIdleCloses': len(idle_closes),
            'proxyIdleCloseMedian': median_idle,
            'proxyIdleCloseRange': [min(idle_closes), max(idle_closes)],
            'reuseGapsAnsweredRange': [min(reuse_gaps), max(reuse_gaps)] if reuse_gaps else None,
            'advertisedKeepAlive': ka_values,
            'howTheProxyCloses': backend_close_kinds,
            'backendLegFirstCloseMinusClientLegMs': {'min': min(both_leg_deltas), 'median': statistics.median(both_leg_deltas), 'max': max(both_leg_deltas)} if both_leg_deltas else None,
            'backendClosedFirst': 0,
            'clientClosedFirst': sum(1 for p in pairs if p['clientClosedFirst']),
            'howTheProxyClosesAfterTheClient': sorted({f'client leg {p["closes"]["clientLegClose"]}, backend leg {p["closes"]["backendLegClose"]}' for p in pairs if p['clientClosedFirst'] and p['closes']}),
            'tcpdump': tcpdump,
        },
        'groundTruth': {
            'clientLog': {'responses': len(client_responses), 'errors': errors_by_lib,
                          'note': 'every error is a raced request on the client leg (same port and URI); none was retried'},
            'backendLog': {'requests': len(backend_uris), 'connectionsSeen': sum(1 for e in blog if e['event'] == 'connection'),
                           'note': 'no raced URI reached the backend; the backend never closed a connection first'},
            'proxyLog': {'lines': len(plog), 'terminations': sorted({v.get('termination') or str(v.get('status')) for v in plog.values()})},
            'proxyErrorLog': proxy_error_log,
            'legs': pairs,
        },
        'observed': {'races': races},
        'expect': expect,
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x17p-meta: {a.scenario}: {len(front)} client-leg connections, {len(races)} races {forms}, '
          f'idle close median {median_idle} s, closes {backend_close_kinds}', file=sys.stderr)


if __name__ == '__main__':
    main()
