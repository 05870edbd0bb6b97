"""x34-meta: checks a healthy-h2-server-idle-closes recording against the programs' logs and writes its meta.json,
or refuses (exit 1) when the capture does not show what the scenario claims.

  x34-meta.py SCENARIO --capture PCAP --meta OUT --work DIR --software S...

The TLS layer is read with programs/x32-meta.py's reader (imported, unchanged; its ports set to 8444 and 9444):
TLS records parsed from the reassembled TCP byte streams (outer content type and length, the frame where each
ends), each encrypted record identified by decrypting with the clients' key log ($WORK/keys.log, made at record
time, never committed). A second tshark pass with the key log gives the HTTP/2 frames of every packet (type,
stream, flags, GOAWAY error code and last stream id, :path, :status). Per connection it finds who signalled the
close first, nginx's GOAWAY and its delay after the last response, and everything the client sent after nginx's
GOAWAY (records, their decrypted HTTP/2 frames or alerts, its FIN / RST), timed against nginx's close_notify
and FIN. It refuses when a request was not answered (client logs, nginx's access log, the capture), when a
HEADERS frame went out on a connection after nginx's GOAWAY, when a client reused a connection across the idle
time, or when nginx's idle close did not come ~2 s after the last response. Frame numbers are the committed
capture's (1-based).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('x32meta', os.path.join(HERE, 'x32-meta.py'))
x32 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x32)
x32.PORTS = (8444, 9444)
Refuse = x32.Refuse

H2T = {0: 'DATA', 1: 'HEADERS', 2: 'PRIORITY', 3: 'RST_STREAM', 4: 'SETTINGS', 5: 'PUSH_PROMISE', 6: 'PING',
       7: 'GOAWAY', 8: 'WINDOW_UPDATE', 9: 'CONTINUATION'}
IDLE = 2.0


def r4(x):
    return round(x, 4)


def ms(x):
    return f'{x * 1000:+.1f} ms'


def h2frames(capture, keys):
    """frame number -> list of HTTP/2 frames (dicts) in it, in order."""
    cmd = ['tshark', '-r', capture, '-n', '-d', 'tcp.port==8444,tls', '-d', 'tcp.port==9444,tls',
           '-o', f'tls.keylog_file:{keys}', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a',
           '-E', 'aggregator=|', '-e', 'frame.number', '-e', 'http2.type', '-e', 'http2.streamid', '-e', 'http2.flags',
           '-e', 'http2.goaway.error', '-e', 'http2.goaway.last_stream_id', '-e', 'http2.headers.path',
           '-e', 'http2.headers.status', '-Y', 'http2']
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        p = line.split('\t') + [''] * 8
        types = [int(x) for x in p[1].split('|') if x]
        sids = [int(x) for x in p[2].split('|') if x]
        flags = [int(x, 16) for x in p[3].split('|') if x]
        gerr = [int(x, 0) for x in p[4].split('|') if x]
        glast = [int(x) for x in p[5].split('|') if x]
        fr = []
        gi = 0
        for i, t in enumerate(types):
            f = {'type': H2T.get(t, str(t)), 'stream': sids[i] if i < len(sids) else None,
                 'flags': flags[i] if i < len(flags) else 0}
            if t == 7 and gi < len(gerr):
                f['error'] = gerr[gi]
                f['lastStreamId'] = glast[gi] if gi < len(glast) else None
                gi += 1
            if t == 4 and f['flags'] & 1:
                f['type'] = 'SETTINGS ACK'
            if t == 6 and f['flags'] & 1:
                f['type'] = 'PING ACK'
            fr.append(f)
        res[int(p[0])] = {'frames': fr, 'paths': [x for x in p[6].split('|') if x],
                          'status': [x for x in p[7].split('|') if x]}
    return res


read_jsonl = x32.read_jsonl
url_id = x32.url_id


def load_logs(work):
    """client port -> {'program', 'phase', 'requests': [ids], 'ok': bool, 'log': ...}"""
    ports = {}
    problems = []

    def add(port, program, phase, rid, ok, log):
        e = ports.setdefault(port, {'program': program, 'phase': phase, 'requests': [], 'ok': True, 'logs': []})
        e['requests'].append(rid)
        e['ok'] = e['ok'] and ok
        e['logs'].append(log)
    for m in read_jsonl(os.path.join(work, 'go-client.log')):
        if m.get('kind') != 'request':
            continue
        port = int(m['localPort'].rsplit(':', 1)[1]) if m.get('localPort') else None
        ok = m.get('status') == 200 and not m.get('error') and m.get('proto') == 'HTTP/2.0'
        if m['phase'] == 'afterIdle' and m.get('reused'):
            problems.append(f"go {m['id']}: the request after the idle time reused a connection")
        add(port, 'go', m['phase'], m['id'], ok, m)
    sessions = {}
    for m in read_jsonl(os.path.join(work, 'node-client.log')):
        if m.get('kind') == 'session':
            sessions[m['localPort']] = m
    for m in read_jsonl(os.path.join(work, 'node-client.log')):
        if m.get('kind') != 'request':
            continue
        phase = 'first' if m['session'].endswith('-a') else 'afterIdle'
        add(m['localPort'], 'node', phase, url_id(m['url']), m.get('status') == 200 and not m.get('error'), m)
    for p, s in sessions.items():
        if p in ports:
            ports[p]['session'] = s
    for m in read_jsonl(os.path.join(work, 'curl.log')):
        cu = m['curl']
        add(cu['local_port'], 'curl', 'only', url_id(cu['url_effective']),
            cu['exitcode'] == 0 and cu['response_code'] == 200 and str(cu.get('http_version')) == '2', cu)
    nginx = read_jsonl(os.path.join(work, 'nginx-access.log'))
    return ports, nginx, problems


def analyse(c, h2):
    """The close of one connection."""
    pk = c.packets
    recs = c.records

    def h2of(r):
        return h2.get(r['frame'], {}).get('frames', []) if r['what'] == 'app-data' else []
    sgo = [r for r in recs if r['dir'] == 's' and r['what'] == 'app-data' and any(f['type'] == 'GOAWAY' for f in h2of(r))]
    cgo = [r for r in recs if r['dir'] == 'c' and r['what'] == 'app-data' and any(f['type'] == 'GOAWAY' for f in h2of(r))]
    alerts = {d: [r for r in recs if r['dir'] == d and r['what'] == 'alert'] for d in 'cs'}
    fin = {d: next(((fr, t) for fr, t, dd, fl, ln in pk if dd == d and fl & 0x01), None) for d in 'cs'}
    rst = {d: next(((fr, t) for fr, t, dd, fl, ln in pk if dd == d and fl & 0x04), None) for d in 'cs'}
    signals = []
    for d in 'cs':
        who = 'client' if d == 'c' else 'server'
        if (sgo if d == 's' else cgo):
            g = (sgo if d == 's' else cgo)[0]
            signals.append((g['frame'], who, 'GOAWAY'))
        if alerts[d]:
            signals.append((alerts[d][0]['frame'], who, 'close_notify' if alerts[d][0]['alerts'] in (['0'], ['close_notify']) else 'alert'))
        if fin[d]:
            signals.append((fin[d][0], who, 'FIN'))
        if rst[d]:
            signals.append((rst[d][0], who, 'RST'))
    signals.sort()
    a = {'signals': [f'{w} {k} (frame {f})' for f, w, k in signals],
         'firstCloser': signals[0][1] if signals else None, 'firstSignal': signals[0][2] if signals else None}
    heads = [r for r in recs if r['dir'] == 'c' and r['what'] == 'app-data' and any(f['type'] == 'HEADERS' for f in h2of(r))]
    a['requestFrames'] = [r['frame'] for r in heads]
    a['responseFrames'] = [r['frame'] for r in recs if r['dir'] == 's' and r['what'] == 'app-data'
                           and any(f['type'] == 'HEADERS' for f in h2of(r))]
    a['statuses'] = [s for r in recs if r['dir'] == 's' and r['what'] == 'app-data' for s in h2.get(r['frame'], {}).get('status', [])]
    a['paths'] = [p for r in heads for p in h2.get(r['frame'], {}).get('paths', [])]
    if sgo:
        g = sgo[0]
        gf = [f for f in h2of(g) if f['type'] == 'GOAWAY'][0]
        before = [r for r in recs if r['frame'] < g['frame'] and r['what'] in ('app-data', 'ticket')]
        last_resp = [r for r in before if r['dir'] == 's' and any(f['type'] in ('DATA', 'HEADERS') for f in h2of(r))]
        snot = next((r for r in alerts['s'] if r['frame'] > g['frame']), None)
        a['server'] = {'goawayFrame': g['frame'], 'goawayRecordLength': g['length'], 'goawayError': gf.get('error'),
                       'goawayLastStreamId': gf.get('lastStreamId'),
                       'goawayAfterLastResponse': r4(g['t'] - last_resp[-1]['t']) if last_resp else None,
                       'lastResponseFrame': last_resp[-1]['frame'] if last_resp else None,
                       'goawayAfterLastRecord': r4(g['t'] - before[-1]['t']) if before else None,
                       'closeNotifyFrame': snot['frame'] if snot else None, 'closeNotifyRecordLength': snot['length'] if snot else None,
                       'closeNotifyAfterGoaway': r4(snot['t'] - g['t']) if snot else None,
                       'finFrame': fin['s'][0] if fin['s'] else None,
                       'finAfterGoaway': r4(fin['s'][1] - g['t']) if fin['s'] else None,
                       'rstFrame': rst['s'][0] if rst['s'] else None}
        # what the client sent after the server's GOAWAY
        after = []
        fin_t = fin['s'][1] if fin['s'] else None
        crecs = {r['frame']: [] for r in recs}
        for r in recs:
            crecs[r['frame']].append(r)
        for fr, t, d, fl, ln in pk:
            if d != 'c' or fr <= g['frame']:
                continue
            items = []
            for r in crecs.get(fr, []):
                if r['dir'] != 'c':
                    continue
                inner = {'app-data': 'application_data', 'alert': 'alert'}.get(r['what'], r['what'])
                desc = {'record': 'application_data' if r['outer'] == 23 else x32.CT.get(r['outer']), 'recordLength': r['length'],
                        'inner': inner}
                if r['what'] == 'app-data':
                    desc['http2'] = [dict(f) for f in h2of(r)]
                if r['what'] == 'alert':
                    desc['alert'] = 'close_notify' if r['alerts'] in (['0'], ['close_notify']) else ','.join(r['alerts'])
                items.append(desc)
            if fl & 0x01:
                items.append({'tcp': 'FIN'})
            if fl & 0x04:
                items.append({'tcp': 'RST'})
            if ln and not any('record' in i for i in items):
                items.append({'tcp': f'{ln} bytes (part of a record)'})
            if items:
                after.append({'frame': fr, 'afterServerGoaway': r4(t - g['t']),
                              'afterServerFin': r4(t - fin_t) if fin_t else None, 'sent': items})
        a['clientAfterServerGoaway'] = after
        a['headersAfterServerGoaway'] = [x['frame'] for x in after for i in x['sent']
                                         if any(f['type'] == 'HEADERS' for f in i.get('http2', []))]
    return a


def describe_after(after):
    parts = []
    for x in after:
        for i in x['sent']:
            if 'record' in i:
                if i['inner'] == 'alert':
                    what = f"close_notify alert ({i['record']} record, {i['recordLength']} bytes)" if i['record'] != 'alert' else \
                        f"close_notify alert (alert record, {i['recordLength']} bytes)"
                elif i.get('http2'):
                    fs = ', '.join(f['type'] + (f" (error {f['error']}, last_stream_id {f['lastStreamId']})" if f['type'] == 'GOAWAY' else '')
                                   for f in i['http2'])
                    what = f"HTTP/2 {fs} (application_data record, {i['recordLength']} bytes)"
                else:
                    what = f"{i['record']} record, {i['recordLength']} bytes ({i['inner']})"
            else:
                what = i['tcp']
            t = f"{ms(x['afterServerFin'])} from the server's FIN" if x['afterServerFin'] is not None else f"{ms(x['afterServerGoaway'])} from the server's GOAWAY"
            parts.append(f"{what}, frame {x['frame']}, {t}")
    return '; '.join(parts) if parts else 'nothing'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--software', nargs='+', default=[])
    a = ap.parse_args()
    try:
        write(a)
    except Refuse as e:
        print(f'x34-meta: {a.scenario}: refused: {e}', file=sys.stderr)
        return 1
    return 0


def write(a):
    keys = os.path.join(a.work, 'keys.log')
    conns, times = x32.read_capture(a.capture, keys)
    h2 = h2frames(a.capture, keys)
    ports, nginx, problems = load_logs(a.work)
    ng = defaultdict(list)
    for n in nginx:
        ng[n['client']].append(n)
    facts = []
    seen_ports = set()
    for c in sorted(conns.values(), key=lambda c: c.packets[0][0]):
        port = int(c.client.split(':')[1])
        seen_ports.add(port)
        lg = ports.get(port)
        if lg is None:
            problems.append(f'{c.client}: no client log names this connection')
            continue
        an = analyse(c, h2)
        tls = c.hello.get('tlsVersion')
        spt = int(c.server.split(':')[1])
        if (spt == 8444 and tls != '1.3') or (spt == 9444 and tls != '1.2'):
            problems.append(f'{c.client}: TLS {tls} on {c.server}')
        ids = [url_id(p) for p in an['paths']]
        if sorted(ids) != sorted(lg['requests']):
            problems.append(f"{c.client}: requests in the capture {ids} != the {lg['program']} log's {lg['requests']}")
        if not lg['ok']:
            problems.append(f"{c.client}: the {lg['program']} log shows a failed request")
        if an['statuses'] != ['200'] * len(lg['requests']):
            problems.append(f"{c.client}: statuses in the capture {an['statuses']}")
        nx = ng.get(c.client, [])
        if sorted(url_id(n['request']) for n in nx) != sorted(lg['requests']) or any(n['status'] != 200 for n in nx):
            problems.append(f'{c.client}: nginx access log does not show every request answered 200: {nx}')
        idle_close = lg['phase'] == 'first'
        if idle_close:
            s = an.get('server')
            if not s:
                problems.append(f'{c.client}: no GOAWAY from nginx after the idle time')
            else:
                if an['firstCloser'] != 'server' or an['firstSignal'] != 'GOAWAY':
                    problems.append(f"{c.client}: the first close signal is not nginx's GOAWAY: {an['signals']}")
                if s['goawayError'] != 0:
                    problems.append(f"{c.client}: nginx's GOAWAY error {s['goawayError']}")
                if s['goawayAfterLastResponse'] is None or abs(s['goawayAfterLastResponse'] - IDLE) > 0.25:
                    problems.append(f"{c.client}: nginx's GOAWAY {s['goawayAfterLastResponse']} s after the last response")
                if s['finFrame'] is None:
                    problems.append(f"{c.client}: no FIN from nginx")
                if an['headersAfterServerGoaway']:
                    problems.append(f"{c.client}: HEADERS after nginx's GOAWAY in frames {an['headersAfterServerGoaway']}")
            if lg['program'] == 'node':
                ses = lg.get('session') or {}
                evs = [e['event'] for e in ses.get('events', [])]
                if 'goaway' not in evs or not ses.get('goawayBeforeNext'):
                    problems.append(f'{c.client}: Node did not log the GOAWAY before its next request: {evs}')
        else:
            if an['firstCloser'] != 'client':
                problems.append(f"{c.client}: {lg['program']} {lg['phase']} connection not closed by the client first: {an['signals']}")
        facts.append((c, lg, an, tls))
    for p, lg in ports.items():
        if p not in seen_ports:
            problems.append(f"port {p} ({lg['program']}): in the log but not in the capture")
    want = {'go': 18, 'node': 18, 'curl': 4}
    got = defaultdict(int)
    for lg in ports.values():
        got[lg['program']] += len(lg['requests'])
    if dict(got) != want:
        problems.append(f'request counts {dict(got)} != {want}')
    if len(nginx) != sum(want.values()):
        problems.append(f'nginx logged {len(nginx)} requests')
    if problems:
        raise Refuse('; '.join(problems[:8]))

    # ---- the meta
    HOW = {('go', 'first'): "Go net/http (ForceAttemptHTTP2): 2 GETs on one HTTP/2 connection, then 3.5 s idle",
           ('go', 'afterIdle'): "Go net/http: the GET after the 3.5 s idle time, on a new connection (the transport had dropped the "
                                "one nginx closed), then CloseIdleConnections()",
           ('node', 'first'): "Node http2.connect session: 2 GETs, then 3.5 s idle",
           ('node', 'afterIdle'): "Node http2.connect: a new session for the GET after the idle time, then session.close()",
           ('curl', 'only'): "curl --http2: 2 URLs on one connection, then curl exits"}
    expect = []
    groups = defaultdict(list)
    for c, lg, an, tls in facts:
        n = len(lg['requests'])
        head = (f"{HOW[(lg['program'], lg['phase'])]}; TLS {tls}, ALPN h2; {n} request(s) (HEADERS in frames "
                f"{', '.join(map(str, an['requestFrames']))}), each answered 200 (response HEADERS in frames "
                f"{', '.join(map(str, an['responseFrames']))}). Close signals in order: {'; '.join(an['signals'])}.")
        ev = {'program': lg['program'], 'phase': lg['phase'], 'tlsVersion': tls, 'requestFrames': an['requestFrames'],
              'responseFrames': an['responseFrames'], 'closeSignals': an['signals'], 'firstCloser': an['firstCloser']}
        if 'server' in an:
            s = an['server']
            after = an['clientAfterServerGoaway']
            d = describe_after(after)
            body = (f" nginx closed the idle connection: GOAWAY (NO_ERROR, last_stream_id {s['goawayLastStreamId']}; a "
                    f"{s['goawayRecordLength']}-byte application_data record, frame {s['goawayFrame']}) {s['goawayAfterLastResponse']} s "
                    f"after the last response (frame {s['lastResponseFrame']}), its close_notify "
                    f"({s['closeNotifyRecordLength']}-byte alert record, frame {s['closeNotifyFrame']}, {ms(s['closeNotifyAfterGoaway'])} "
                    f"after the GOAWAY) and its FIN (frame {s['finFrame']}, {ms(s['finAfterGoaway'])} after the GOAWAY)"
                    + (f", then a RST (frame {s['rstFrame']})" if s['rstFrame'] else '') +
                    f". The client sent after nginx's GOAWAY: {d}. No request (HEADERS) after the GOAWAY"
                    + ("; the client's next request went on a new connection." if lg['program'] in ('go', 'node') else '.')
                    + (" nginx's RST answers client records that arrived after nginx had closed its socket: a late graceful "
                       "close, not a failure." if s['rstFrame'] else ''))
            ev.update({'server': s, 'clientAfterServerGoaway': after})
            groups[(lg['program'], c.server)].append((s, after, d))
        else:
            body = ' The client closed it itself (no idle close by nginx).'
        expect.append({'kind': None, 'client': c.client, 'server': c.server, 'notes': head + body, 'evidence': ev})

    def pattern(after):
        out = []
        for x in after:
            for i in x['sent']:
                if 'record' in i:
                    if i['inner'] == 'alert':
                        out.append(f"close_notify({i['recordLength']})")
                    else:
                        out.append('+'.join(f['type'] for f in i.get('http2', [])) + f"({i['recordLength']})")
                else:
                    out.append(i['tcp'])
            out[-1] += ' after-server-FIN' if (x['afterServerFin'] or -1) > 0 else ''
        return ', '.join(out) or 'nothing'
    summary = {}
    for (prog, srv), items in sorted(groups.items()):
        pats = defaultdict(int)
        for s, after, d in items:
            pats[pattern(after) + ('; server RST' if s['rstFrame'] else '')] += 1
        summary[f'{prog} -> {srv}'] = {
            'connections': len(items),
            'serverGoawayRecordLength': sorted({s['goawayRecordLength'] for s, _, _ in items}),
            'serverCloseNotifyRecordLength': sorted({s['closeNotifyRecordLength'] for s, _, _ in items}),
            'goawayAfterLastResponseSeconds': [min(s['goawayAfterLastResponse'] for s, _, _ in items),
                                               max(s['goawayAfterLastResponse'] for s, _, _ in items)],
            'serverFinAfterGoawayMs': [round(min(s['finAfterGoaway'] for s, _, _ in items) * 1000, 2),
                                       round(max(s['finAfterGoaway'] for s, _, _ in items) * 1000, 2)],
            'clientAfterServerGoaway': dict(pats)}
    ptxt = '; '.join(f"{k}: " + ', '.join(f"{n}x [{p}]" for p, n in v['clientAfterServerGoaway'].items()) for k, v in summary.items())
    meta = {
        'scenario': a.scenario,
        'software': a.software,
        'description': (
            "HTTP/2 over TLS, healthy, on one network namespace's loopback: nginx 1.22 (OpenSSL 3.0, a throwaway self-signed ECDSA "
            "certificate, return 200 with a 3-byte body) listens with `ssl http2` on 127.0.0.2:8444 (TLS 1.3) and 127.0.0.2:9444 (TLS 1.2 "
            "only), keepalive_timeout 2s (http2_idle_timeout 2s is obsolete in 1.22 and only warned about): an HTTP/2 connection idle for "
            "2 s gets nginx's GOAWAY (NO_ERROR), close_notify and FIN. Clients from 127.0.0.1, at once, only the client side captured: "
            "(a) Go 1.19 net/http, 3 transports per port: 2 GETs, 3.5 s idle (nginx closes after 2 s), a GET on a new connection, "
            "CloseIdleConnections(); (b) Node 20 http2.connect, 3 sessions per port: 2 GETs, 3.5 s idle, then a new session for one "
            "more GET, closed by session.close(); (c) curl 7.88 --http2, 2 URLs on one connection per port, closed by curl. Every "
            "request is answered 200, and no client sends a request on a connection after nginx's GOAWAY."),
        'silent': True,
        'expect': expect,
        'notes': (
            "What each client sent after nginx's idle close (GOAWAY, close_notify, FIN within ~1 ms), per client and port (record "
            "lengths in bytes; 'after-server-FIN' marks packets that left after nginx's FIN): " + ptxt + ". "
            "Go's bundled HTTP/2 transport answers with its close_notify only (no GOAWAY of its own), Node 20 (nghttp2) with a GOAWAY "
            "of its own (NO_ERROR, last_stream_id 0) and, when still in time, its close_notify and FIN; when the client's records reach "
            "nginx after nginx has closed its socket, the kernel answers with a RST: client data after the server's FIN and a server RST, "
            "which to a reader that cannot decrypt looks like a request sent into a closing connection (a keep-alive race) but is only "
            "the client's own graceful close: no HEADERS frame follows nginx's GOAWAY, and the next request of Go and Node goes on a "
            "new connection. curl closes its own connections with a FIN after its last response (no GOAWAY, no close_notify). Frame "
            "numbers are this capture's (1-based); records were identified by decrypting with the clients' key log at record time "
            "(not committed)."),
        'facts': {'perClientAndPort': summary},
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(json.dumps(summary, indent=1))


if __name__ == '__main__':
    sys.exit(main())
