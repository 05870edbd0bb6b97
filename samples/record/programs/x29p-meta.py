"""Checks the response-truncated-proxy-stall recording against the programs' own logs and writes its
meta.json, or refuses (exit 1).

Ground truth read from --work: the clients' logs (curl-TAG.jsonl: curl -w '%{json}' per transfer, with
curl-TAG.err and curl-TAG.rc; node-clients.log: x29p-node-client.js; py-clients.log: x29p-py-client.py),
each request tagged ?id=TAG-N so that every log and both legs of the exchange can be matched; the
backend's log (backend.log: x29p-backend.py), nginx's error.log and nginx-access.log, haproxy.log,
Apache's apache-error.log and proxy-access.log.

The capture is read with tshark (TCP fields and payload only); each connection's byte streams are
rebuilt from the segments and the HTTP/1.1 exchanges parsed here (heads, Content-Length and chunked
bodies), so that the frame of every body byte is known.

Checked, for every request to /stall-len or /stall-chunked (the backend stalls mid-body for --stall
seconds):
  - the client logged a failure (curl exit 18, a Python exception or a short body, Node 'aborted')
    from the local port the capture shows, having received the body bytes the capture shows;
  - client leg: a 200 head, fewer body bytes than Content-Length (or chunked without the last chunk),
    then the proxy's FIN, --timeout seconds after the last body byte it sent (0.25 s before to 0.3 s
    after: HAProxy's MSG_MORE lets the kernel hold the body's last partial segment ~0.2 s) and after
    the backend's last byte on the upstream leg (0.05 s before to 0.3 s after); nothing from the
    proxy after it, no RST;
  - upstream leg (proxy 127.0.0.2 -> backend 127.0.0.3:9001): the backend sent part of the body,
    then the proxy closed (FIN or RST) --timeout seconds after the backend's last byte, and the
    backend logged peer-closed / peer-reset;
  - the proxy's own log: nginx "upstream timed out (110: Connection timed out) while reading
    upstream" naming the request; HAProxy termination state sD--; Apache AH01110 "(70007)The
    timeout specified has expired" naming the client port.
Every other request (/ok, /slow-ok) completed on both legs, logged complete by its client, with no
error in the proxies' logs. No RST on any client leg.
"""
import argparse
import glob
import json
import os
import re
import sys
from collections import defaultdict

sys.dont_write_bytecode = True  # no __pycache__ in programs/ for the module below
import x29_capture  # noqa: E402
from x29_capture import read_jsonl  # noqa: E402

PROXIES = {8080: 'nginx', 8081: 'haproxy', 8082: 'apache'}
PROXY_IP = '127.0.0.2'
BACKEND = ('127.0.0.3', 9001)
STALL_PATHS = ('/stall-len', '/stall-chunked')

problems = []


def refuse(msg):
    problems.append(msg)



def addr(a):
    return f'{a[0]}:{a[1]}'


class Dir:
    """One direction of a connection: its bytes, and for each byte range the frame that carried it."""

    def __init__(self):
        self.segs = []  # (seq, bytes, frame, t)

    def build(self):
        self.data = bytearray()
        self.pieces = []  # (start offset, end offset, frame, t)
        self.segs.sort(key=lambda s: (s[0], s[2]))
        nxt = None
        for seq, payload, fr, t in self.segs:
            if nxt is None:
                nxt = seq
            if seq + len(payload) <= nxt:
                continue  # a retransmission of bytes already had
            if seq > nxt:
                refuse(f'a gap in a byte stream at frame {fr}')
                return
            payload = payload[nxt - seq:]
            self.pieces.append((len(self.data), len(self.data) + len(payload), fr, t))
            self.data += payload
            nxt += len(payload)

    def at(self, off):
        """(frame, t) of the segment carrying byte `off`."""
        for s, e, fr, t in self.pieces:
            if s <= off < e:
                return fr, t
        return None, None


