"""x35-meta: checks an unanswered-request-tls-late-answers recording against the programs' logs and writes its
meta.json, or refuses (exit 1) when the capture does not show what the scenario claims.

  x35-meta.py SCENARIO --capture PCAP --meta OUT --work DIR --software S...

The TLS layer is read with programs/x32-meta.py's reader (imported, unchanged): TLS records parsed from the
reassembled TCP byte streams (outer content type and length, the frame where each ends), each encrypted record
identified by decrypting with the clients' key log ($WORK/keys.log, made at record time, never committed):
TLS 1.3 NewSessionTicket, alert, HTTP request / response. Per given-up request (the clients' logs: curl's
-w %{json}, x32-requests-client.py's and x35-go-client.go's JSON lines) it finds: the request record; the
client's close after it (close_notify alert, FIN, RST) and its delay, which must match the client's timer; the
server's first application-data record after the request, which must be the late answer (an HTTP 200, decrypted)
after the client's FIN, at the server's delay, with no server close before it; and the client's RST right
after it. The server's log (programs/x35-server.js) must show the request, the client's close read before the
answer, and the answer written without an error. Frame numbers are the committed capture's (1-based).
"""
import argparse
import importlib.util
import json
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('x32meta', os.path.join(HERE, 'x32-meta.py'))
x32 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x32)
x32.PORTS = (8443, 9443)
Refuse = x32.Refuse
r4 = x32.r4

LANES = {
    'curl13': {'letter': 'a', 'timer': 2.0, 'delay': 3.0, 'server': '127.0.0.2:8443', 'cuts': 4,
               'how': 'curl 7.88 --http1.1 --max-time 2 -k, one curl (a fresh connection) per request',
               'timerText': 'curl --max-time 2 (the whole transfer, handshake included)'},
    'requests': {'letter': 'b', 'timer': 1.5, 'delay': 2.5, 'server': '127.0.0.2:9443', 'cuts': 4,
                 'how': 'Python requests Session, timeout=(1, 1.5), verify=False: GET /ok, then GET /slow?ms=2500 on the same connection',
                 'timerText': 'requests timeout=(1, 1.5): the read timeout, 1.5 s without a byte'},
    'go': {'letter': 'c', 'timer': 2.0, 'delay': 3.0, 'server': '127.0.0.2:8443', 'cuts': 4,
           'how': 'Go net/http, http.Client{Timeout: 2s}, HTTP/2 off (TLSNextProto an empty map), a Transport (fresh connection) per request',
           'timerText': 'http.Client Timeout 2 s (the whole exchange, dial and handshake included)'},
    'healthy': {'letter': 'd', 'timer': 5.0, 'delay': 0.8, 'server': '127.0.0.2:8443', 'cuts': 0,
                'how': 'curl --http1.1 --max-time 5 -k to /slow?ms=800, one curl per request', 'timerText': 'curl --max-time 5'},
}
TIMER_SLACK = 0.1
DELAY_SLACK = 0.15
RST_WITHIN = 0.1


def load_all(work):
    reqs, _, _ = x32.load_logs(work)
    for m in x32.read_jsonl(os.path.join(work, 'go-client.log')):
        if m.get('kind') != 'request':
            continue
        lp = m.get('localPort')
        reqs.append({'lane': m['tag'], 'program': 'go', 'url': m['url'], 'port': int(lp.rsplit(':', 1)[1]) if lp else None,
                     'ok': m.get('status') == 200 and 'error' not in m, 'error': m.get('error'),
                     'elapsed': round(m['tEnd'] - m['tStart'], 4), 'reused': m.get('reused'), 'raw': m,
                     'id': m['id'], 'path': m['url'].split('127.0.0.2:8443', 1)[-1]})
    server = x32.read_jsonl(os.path.join(work, 'server.log'))
    return reqs, server


def tls_name(v):
    return {'1.3': 'TLS 1.3', '1.2': 'TLS 1.2'}.get(v, str(v))


