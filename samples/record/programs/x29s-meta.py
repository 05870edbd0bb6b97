"""Checks the healthy-streaming-responses recording against the programs' own logs and writes its
meta.json, or refuses (exit 1).

Ground truth read from --work: curl.log (curl -w '%{json}' per transfer), py.log (x29s-py-client.py),
node.log (x29s-node-client.js): per request its tag, local port, server, status, body bytes and outcome
("complete", or "client-abort": the client ended the transfer on purpose: curl --max-time, the partial
reader, Node's req.destroy()); backend.log (x29s-backend.py: per request the peer's port, bytes written,
"done" or "error"); nginx-access.log ($request_completion, upstream) and error.log.

The capture is read with tshark (TCP fields and payload only); this script reassembles both directions
of every connection from the sequence numbers and frames every HTTP/1.x message itself: requests in
order, each response's body by its method and status (HEAD, 204, 304: none), Transfer-Encoding:
chunked (complete with its last chunk), Content-Length, or else delimited by the server's close.

Refuses unless: every response a client logged complete is complete on the wire (all Content-Length
bytes, the last chunk, or a close-delimited body ended by the server's FIN) with the body size the
client logged, on the connection of the client's local port; every transfer a client ended on purpose
is short on the wire and its connection was closed by the client first (FIN or RST before any FIN or
RST of the server), and so was nginx's backend leg of it (nginx closing it, as the backend's client);
no other response is short; every RST comes from the side that closed first on such a connection; the
backend's and nginx's logs agree (done / $request_completion OK for the complete ones); nginx logged
nothing above [info] and at [info] only closed keep-alive connections and the clients' early closes.
Requests are paired across the proxy by the id= in their query strings.
"""
import argparse
import bisect
import json
import os
import re
import sys
from collections import defaultdict

sys.dont_write_bytecode = True  # no __pycache__ in programs/ for the module below
import x29_capture  # noqa: E402
from x29_capture import read_jsonl  # noqa: E402
from urllib.parse import parse_qs, urlsplit

NGINX = ('127.0.0.2', 8080)
BACKEND = ('127.0.0.3', 9001)
CLOSER = ('127.0.0.3', 9002)
SERVERS = {NGINX: 'nginx', BACKEND: 'backend (streaming)', CLOSER: 'backend (close-delimited)'}

problems = []


def refuse(msg):
    problems.append(msg)


def addr(a):
    return f'{a[0]}:{a[1]}'



class Direction:
    def __init__(self):
        self.base = None
        self.segs = []  # (offset, length, frame, time, payload)
        self.fin = None  # (offset, frame, time)
        self.rst = None  # (frame, time)

    def build(self):
        self.segs.sort(key=lambda s: (s[0], s[2]))
        data = bytearray()
        self.starts, self.frames = [], []
        self.holes = 0
        for off, ln, fr, t, pl in self.segs:
            if off > len(data):
                self.holes += 1
                break
            if off + ln <= len(data):
                continue  # a retransmission of bytes already placed
            new = pl[len(data) - off:]
            self.starts.append(len(data))
            self.frames.append((fr, t))
            data += new
        self.data = bytes(data)

    def frame_at(self, offset):
        """The frame (number, time) that carried the byte at offset."""
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.frames[i] if i >= 0 else (None, None)


