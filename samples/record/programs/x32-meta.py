"""x32-meta: checks an x32 recording (unanswered-request-tls-client-timeouts, healthy-tls-idle-closes) against
the programs' logs and writes its meta.json, or refuses (exit 1) when the capture does not show what the
scenario claims.

  x32-meta.py unanswered SCENARIO --capture PCAP --meta OUT --work DIR --software S...
  x32-meta.py healthy SCENARIO --capture PCAP --meta OUT --work DIR --software S...

The capture is read twice with tshark: as anyone reads it (TCP segments; the TLS records, parsed here from the
reassembled byte streams: outer content type and length, the frame where each record starts and ends;
ClientHello / ServerHello fields: ALPN, supported_versions), and decrypted with the clients' key log
($WORK/keys.log: SSLKEYLOGFILE, node --tls-keylog; made at record time, never committed) to learn what each
encrypted record really is (TLS 1.3 NewSessionTicket, Finished, alert, the HTTP request or response).
Frame numbers are those of the capture that gets committed (1-based).
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

PORTS = (8443, 9443, 8444)
SERVER = '127.0.0.2'
CT = {20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data'}


class Refuse(Exception):
    pass


def tshark(capture, fields, extra=()):
    cmd = ['tshark', '-r', capture, '-n', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a',
           '-E', 'aggregator=,']
    for p in PORTS:
        cmd += ['-d', f'tcp.port=={p},tls']
    cmd += list(extra)
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split('\t')
        parts += [''] * (len(fields) - len(parts))
        rows.append(dict(zip(fields, parts)))
    return rows


def ints(s):
    return [int(x, 0) for x in s.split(',') if x != '']


def strs(s):
    return [x for x in s.split(',') if x != '']


class Conn:
    def __init__(self, stream):
        self.stream = stream
        self.client = None
        self.server = None
        self.packets = []       # (frame, t, dir, flags, tcplen)
        self.buf = {'c': bytearray(), 's': bytearray()}
        self.bufmap = {'c': [], 's': []}   # per byte offset ranges -> frame
        self.next_seq = {}
        self.records = []       # dicts
        self.hello = {}

    def key(self):
        return self.client


def read_capture(capture, keys):
    base = tshark(capture, ['frame.number', 'frame.time_epoch', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
                            'tcp.stream', 'tcp.flags', 'tcp.seq_raw', 'tcp.len', 'tcp.payload',
                            'tls.handshake.type', 'tls.handshake.extensions_alpn_str',
                            'tls.handshake.extensions.supported_version'])
    dec = tshark(capture, ['frame.number', 'tls.record.content_type', 'tls.record.length', 'tls.handshake.type',
                           'tls.alert_message.desc', 'http.request.uri', 'http.response.code', 'http2.type',
                           'http2.headers.path', 'http2.headers.status', 'http2.flags.ack.ping'],
                 ['-o', f'tls.keylog_file:{keys}'])
    decmap = {int(r['frame.number']): r for r in dec}
    conns = {}
    times = {}
    for r in base:
        fr = int(r['frame.number'])
        t = float(r['frame.time_epoch'])
        times[fr] = t
        st = int(r['tcp.stream'])
        c = conns.setdefault(st, Conn(st))
        src = f"{r['ip.src']}:{r['tcp.srcport']}"
        dst = f"{r['ip.dst']}:{r['tcp.dstport']}"
        flags = int(r['tcp.flags'], 16)
        if c.client is None:
            if r['ip.dst'] == SERVER and int(r['tcp.dstport']) in PORTS:
                c.client, c.server = src, dst
            else:
                c.client, c.server = dst, src
        d = 'c' if src == c.client else 's'
        tcplen = int(r['tcp.len'] or 0)
        c.packets.append((fr, t, d, flags, tcplen))
        seq = int(r['tcp.seq_raw'])
        if flags & 0x02:
            c.next_seq[d] = seq + 1
            continue
        if tcplen:
            payload = bytes.fromhex(r['tcp.payload'].replace(':', ''))
            exp = c.next_seq.get(d, seq)
            if seq < exp:   # a retransmission: keep only new bytes
                payload = payload[exp - seq:]
                seq = exp
            if seq > exp:
                raise Refuse(f'stream {st}: a gap in the {d} byte stream at frame {fr} (lost segment)')
            if payload:
                start = len(c.buf[d])
                c.buf[d] += payload
                c.bufmap[d].append((start, len(c.buf[d]), fr))
                c.next_seq[d] = seq + len(payload)
        hs = ints(r['tls.handshake.type'])
        if 1 in hs:
            c.hello['clientHelloFrame'] = fr
            c.hello['alpnOffered'] = strs(r['tls.handshake.extensions_alpn_str'])
            c.hello['clientVersions'] = strs(r['tls.handshake.extensions.supported_version'])
        if 2 in hs:
            c.hello['serverHelloFrame'] = fr
            sv = strs(r['tls.handshake.extensions.supported_version'])
            c.hello['tlsVersion'] = '1.3' if '0x0304' in sv else '1.2'
            alpn = strs(r['tls.handshake.extensions_alpn_str'])
            c.hello['alpnChosenClear'] = alpn[0] if alpn else None
    for c in conns.values():
        parse_records(c, decmap, times)
    return conns, times


def frame_at(c, d, off):
    for s, e, fr in c.bufmap[d]:
        if s <= off < e:
            return fr
    raise Refuse(f'stream {c.stream}: no frame for offset {off}')


def parse_records(c, decmap, times):
    recs = []
    for d in ('c', 's'):
        b = c.buf[d]
        off = 0
        while off + 5 <= len(b):
            typ, ln = b[off], int.from_bytes(b[off + 3:off + 5], 'big')
            if typ not in CT:
                raise Refuse(f'stream {c.stream}: not a TLS record at {d} offset {off}')
            if off + 5 + ln > len(b):
                break
            f0, f1 = frame_at(c, d, off), frame_at(c, d, off + 4 + ln)
            recs.append({'dir': d, 'outer': typ, 'length': ln, 'startFrame': f0, 'frame': f1, 't': times[f1]})
            off += 5 + ln
    recs.sort(key=lambda r: (r['frame'], r['startFrame']))
    # the decrypted view: per frame, the records that end in it, in order (content type and length)
    byframe = defaultdict(list)
    for r in recs:
        byframe[r['frame']].append(r)
    for fr, rs in byframe.items():
        dr = decmap.get(fr, {})
        types, lens = ints(dr.get('tls.record.content_type', '')), ints(dr.get('tls.record.length', ''))
        pairs = list(zip(types, lens))
        # tshark lists every record of the frame (also ones that started earlier); match by length, in order
        i = 0
        for r in rs:
            while i < len(pairs) and pairs[i][1] != r['length']:
                i += 1
            r['inner'] = pairs[i][0] if i < len(pairs) else None
            i += 1
        for r in rs:
            r['uris'] = strs(dr.get('http.request.uri', '')) if r['dir'] == 'c' else []
            r['codes'] = strs(dr.get('http.response.code', '')) if r['dir'] == 's' else []
            r['hsTypes'] = ints(dr.get('tls.handshake.type', ''))
            r['alerts'] = strs(dr.get('tls.alert_message.desc', ''))
            r['h2types'] = ints(dr.get('http2.type', ''))
            r['h2paths'] = strs(dr.get('http2.headers.path', ''))
            r['h2status'] = strs(dr.get('http2.headers.status', ''))
    # mark each record: handshake finished? (the client's Finished), kinds
    ccs = {'c': False, 's': False}
    done = False
    for r in recs:
        d = r['dir']
        inner = r['inner'] if r['inner'] is not None else r['outer']
        if r['outer'] == 20:
            ccs[d] = True
            r['what'] = 'ccs'
            continue
        if not done:
            if d == 'c' and inner == 22 and (ccs['c'] or r['outer'] == 23):
                r['what'] = 'client-finished'
                done = True
                c.finished_frame = r['frame']
                c.finished_t = r['t']
            else:
                r['what'] = 'handshake'
            continue
        if inner == 22:
            # TLS 1.3 NewSessionTicket: encrypted (outer type 23); TLS 1.2's ticket and the server's Finished
            # (outer type 22) after the client's Finished are the end of the handshake
            r['what'] = 'ticket' if (d == 's' and r['outer'] == 23 and 4 in r['hsTypes']) else 'handshake'
        elif inner == 21:
            r['what'] = 'alert'
        elif inner == 23:
            r['what'] = 'app-data'
        else:
            r['what'] = 'unknown'
    if r_missing := [r for r in recs if r['outer'] == 23 and r['inner'] is None]:
        raise Refuse(f'stream {c.stream}: {len(r_missing)} encrypted record(s) not decrypted (first at frame {r_missing[0]["frame"]})')
    c.records = recs


def first_close(c, after_frame, d='c'):
    """The first packet from side d after after_frame that closes: an alert record, a FIN or a RST."""
    alert_frames = {r['frame']: r for r in c.records if r['dir'] == d and r['what'] == 'alert' and r['frame'] > after_frame}
    for fr, t, dd, flags, ln in c.packets:
        if dd != d or fr <= after_frame:
            continue
        if fr in alert_frames:
            return fr, t, 'close_notify' if 'close_notify' in ' '.join(alert_frames[fr]['alerts']) or alert_frames[fr]['alerts'] == ['0'] else 'alert'
        if flags & 0x04:
            return fr, t, 'rst'
        if flags & 0x01:
            return fr, t, 'fin'
    return None


def close_sequence(c, after_frame):
    """Every close signal after after_frame, in order: alert / FIN / RST from either side."""
    seq = []
    alerts = {(r['frame'], r['dir']) for r in c.records if r['what'] == 'alert' and r['frame'] > after_frame}
    for fr, t, d, flags, ln in c.packets:
        if fr <= after_frame:
            continue
        who = 'client' if d == 'c' else 'server'
        if (fr, d) in alerts:
            seq.append(f'{who} close_notify (frame {fr})')
        if flags & 0x01:
            seq.append(f'{who} FIN (frame {fr})')
        if flags & 0x04:
            seq.append(f'{who} RST (frame {fr})')
    return seq


def tickets(c):
    return [r for r in c.records if r['what'] == 'ticket']


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        line = line.strip()
        if line.startswith('{'):
            out.append(json.loads(line))
    return out


def url_id(url):
    m = re.search(r'[?&]id=([^&\s]+)', url)
    return m.group(1) if m else None


def load_logs(work):
    reqs = []
    for m in read_jsonl(os.path.join(work, 'curl.log')):
        cu = m['curl']
        reqs.append({'lane': m['tag'], 'program': 'curl', 'url': cu['url_effective'], 'port': cu['local_port'],
                     'ok': cu['exitcode'] == 0 and cu['response_code'] == 200,
                     'error': f"curl exit {cu['exitcode']}: {cu.get('errormsg')}" if cu['exitcode'] else None,
                     'elapsed': cu['time_total'], 'httpVersion': cu.get('http_version'), 'raw': cu})
    for m in read_jsonl(os.path.join(work, 'requests-client.log')):
        if m.get('kind') != 'request':
            continue
        reqs.append({'lane': m['tag'], 'program': 'requests', 'url': m['url'], 'port': m['localPort'],
                     'ok': m.get('status') == 200 and 'exception' not in m,
                     'error': f"{m['exception']}: {m['error']}" if 'exception' in m else None,
                     'elapsed': round(m['tEnd'] - m['tStart'], 4), 'reused': m.get('reused'), 'raw': m})
    for m in read_jsonl(os.path.join(work, 'node-client.log')):
        if m.get('kind') == 'request':
            reqs.append({'lane': m['tag'], 'program': 'node', 'url': m['url'], 'port': m.get('localPort'),
                         'ok': m.get('outcome') == 'complete' and m.get('status') == 200,
                         'error': (f"{m['outcome']}: " + '; '.join(m['errors'])) if m.get('outcome') != 'complete' else None,
                         'elapsed': round((m.get('tDestroy') or m['tEnd']) - m['tStart'], 4),
                         'reused': m.get('reusedSocket'), 'raw': m})
        elif m.get('kind') == 'h2-session':
            for s in m['streams']:
                reqs.append({'lane': m['tag'], 'program': 'node-h2', 'url': m['origin'] + s['path'], 'port': m['localPort'],
                             'ok': s.get('status') == 200, 'error': s.get('error'), 'elapsed': round(s['tEnd'] - s['tStart'], 4),
                             'raw': m})
    for r in reqs:
        r['id'] = url_id(r['url'])
        r['path'] = re.sub(r'^https://[^/]+', '', r['url'])
    nginx = read_jsonl(os.path.join(work, 'nginx-access.log'))
    backend = read_jsonl(os.path.join(work, 'backend.log'))
    return reqs, nginx, backend


def find_request_record(c, rid):
    for r in c.records:
        if r['dir'] == 'c' and r['what'] == 'app-data' and any(url_id(u) == rid for u in r['uris'] + r['h2paths']):
            return r
    return None


def r4(x):
    return round(x, 4)


# ---------------------------------------------------------------------------------------------------- unanswered

LANES_U = {
    'curl13': {'timer': 2.0, 'server': '127.0.0.2:8443', 'kind': 'unanswered-request', 'letter': 'a',
               'how': 'curl --http1.1 --max-time 2 -k, one curl (a fresh connection) per request',
               'timerText': 'curl --max-time 2 (the whole transfer, handshake included)'},
    'requests': {'timer': 1.5, 'server': '127.0.0.2:8443', 'kind': 'unanswered-request', 'letter': 'b',
                 'how': 'Python requests Session, timeout=(1, 1.5), verify=False: GET /ok, then GET /slow on the same connection',
                 'timerText': 'requests timeout=(1, 1.5): the read timeout, 1.5 s without a byte'},
    'node': {'timer': 2.5, 'server': '127.0.0.2:9443', 'kind': 'unanswered-request', 'letter': 'c',
             'how': 'Node https.request with https.Agent({keepAlive: true}), timeout: 2500, req.destroy() on \'timeout\'',
             'timerText': 'Node https.request timeout 2500 ms (socket inactivity), then req.destroy()'},
    'curl12alpn': {'timer': 3.0, 'server': '127.0.0.2:9443', 'kind': 'unanswered-request', 'letter': 'd',
                   'how': 'curl --max-time 3 -k (ALPN h2 and http/1.1 offered), one curl per request',
                   'timerText': 'curl --max-time 3'},
    'curl13alpn': {'timer': 3.0, 'server': '127.0.0.2:8443', 'kind': 'unanswered-request', 'letter': 'e', 'alpnEncrypted': True,
                   'how': 'curl --max-time 3 -k (ALPN h2 and http/1.1 offered), one curl per request',
                   'timerText': 'curl --max-time 3'},
}


def check_unanswered(a, conns, times, reqs, nginx, backend):
    byport = {}
    for c in conns.values():
        byport[int(c.client.split(':')[1])] = c
    ng = {}
    for n in nginx:
        ng[(n['client'], url_id(n['request']))] = n
    be = defaultdict(list)
    for b in backend:
        if 'path' in b:
            be[url_id(b['path'])].append(b)
    problems = []
    expect = []
    lanes = defaultdict(lambda: {'cuts': 0, 'waits': [], 'tls': set(), 'alpnOffered': set(), 'alpnChosen': set(),
                                 'ticketsAfterRequest': [], 'closedWith': defaultdict(int), 'serverAfterClose': defaultdict(int),
                                 'answered': 0, 'reusedCuts': 0, 'freshCuts': 0, 'errors': set(), 'nginx': []})
    used_streams = set()
    for q in reqs:
        lane = LANES_U.get(q['lane'])
        if lane is None:
            problems.append(f"unknown lane {q['lane']}")
            continue
        c = byport.get(q['port'])
        if c is None:
            problems.append(f"{q['id']}: no connection from port {q['port']} in the capture")
            continue
        used_streams.add(c.stream)
        L = lanes[q['lane']]
        rec = find_request_record(c, q['id'])
        if rec is None:
            problems.append(f"{q['id']}: no request record for it on {c.client}")
            continue
        tls = c.hello.get('tlsVersion')
        L['tls'].add(tls)
        L['alpnOffered'].add(','.join(c.hello.get('alpnOffered', [])) or '(none)')
        L['alpnChosen'].add(c.hello.get('alpnChosenClear') or ('(encrypted)' if tls == '1.3' else '(none)'))
        close = first_close(c, rec['frame'])
        later = [r for r in c.records if r['dir'] == 's' and r['frame'] > rec['frame']
                 and (close is None or r['frame'] < close[0])]
        answers = [r for r in later if r['what'] == 'app-data']
        nx = ng.get((c.client, q['id']))
        slow = q['path'].startswith('/slow')
        if not slow:
            if not q['ok'] or not answers or not nx or nx['status'] != 200:
                problems.append(f"{q['id']}: /ok not answered as expected")
                continue
            L['answered'] += 1
            continue
        # an abandoned /slow request
        if q['ok'] or not q['error']:
            problems.append(f"{q['id']}: the client did not report a timeout ({q['error']})")
            continue
        if answers:
            problems.append(f"{q['id']}: server application data after the request (frames {[r['frame'] for r in answers]})")
            continue
        bad = [r for r in later if r['what'] != 'ticket']
        if bad:
            problems.append(f"{q['id']}: server records other than tickets after the request: {[(r['frame'], r['what']) for r in bad]}")
            continue
        if close is None:
            problems.append(f"{q['id']}: no client close after the request")
            continue
        wait = close[1] - rec['t']
        if abs(wait - lane['timer']) > 0.1:
            problems.append(f"{q['id']}: closed {wait:.4f} s after the request, the timer is {lane['timer']}")
            continue
        # the server must not have closed first
        sclose = first_close(c, rec['frame'], 's')
        if sclose and sclose[0] < close[0]:
            problems.append(f"{q['id']}: the server closed first (frame {sclose[0]})")
            continue
        if not nx or nx['status'] != 499 or abs(nx['requestTime'] - wait) > 0.1:
            problems.append(f"{q['id']}: nginx's log does not show a 499 at ~{wait:.3f} s: {nx}")
            continue
        bends = [b for b in be[q['id']] if b['event'] == 'end']
        if not bends or bends[0]['result'] != 'peer-gone':
            problems.append(f"{q['id']}: the backend did not see its peer go away: {be[q['id']]}")
            continue
        reused = c.records.index(rec) and any(r['dir'] == 'c' and r['what'] == 'app-data' and r['frame'] < rec['frame'] for r in c.records)
        tks_after = [r for r in later if r['what'] == 'ticket']
        tks = tickets(c)
        L['cuts'] += 1
        L['waits'].append(wait)
        L['closedWith'][close[2]] += 1
        L['errors'].add(q['error'])
        L['nginx'].append(nx['requestTime'])
        L['reusedCuts' if reused else 'freshCuts'] += 1
        if tks_after:
            L['ticketsAfterRequest'].append([r['length'] for r in tks_after])
        seq = close_sequence(c, rec['frame'])
        earlier = [r.get('uris', [''])[0] if r['uris'] else '?' for r in c.records
                   if r['dir'] == 'c' and r['what'] == 'app-data' and r['frame'] < rec['frame']]
        alpn_off = c.hello.get('alpnOffered', [])
        chosen = c.hello.get('alpnChosenClear')
        alpn_text = (f"ALPN offered {', '.join(alpn_off)}" if alpn_off else 'no ALPN offered') + \
            (f", chosen {chosen} (in the clear ServerHello)" if chosen else
             (', the choice encrypted (TLS 1.3 EncryptedExtensions; nginx logged ' + (nx.get('alpn') or 'none') + ')' if tls == '1.3' and alpn_off else ''))
        tk_text = ''
        if tls == '1.3':
            tk_text = (f" nginx's {len(tks)} NewSessionTicket records ({', '.join(str(r['length']) for r in tks)} bytes, outer type application data) "
                       + (f"came after the request record ({len(tks_after)} of them, frames {', '.join(str(r['frame']) for r in tks_after)})"
                          if tks_after else 'came before the request record') + '; no other server record followed the request.')
        notes = (f"lane {lane['letter']} ({q['lane']}: {lane['how']}), id {q['id']}, GET {q['path']}"
                 + (f" on a connection reused after {', '.join(earlier)} was answered" if reused else ' on a fresh connection')
                 + f": TLS {tls}, {alpn_text}. {lane['timerText']}: the client logged \"{q['error']}\" after {q['elapsed']} s; "
                 f"its close came {wait:.4f} s after the request record ({', '.join(seq[:4])}). "
                 f"nginx logged 499 with $request_time {nx['requestTime']}; the backend saw its peer go ({bends[0]['result']}).{tk_text}")
        if lane.get('alpnEncrypted'):
            notes += (' In TLS 1.3 the server\'s ALPN choice is encrypted and this client offered h2, so a reader of the '
                      'capture cannot tell HTTP/1.1 from HTTP/2 here; it is judged all the same, being the connection\'s first '
                      'request: the server sent nothing after it but its session tickets, an answer under neither protocol '
                      '(an HTTP/2 server sends its SETTINGS at once and acknowledges the client\'s).')
        ev = {'requestFrame': rec['frame'], 'closeFrame': close[0], 'closedBy': 'client', 'closedWith': close[2],
              'waitSeconds': r4(wait), 'tlsVersion': tls, 'alpnOffered': alpn_off,
              'alpnChosen': chosen if chosen else (None if tls == '1.2' else 'encrypted'),
              'clientError': q['error'], 'clientTimer': lane['timer'], 'requestRecordLength': rec['length'],
              'reusedConnection': bool(reused), 'nginxStatus': 499, 'nginxRequestTime': nx['requestTime']}
        if tls == '1.3':
            ev['ticketRecordLengths'] = [r['length'] for r in tks]
            ev['ticketFramesAfterRequest'] = [r['frame'] for r in tks_after]
        expect.append({'kind': lane['kind'], 'client': c.client, 'server': c.server, 'notes': notes, 'evidence': ev})
    # a few answered ones, kind null: only on connections that carried no cut (an entry names a whole
    # connection, and one with a cut has its finding)
    cut_clients = {e['client'] for e in expect}
    for q in reqs:
        if q['path'].startswith('/ok') and q['id'] in ('a1', 'b1', 'c1', 'd1', 'e1'):
            c = byport.get(q['port'])
            rec = find_request_record(c, q['id']) if c else None
            if not rec or c.client in cut_clients:
                continue
            ans = [r for r in c.records if r['dir'] == 's' and r['what'] == 'app-data' and r['frame'] > rec['frame']]
            lane = LANES_U[q['lane']]
            expect.append({'kind': None, 'client': c.client, 'server': c.server,
                           'notes': f"lane {lane['letter']} ({q['lane']}), id {q['id']}: GET {q['path']} answered "
                                    f"(the response record, frame {ans[0]['frame']}, {r4(ans[0]['t'] - rec['t'])} s after the request record, frame {rec['frame']})"
                                    + (', and the connection then carried the lane\'s /slow request' if q['lane'] in ('requests', 'node') else '') + '.',
                           'evidence': {'requestFrame': rec['frame'], 'responseFrame': ans[0]['frame'], 'tlsVersion': c.hello.get('tlsVersion')}})
    unused = [c.client for c in conns.values() if c.stream not in used_streams]
    if unused:
        problems.append(f'connections in the capture no client logged: {unused}')
    want = {'curl13': 4, 'requests': 4, 'node': 4, 'curl12alpn': 3, 'curl13alpn': 3}
    for k, n in want.items():
        if lanes[k]['cuts'] != n:
            problems.append(f"lane {k}: {lanes[k]['cuts']} cuts checked, {n} wanted")
    return problems, expect, lanes


def tls13_ticket_facts(conns):
    out = []
    for c in conns.values():
        if c.hello.get('tlsVersion') != '1.3':
            continue
        fin = getattr(c, 'finished_frame', None)
        after = [r for r in c.records if r['dir'] == 's' and fin and r['frame'] >= fin]
        first = []
        for r in after:
            if r['what'] != 'ticket':
                break
            first.append(r['length'])
        out.append({'client': c.client, 'server': c.server, 'ticketRecords': [r['length'] for r in tickets(c)],
                    'ticketFrames': [r['frame'] for r in tickets(c)],
                    'ticketSegments': len({r['frame'] for r in tickets(c)}),
                    'serverRecordsRightAfterClientFinished': first})
    return out


def lane_facts(lanes):
    out = {}
    for k, L in lanes.items():
        w = L['waits']
        out[k] = {'lane': LANES_U[k]['letter'], 'server': LANES_U[k]['server'], 'timer': LANES_U[k]['timer'],
                  'tlsVersion': sorted(x for x in L['tls'] if x), 'alpnOffered': sorted(L['alpnOffered']),
                  'alpnChosen': sorted(L['alpnChosen']), 'cuts': L['cuts'], 'freshConnectionCuts': L['freshCuts'],
                  'reusedConnectionCuts': L['reusedCuts'], 'answeredOk': L['answered'],
                  'waitSeconds': [r4(min(w)), r4(max(w))] if w else None,
                  'nginxRequestTime': [min(L['nginx']), max(L['nginx'])] if L['nginx'] else None,
                  'closedWith': dict(L['closedWith']), 'ticketsAfterRequest': L['ticketsAfterRequest'],
                  'clientErrors': sorted(L['errors'])}
    return out


def cmd_unanswered(a):
    keys = os.path.join(a.work, 'keys.log')
    conns, times = read_capture(a.capture, keys)
    reqs, nginx, backend = load_logs(a.work)
    problems, expect, lanes = check_unanswered(a, conns, times, reqs, nginx, backend)
    if problems:
        raise Refuse('; '.join(problems[:12]))
    lf = lane_facts(lanes)
    tf = tls13_ticket_facts(conns)

    def span(k):
        w = lf[k]['waitSeconds']
        return f'{w[0]:.4f}-{w[1]:.4f} s'
    cw = {k: ', '.join(f'{n} {w}' for w, n in lf[k]['closedWith'].items()) for k in lf}
    tk = sorted({tuple(x['ticketRecords']) for x in tf})
    desc = (
        "HTTPS requests never answered, given up by the clients at their own timers, on one network namespace's loopback. "
        "A Python stdlib backend on 127.0.0.3:9001 (programs/x32-backend.py) answers /ok at once and holds /slow without an answer; "
        "nginx 1.22 (OpenSSL 3.0, a throwaway self-signed ECDSA certificate, no http2) proxies to it from two TLS listeners: "
        "127.0.0.2:8443 with TLS 1.3 (ssl_protocols TLSv1.2 TLSv1.3; session tickets on: nginx sends two NewSessionTicket records right "
        "after the handshake, encrypted, so on the wire they are application-data records from the server) and 127.0.0.2:9443 with TLS 1.2 "
        "only; proxy_read_timeout 60s, so nginx never cuts first. Only the client side (127.0.0.1 to the two listeners) is captured. "
        f"Lanes from 127.0.0.1, at once: (a) curl 7.88 --http1.1 --max-time 2 to 8443, a fresh connection per request (TLS 1.3, ALPN http/1.1): "
        f"4 cuts, the client's close {span('curl13')} after the request record ({cw['curl13']}), exit 28; "
        f"(b) Python requests 2.28 timeout=(1, 1.5) to 8443, each cut on a new Session's connection right after an answered GET /ok "
        f"(TLS 1.3, ALPN http/1.1): 4 cuts, {span('requests')} ({cw['requests']}), ReadTimeout; "
        f"(c) Node 20 https, Agent keepAlive, timeout 2500 + req.destroy(), to 9443 (TLS 1.2, no ALPN): 4 cuts, two on fresh connections and two "
        f"on connections reused after an answered /ok, {span('node')} ({cw['node']}; Node's agent also turns on TCP keep-alive, 1 s probes while it waits); "
        f"(d) curl --max-time 3 without --http1.1 to 9443 (TLS 1.2, ALPN h2,http/1.1 offered, http/1.1 chosen in the clear ServerHello): "
        f"3 cuts, {span('curl12alpn')} ({cw['curl12alpn']}); "
        f"(e) the same curl to 8443 (TLS 1.3, h2 offered, the choice encrypted): 3 cuts, {span('curl13alpn')} ({cw['curl13alpn']}): "
        "a reader cannot tell HTTP/1.1 from HTTP/2 there, but each cut is its connection's first request and the server sent nothing after it but its session tickets, an answer under neither protocol. Every lane also has answered /ok requests. "
        "nginx logs each abandoned request as 499 with $request_time at the timer, and closes its upstream leg; the backend sees its peer go. "
        f"TLS 1.3 ticket records (lengths per connection): {', '.join(str(list(t)) for t in tk)}.")
    meta = {
        'scenario': a.scenario,
        'software': a.software,
        'description': desc,
        'silent': False,
        'configuredNotes': (
            "No 'configured' block: the clients' timers differ per lane on the same server (127.0.0.2:8443: curl --max-time 2, "
            "requests read timeout 1.5, curl --max-time 3 in lane e; 127.0.0.2:9443: Node timeout 2500 ms, curl --max-time 3), so each "
            "expect entry carries its own evidence.clientTimer. nginx's proxy_read_timeout 60s and the backend's 20 s hold never fire."),
        'expect': expect,
        'notes': (
            "Frame numbers are those of this capture (1-based). requestFrame is the client's TLS application-data record that carried the "
            "request (identified by decrypting with the clients' key log at record time; the key log is not committed); closeFrame is the "
            "client's first close packet after it (TLS alert record, FIN or RST; in TLS 1.3 the close_notify alert is itself an encrypted "
            "record of outer type application data, 19 bytes with AES-256-GCM). In TLS 1.3 the server's NewSessionTicket records are "
            "application data on the wire; they follow the client's Finished at once and may arrive before or just after the request "
            "record: they are not an answer."),
        'facts': {'lanes': lf, 'tls13Tickets': tf},
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(json.dumps(lf, indent=1))
    print('tls1.3 ticket record lengths:', sorted({tuple(x['ticketRecords']) for x in tf}))


# ---------------------------------------------------------------------------------------------------- healthy

def cmd_healthy(a):
    keys = os.path.join(a.work, 'keys.log')
    conns, times = read_capture(a.capture, keys)
    reqs, nginx, backend = load_logs(a.work)
    problems = []
    byport = {int(c.client.split(':')[1]): c for c in conns.values()}
    used = set()
    per_lane = defaultdict(list)
    for q in reqs:
        c = byport.get(q['port'])
        if c is None:
            problems.append(f"{q['id']}: no connection from port {q['port']}")
            continue
        used.add(c.stream)
        if not q['ok']:
            problems.append(f"{q['id']}: not answered per the client ({q['error']})")
            continue
        rec = find_request_record(c, q['id'])
        if rec is None:
            problems.append(f"{q['id']}: no request record")
            continue
        ans = [r for r in c.records if r['dir'] == 's' and r['what'] == 'app-data' and r['frame'] > rec['frame']]
        if not ans:
            problems.append(f"{q['id']}: no server application data after its request")
            continue
        per_lane[q['lane']].append((q, c, rec, ans))
    for c in conns.values():
        if c.stream not in used:
            problems.append(f'unlogged connection {c.client}')
    ngbad = [n for n in nginx if n['status'] != 200]
    if ngbad:
        problems.append(f'nginx logged non-200: {ngbad[:3]}')
    # every connection: the last client app-data record is followed by server app data before any close
    conn_facts = []
    for c in conns.values():
        capp = [r for r in c.records if r['dir'] == 'c' and r['what'] == 'app-data']
        sapp = [r for r in c.records if r['dir'] == 's' and r['what'] == 'app-data']
        if not capp:
            problems.append(f'{c.client}: no client application data')
            continue
        last_c = capp[-1]
        last_s = sapp[-1] if sapp else None
        cc = first_close(c, 0, 'c')
        sc = first_close(c, 0, 's')
        first = min([x for x in (cc, sc) if x], key=lambda x: x[0]) if (cc or sc) else None
        closed_by = None if not first else ('client' if first is cc else 'server')
        h2 = c.server.endswith(':8444')
        if last_s is None or (not h2 and ((first and last_s['frame'] > first[0]) or last_s['frame'] < last_c['frame'])):
            problems.append(f'{c.client}: the last client data is not followed by server data before the close')
        ref = max(last_c['t'], last_s['t']) if last_s else last_c['t']
        # the longest silence (no TLS record either way) before the close: the idle time that ends in it
        rts = sorted(r['t'] for r in c.records if not first or r['frame'] < first[0])
        if first:
            rts.append(first[1])
        quiet = max((b - a for a, b in zip(rts, rts[1:])), default=0.0)
        conn_facts.append({'client': c.client, 'server': c.server, 'tls': c.hello.get('tlsVersion'),
                           'alpnOffered': c.hello.get('alpnOffered'), 'closedBy': closed_by,
                           'closeFrame': first[0] if first else None, 'closedWith': first[2] if first else None,
                           'lastClientDataFrame': last_c['frame'], 'lastServerDataFrame': last_s['frame'] if last_s else None,
                           'lastClientDataToClose': r4(first[1] - last_c['t']) if first else None,
                           'lastDataToClose': r4(first[1] - ref) if first else None,
                           'longestQuietBeforeClose': r4(quiet),
                           'clientDataRecords': len(capp), 'serverDataRecords': len(sapp),
                           'tickets': [r['length'] for r in tickets(c)],
                           'closeSequence': close_sequence(c, last_s['frame'] if last_s else 0)})
    if problems:
        raise Refuse('; '.join(problems[:12]))
    return conns, reqs, per_lane, conn_facts, nginx



LANES_H = {
    'requests13': ('a', 'Python requests Session, one GET /ok, then exactly 2.0 s idle, then session.close()'),
    'requests12': ('a', 'Python requests Session, one GET /ok, then exactly 2.0 s idle, then session.close()'),
    'nodeidle13': ('b', 'Node https.Agent({keepAlive: true, timeout: 1500}): one request, the agent destroys the idle socket after 1.5 s'),
    'nodeidle12': ('b', 'Node https.Agent({keepAlive: true, timeout: 1500}): one request, the agent destroys the idle socket after 1.5 s'),
    'h2node': ('c', 'Node http2.connect: 3 requests on one session, 2 session.ping(), 2 s idle, session.close()'),
    'curlh2': ('c', 'curl --http2 -k: 3 URLs on one HTTP/2 connection, then curl exits'),
    'curlslow': ('d', 'curl --max-time 3: /slow?ms=800 answered after 0.8 s, then curl exits'),
    'nodeslow': ('d', 'Node https timeout 2500: /slow?ms=800 answered after 0.8 s, then the agent is destroyed'),
    'nginxidle': ('e', "Node keepAlive agent without a timeout: one request, then 4 s of waiting; nginx's keepalive_timeout 3s closes first"),
}


def write_healthy(a, conns, reqs, per_lane, conn_facts, nginx):
    cf = {x['client']: x for x in conn_facts}
    expect = []
    lane_sum = {}
    for tag, items in sorted(per_lane.items(), key=lambda kv: LANES_H.get(kv[0], ('z',))[0] + kv[0]):
        letter, how = LANES_H[tag]
        seen = []
        for q, c, rec, ans in items:
            if c.client not in seen:
                seen.append(c.client)
        facts = [cf[x] for x in seen]
        d2c = [x['lastDataToClose'] for x in facts if x['lastDataToClose'] is not None]
        qs = [x['longestQuietBeforeClose'] for x in facts]
        lane_sum[tag] = {'lane': letter, 'server': sorted({x['server'] for x in facts}),
                         'longestQuietBeforeCloseSeconds': [min(qs), max(qs)], 'connections': len(seen), 'requests': len(items),
                         'tls': sorted({x['tls'] for x in facts}), 'alpnOffered': sorted({','.join(x['alpnOffered'] or []) or '(none)' for x in facts}),
                         'closedBy': sorted({x['closedBy'] for x in facts if x['closedBy']}),
                         'closedWith': sorted({x['closedWith'] for x in facts if x['closedWith']}),
                         'lastDataToCloseSeconds': [min(d2c), max(d2c)] if d2c else None,
                         'ticketRecords': sorted({tuple(x['tickets']) for x in facts})}
        q, c, rec, ans = items[0]
        x = cf[c.client]
        extra = {}
        h2note = ''
        if c.server.endswith(':8444'):
            gos = [r for r in c.records if r['dir'] == 'c' and r['what'] == 'app-data' and 7 in r['h2types']]
            if gos:
                g = gos[-1]
                prev = max(r['t'] for r in c.records if r['frame'] < g['frame'])
                sfin = next(((fr, t) for fr, t, d, fl, ln in c.packets if d == 's' and fl & 0x01 and fr > g['frame']), None)
                extra = {'goawayFrame': g['frame'], 'goawayRecordLength': g['length'], 'idleBeforeGoaway': r4(g['t'] - prev)}
                if sfin:
                    extra.update({'serverFinFrame': sfin[0], 'goawayToServerFin': r4(sfin[1] - g['t'])})
                h2note = (f" The client's HTTP/2 GOAWAY (a {g['length']}-byte application-data record, frame {g['frame']}) came "
                          f"{r4(g['t'] - prev)} s after the previous record" + (f" and nginx's FIN {r4(sfin[1] - g['t']) * 1000:.1f} ms after it "
                          f"(frame {sfin[0]})" if sfin else '') + ": client data after an idle gap, then the server's fast FIN, with no "
                          "answer: it looks like a request closed on arrival (a keep-alive race) to a reader that cannot see inside, "
                          "but it is the client's own graceful close (GOAWAY, then its close_notify) that nginx follows.")
        expect.append({'kind': None, 'client': c.client, 'server': c.server,
                       'notes': (f"lane {letter} ({tag}: {how}): TLS {x['tls']}, ALPN offered {', '.join(x['alpnOffered'] or []) or 'none'}; "
                                 f"{len([i for i in items if i[1] is c])} request(s) on this connection, every one answered (first request record frame "
                                 f"{rec['frame']}, the answer's first record frame {ans[0]['frame']}); the connection was then closed by the "
                                 f"{x['closedBy']} ({x['closedWith']}, frame {x['closeFrame']}) {x['lastDataToClose']} s after the last data, after "
                                 f"{x['longestQuietBeforeClose']} s without a record either way "
                                 f"({'; '.join(x['closeSequence'][:4])}). Healthy: an idle close after an answered request, not an unanswered one." + h2note),
                       'evidence': {'requestFrame': rec['frame'], 'responseFrame': ans[0]['frame'], 'closeFrame': x['closeFrame'],
                                    'closedBy': x['closedBy'], 'closedWith': x['closedWith'], 'lastDataToClose': x['lastDataToClose'],
                                    'longestQuietBeforeClose': x['longestQuietBeforeClose'],
                                    'tlsVersion': x['tls'], **extra}})

    def rng(tag, k='lastDataToCloseSeconds'):
        v = lane_sum[tag][k]
        return f'{v[0]:.4f}-{v[1]:.4f} s' if v else '?'
    t13 = sorted({tuple(x['tickets']) for x in conn_facts if x['tls'] == '1.3'})
    desc = (
        "HTTPS traffic in which every request is answered, and connections then sit idle and are closed at fixed delays, on one network "
        "namespace's loopback. nginx 1.22 (OpenSSL 3.0, a throwaway self-signed ECDSA certificate, keepalive_timeout 3s) proxies to a Python "
        "stdlib backend on 127.0.0.3:9001 from three TLS listeners: 127.0.0.2:8443 (TLS 1.3), 127.0.0.2:9443 (TLS 1.2 only) and "
        "127.0.0.2:8444 (ssl http2, TLS 1.3). Only the client side is captured. Lanes from 127.0.0.1, at once: "
        f"(a) Python requests 2.28, one GET /ok per Session, then exactly 2.0 s idle and session.close(): 4 connections to each of 8443 and 9443, "
        f"closed {rng('requests13')} (8443) and {rng('requests12')} (9443) after the answer, the client's FIN (no close_notify); "
        f"(b) Node 20 https.Agent({{keepAlive: true, timeout: 1500}}), one request per connection, the agent destroying the idle socket: 4 to each of "
        f"8443 and 9443, closed {rng('nodeidle13')} / {rng('nodeidle12')} after the answer; "
        f"(c) HTTP/2 over TLS 1.3 to 8444: Node http2.connect with 3 requests, 2 PINGs, 2 s idle, session.close() (3 sessions; the idle gap before the client's closing records {rng('h2node', 'longestQuietBeforeCloseSeconds')}), and curl --http2 fetching 3 URLs on one connection (2 runs); "
        f"(d) /slow?ms=800 answered after 0.8 s: curl --max-time 3 to 8443 and Node https timeout 2500 to 9443, 2 each, closed right after the answer; "
        f"(e) a Node keepAlive agent without a timeout, one request each to 8443 and 9443, then waiting 4 s: nginx closes at keepalive_timeout 3s "
        f"({rng('nginxidle')}, close_notify and FIN from the server). nginx logged every request with status 200. "
        f"TLS 1.3 NewSessionTicket records per connection (lengths): {', '.join(str(list(t)) for t in t13)}.")
    meta = {
        'scenario': a.scenario,
        'software': a.software,
        'description': desc,
        'silent': True,
        'expect': expect,
        'notes': (
            "Traps for an unanswered-request detector over TLS, all healthy: (a) and (b) close at a constant delay after the last client "
            "data (2.0 s, 1.5 s), but the answer came first; on TLS 1.3 the server's application-data records right after the request are "
            "the two NewSessionTicket records followed by the response, so 'server data after the request' must not be mistaken for tickets "
            "only when a response follows. (c) HTTP/2: after 2 s idle Node's session.close() sends a GOAWAY (client application data that nothing answers) and "
            "close_notify, and nginx sends its FIN within a millisecond: client data after an idle gap followed by the server's fast FIN "
            "looks like a keep-alive race (closed on arrival) or an unanswered request to a reader that cannot decrypt; PING frames "
            "are answered by PING ACKs, not by responses; the choice of h2 is encrypted in TLS 1.3 (ALPN in EncryptedExtensions). "
            "(d) an answer slower than usual (0.8 s) and then an immediate close. (e) the server closes (close_notify + FIN) 3 s after the "
            "answer: closed by the server, not the client. TLS 1.3 NewSessionTicket records: two per connection, of equal length, but the "
            "length depends on the session: 282 bytes when http/1.1 was negotiated by ALPN, 266 with h2 or no ALPN (the ticket stores "
            "the ALPN protocol; same cipher TLS_AES_256_GCM_SHA384). Frame numbers are those of this capture (1-based); records were identified by "
            "decrypting with the clients' key log at record time (not committed)."),
        'facts': {'lanes': lane_sum, 'connections': conn_facts},
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(json.dumps(lane_sum, indent=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['unanswered', 'healthy'])
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--software', nargs='+', default=[])
    a = ap.parse_args()
    try:
        if a.mode == 'unanswered':
            cmd_unanswered(a)
        else:
            write_healthy(a, *cmd_healthy(a))
    except Refuse as e:
        print(f'x32-meta: {a.scenario}: refused: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
