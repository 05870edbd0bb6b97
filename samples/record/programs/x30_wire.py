"""What the x30 meta writers (x30a-meta.py, x30h-meta.py) share: every TCP connection of a capture
reassembled from tshark's fields (x29_capture.tshark_rows), its HTTP/1.x requests and responses framed by
hand (a HEAD's and a 204/304's response without a body, else Content-Length, chunked or close-delimited),
and who closed first. Importable (`import x30_wire`) by a program run from this folder."""
import os
import sys
from urllib.parse import parse_qs, urlsplit

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import x29_capture  # noqa: E402
from x29_capture import Direction  # noqa: E402

SERVER_PORTS = {8080, 9001}


def addr(a):
    return f'{a[0]}:{a[1]}'


def load(path):
    """{tcp.stream: connection}, packet count. A connection: client, server (ip, port), first/last time,
    packets, dir{client, server} (reassembled bytes), closes: the first FIN and first RST of each side."""
    fields = ['frame.number', 'frame.time_epoch', 'tcp.stream', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
              'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.seq', 'tcp.len', 'tcp.payload']
    conns, n = {}, 0
    for v in x29_capture.tshark_rows(path, fields, ['-o', 'tcp.relative_sequence_numbers:TRUE']):
        n += 1
        fr, t, st = int(v[0]), float(v[1]), int(v[2])
        src, dst = (v[3], int(v[4])), (v[5], int(v[6]))
        flag = lambda x: x in ('1', 'True')  # noqa: E731
        syn, fin, rst = flag(v[7]), flag(v[9]), flag(v[10])
        c = conns.get(st)
        if c is None:
            client, server = (dst, src) if src[1] in SERVER_PORTS and dst[1] not in SERVER_PORTS else (src, dst)
            c = conns[st] = {'stream': st, 'client': client, 'server': server, 'first': t, 'packets': [],
                             'dir': {'client': Direction(), 'server': Direction()},
                             'fin': {'client': None, 'server': None}, 'rst': {'client': None, 'server': None}}
        side = 'client' if src == c['client'] else 'server'
        c['last'] = t
        ln = int(v[12] or 0)
        c['packets'].append({'frame': fr, 't': t, 'side': side, 'len': ln, 'syn': syn, 'fin': fin, 'rst': rst})
        if ln:
            c['dir'][side].add(int(v[11] or 0), bytes.fromhex(v[13]), fr, t)
        if fin and c['fin'][side] is None:
            c['fin'][side] = {'frame': fr, 't': t}
        if rst and c['rst'][side] is None:
            c['rst'][side] = {'frame': fr, 't': t}
    for c in conns.values():
        c['requests'] = parse_requests(c['dir']['client'])
        c['responses'] = parse_responses(c['dir']['server'], c['requests'], c['fin']['server'] is not None)
        c['close'] = {side: first_close(c, side) for side in ('client', 'server')}
    return conns, n


def first_close(c, side):
    """The side's first FIN or RST: {frame, t, closedWith}, or None."""
    f, r = c['fin'][side], c['rst'][side]
    pick = min([x for x in (f, r) if x], key=lambda x: x['frame'], default=None)
    if pick is None:
        return None
    return {'frame': pick['frame'], 't': pick['t'], 'closedWith': 'fin' if pick is f else 'rst'}


def parse_requests(d):
    out, pos, data = [], 0, bytes(d.data)
    while True:
        end = data.find(b'\r\n\r\n', pos)
        if end < 0:
            break
        head = data[pos:end].decode('latin-1').split('\r\n')
        method, uri = head[0].split(' ')[:2]
        hdrs = {}
        for h in head[1:]:
            k, _, val = h.partition(':')
            hdrs[k.strip().lower()] = val.strip()
        fr, t = d.at(end + 3)
        out.append({'method': method, 'uri': uri, 'headers': hdrs, 'frame': fr, 't': t,
                    'userAgent': hdrs.get('user-agent')})
        pos = end + 4
    if pos < len(data):
        out.append({'partial': True, 'frame': d.at(pos)[0]})
    return out