def load_capture(path):
    fields = ['frame.number', 'frame.time_epoch', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport', 'tcp.flags.syn',
              'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.seq_raw', 'tcp.len', 'tcp.payload']
    conns = {}
    npackets = 0
    for v in x29_capture.tshark_rows(path, fields, ['-n', '--disable-protocol', 'http']):
        npackets += 1
        fr, t = int(v[0]), float(v[1])
        src, dst = (v[2], int(v[3])), (v[4], int(v[5]))
        syn, ack, fin, rst = (v[i] in ('1', 'True') for i in (6, 7, 8, 9))
        seq, ln = int(v[10]), int(v[11] or 0)
        key = tuple(sorted([src, dst]))
        c = conns.get(key)
        if c is None or (syn and not ack and c['client'] == src and c.get('closed')):
            c = conns[key] = {'client': None, 'server': None, 'first': fr, 'firstTime': t, 'dirs': {}, 'packets': 0}
        if c['client'] is None:
            if syn and not ack:
                c['client'], c['server'] = src, dst
            else:
                c['client'], c['server'] = (dst, src) if src in SERVERS else (src, dst)
        side = 'client' if src == c['client'] else 'server'
        d = c['dirs'].setdefault(side, Direction())
        c['packets'] += 1
        c['last'] = fr
        if syn:
            d.base = seq + 1
            continue
        if d.base is None:
            d.base = seq
        off = (seq - d.base) % (1 << 32)
        if ln:
            d.segs.append((off, ln, fr, t, bytes.fromhex(v[12].replace(':', ''))))
        if fin and d.fin is None:
            d.fin = (off + ln, fr, t)
        if rst and d.rst is None:
            d.rst = (fr, t)
        if fin or rst:
            c['closed'] = True
    for c in conns.values():
        for side in ('client', 'server'):
            c['dirs'].setdefault(side, Direction()).build()
    return conns, npackets


def parse_head(data, pos):
    end = data.find(b'\r\n\r\n', pos)
    if end < 0:
        return None
    lines = data[pos:end].decode('latin-1').split('\r\n')
    hdrs = {}
    for l in lines[1:]:
        k, _, val = l.partition(':')
        hdrs[k.strip().lower()] = val.strip()
    return lines[0], hdrs, end + 4


def req_id(uri):
    return parse_qs(urlsplit(uri).query).get('id', [None])[-1]


def first_close(d):
    """This direction's first close: ('fin'|'rst', frame, time) or None."""
    cands = []
    if d.fin:
        cands.append(('fin', d.fin[1], d.fin[2]))
    if d.rst:
        cands.append(('rst', d.rst[0], d.rst[1]))
    return min(cands, key=lambda x: x[1]) if cands else None


def analyse(c):
    cd, sd = c['dirs']['client'], c['dirs']['server']
    reqs = []
    pos = 0
    while pos < len(cd.data):
        h = parse_head(cd.data, pos)
        if h is None:
            refuse(f'{addr(c["client"])}: a partial request head')
            break
        line, hdrs, body = h
        method, uri, version = line.split(' ', 2)
        pos = body + int(hdrs.get('content-length', 0))
        reqs.append({'method': method, 'uri': uri, 'version': version, 'id': req_id(uri), 'headers': hdrs,
                     'frame': cd.frame_at(body - 1)[0]})
    c['closes'] = {'client': first_close(cd), 'server': first_close(sd)}
    cc, sc = c['closes']['client'], c['closes']['server']
    c['closedFirst'] = None
    if cc or sc:
        c['closedFirst'] = 'client' if (cc and (not sc or cc[1] < sc[1])) else 'server'
    resps = []
    pos = 0
    data = sd.data
    for r in reqs:
        if pos >= len(data):
            break
        h = parse_head(data, pos)
        if h is None:
            refuse(f'{addr(c["client"])}: a partial response head')
            break
        line, hdrs, bstart = h
        version, status = line.split(' ')[0], int(line.split(' ')[1])
        resp = {'id': r['id'], 'method': r['method'], 'uri': r['uri'], 'requestVersion': r['version'], 'status': status,
                'version': version, 'requestFrame': r['frame'], 'headFrame': sd.frame_at(bstart - 1)[0],
                'contentLength': int(hdrs['content-length']) if 'content-length' in hdrs else None,
                'connectionHeader': hdrs.get('connection'), 'contentType': hdrs.get('content-type')}
        if r['method'] == 'HEAD' or status in (204, 304) or 100 <= status < 200:
            resp['framing'], resp['bodyBytes'], resp['complete'], end = 'none', 0, True, bstart
        elif hdrs.get('transfer-encoding', '').lower() == 'chunked':
            resp['framing'] = 'chunked'
            p, n, done = bstart, 0, False
            chunks = 0
            while True:
                e = data.find(b'\r\n', p)
                if e < 0:
                    break
                size = int(data[p:e].split(b';')[0], 16)
                if size == 0:
                    t = data.find(b'\r\n\r\n', e)  # trailers (none here) then the empty line
                    if data[e:e + 4] == b'\r\n\r\n':
                        t = e
                    if t < 0:
                        break
                    p, done = t + 4, True
                    break
                if e + 2 + size + 2 > len(data):
                    n += max(0, len(data) - (e + 2))
                    p = len(data)
                    break
                n += size
                chunks += 1
                p = e + 2 + size + 2
            resp['bodyBytes'], resp['complete'], resp['chunks'], end = n, done, chunks, p
        elif 'content-length' in hdrs:
            resp['framing'] = 'content-length'
            want = int(hdrs['content-length'])
            got = min(want, len(data) - bstart)
            resp['bodyBytes'], resp['complete'], end = got, got == want, bstart + got
        else:
            resp['framing'] = 'close'
            got = len(data) - bstart
            resp['bodyBytes'], end = got, len(data)
            # complete when the server's FIN ends it, the server closing first
            resp['complete'] = bool(sd.fin) and sd.fin[0] == len(data) and c['closedFirst'] == 'server'
            resp['serverFinFrame'] = sd.fin[1] if sd.fin else None
        resp['lastByteFrame'] = sd.frame_at(end - 1)[0] if end > bstart else resp['headFrame']
        resp['lastByteTime'] = sd.frame_at(end - 1)[1] if end > bstart else sd.frame_at(bstart - 1)[1]
        resps.append(resp)
        pos = end
        if not resp['complete']:
            break
    if pos < len(data) and resps and resps[-1]['complete']:
        refuse(f'{addr(c["client"])}: {len(data) - pos} response bytes after the last framed response')
    c['requests'], c['responses'] = reqs, resps
    c['holes'] = cd.holes + sd.holes