def client_close(c, after_frame):
    """The client's close after after_frame: (close_notify frame or None, the first FIN or RST (frame, t, 'fin'|'rst'))."""
    notify = None
    alerts = {r['frame']: r for r in c.records if r['dir'] == 'c' and r['what'] == 'alert' and r['frame'] > after_frame}
    for fr, t, d, flags, ln in c.packets:
        if d != 'c' or fr <= after_frame:
            continue
        if fr in alerts and notify is None:
            notify = (fr, t)
        if flags & 0x04:
            return notify, (fr, t, 'rst')
        if flags & 0x01:
            return notify, (fr, t, 'fin')
    return notify, None


def check(work, capture):
    conns, times = x32.read_capture(capture, os.path.join(work, 'keys.log'))
    reqs, server = load_all(work)
    byport = {int(c.client.split(':')[1]): c for c in conns.values()}
    srv_req = {}
    srv_ans = {}
    srv_end = {}
    for m in server:
        k = m.get('kind')
        if k == 'request':
            srv_req[(m['client'], x32.url_id(m['path']))] = m
        elif k == 'answer':
            srv_ans[(m['client'], x32.url_id(m['path']))] = m
        elif k == 'peer-end':
            srv_end.setdefault(m['client'], m)
    problems, expect, used = [], [], set()
    lanes = defaultdict(lambda: {'cuts': 0, 'waits': [], 'late': [], 'lateAfterClose': [], 'rstAfter': [], 'tls': set(),
                                 'alpnOffered': set(), 'closedWith': defaultdict(int), 'rstCount': 0, 'errors': set(),
                                 'answered': 0, 'elapsed': [], 'reusedCuts': 0, 'freshCuts': 0, 'serverWriteErrors': 0})
    healthy = []
    for q in reqs:
        lane = LANES.get(q['lane'])
        if lane is None:
            problems.append(f"unknown lane {q['lane']}")
            continue
        c = byport.get(q['port'])
        if c is None:
            problems.append(f"{q['id']}: no connection from port {q['port']} in the capture")
            continue
        used.add(c.stream)
        L = lanes[q['lane']]
        rec = x32.find_request_record(c, q['id'])
        if rec is None:
            problems.append(f"{q['id']}: no request record on {c.client}")
            continue
        tls = c.hello.get('tlsVersion')
        alpn = c.hello.get('alpnOffered', [])
        L['tls'].add(tls)
        L['alpnOffered'].add(','.join(alpn) or '(none)')
        sreq = srv_req.get((c.client, q['id']))
        sans = srv_ans.get((c.client, q['id']))
        if sreq is None or sans is None:
            problems.append(f"{q['id']}: the server's log lacks the request or its answer ({sreq}, {sans})")
            continue
        answers = [r for r in c.records if r['dir'] == 's' and r['what'] == 'app-data' and r['frame'] > rec['frame']]
        if q['path'].startswith('/ok') or q['lane'] == 'healthy':
            if not q['ok'] or not answers or '200' not in answers[0]['codes']:
                problems.append(f"{q['id']}: not answered in time as expected ({q['error']})")
                continue
            L['answered'] += 1
            if q['lane'] == 'healthy':
                healthy.append((q, c, rec, answers[0]))
            continue
        # a given-up /slow request
        if q['ok'] or not q['error']:
            problems.append(f"{q['id']}: the client did not report giving up ({q['error']})")
            continue
        notify, close = client_close(c, rec['frame'])
        if close is None:
            problems.append(f"{q['id']}: no client FIN or RST after the request")
            continue
        wait = close[1] - rec['t']
        if abs(wait - lane['timer']) > TIMER_SLACK:
            problems.append(f"{q['id']}: the client closed {wait:.4f} s after the request, its timer is {lane['timer']}")
            continue
        if not answers:
            problems.append(f"{q['id']}: no late answer in the capture")
            continue
        late = answers[0]
        if '200' not in late['codes']:
            problems.append(f"{q['id']}: the server's first data record after the request (frame {late['frame']}) is not an HTTP 200")
            continue
        if late['frame'] < close[0]:
            problems.append(f"{q['id']}: the answer (frame {late['frame']}) came before the client's close (frame {close[0]})")
            continue
        late_after = late['t'] - rec['t']
        if abs(late_after - lane['delay']) > DELAY_SLACK:
            problems.append(f"{q['id']}: the late answer came {late_after:.4f} s after the request, the server's delay is {lane['delay']}")
            continue
        other_s = [r for r in c.records if r['dir'] == 's' and rec['frame'] < r['frame'] < late['frame'] and r['what'] != 'ticket']
        if other_s:
            problems.append(f"{q['id']}: server records before the late answer: {[(r['frame'], r['what']) for r in other_s]}")
            continue
        sclose = x32.first_close(c, rec['frame'], 's')
        if sclose and sclose[0] < late['frame']:
            problems.append(f"{q['id']}: the server closed (frame {sclose[0]}) before its late answer")
            continue
        rst = next(((fr, t) for fr, t, d, fl, ln in c.packets if d == 'c' and fl & 0x04 and fr > late['frame']), None)
        if rst is None or rst[1] - late['t'] > RST_WITHIN:
            problems.append(f"{q['id']}: no client RST right after the late answer (frame {late['frame']}): {rst}")
            continue
        send = srv_end.get(c.client)
        if sans.get('writeError') or sans.get('socketDestroyed') or not send or send['t'] > sans['tAnswer']:
            problems.append(f"{q['id']}: the server's log does not show the client's close read before an answer written cleanly: {sans}, {send}")
            continue
        reused = any(r['dir'] == 'c' and r['what'] == 'app-data' and r['frame'] < rec['frame'] for r in c.records)
        how = ('close_notify, then ' if notify else '') + close[2].upper()
        L['cuts'] += 1
        L['waits'].append(wait)
        L['late'].append(late_after)
        L['lateAfterClose'].append(late['t'] - close[1])
        L['rstAfter'].append(rst[1] - late['t'])
        L['closedWith'][how] += 1
        L['rstCount'] += 1
        L['errors'].add(q['error'])
        L['elapsed'].append(q['elapsed'])
        L['reusedCuts' if reused else 'freshCuts'] += 1
        tks = x32.tickets(c)
        tks_after = [r for r in tks if r['frame'] > rec['frame']]
        seq = x32.close_sequence(c, rec['frame'])
        earlier = [r['uris'][0] if r['uris'] else '?' for r in c.records
                   if r['dir'] == 'c' and r['what'] == 'app-data' and r['frame'] < rec['frame']]
        alpn_text = f"ALPN offered {', '.join(alpn)}" if alpn else 'no ALPN offered'
        tk_text = ''
        if tls == '1.3':
            tk_text = (f" The server's {len(tks)} NewSessionTicket records ({', '.join(str(r['length']) for r in tks)} bytes, outer type "
                       "application data) " + (f"came after the request record (frame(s) {', '.join(str(f) for f in sorted({r['frame'] for r in tks_after}))})"
                                                if tks_after else 'came before the request record') + '.')
        notes = (f"lane {lane['letter']} ({q['lane']}: {lane['how']}), id {q['id']}, GET {q['path']}"
                 + (f" on a connection reused after {', '.join(earlier)} was answered" if reused else ' on a fresh connection')
                 + f": {tls_name(tls)}, {alpn_text}. {lane['timerText']}: the client logged \"{q['error']}\" after {q['elapsed']} s; "
                 f"it closed ({how}, frame {close[0]}) {wait:.4f} s after the request record "
                 f"(frame {rec['frame']}). The server (setTimeout {int(lane['delay'] * 1000)} ms, half-open: it read the client's close at "
                 f"{send['t'] - sreq['t']:.4f} s and kept its side open) wrote its answer anyway: an HTTP 200 in a {late['length']}-byte "
                 f"application-data record (frame {late['frame']}), {late_after:.4f} s after the request and {late['t'] - close[1]:.4f} s after "
                 f"the client's close, and the client's kernel answered with a RST (frame {rst[0]}, {(rst[1] - late['t']) * 1000:.3f} ms later; "
                 f"{'; '.join(seq[:5])}).{tk_text}")
        ev = {'requestFrame': rec['frame'], 'closeFrame': close[0], 'closedWith': close[2],
              'closeNotifyFrame': notify[0] if notify else None, 'lateAnswerFrame': late['frame'], 'clientRstFrame': rst[0],
              'waitSeconds': r4(wait), 'lateAfter': r4(late_after), 'lateAfterClose': r4(late['t'] - close[1]),
              'tlsVersion': tls, 'alpnOffered': alpn, 'clientError': q['error'], 'clientTimer': lane['timer'],
              'serverDelay': lane['delay'], 'lateAnswerRecordLength': late['length'], 'lateAnswerStatus': 200,
              'requestRecordLength': rec['length'], 'reusedConnection': bool(reused)}
        if tls == '1.3':
            ev['ticketRecordLengths'] = [r['length'] for r in tks]
            ev['ticketFramesAfterRequest'] = [r['frame'] for r in tks_after]
        expect.append({'kind': 'unanswered-request', 'client': c.client, 'server': c.server, 'notes': notes, 'evidence': ev})
    cut_clients = {e['client'] for e in expect}
    for q, c, rec, ans in healthy:
        if c.client in cut_clients:
            continue
        cc = x32.first_close(c, ans['frame'], 'c')
        expect.append({'kind': None, 'client': c.client, 'server': c.server,
                       'notes': (f"lane d (healthy: {LANES['healthy']['how']}), id {q['id']}, GET {q['path']}: answered in time, the "
                                 f"response record (frame {ans['frame']}) {ans['t'] - rec['t']:.4f} s after the request record (frame "
                                 f"{rec['frame']}); curl then closed ({cc[2] if cc else '?'}, frame {cc[0] if cc else '?'}). A slow answer, "
                                 "not an unanswered request."),
                       'evidence': {'requestFrame': rec['frame'], 'responseFrame': ans['frame'], 'responseAfter': r4(ans['t'] - rec['t']),
                                    'tlsVersion': c.hello.get('tlsVersion'), 'alpnOffered': c.hello.get('alpnOffered', [])}})
    unused = [c.client for c in conns.values() if c.stream not in used]
    if unused:
        problems.append(f'connections in the capture no client logged: {unused}')
    for k, L in LANES.items():
        if lanes[k]['cuts'] != L['cuts']:
            problems.append(f"lane {k}: {lanes[k]['cuts']} cuts checked, {L['cuts']} wanted")
    if lanes['healthy']['answered'] != 2:
        problems.append(f"lane healthy: {lanes['healthy']['answered']} answered, 2 wanted")
    return problems, expect, lanes, conns