def load_capture(path):
    fields = ['frame.number', 'frame.time_epoch', 'tcp.stream', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
              'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.seq', 'tcp.len', 'tcp.payload']
    streams = {}
    npackets = 0
    for v in x29_capture.tshark_rows(path, fields, ['-o', 'tcp.desegment_tcp_streams:FALSE', '-o', 'tcp.relative_sequence_numbers:TRUE']):
        npackets += 1
        fr, t, st = int(v[0]), float(v[1]), int(v[2])
        src, dst = (v[3], int(v[4])), (v[5], int(v[6]))
        flag = lambda x: x in ('1', 'True')
        syn, ack, fin, rst = flag(v[7]), flag(v[8]), flag(v[9]), flag(v[10])
        s = streams.get(st)
        if s is None:
            s = streams[st] = {'stream': st, 'client': None, 'server': None, 'first': t, 'firstFrame': fr, 'fins': [],
                               'rsts': [], 'dirs': {'client': Dir(), 'server': Dir()}, 'packets': 0}
        if syn and not ack:
            s['client'], s['server'] = src, dst
        elif s['client'] is None:
            s['client'], s['server'] = (src, dst) if dst[1] in (8080, 8081, 8082, 9001) else (dst, src)
        side = 'client' if src == s['client'] else 'server'
        s['packets'] += 1
        s['last'] = t
        if fin:
            s['fins'].append({'t': t, 'side': side, 'frame': fr})
        if rst:
            s['rsts'].append({'t': t, 'side': side, 'frame': fr})
        n = int(v[12] or 0)
        if n > 0:
            payload = bytes.fromhex(v[13].replace(':', ''))
            s['dirs'][side].segs.append((int(v[11]), payload, fr, t))
    for s in streams.values():
        for d in s['dirs'].values():
            d.build()
    return streams, npackets


def parse_requests(d):
    """Requests (no bodies: GETs only) in a client->server byte stream."""
    reqs = []
    off = 0
    data = bytes(d.data)
    while True:
        end = data.find(b'\r\n\r\n', off)
        if end < 0:
            break
        head = data[off:end].decode('latin-1')
        line = head.split('\r\n')[0]
        method, target, _ = line.split(' ', 2)
        fr, t = d.at(off)
        q = target.partition('?')[2]
        rid = dict(p.split('=', 1) for p in q.split('&') if '=' in p).get('id')
        reqs.append({'method': method, 'target': target, 'path': target.partition('?')[0], 'id': rid, 'frame': fr, 't': t})
        off = end + 4
    return reqs