def curl_entries(path):
    out = []
    for e in read_jsonl(path):
        j = e['curl']
        u = urlsplit(j['url_effective'])
        outcome = 'complete' if j['exitcode'] == 0 else ('client-abort' if j['exitcode'] == 28 and e['tag'] == 'curl-maxtime' else 'error')
        out.append({'tag': e['tag'], 'client': 'curl', 'localPort': j['local_port'], 'server': u.netloc,
                    'method': j.get('method', 'GET'), 'path': u.path + ('?' + u.query if u.query else ''),
                    'status': j['http_code'], 'bodyBytes': j['size_download'], 'outcome': outcome,
                    'error': j.get('errormsg'), 'seconds': j.get('time_total')})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--software', nargs='*', default=[])
    a = ap.parse_args()

    conns, npackets = load_capture(a.capture)
    for c in conns.values():
        analyse(c)
        if c['holes']:
            refuse(f'{addr(c["client"])} -> {addr(c["server"])}: bytes missing from the capture')
        if c['dirs']['client'].base is None or not any(True for _ in [c]):
            pass
    by_client = {(addr(c['client']), addr(c['server'])): c for c in conns.values()}
    by_id = defaultdict(list)
    for c in conns.values():
        for r in c['responses']:
            by_id[r['id']].append((c, r))
        for rq in c['requests']:
            if rq['id'] is None:
                refuse(f'{addr(c["client"])}: a request without id: {rq["uri"]}')

    entries = curl_entries(os.path.join(a.work, 'curl.log'))
    entries += read_jsonl(os.path.join(a.work, 'py.log')) + read_jsonl(os.path.join(a.work, 'node.log'))
    backend_log = [e for e in read_jsonl(os.path.join(a.work, 'backend.log')) if 'peerPort' in e]
    access = read_jsonl(os.path.join(a.work, 'nginx-access.log'))
    errlog = open(os.path.join(a.work, 'error.log')).read().splitlines() if os.path.exists(os.path.join(a.work, 'error.log')) else []

    # each client's request: its connection, its response, and nginx's backend leg of it
    abort_conns = set()  # (client, server) of the connections a client (or nginx for it) closed on purpose
    exchanges = []
    for e in entries:
        if e.get('outcome') not in ('complete', 'client-abort'):
            refuse(f'{e.get("tag")}: the client logged {e.get("outcome")}: {e.get("error")}')
            continue
        rid = req_id(e['path'])
        key = (f'127.0.0.1:{e["localPort"]}', e['server'])
        c = by_client.get(key)
        if c is None:
            refuse(f'{e["tag"]} {rid}: no connection {key[0]} -> {key[1]} in the capture')
            continue
        rs = [r for r in c['responses'] if r['id'] == rid]
        if len(rs) != 1:
            refuse(f'{e["tag"]} {rid}: {len(rs)} responses with its id on {key[0]}')
            continue
        r = rs[0]
        legs = [(bc, br) for bc, br in by_id[rid] if bc is not c]
        ex = {'id': rid, 'tag': e['tag'], 'client': e['client'], 'conn': c, 'resp': r, 'entry': e, 'legs': legs}
        exchanges.append(ex)
        if r['status'] != e['status']:
            refuse(f'{rid}: status {r["status"]} on the wire, {e["status"]} in the client\'s log')
        if e['outcome'] == 'complete':
            if not r['complete']:
                refuse(f'{rid}: the client logged it complete, the wire shows {r["bodyBytes"]} bytes, {r["framing"]}, not complete')
            if r['bodyBytes'] != e['bodyBytes']:
                refuse(f'{rid}: {r["bodyBytes"]} body bytes on the wire, {e["bodyBytes"]} in the client\'s log')
        else:
            if r['complete']:
                refuse(f'{rid}: the client ended it early, but the wire shows it complete')
            if c['closedFirst'] != 'client':
                refuse(f'{rid}: the client ended it early, but the server closed {addr(c["client"])} first')
            if r['bodyBytes'] < e['bodyBytes']:
                refuse(f'{rid}: the client read {e["bodyBytes"]} bytes, the wire shows {r["bodyBytes"]}')
            # the partial reader: a RST when it left data unread, else a FIN
            if 'unreadAtClose' in e and c['closes']['client'] and \
                    (c['closes']['client'][0] == 'rst') != (e['unreadAtClose'] > 0):
                refuse(f'{rid}: {e["unreadAtClose"]} bytes unread at the close, the client closed with a {c["closes"]["client"][0]}')
            abort_conns.add(key)
        if c['server'] == NGINX and not r['uri'].startswith('/static/') and not r['uri'].startswith('/empty'):
            if len(legs) != 1:
                refuse(f'{rid}: {len(legs)} backend legs')
                continue
            bc, br = legs[0]
            if e['outcome'] == 'complete':
                if not br['complete']:
                    refuse(f'{rid}: the backend leg {addr(bc["client"])} is not complete')
            else:
                if br['complete']:
                    refuse(f'{rid}: the backend leg of an aborted transfer is complete')
                if bc['closedFirst'] != 'client':
                    refuse(f'{rid}: the backend closed {addr(bc["client"])} first, not nginx')
                # nginx closes the backend leg after the client's close
                if bc['closes']['client'][1] < c['closes']['client'][1]:
                    refuse(f'{rid}: nginx closed the backend leg before the client closed')
                if bc['closes']['client'][0] != 'fin' or not bc['dirs']['client'].rst:
                    refuse(f'{rid}: nginx closed the backend leg with a {bc["closes"]["client"][0]}, '
                           f'{"a" if bc["dirs"]["client"].rst else "no"} RST from its side after the backend\'s next write')
                abort_conns.add((addr(bc['client']), addr(bc['server'])))
        elif legs:
            refuse(f'{rid}: a direct request with other legs')

    # every response on the wire is accounted for: complete, or on a connection closed on purpose by its client
    seen_ids = {ex['id'] for ex in exchanges}
    nresp = 0
    for c in conns.values():
        key = (addr(c['client']), addr(c['server']))
        if len(c['responses']) != len(c['requests']):
            refuse(f'{key[0]} -> {key[1]}: {len(c["requests"])} requests, {len(c["responses"])} responses')
        for r in c['responses']:
            nresp += 1
            if r['id'] not in seen_ids:
                refuse(f'{r["id"]}: on the wire ({key[0]} -> {key[1]}), in no client\'s log')
            if not r['complete'] and key not in abort_conns:
                refuse(f'{r["id"]}: short on {key[0]} -> {key[1]} ({r["bodyBytes"]} bytes, {r["framing"]}), no client ended it')
        # resets: only from the side that closed first, on a connection closed on purpose
        for side in ('client', 'server'):
            rst = c['dirs'][side].rst
            if rst and not (key in abort_conns and side == c['closedFirst'] == 'client'):
                refuse(f'{key[0]} -> {key[1]}: a RST from the {side} (frame {rst[0]})')
        if c['closedFirst'] is None:
            refuse(f'{key[0]} -> {key[1]}: never closed in the capture')

    # the backend's log
    for b in backend_log:
        rid = req_id(b['path'])
        key = (f'127.0.0.1:{b["peerPort"]}', b['server'])
        c = by_client.get(key)
        rs = [r for r in (c['responses'] if c else []) if r['id'] == rid]
        if not rs:
            refuse(f'backend {rid}: port {b["peerPort"]} not found in the capture')
            continue
        r = rs[0]
        if b['result'] == 'done':
            if not r['complete'] or r['bodyBytes'] != b['bodyBytes']:
                refuse(f'backend {rid}: wrote {b["bodyBytes"]} bytes (done), the wire shows {r["bodyBytes"]} complete={r["complete"]}')
        elif key not in abort_conns:
            refuse(f'backend {rid}: {b.get("error")} on a connection nobody closed on purpose')
        b['_key'] = key
    # nginx's logs
    for l in access:
        m = re.match(r'(\S+) (\S+) ', l['request'])
        rid = req_id(m.group(2))
        c = by_client.get((l['client'], addr(NGINX)))
        rs = [r for r in (c['responses'] if c else []) if r['id'] == rid]
        if not rs:
            refuse(f'nginx access log {rid}: {l["client"]} not found')
            continue
        if (l['completion'] == 'OK') != rs[0]['complete']:
            refuse(f'nginx access log {rid}: completion "{l["completion"]}", the wire complete={rs[0]["complete"]}')
    abort_ids = {ex['id'] for ex in exchanges if ex['entry']['outcome'] == 'client-abort'}
    nginx_info = []
    for l in errlog:
        lvl = re.search(r'\[(\w+)\]', l)
        lvl = lvl.group(1) if lvl else '?'
        if lvl == 'notice':
            continue
        if lvl == 'info':
            if 'closed keepalive connection' in l or 'Interrupted system call' in l:
                continue
            m = re.search(r'client prematurely closed connection.*request: "\S+ (\S+)', l)
            if m and req_id(m.group(1)) in abort_ids:
                nginx_info.append(re.sub(r'^\S+ \S+ ', '', l))
                continue
        refuse(f'nginx error log: {l}')

    if problems:
        for p in problems:
            print(f'x29s-meta: {a.scenario}: {p}', file=sys.stderr)
        sys.exit(1)

    # the facts
    def leg_fact(c, r):
        cl = c['closes']
        return {
            'client': addr(c['client']), 'server': addr(c['server']), 'status': r['status'], 'version': r['version'],
            'framing': r['framing'], 'contentLength': r['contentLength'], 'bodyBytes': r['bodyBytes'],
            'complete': r['complete'], 'requestFrame': r['requestFrame'], 'lastByteFrame': r['lastByteFrame'],
            **({'chunks': r['chunks']} if 'chunks' in r else {}),
            **({'serverFinFrame': r['serverFinFrame']} if r['framing'] == 'close' else {}),
        }

    def close_fact(c):
        out = {}
        for side in ('client', 'server'):
            x = c['closes'][side]
            out[side] = {'by': x[0], 'frame': x[1]} if x else None
        out['first'] = c['closedFirst']
        out['rsts'] = [{'side': side, 'frame': c['dirs'][side].rst[0]} for side in ('client', 'server') if c['dirs'][side].rst]
        return out

    transfers = []
    for ex in sorted(exchanges, key=lambda x: x['resp']['requestFrame']):
        e, c, r = ex['entry'], ex['conn'], ex['resp']
        t = {'id': ex['id'], 'tag': ex['tag'], 'clientProgram': e['client'], 'method': e['method'], 'path': e['path'],
             'clientLogged': {k: e.get(k) for k in ('status', 'bodyBytes', 'outcome') if k in e}}
        if e.get('error'):
            t['clientLogged']['error'] = e['error']
        if 'unreadAtClose' in e:
            t['clientLogged']['unreadAtClose'] = e['unreadAtClose']
        t['wire'] = leg_fact(c, r)
        if r['complete']:
            t['ended'] = {'none': 'no body', 'chunked': 'last chunk', 'content-length': 'all Content-Length bytes',
                          'close': 'close-delimited: the server\'s FIN'}[r['framing']]
        else:
            cc = c['closes']['client']
            t['ended'] = f'the client closed first ({cc[0].upper()}, frame {cc[1]}) after {r["bodyBytes"]} body bytes'
            t['closes'] = close_fact(c)
        if ex['legs']:
            bc, br = ex['legs'][0]
            t['backendLeg'] = leg_fact(bc, br)
            if not br['complete']:
                t['backendLeg']['closes'] = close_fact(bc)
            bl = [b for b in backend_log if b.get('_key') == (addr(bc['client']), addr(bc['server'])) and req_id(b['path']) == ex['id']]
            if bl:
                t['backendLogged'] = {k: bl[0].get(k) for k in ('bodyBytes', 'result', 'error') if k in bl[0]}
        elif c['server'] != NGINX:
            bl = [b for b in backend_log if b.get('_key') == (addr(c['client']), addr(c['server'])) and req_id(b['path']) == ex['id']]
            if bl:
                t['serverLogged'] = {k: bl[0].get(k) for k in ('bodyBytes', 'result', 'error') if k in bl[0]}
        transfers.append(t)

    connections = []
    for c in sorted(conns.values(), key=lambda c: c['first']):
        connections.append({'client': addr(c['client']), 'server': addr(c['server']), 'serverRole': SERVERS.get(c['server'], '?'),
                            'firstFrame': c['first'], 'lastFrame': c['last'], 'packets': c['packets'],
                            'requests': [r['id'] for r in c['requests']], 'closes': close_fact(c)})
    aborts = [t for t in transfers if t['clientLogged']['outcome'] == 'client-abort']
    framing_counts = defaultdict(int)
    for c in conns.values():
        for r in c['responses']:
            if r['complete']:
                framing_counts[r['framing']] += 1
    complete_front = [t for t in transfers if t['clientLogged']['outcome'] == 'complete']
    statuses = defaultdict(int)
    for t in complete_front:
        statuses[str(t['wire']['status'])] += 1

    desc = (
        'Responses that look truncated and are not, on one namespace\'s loopback, both legs of the proxy captured. '
        'nginx 1.22 on 127.0.0.2:8080 (proxy_read_timeout 3s, upstream keepalive) in front of a Python stdlib backend '
        '(http.server) on 127.0.0.3:9001 that streams slowly and finishes: Content-Length bodies written in parts '
        '0.5-1.5 s apart, text/event-stream bodies sent chunked one event per chunk with pauses of 0.5-2 s (below the proxy\'s '
        'timeout) and ended by the last chunk, 304 on If-None-Match, 204, HEAD answered with the GET\'s Content-Length and '
        'no body; on 127.0.0.3:9002 a close-delimited server: an HTTP/1.0 response without Content-Length and an HTTP/1.1 '
        '"Connection: close" response without Content-Length or chunking, each body ended by the server\'s FIN. nginx also '
        'serves a 2.5 MB static file at full speed, a single and a multipart Range request (206), HEAD, 304 '
        '(If-None-Match) and 204, relays the close-delimited server (upstream HTTP/1.0: close-delimited on the backend '
        'leg, chunked to the client), and answers an HTTP/1.0 client\'s event stream close-delimited (nginx\'s FIN ends '
        'it). Clients from 127.0.0.1: curl 7.88, Python http.client (keep-alive), python requests with "Connection: '
        'close", a raw-socket partial reader, and Node 20 http.Agent (keep-alive). '
        f'{len(complete_front)} responses the clients logged complete ({", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))}); '
        f'on the wire {sum(framing_counts.values())} complete responses on both legs: '
        f'{framing_counts["content-length"]} with all their Content-Length bytes, {framing_counts["chunked"]} chunked with '
        f'their last chunk, {framing_counts["close"]} close-delimited ended by the server\'s FIN, {framing_counts["none"]} '
        f'without a body (HEAD, 204, 304). {len(aborts)} transfers were ended by their clients on purpose, which is not '
        'a server truncating: curl --max-time 1 on a 6 s body (parts 1.5 s apart), the partial reader closing after 100 bytes through nginx '
        '(unread data: its close is a RST), after the first event of a direct event stream and after 500 bytes of a '
        'direct close-delimited body (FINs), and Node destroying an event stream through nginx after its first event; '
        'on each the client\'s FIN or RST comes before any close by the server, nginx then closes its backend leg (FIN; '
        'the backend\'s next write draws a RST from nginx\'s side) and logs "client prematurely closed connection" at '
        'info level. No server ended a response early: response-truncated may report nothing. One of those cuts is a '
        'failure its client saw all the same: curl --max-time 1 gave up (exit 28, "Operation timed out after 1001 '
        'milliseconds with 4000 out of 16000 bytes received") after the body had paused 1 s in the middle of its '
        'declared length; response-abandoned reports it (its client leg; nginx\'s backend leg followed its client).')
    # The curl --max-time cut: a client timeout on a paused body, the one finding here.
    maxtime_cuts = [t for t in aborts if t['tag'] == 'curl-maxtime']
    meta = {
        'scenario': a.scenario,
        'software': a.software,
        'description': desc,
        'silent': False,
        'expect': [
            {'kind': 'response-abandoned', 'client': t['wire']['client'], 'server': t['wire']['server'],
             'notes': 'curl --max-time 1 (exit 28) after the first 4000 of 16000 body bytes and a 1 s pause: a client '
                      'timeout on a body the server paused in, reported on its own (one wait names no timeout value)'}
            for t in maxtime_cuts],
        'notes': (
            'Checked by samples/record/programs/x29s-meta.py, which reassembles every connection from the capture and '
            'frames each response itself (method and status, Transfer-Encoding, Content-Length, else the close), against '
            'the clients\' logs (local port, status, body bytes, outcome), the backend\'s log (bytes written, done or '
            'the peer gone), nginx\'s access log ($request_completion OK for every complete response, empty for the '
            'ones cut by their clients) and error log (nothing above info). facts.transfers lists each request with '
            'how its response ended on the wire and, for the client-ended ones, the frames of the first closes. The '
            'traps for a truncation detector: slow bodies with 1-2 s pauses, HEAD responses with a Content-Length and '
            'no body, 304/204, 206 with Content-Range, bodies legitimately delimited by the server\'s FIN (HTTP/1.0, and '
            'HTTP/1.1 with Connection: close), bodies cut short by the client\'s own close, FIN or RST, with the proxy '
            'then closing its backend leg mid-body, and a Connection: close request answered in full before the '
            'server\'s FIN.'),
        'facts': {
            'packets': npackets, 'connections': len(conns), 'responsesOnWire': nresp,
            'completeResponsesByFraming': dict(sorted(framing_counts.items())),
            'clientEndedTransfers': [t['id'] for t in aborts],
            'nginxInfo': nginx_info,
            'transfers': transfers,
            'connectionsList': connections,
        },
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x29s-meta: {a.scenario}: {len(transfers)} transfers ({len(aborts)} ended by their clients), '
          f'{len(conns)} connections, {npackets} packets: ok')


if __name__ == '__main__':
    main()