def parse_responses(d, requests, server_closed):
    """One per request answered: status, framing ('content-length', 'chunked', 'close', 'none'), declared
    length, body bytes that arrived, complete, head frame/time (the head's first byte), last body byte
    frame/time (the head's when no body byte came)."""
    out, pos, data = [], 0, bytes(d.data)
    i = 0
    while pos < len(data):
        end = data.find(b'\r\n\r\n', pos)
        if end < 0:
            out.append({'partialHead': True, 'headFrame': d.at(pos)[0], 'complete': False, 'body': 0})
            break
        head = data[pos:end].decode('latin-1').split('\r\n')
        status = int(head[0].split(' ')[1])
        hdrs = {}
        for h in head[1:]:
            k, _, val = h.partition(':')
            hdrs[k.strip().lower()] = val.strip()
        hf, ht = d.at(pos)
        p = end + 4
        if 100 <= status < 200:
            pos = p
            continue
        method = requests[i]['method'] if i < len(requests) and not requests[i].get('partial') else 'GET'
        i += 1
        r = {'status': status, 'headFrame': hf, 'headTime': ht, 'version': head[0].split(' ')[0], 'headers': hdrs}
        last = None
        if method == 'HEAD' or status in (204, 304):
            r.update({'framing': 'none', 'body': 0, 'complete': True, 'declared': None})
        elif hdrs.get('transfer-encoding', '').lower() == 'chunked':
            body, complete, q = 0, False, p
            while True:
                le = data.find(b'\r\n', q)
                if le < 0:
                    break
                size = int(data[q:le].split(b';')[0], 16)
                if size == 0:
                    if data[le + 2:le + 4] == b'\r\n':
                        q = le + 4
                        complete = True
                    else:
                        q = len(data)
                    break
                got = min(size, len(data) - (le + 2))
                body += got
                if len(data) < le + 2 + size + 2:
                    q = len(data)
                    break
                q = le + 2 + size + 2
            r.update({'framing': 'chunked', 'declared': 'chunked', 'body': body, 'complete': complete})
            if q > p:
                last = d.at(q - 1)
            p = q
        elif 'content-length' in hdrs:
            cl = int(hdrs['content-length'])
            got = min(cl, len(data) - p)
            r.update({'framing': 'content-length', 'declared': cl, 'body': got, 'complete': got == cl})
            if got:
                last = d.at(p + got - 1)
            p += got
        else:
            r.update({'framing': 'close', 'declared': 'close', 'body': len(data) - p, 'complete': server_closed})
            if len(data) > p:
                last = d.at(len(data) - 1)
            p = len(data)
        r['lastByteFrame'], r['lastByteTime'] = last if last else (hf, ht)
        out.append(r)
        pos = p
    return out


def exchanges(c):
    """[(request, response or None)] in order."""
    reqs = [r for r in c['requests'] if not r.get('partial')]
    return [(rq, c['responses'][k] if k < len(c['responses']) else None) for k, rq in enumerate(reqs)]


def span(v):
    return [round(min(v), 4), round(max(v), 4)] if v else None


def before(c, frame):
    """The server's bytes carried by frames before FRAME, framed again: the responses as the client had
    them when it closed (frame = its FIN or RST)."""
    d, t = c['dir']['server'], Direction()
    for (fr, tt), end in zip(d.frames, d.ends):
        if fr >= frame:
            break
        start = t.ends[-1] if t.ends else 0
        t.data += d.data[start:end]
        t.ends.append(end)
        t.frames.append((fr, tt))
    return parse_responses(t, c['requests'], False), len(d.data) - len(t.data)


def query(target):
    """A URL's or target's query parameters, the last value of each."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(target).query).items()}


def path_of(url):
    """A URL's target: its path and query."""
    u = urlsplit(url)
    return u.path + ('?' + u.query if u.query else '')


def curl_entry(line):
    """One transfer of curl's -w '{"tag":…,"curl":%{json}}' log, as the meta writers list the clients' transfers
    (program, url, localPort, status, bytes, error, seconds), with its exit code."""
    e = line['curl']
    err = f'curl: ({e["exitcode"]}) {e["errormsg"]}' if e.get('exitcode') else None
    return {'program': 'curl', 'url': e['url'], 'localPort': e.get('local_port'), 'status': e.get('http_code'),
            'bytes': e.get('size_download'), 'error': err, 'exitcode': e.get('exitcode'), 'seconds': e.get('time_total')}


def load_checked(path, refuse, hosts=('127.0.0.1', '127.0.0.2')):
    """load(), refusing a connection from another host than HOSTS and a gap in either side's bytes."""
    conns, n = load(path)
    for c in conns.values():
        if c['client'][0] not in hosts:
            refuse(f'{addr(c["client"])} -> {addr(c["server"])}: an unexpected connection')
        for side in ('client', 'server'):
            if c['dir'][side].gap:
                refuse(f'{addr(c["client"])}: a gap in the {side}\'s bytes')
    return conns, n