def parse_responses(d):
    """Responses in a server->client byte stream: head, framing, body bytes received, complete or not."""
    resps = []
    data = bytes(d.data)
    off = 0
    while off < len(data):
        end = data.find(b'\r\n\r\n', off)
        if end < 0:
            resps.append({'partialHead': True, 'headFrame': d.at(off)[0]})
            break
        lines = data[off:end].decode('latin-1').split('\r\n')
        status = int(lines[0].split(' ')[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, val = ln.partition(':')
            hdrs[k.strip().lower()] = val.strip()
        r = {'status': status, 'headFrame': d.at(off)[0], 'headT': d.at(off)[1], 'headEndFrame': d.at(end + 3)[0]}
        body_start = end + 4
        if 'content-length' in hdrs:
            cl = int(hdrs['content-length'])
            got = min(cl, len(data) - body_start)
            r.update(framing='content-length', declared=cl, bodyBytes=got, complete=got == cl)
            last = body_start + got - 1
            off = body_start + got
        elif 'chunked' in hdrs.get('transfer-encoding', '').lower():
            pos = body_start
            got = 0
            chunks = 0
            last_chunk = False
            last = body_start - 1
            while True:
                le = data.find(b'\r\n', pos)
                if le < 0:
                    break
                size = int(data[pos:le].split(b';')[0], 16)
                if size == 0:
                    # the last chunk and (no trailers) the final CRLF
                    if data[le + 2:le + 4] == b'\r\n':
                        last_chunk = True
                        last = le + 3
                        pos = le + 4
                    break
                avail = min(size, len(data) - (le + 2))
                got += avail
                last = le + 2 + avail - 1
                if avail < size:
                    pos = len(data)
                    break
                chunks += 1
                pos = le + 2 + size + 2
                if pos > len(data):
                    break
            r.update(framing='chunked', declared=None, bodyBytes=got, chunks=chunks, lastChunk=last_chunk,
                     complete=last_chunk)
            off = pos if last_chunk else len(data)
        else:
            r.update(framing='close', declared=None, bodyBytes=len(data) - body_start, complete=None)
            last = len(data) - 1
            off = len(data)
        if last >= body_start:
            r['lastBodyFrame'], r['lastBodyT'] = d.at(last)
        else:
            r['lastBodyFrame'], r['lastBodyT'] = r['headEndFrame'], d.at(end + 3)[1]
        r['lastByteFrame'], r['lastByteT'] = d.at(min(last, len(data) - 1)) if len(data) else (None, None)
        resps.append(r)
    return resps


def load_client_logs(work):
    """id -> what its client logged."""
    out = {}
    for f in sorted(glob.glob(os.path.join(work, 'curl-*.jsonl'))):
        tag = os.path.basename(f)[5:-6]
        err = open(os.path.join(work, f'curl-{tag}.err')).read().strip() if os.path.exists(os.path.join(work, f'curl-{tag}.err')) else ''
        rc = open(os.path.join(work, f'curl-{tag}.rc')).read().strip() if os.path.exists(os.path.join(work, f'curl-{tag}.rc')) else None
        for j in read_jsonl(f):
            rid = re.search(r'[?&]id=([^&]+)', j['url']).group(1)
            ok = j['exitcode'] == 0
            out[rid] = {'client': 'curl', 'tag': tag, 'localPort': j['local_port'], 'status': j['http_code'],
                        'received': j['size_download'], 'complete': ok, 'exitCode': j['exitcode'],
                        'logged': f"curl: ({j['exitcode']}) {j['errormsg']}" if not ok else 'exit 0',
                        'curlStderr': err, 'curlExit': int(rc) if rc not in (None, '') else None,
                        'path': re.sub(r'^https?://[^/]+', '', j['url']).split('?')[0]}
    for j in read_jsonl(os.path.join(work, 'node-clients.log')):
        if 'id' not in j:
            refuse(f'node client log: {j}')
            continue
        evs = j.get('events', [])
        bad = [e for e in evs if e['event'] != 'end']
        logged = ', '.join(f"'{e['event']}'" + (f" {e.get('code')} \"{e.get('message')}\"" if e.get('code') else '') for e in bad) or "'end'"
        out[j['id']] = {'client': 'node', 'tag': j['tag'], 'localPort': j.get('localPort'), 'status': j.get('status'),
                        'received': j.get('received'), 'complete': bool(j.get('complete')) and not bad,
                        'logged': logged, 'reusedSocket': j.get('reusedSocket'), 'path': j['path'],
                        'elapsed': round(j['tEnd'] - j['tStart'], 3)}
    for j in read_jsonl(os.path.join(work, 'py-clients.log')):
        exc = j.get('exception')
        if exc:
            logged = f"{exc['class']}: {exc['message']}"
        elif not j.get('complete'):
            logged = f"no exception: a {j.get('received')}-byte body returned for Content-Length {j.get('declared')}"
        else:
            logged = 'complete'
        out[j['id']] = {'client': j['client'], 'tag': j['tag'], 'localPort': j.get('localPort'), 'status': j.get('status'),
                        'received': j.get('received'), 'complete': bool(j.get('complete')), 'logged': logged,
                        'exception': exc, 'path': j['path'], 'elapsed': round(j['tEnd'] - j['tStart'], 3)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--timeout', type=float, required=True)
    ap.add_argument('--stall', type=float, required=True)
    ap.add_argument('--software', nargs='*', default=[])
    ap.add_argument('--known-miss', default='')
    a = ap.parse_args()
    T = a.timeout

    streams, npackets = load_capture(a.capture)
    if problems:
        return finish(a, None)
    legs = {}  # id -> {'front': (stream, req, resp), 'back': ...}
    conns = []
    for s in sorted(streams.values(), key=lambda s: s['first']):
        if s['client'] is None:
            refuse(f'stream {s["stream"]}: no SYN')
            continue
        reqs = parse_requests(s['dirs']['client'])
        resps = parse_responses(s['dirs']['server'])
        s['reqs'], s['resps'] = reqs, resps
        if s['server'][0] == PROXY_IP and s['server'][1] in PROXIES:
            s['role'] = 'front'
            s['proxy'] = PROXIES[s['server'][1]]
        elif s['server'] == BACKEND:
            s['role'] = 'back'
        else:
            refuse(f'stream {s["stream"]}: unexpected endpoints {addr(s["client"])} -> {addr(s["server"])}')
            continue
        conns.append(s)
        if len(resps) > len(reqs):
            refuse(f'{addr(s["client"])} -> {addr(s["server"])}: more responses than requests')
        for i, rq in enumerate(reqs):
            rs = resps[i] if i < len(resps) else None
            legs.setdefault(rq['id'], {})
            if s['role'] in legs[rq['id']]:
                refuse(f'request {rq["id"]} twice on the {s["role"]} side')
            legs[rq['id']][s['role']] = (s, rq, rs)

    clients = load_client_logs(a.work)
    backend = read_jsonl(os.path.join(a.work, 'backend.log'))
    nginx_err = open(os.path.join(a.work, 'error.log')).read().splitlines()
    nginx_timeouts = {}
    for ln in nginx_err:
        if '[error]' in ln or '[crit]' in ln or '[alert]' in ln:
            m = re.search(r'upstream timed out \(110: Connection timed out\) while reading upstream.*request: "GET [^"?]*\?id=([^ "&]+)', ln)
            if m:
                nginx_timeouts[m.group(1)] = ln
            else:
                refuse(f'nginx error log: unexpected line: {ln}')
    ha = {}
    for ln in open(os.path.join(a.work, 'haproxy.log')):
        m = re.match(r'^(\d+\.\d+) (\S+):(\d+) (\S+) (\S+) (\d+) (\S+) (\d+) (\S+) (\d+) (\d+)$', ln.strip())
        if m:
            rid = re.search(r'[?&]id=([^&]+)', m.group(5)).group(1)
            ha[rid] = {'clientPort': int(m.group(3)), 'status': int(m.group(6)), 'timers': m.group(7), 'Tt': int(m.group(8)),
                       'termination': m.group(9), 'backendPort': int(m.group(10)), 'bytesRead': int(m.group(11))}
    ap_err = {}
    for ln in open(os.path.join(a.work, 'apache-error.log')):
        if ':error]' in ln or ':crit]' in ln:
            m = re.search(r'\(70007\)The timeout specified has expired: \[client 127\.0\.0\.1:(\d+)\] AH01110: error reading response', ln)
            if m:
                ap_err.setdefault(int(m.group(1)), []).append(ln.strip())
            else:
                refuse(f'apache error log: unexpected line: {ln.strip()}')
    ap_acc = {}
    for ln in open(os.path.join(a.work, 'proxy-access.log')):
        m = re.match(r'^(\S+) 127\.0\.0\.1:(\d+) "GET ([^ ]+) [^"]*" (\d+) (\S+) conn=(\S)', ln)
        if m:
            rid = re.search(r'[?&]id=([^&]+)', m.group(3)).group(1)
            ap_acc[rid] = {'clientPort': int(m.group(2)), 'status': int(m.group(4)), 'bytes': m.group(5), 'conn': m.group(6)}
    be_by_peer = defaultdict(list)
    for e in backend:
        if 'peer' in e:
            be_by_peer[e['peer']].append(e)

    # every request the clients logged is on the wire, on both legs
    exchanges = []
    for rid, c in sorted(clients.items()):
        lg = legs.get(rid, {})
        if 'front' not in lg or 'back' not in lg:
            refuse(f'{rid}: legs on the wire: {sorted(lg)}')
            continue
        fs, frq, frs = lg['front']
        bs, brq, brs = lg['back']
        if fs['client'] != ('127.0.0.1', c['localPort']):
            refuse(f'{rid}: client logged port {c["localPort"]}, the capture has {addr(fs["client"])}')
        if frs is None or brs is None:
            refuse(f'{rid}: no response on a leg')
            continue
        stall = c['path'] in STALL_PATHS
        ex = {'id': rid, 'proxy': fs['proxy'], 'path': c['path'], 'clientLog': c, 'front': lg['front'], 'back': lg['back'],
              'stall': stall}
        exchanges.append(ex)
        if frs.get('status') != 200 or brs.get('status') != 200:
            refuse(f'{rid}: statuses {frs.get("status")} / {brs.get("status")}')
        if c['received'] != frs['bodyBytes']:
            refuse(f'{rid}: client logged {c["received"]} body bytes, the capture has {frs["bodyBytes"]}')
        if not stall:
            if not (c['complete'] and frs['complete'] and brs['complete']):
                refuse(f'{rid}: a healthy request did not complete ({c["logged"]}, front {frs["complete"]}, back {brs["complete"]})')
            if rid in nginx_timeouts:
                refuse(f'{rid}: nginx logged a timeout for a healthy request')
            if fs['proxy'] == 'haproxy' and ha.get(rid, {}).get('termination') != '----':
                refuse(f'{rid}: HAProxy log {ha.get(rid)}')
            continue
        # --- a stalled response ---
        if c['complete']:
            refuse(f'{rid}: the client logged a stalled response as complete')
        if c['client'] == 'curl' and c['exitCode'] != 18:
            refuse(f'{rid}: curl exit {c["exitCode"]}, not 18')
        if c['client'] == 'node' and 'aborted' not in c['logged']:
            refuse(f'{rid}: node did not log aborted: {c["logged"]}')
        if frs['complete'] or brs['complete']:
            refuse(f'{rid}: the response completed on a leg (front {frs["complete"]}, back {brs["complete"]})')
        # the backend's leg: its last byte, then the proxy's close
        b_last = brs['lastBodyT']
        b_close = [x for x in bs['fins'] + bs['rsts'] if x['side'] == 'client']
        b_srv_after = [p for p in bs['dirs']['server'].pieces if p[3] > b_last + 0.001]
        if not b_close:
            refuse(f'{rid}: the proxy did not close the upstream leg')
            continue
        b_close = min(b_close, key=lambda x: x['t'])
        ex['backClose'] = b_close
        ex['backClosedWith'] = 'rst' if b_close in bs['rsts'] else 'fin'
        ex['backSilence'] = round(b_close['t'] - b_last, 3)
        if b_srv_after:
            refuse(f'{rid}: the backend sent more after its stall began')
        if not (T - 0.05 <= ex['backSilence'] <= T + 0.3):
            refuse(f'{rid}: upstream leg closed {ex["backSilence"]} s after the backend\'s last byte')
        peer = addr(bs['client'])
        closed = [e for e in be_by_peer.get(peer, []) if e['event'] in ('peer-closed', 'peer-reset')]
        if len(closed) != 1:
            refuse(f'{rid}: backend log for {peer}: {len(closed)} peer-closed/reset events')
        else:
            ex['backendLogged'] = f"{closed[0]['event']} {closed[0]['afterLastWrite']} s after its last write"
            if abs(closed[0]['afterLastWrite'] - T) > 0.3:
                refuse(f'{rid}: backend logged the close {closed[0]["afterLastWrite"]} s after its last write')
        # the client's leg: the proxy's FIN after the last body byte
        f_fins = [x for x in fs['fins'] if x['side'] == 'server']
        if fs['rsts']:
            refuse(f'{rid}: RST on the client leg: {fs["rsts"]}')
        if not f_fins:
            refuse(f'{rid}: no FIN from the proxy on the client leg')
            continue
        fin = f_fins[0]
        ex['fin'] = fin
        if fin['t'] < frs['lastBodyT']:
            refuse(f'{rid}: the FIN came before the last body byte')
        after = [p for p in fs['dirs']['server'].pieces if p[2] > fin['frame']]
        if after:
            refuse(f'{rid}: the proxy sent data after its FIN')
        if fs['resps'][-1] is not frs:
            refuse(f'{rid}: a response after the truncated one on {addr(fs["client"])}')
        ex['silence'] = round(fin['t'] - frs['lastBodyT'], 3)
        ex['sinceBackendLastByte'] = round(fin['t'] - b_last, 3)
        ex['sinceRequest'] = round(fin['t'] - frq['t'], 3)
        # HAProxy sends what it forwards with MSG_MORE while the body is incomplete: the kernel holds a
        # partial segment up to 200 ms, so the client leg's last body byte may leave up to 0.2 s late
        if not (T - 0.25 <= ex['silence'] <= T + 0.3):
            refuse(f'{rid}: FIN {ex["silence"]} s after the last body byte')
        if not (T - 0.05 <= ex['sinceBackendLastByte'] <= T + 0.3):
            refuse(f'{rid}: FIN {ex["sinceBackendLastByte"]} s after the backend\'s last byte')
        cfin = [x for x in fs['fins'] if x['side'] == 'client']
        ex['clientFin'] = cfin[0] if cfin else None
        # what came after the proxy's FIN on the client leg
        ex['after'] = [f'{"client" if x in cfin else "proxy"} {"FIN" if x in fs["fins"] else "RST"} frame {x["frame"]}'
                       for x in sorted(fs['fins'] + fs['rsts'], key=lambda x: x['t']) if x['frame'] > fin['frame']]
        # the proxy's own log
        if ex['proxy'] == 'nginx':
            if rid not in nginx_timeouts:
                refuse(f'{rid}: no "upstream timed out ... while reading upstream" in nginx\'s error log')
            ex['proxyLogged'] = 'nginx error.log: "upstream timed out (110: Connection timed out) while reading upstream"'
        elif ex['proxy'] == 'haproxy':
            h = ha.get(rid)
            if not h or not h['termination'].startswith('sD') or h['clientPort'] != fs['client'][1]:
                refuse(f'{rid}: HAProxy log {h}')
            else:
                ex['proxyLogged'] = f"HAProxy termination state {h['termination']} (Tc/Tw/Tr/Ta {h['timers']}, {h['bytesRead']} bytes read)"
        else:
            if fs['client'][1] not in ap_err:
                refuse(f'{rid}: no AH01110 for client port {fs["client"][1]} in Apache\'s error log')
            ex['proxyLogged'] = 'Apache error log: "(70007)The timeout specified has expired: ... AH01110: error reading response"'

    n_stall = sum(1 for e in exchanges if e['stall'])
    if len(nginx_timeouts) != sum(1 for e in exchanges if e['stall'] and e['proxy'] == 'nginx'):
        refuse(f'nginx logged {len(nginx_timeouts)} timeouts')
    if sum(len(v) for v in ap_err.values()) != sum(1 for e in exchanges if e['stall'] and e['proxy'] == 'apache'):
        refuse(f'Apache logged {sum(len(v) for v in ap_err.values())} timeouts')
    for p in PROXIES.values():
        k = sum(1 for e in exchanges if e['stall'] and e['proxy'] == p)
        if k < 3:
            refuse(f'{p}: only {k} truncated responses')
    # every request on the wire was made by a logged client
    for rid in legs:
        if rid not in clients:
            refuse(f'request {rid} on the wire, in no client log')
    # client legs: no RST at all; healthy ones end with the client's FIN first (or stay open)
    front = [s for s in conns if s['role'] == 'front']
    for s in front:
        if s['rsts']:
            refuse(f'RST on client leg {addr(s["client"])}')
    return finish(a, {'streams': streams, 'conns': conns, 'exchanges': exchanges, 'npackets': npackets, 'ha': ha,
                      'nginx_timeouts': nginx_timeouts, 'ap_err': ap_err, 'ap_acc': ap_acc, 'n_stall': n_stall})


def finish(a, r):
    if problems:
        for p in problems:
            print(f'x29p-meta: {p}', file=sys.stderr)
        print(f'x29p-meta: refusing ({len(problems)} problems)', file=sys.stderr)
        sys.exit(1)
    T = a.timeout
    exchanges = r['exchanges']
    stalls = [e for e in exchanges if e['stall']]
    by_front = defaultdict(list)
    for e in exchanges:
        by_front[e['front'][0]['stream']].append(e)
    silences = defaultdict(list)
    for e in stalls:
        silences[e['proxy']].append(e['silence'])
    rng = {p: f'{min(v)}-{max(v)} s' for p, v in silences.items()}
    proxy_desc = {'nginx': 'nginx, proxy_read_timeout 2s', 'haproxy': 'HAProxy, timeout server 2s', 'apache': 'Apache, ProxyTimeout 2'}

    expect = []
    front = sorted([s for s in r['conns'] if s['role'] == 'front'], key=lambda s: s['first'])
    back = sorted([s for s in r['conns'] if s['role'] == 'back'], key=lambda s: s['first'])
    for s in front:
        exs = by_front.get(s['stream'], [])
        cut = [e for e in exs if e['stall']]
        tags = sorted({e['clientLog']['tag'] for e in exs})
        if cut:
            e = cut[0]
            fs, frq, frs = e['front']
            bs, brq, brs = e['back']
            c = e['clientLog']
            before = [x['path'] for x in exs if not x['stall']]
            if frs['framing'] == 'content-length':
                got = f'{frs["bodyBytes"]} of {frs["declared"]} body bytes (Content-Length)'
            else:
                got = f'{frs["bodyBytes"]} body bytes in {frs["chunks"]} chunks, no last chunk'
            note = (f'{c["tag"]} ({c["client"]}): {e["path"]} through {e["proxy"]}'
                    + (f' on a connection that first carried {", ".join(before)}' if before else '') +
                    f'; the backend stalled mid-body, {e["proxy"]} ({proxy_desc[e["proxy"]]}) gave up {e["backSilence"]} s after '
                    f'its last byte and closed both legs: the client got {got}, then the proxy\'s FIN {e["silence"]} s after the '
                    f'last body byte (one of {len(silences[e["proxy"]])} through {e["proxy"]}, {rng[e["proxy"]]}); the client '
                    f'logged {c["logged"]}; {e["proxyLogged"]}')
            ev = {
                'id': e['id'], 'proxy': e['proxy'], 'path': e['path'], 'clientProgram': c['client'],
                'requestFrame': frq['frame'], 'responseHeadFrame': frs['headFrame'], 'lastBodyByteFrame': frs['lastBodyFrame'],
                'proxyFinFrame': e['fin']['frame'], 'framing': frs['framing'],
                'declaredLength': frs['declared'], 'bodyBytesReceived': frs['bodyBytes'],
                'lastChunk': frs.get('lastChunk') if frs['framing'] == 'chunked' else None,
                'silence': e['silence'], 'sinceRequest': e['sinceRequest'],
                'clientLogged': c['logged'],
                'upstreamLeg': f'{addr(bs["client"])} -> {addr(bs["server"])}',
                'upstreamBodyBytes': brs['bodyBytes'], 'upstreamLastByteFrame': brs['lastBodyFrame'],
                'upstreamCloseFrame': e['backClose']['frame'], 'upstreamClosedWith': e['backClosedWith'],
                'upstreamSilence': e['backSilence'],
            }
            if frs['framing'] != 'chunked':
                ev.pop('lastChunk')
            x = {'kind': 'response-truncated', 'client': addr(s['client']), 'server': addr(s['server']), 'notes': note,
                 'evidence': ev}
            if a.known_miss:
                x['knownMiss'] = a.known_miss
            expect.append(x)
        else:
            paths = ', '.join(f'{x["path"]}' for x in sorted(exs, key=lambda x: x['front'][1]['frame']))
            fins = sorted(s['fins'], key=lambda x: x['t'])
            ended = f'the {"client" if fins[0]["side"] == "client" else "proxy"} closed it first (FIN)' if fins else 'still open at the end of the capture'
            expect.append({'kind': None, 'client': addr(s['client']), 'server': addr(s['server']),
                           'notes': f'{", ".join(tags)}: {len(exs)} complete response{"s" if len(exs) != 1 else ""} through '
                                    f'{PROXIES[s["server"][1]]} on one keep-alive connection ({paths}); {ended}'})
    for s in back:
        exs = sorted([e for e in exchanges if e['back'][0] is s], key=lambda x: x['back'][1]['frame'])
        cut = [e for e in exs if e['stall']]
        proxy = exs[0]['proxy'] if exs else {'127.0.0.2': 'a proxy'}.get(s['client'][0], '?')
        if cut:
            e = cut[0]
            earlier = [x['path'] for x in exs if not x['stall']]
            note = (f'upstream leg of {e["id"]} ({proxy})'
                    + (f', which first carried {len(earlier)} complete response{"s" if len(earlier) != 1 else ""} ({", ".join(earlier)})' if earlier else '') +
                    f': the backend stalled after {e["back"][2]["bodyBytes"]} body bytes; '
                    f'the proxy (the client here) gave up {e["backSilence"]} s later and closed it with a '
                    f'{e["backClosedWith"].upper()}: the server did not cut this response, the client abandoned it')
        else:
            ends = [x['side'] + ' ' + ('RST' if x in s['rsts'] else 'FIN') for x in sorted(s['fins'] + s['rsts'], key=lambda x: x['t'])]
            note = (f'pooled upstream connection of {proxy} carrying {len(exs)} complete response{"s" if len(exs) != 1 else ""}; '
                    + (f'closed first by a {ends[0].split()[1]} from the {"proxy" if ends[0].startswith("client") else "backend"}'
                       + (' (HAProxy\'s periodic purge of idle server connections, pool-purge-delay)' if ends[0] == 'client RST' and proxy == 'haproxy' else '')
                       if ends else 'still open at the end of the capture'))
        expect.append({'kind': None, 'client': addr(s['client']), 'server': addr(s['server']), 'notes': note})

    facts_ex = []
    for e in sorted(exchanges, key=lambda e: e['front'][1]['frame']):
        fs, frq, frs = e['front']
        bs, brq, brs = e['back']
        d = {'id': e['id'], 'proxy': e['proxy'], 'path': e['path'], 'client': addr(fs['client']), 'clientProgram': e['clientLog']['client'],
             'clientLogged': e['clientLog']['logged'], 'requestFrame': frq['frame'], 'responseHeadFrame': frs['headFrame'],
             'framing': frs['framing'], 'declared': frs['declared'], 'bodyBytes': frs['bodyBytes'], 'complete': frs['complete'],
             'upstream': addr(bs['client']), 'upstreamBodyBytes': brs['bodyBytes'], 'upstreamComplete': brs['complete']}
        if e['stall']:
            d.update({'lastBodyByteFrame': frs['lastBodyFrame'], 'proxyFinFrame': e['fin']['frame'], 'silence': e['silence'],
                      'sinceRequest': e['sinceRequest'], 'sinceBackendLastByte': e['sinceBackendLastByte'],
                      'clientFinFrame': e['clientFin']['frame'] if e['clientFin'] else None, 'afterProxyFin': e['after'],
                      'upstreamCloseFrame': e['backClose']['frame'], 'upstreamClosedWith': e['backClosedWith'],
                      'upstreamSilence': e['backSilence'], 'backendLogged': e.get('backendLogged'), 'proxyLogged': e['proxyLogged']})
        facts_ex.append(d)
    resets = []
    for s in r['conns']:
        for x in s['rsts']:
            resets.append({'frame': x['frame'], 'client': addr(s['client']), 'server': addr(s['server']), 'side': x['side']})
    nginx_held = [e for e in stalls if e['proxy'] == 'nginx' and e['front'][2]['bodyBytes'] < e['back'][2]['bodyBytes']]
    n_by = {p: sum(1 for e in stalls if e['proxy'] == p) for p in PROXIES.values()}
    held_front = '/'.join(sorted({str(e['front'][2]['bodyBytes']) for e in nginx_held}))
    held_back = '/'.join(sorted({str(e['back'][2]['bodyBytes']) for e in nginx_held}))
    meta = {
        'scenario': a.scenario,
        'software': a.software,
        'description': (
            'A backend stalls in the middle of a response body; the proxy\'s read timeout (silence from the backend), 2 s here, '
            'expires and the proxy closes the client\'s connection mid-body, after the head and part of the body. On one '
            'namespace\'s loopback, both legs captured: nginx 1.22 on 127.0.0.2:8080 (proxy_read_timeout 2s; HTTP/1.1 to the '
            'backend through an upstream keepalive pool), HAProxy 2.6 on 127.0.0.2:8081 (mode http, timeout server 2s, timeout '
            'client 30s) and Apache 2.4 mod_proxy_http on 127.0.0.2:8082 (ProxyTimeout 2), each connecting from 127.0.0.2 to a '
            'hand-written Python backend on 127.0.0.3:9001 whose /stall-len (Content-Length 24000) sends 6000 body bytes and '
            f'/stall-chunked three 2000-byte chunks, then stays silent for {a.stall:g} s. {len(stalls)} truncated responses '
            f'({n_by["nginx"]} through nginx, {n_by["haproxy"]} through HAProxy, {n_by["apache"]} through Apache), spread over '
            '~12 s, some on keep-alive connections that first carried a complete response: each proxy gave up 2 s after the '
            'backend\'s last byte and sent the client a FIN after fewer body bytes than Content-Length, or without the last '
            'chunk (never a RST; HAProxy RSTs the upstream leg, nginx and Apache send it a FIN). '
            + (f'nginx (proxy_buffering on) had passed on only the first {held_front} of the {held_back} Content-Length body bytes it '
               'had read. ' if nginx_held else '') +
            (f'HAProxy\'s FINs came {min(silences["haproxy"])}-{max(silences["haproxy"])} s after the last body byte its clients '
               'got: it had sent the tail of the partial body with MSG_MORE, held back ~0.2 s by the kernel (see notes). '
               if silences.get('haproxy') and min(silences['haproxy']) < T - 0.1 else '') +
            'The clients: curl 7.88 '
            '"(18) transfer closed with N bytes remaining to read" / "with outstanding read data remaining", Python http.client '
            'IncompleteRead, requests ChunkedEncodingError for the chunked bodies but no error at all for the short '
            'Content-Length bodies (urllib3 1.26 does not enforce it), Node \'aborted\' and ECONNRESET "aborted". nginx logged '
            '"upstream timed out (110: Connection timed out) while reading upstream", HAProxy termination state sD--, Apache '
            '"(70007)The timeout specified has expired ... AH01110: error reading response". Healthy keep-alive connections '
            'through each proxy carry /ok and /slow-ok (a 1 s pause mid-body, below the timeout) to completion. conncheck '
            'should report each cut client connection (response-truncated) and tell the proxy\'s stall timeout (2 s) from the '
            'silence before the FINs; the upstream legs were abandoned by the proxy, not cut by the server.'),
        'silent': False,
        'configured': {'responseStallTimeout': T},
        'expect': expect,
        'notes': (
            'Checked by samples/record/programs/x29p-meta.py against the clients\' logs (curl exit codes and messages, Python '
            'exceptions, Node events, each with the local port the capture shows and the body bytes it shows), the backend\'s '
            'log (the proxy closed each stalled upstream connection ~2 s after the backend\'s last write: facts.exchangeList[]'
            '.backendLogged), nginx\'s error log, HAProxy\'s log and Apache\'s error log (one timeout per truncated response, '
            'none for the others). silence = the proxy\'s FIN minus the last body byte on the client leg; upstreamSilence = the '
            'proxy\'s close of the upstream leg minus the backend\'s last byte. '
            + (f'nginx: {len(nginx_held)} of its truncated Content-Length responses reached the client shorter than what '
               f'nginx had read from the backend ({held_front} of {held_back} body bytes: the rest sat in a proxy buffer, never flushed); the '
               'silence on the client leg is still ~2 s since nginx wrote those bytes as it read them. ' if nginx_held else '') +
            (f'HAProxy: on the client legs the silence before the FIN is {min(silences["haproxy"])}-{max(silences["haproxy"])} s, '
               f'not {T:g} s, although HAProxy closed the upstream legs {T:g} s after the backend\'s last byte (evidence.upstreamSilence): '
               'while a message is incomplete HAProxy sends what it forwards with MSG_MORE (no `option http-no-delay`), and the '
               'kernel held the last partial segment of the body back ~200 ms (recorded with option http-no-delay, the client-leg '
               'silences were 2.001-2.002 s). ' if silences.get('haproxy') and min(silences['haproxy']) < T - 0.1 else '') +
            'A correct finding would name the proxy side as the one that cut the response (the FIN comes from the server '
            'address of the client leg), the bytes declared and received, the silence before the FIN and, from agreeing '
            'samples, the proxy\'s timeout (2 s), and the remedy: find why the backend stalls (or raise proxy_read_timeout / '
            'timeout server / ProxyTimeout).'),
        'facts': {
            'packets': r['npackets'],
            'connections': len(r['conns']),
            'clientLegs': len(front),
            'upstreamLegs': len(back),
            'exchanges': len(exchanges),
            'truncated': len(stalls),
            'silenceByProxy': {p: sorted(v) for p, v in silences.items()},
            'resets': resets,
            'exchangeList': facts_ex,
        },
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x29p-meta: {len(stalls)} truncated responses ({", ".join(f"{p} {rng[p]}" for p in rng)}), '
          f'{len(exchanges) - len(stalls)} complete; wrote {a.meta}', file=sys.stderr)


if __name__ == '__main__':
    main()