def span(v):
    return f'{min(v):.4f}-{max(v):.4f} s'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--software', nargs='+', default=[])
    a = ap.parse_args()
    try:
        problems, expect, lanes, conns = check(a.work, a.capture)
        if problems:
            raise Refuse('; '.join(problems[:12]))
    except Refuse as e:
        print(f'x35-meta: {a.scenario}: refused: {e}', file=sys.stderr)
        return 1
    lf = {}
    for k, L in lanes.items():
        lf[k] = {'lane': LANES[k]['letter'], 'server': LANES[k]['server'], 'timer': LANES[k]['timer'], 'serverDelay': LANES[k]['delay'],
                 'tlsVersion': sorted(x for x in L['tls'] if x), 'alpnOffered': sorted(L['alpnOffered']), 'cuts': L['cuts'],
                 'freshConnectionCuts': L['freshCuts'], 'reusedConnectionCuts': L['reusedCuts'], 'answeredInTime': L['answered'],
                 'waitSeconds': [r4(min(L['waits'])), r4(max(L['waits']))] if L['waits'] else None,
                 'lateAfter': [r4(min(L['late'])), r4(max(L['late']))] if L['late'] else None,
                 'lateAfterClose': [r4(min(L['lateAfterClose'])), r4(max(L['lateAfterClose']))] if L['late'] else None,
                 'clientRstAfterLateAnswerMs': [round(min(L['rstAfter']) * 1000, 3), round(max(L['rstAfter']) * 1000, 3)] if L['rstAfter'] else None,
                 'closedWith': dict(L['closedWith']), 'lateAnswersReset': L['rstCount'], 'clientErrors': sorted(L['errors'])}

    def d(k):
        x = lf[k]
        return (f"{x['cuts']} cuts, the client's close {span(lanes[k]['waits'])} after the request record "
                f"({', '.join(f'{n} {w}' for w, n in x['closedWith'].items())}), the late answer {span(lanes[k]['late'])} after it, "
                f"every one reset by the client")
    desc = (
        "HTTPS requests given up by their clients at their own timers, which the server answers anyway, later, to sockets the clients "
        "have closed: each late answer draws the client kernel's RST. On one network namespace's loopback: a Node 20 https server "
        "(programs/x35-server.js, OpenSSL 3.0, no proxy in front, a throwaway self-signed ECDSA certificate, keep-alive on) on "
        "127.0.0.2:8443 (TLS 1.3, OpenSSL's default session tickets: two NewSessionTicket records right after the handshake, application "
        "data on the wire) and 127.0.0.2:9443 (maxVersion TLSv1.2); /ok answers at once, /slow?ms=N after N ms (setTimeout). It runs "
        "half-open (allowHalfOpen + httpAllowHalfOpen): the client's close does not abort a pending request, so the answer is written when "
        "the timer fires. Only the client side (127.0.0.1 to the two listeners) is captured. Lanes from 127.0.0.1, at once: "
        f"(a) curl 7.88 --http1.1 --max-time 2 to 8443 /slow?ms=3000, a fresh connection each (TLS 1.3, ALPN http/1.1): {d('curl13')}, exit 28; "
        f"(b) Python requests 2.28 timeout=(1, 1.5) to 9443 (TLS 1.2, ALPN http/1.1), each /slow?ms=2500 on a new Session's connection "
        f"right after an answered GET /ok: {d('requests')}, ReadTimeout; "
        f"(c) Go 1.19 net/http, http.Client{{Timeout: 2s}}, HTTP/2 off (TLSNextProto empty: ALPN offered "
        f"{', '.join(lf['go']['alpnOffered'])}), to 8443 /slow?ms=3000, a fresh connection each (TLS 1.3): {d('go')}, "
        "Client.Timeout exceeded; (d) healthy contrast: curl --http1.1 --max-time 5 to 8443 /slow?ms=800, twice, answered in time.")
    meta = {
        'scenario': a.scenario,
        'software': a.software,
        'description': desc,
        'silent': False,
        'configured': {'clientTimeout': [{'value': 2.0, 'server': '127.0.0.2:8443'}, {'value': 1.5, 'server': '127.0.0.2:9443'}]},
        'configuredNotes': ("clientTimeout: lanes a (curl --max-time 2) and c (Go http.Client Timeout 2s) on 127.0.0.2:8443, both "
                            "counting from the start of the transfer (connect and handshake included, so the close comes a few ms less "
                            "than 2 s after the request record); lane b (requests read timeout 1.5 s) on 127.0.0.2:9443, counting from "
                            "the request. Lane d's curl --http1.1 --max-time 5 never fires. The server's delays: 3.0 s (8443), 2.5 s (9443)."),
        'expect': expect,
        'notes': (
            "Frame numbers are those of this capture (1-based). requestFrame is the client's TLS application-data record that carried "
            "the request, lateAnswerFrame the server's first application-data record after it other than TLS 1.3 NewSessionTicket "
            "records (identified, like the request, by decrypting with the clients' key log at record time; the key log is not "
            "committed): the HTTP 200 response. closeFrame is the client's FIN (or RST) after the request, closeNotifyFrame its TLS "
            "close_notify record before it if any (in TLS 1.3 an encrypted record of outer type application data); clientRstFrame the "
            "client's RST in answer to the late answer. waitSeconds = closeFrame - requestFrame, lateAfter = lateAnswerFrame - "
            "requestFrame, in capture time. After the client's FIN the server only ACKs it: it neither closes nor answers until its timer "
            "fires."),
        'facts': {'lanes': lf},
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(json.dumps(lf, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
