"""Checks the response-truncated-server-time-limits recording against the programs' own logs and
writes its meta.json, or refuses (exit 1).

Servers (127.0.0.1): Go net/http with WriteTimeout 2 s on 8080 (x29g-go-server.go, log go-server.log),
gunicorn's sync worker with --timeout 2 on 8081 (x29g-wsgi-app.py: app.log; gunicorn's error.log with
its "WORKER TIMEOUT (pid:N)" lines and access.log), Node http with server.setTimeout(2000) on 8082
(x29g-node-server.js, node-server.log). Clients: curl (curl-TAG.log, one `-w '%{json}'` line per
transfer, curl-TAG.err), Go (go-client.log), Python requests (requests-client.log). Every URL carries
want=cut (the server must cut this response) or want=ok (it must be answered whole).

The capture is read with tshark (each direction of each connection reassembled from tcp.seq and
tcp.payload) and every HTTP/1.1 exchange parsed by hand: a response's declared length (Content-Length)
or chunked framing, the body bytes that arrived, whether the last chunk came. Refused when:
- a client's request is not on the wire on its local port, or the numbers disagree (bytes the client
  read vs the body bytes on the wire);
- want=cut and the response is complete on the wire, or the server did not end the connection (FIN or
  RST) with the body short; want=ok and the response is short, or any client logged an error for it;
- a client logged an error (curl exit code, Go error, Python exception) for a response that arrived
  whole, or none for a short one (except urllib3 1.x, which does not check Content-Length: noted as a
  silent truncation);
- Go: the server's own close time for a cut connection is not 2.0-2.1 s after the request started, or
  the FIN on the wire comes before Go's close; gunicorn: the cut connections are not each matched by
  one "WORKER TIMEOUT" of the worker (pid) that served them, with the handler ended by SystemExit;
  Node: the socket's close is not 2 s (1.98-2.2 s) after its last write, the response unfinished.
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
from x29_capture import Direction, read_jsonl  # noqa: E402
from urllib.parse import urlsplit, parse_qs

SERVERS = {8080: 'go', 8081: 'gunicorn', 8082: 'node'}
problems = []


def refuse(msg):
    problems.append(msg)



def load_capture(path):
    fields = ['frame.number', 'frame.time_epoch', 'tcp.stream', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
              'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.seq', 'tcp.len',
              'tcp.window_size', 'tcp.payload']
    streams = {}
    npackets = 0
    for v in x29_capture.tshark_rows(path, fields, ['-o', 'tcp.relative_sequence_numbers:TRUE', '-o', 'tcp.analyze_sequence_numbers:TRUE']):
        npackets += 1
        fr, t, st = int(v[0]), float(v[1]), int(v[2])
        src, dst = (v[3], int(v[4])), (v[5], int(v[6]))
        flag = lambda x: x in ('1', 'True')
        syn, ack, fin, rst = flag(v[7]), flag(v[8]), flag(v[9]), flag(v[10])
        s = streams.get(st)
        if s is None:
            s = streams[st] = {'stream': st, 'client': None, 'server': None, 'first': t, 'fins': [], 'rsts': [],
                               'dir': {'client': Direction(), 'server': Direction()}, 'zeroWindows': [], 'packets': [],
                               'lastPayload': {'client': None, 'server': None}}
        if s['client'] is None:
            s['client'], s['server'] = (dst, src) if src[1] in SERVERS else (src, dst)
        side = 'client' if src == s['client'] else 'server'
        seq, ln = int(v[11] or 0), int(v[12] or 0)
        s['last'] = t
        pk = {'frame': fr, 't': t, 'side': side, 'len': ln, 'fin': fin, 'rst': rst, 'syn': syn, 'win': int(v[13] or 0)}
        s['packets'].append(pk)
        if ln > 0:
            s['dir'][side].add(seq, bytes.fromhex(v[14]), fr, t)
            s['lastPayload'][side] = (fr, t)
        if fin:
            s['fins'].append({'side': side, 'frame': fr, 't': t})
        if rst:
            s['rsts'].append({'side': side, 'frame': fr, 't': t})
        if side == 'client' and ack and not (syn or fin or rst) and ln == 0 and pk['win'] == 0:
            s['zeroWindows'].append(fr)
    return streams, npackets


def parse_requests(d):
    out, pos, data = [], 0, bytes(d.data)
    while True:
        end = data.find(b'\r\n\r\n', pos)
        if end < 0:
            break
        line = data[pos:data.find(b'\r\n', pos)].decode('latin-1')
        method, uri = line.split(' ')[:2]
        fr, t = d.at(end + 3)
        out.append({'method': method, 'uri': uri, 'frame': fr, 't': t})
        pos = end + 4
    return out


def parse_responses(d):
    """Each response: head frame, status, declared length or chunked, body bytes that arrived, complete."""
    out, pos, data = [], 0, bytes(d.data)
    while pos < len(data):
        end = data.find(b'\r\n\r\n', pos)
        if end < 0:
            out.append({'headFrame': d.at(pos)[0], 'status': None, 'partialHead': True, 'complete': False, 'body': 0})
            break
        head = data[pos:end].decode('latin-1').split('\r\n')
        status = int(head[0].split(' ')[1])
        hdrs = {}
        for h in head[1:]:
            k, _, val = h.partition(':')
            hdrs[k.strip().lower()] = val.strip()
        r = {'headFrame': d.at(pos)[0], 'headTime': d.at(pos)[1], 'status': status,
             'connectionHeader': hdrs.get('connection'), 'server': hdrs.get('server')}
        p = end + 4
        if hdrs.get('transfer-encoding', '').lower() == 'chunked':
            r['chunked'] = True
            body, last_chunk, complete, chunks = 0, False, False, 0
            while True:
                le = data.find(b'\r\n', p)
                if le < 0:
                    break
                size = int(data[p:le].split(b';')[0], 16)
                if size == 0:
                    last_chunk = True
                    if data[le + 2:le + 4] == b'\r\n':
                        p = le + 4
                        complete = True
                    break
                got = min(size, len(data) - (le + 2))
                body += got
                if got < size or len(data) < le + 2 + size + 2:
                    p = len(data)
                    break
                chunks += 1
                p = le + 2 + size + 2
            r.update({'body': body, 'lastChunk': last_chunk, 'complete': complete, 'fullChunks': chunks})
            r['lastByte'] = d.at(min(p, len(data)) - 1) if p > end + 4 else None
        elif 'content-length' in hdrs:
            cl = int(hdrs['content-length'])
            got = min(cl, len(data) - p)
            r.update({'contentLength': cl, 'body': got, 'complete': got == cl})
            r['lastByte'] = d.at(p + got - 1) if got > 0 else None
            p += got
        else:
            r.update({'closeDelimited': True, 'body': len(data) - p, 'complete': True})
            p = len(data)
        r['lastByteFrame'], r['lastByteTime'] = (r['lastByte'] if r.get('lastByte') else (r['headFrame'], r['headTime']))
        del r['lastByte']
        out.append(r)
        pos = p
    return out


def addr(a):
    return f'{a[0]}:{a[1]}'


def want_of(url):
    return parse_qs(urlsplit(url).query).get('want', ['?'])[0]


def path_of(url):
    u = urlsplit(url)
    return u.path + ('?' + u.query if u.query else '')


def client_entries(work):
    """Every client's log lines, normalized: tag, client, url, localPort, error, bytes, status, tStart."""
    out = []
    for path in sorted(glob.glob(os.path.join(work, 'curl-*.log'))):
        tag = os.path.basename(path)[5:-4]
        for e in read_jsonl(path):
            out.append({'tag': tag, 'client': 'curl', 'url': e.get('url') or e.get('url_effective'),
                        'localPort': e.get('local_port'), 'status': e.get('http_code'), 'bytes': e.get('size_download'),
                        'exitCode': e.get('exitcode'), 'error': (f'curl: ({e["exitcode"]}) {e["errormsg"]}' if e.get('exitcode') else None),
                        'time': e.get('time_total')})
    for e in read_jsonl(os.path.join(work, 'go-client.log')):
        out.append({'tag': e['tag'], 'client': 'go', 'url': e['url'], 'localPort': e.get('localPort'), 'status': e.get('status'),
                    'bytes': e.get('bytes'), 'error': e.get('error'), 'reused': e.get('reused'), 'tStart': e['tStart'],
                    'time': round(e['tEnd'] - e['tStart'], 3)})
    for e in read_jsonl(os.path.join(work, 'requests-client.log')):
        out.append({'tag': e['tag'], 'client': 'requests', 'version': e.get('version'), 'url': e['url'], 'localPort': e.get('localPort'),
                    'status': e.get('status'), 'bytes': e.get('bytes'),
                    'error': (f'{e["exception"]}: {e["error"]}' if e.get('exception') else None), 'tStart': e['tStart'],
                    'readSize': e.get('readSize'),
                    'time': round(e['tEnd'] - e['tStart'], 3)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--limit', type=float, default=2.0)
    ap.add_argument('--configured', action='store_true', help="write configured: Go's responseTimeLimit and Node's responseStallTimeout")
    ap.add_argument('--software', nargs='*', default=[])
    ap.add_argument('--setup', default='', help='a sentence on the namespace (MTU, buffers) for the description')
    a = ap.parse_args()

    streams, npackets = load_capture(a.capture)
    by_client = {s['client'][1]: s for s in streams.values()}
    for s in streams.values():
        for side in ('client', 'server'):
            if s['dir'][side].gap:
                refuse(f'{addr(s["client"])}: a gap in the {side}\'s bytes (lost from the capture)')
        s['requests'] = parse_requests(s['dir']['client'])
        s['responses'] = parse_responses(s['dir']['server'])
        s['entries'] = []

    entries = client_entries(a.work)
    for e in entries:
        s = by_client.get(e['localPort'])
        if s is None:
            refuse(f'{e["tag"]} {e["client"]} {e["url"]}: no connection from local port {e["localPort"]} in the capture')
            continue
        s['entries'].append(e)
    for s in streams.values():
        if len(s['entries']) != len(s['requests']):
            refuse(f'{addr(s["client"])}: {len(s["requests"])} requests on the wire, {len(s["entries"])} in the clients\' logs')
            continue
        for i, (e, rq) in enumerate(zip(s['entries'], s['requests'])):
            if path_of(e['url']) != rq['uri']:
                refuse(f'{addr(s["client"])}: request {i} is {rq["uri"]} on the wire, {e["url"]} in {e["tag"]}\'s log')

    # server logs
    golog = read_jsonl(os.path.join(a.work, 'go-server.log'))
    go_req = defaultdict(list)
    go_close, go_done = {}, defaultdict(list)
    for g in golog:
        if g['event'] == 'request':
            go_req[g['port']].append(g)
        elif g['event'] == 'close':
            go_close[g['port']] = g['t']
        elif g['event'] == 'done':
            go_done[g['port']].append(g)
    applog = read_jsonl(os.path.join(a.work, 'app.log'))
    app_start, app_end = defaultdict(list), defaultdict(list)
    for g in applog:
        (app_start if g['event'] == 'start' else app_end)[g['port']].append(g)
    errlog = open(os.path.join(a.work, 'error.log')).read() if os.path.exists(os.path.join(a.work, 'error.log')) else ''
    worker_timeouts = [(m.group(1), int(m.group(2))) for m in re.finditer(r'^\[([^\]]+)\] \[\d+\] \[CRITICAL\] WORKER TIMEOUT \(pid:(\d+)\)', errlog, re.M)]
    nodelog = read_jsonl(os.path.join(a.work, 'node-server.log'))
    node_writes, node_close, node_req = defaultdict(list), {}, defaultdict(list)
    for g in nodelog:
        if g['event'] == 'write':
            node_writes[g['port']].append(g)
        elif g['event'] == 'close':
            node_close[g['port']] = g
        elif g['event'] == 'request':
            node_req[g['port']].append(g)

    conns = []
    timed_out_pids = {pid for _, pid in worker_timeouts}
    used_timeouts = set()
    for s in sorted(streams.values(), key=lambda x: x['first']):
        port = s['client'][1]
        server = SERVERS.get(s['server'][1])
        if server is None:
            refuse(f'{addr(s["client"])} -> {addr(s["server"])}: not one of the servers')
            continue
        if not s['entries']:
            refuse(f'{addr(s["client"])} -> {addr(s["server"])}: a connection no client logged')
            continue
        srv_fin = next((f for f in s['fins'] if f['side'] == 'server'), None)
        srv_rst = next((r for r in s['rsts'] if r['side'] == 'server'), None)
        cli_fin = next((f for f in s['fins'] if f['side'] == 'client'), None)
        cli_rst = next((r for r in s['rsts'] if r['side'] == 'client'), None)
        exchanges = []
        for i, (e, rq) in enumerate(zip(s['entries'], s['requests'])):
            rs = s['responses'][i] if i < len(s['responses']) else None
            exchanges.append({'entry': e, 'request': rq, 'response': rs, 'want': want_of(e['url'])})
        c = {'client': addr(s['client']), 'server': addr(s['server']), 'serverName': server, 'exchanges': exchanges,
             'serverFin': srv_fin, 'serverRst': srv_rst, 'clientFin': cli_fin, 'clientRst': cli_rst,
             'zeroWindows': s['zeroWindows'], 'packets': len(s['packets'])}
        if len(s['responses']) > len(s['requests']):
            refuse(f'{c["client"]}: more responses than requests')
        cut = None
        for i, x in enumerate(exchanges):
            e, rs = x['entry'], x['response']
            short = rs is None or not rs['complete']
            label = f'{c["client"]} {e["tag"]} {e["client"]} {x["request"]["uri"]}'
            if x['want'] == 'cut' and not short:
                refuse(f'{label}: meant to be cut, but the response arrived whole')
            if x['want'] == 'ok' and short:
                refuse(f'{label}: meant to be answered, but the response is short on the wire')
            if x['want'] not in ('ok', 'cut'):
                refuse(f'{label}: the URL has no want=ok|cut')
            if (rs is not None and e.get('bytes') is not None and e['bytes'] != rs['body'] and
                    # requests' iter_content drops the partial piece whose read failed
                    not (e['client'] == 'requests' and e['error'] and 0 <= rs['body'] - e['bytes'] < e['readSize'])):
                refuse(f'{label}: the client read {e["bytes"]} body bytes, the wire carried {rs["body"]}')
            if short:
                if i != len(exchanges) - 1:
                    refuse(f'{label}: a short response that is not the connection\'s last')
                if rs is None:
                    refuse(f'{label}: no response at all')
                    continue
                declared = rs.get('contentLength')
                silent = e['error'] is None and declared is not None and e['bytes'] is not None and e['bytes'] < declared
                if e['error'] is None and not silent:
                    refuse(f'{label}: short on the wire, but the client logged no error')
                x['silent'] = silent
                cut = x
            elif e['error'] is not None:
                refuse(f'{label}: the response arrived whole, but the client logged {e["error"]}')
        c['cut'] = cut is not None
        if cut:
            rs, rq = cut['response'], cut['request']
            close = srv_fin or srv_rst
            if srv_rst and (not srv_fin or srv_rst['t'] < srv_fin['t']):
                close, closed_with = srv_rst, 'rst'
            else:
                closed_with = 'fin'
            if close is None:
                refuse(f'{c["client"]}: cut, but the server neither sent a FIN nor a RST')
                continue
            later_data = [p for p in s['packets'] if p['side'] == 'server' and p['len'] > 0 and p['t'] > close['t']]
            if later_data:
                refuse(f'{c["client"]}: server data after its {closed_with.upper()} (frame {later_data[0]["frame"]})')
            if s['lastPayload']['server'][0] > close['frame'] and not (closed_with == 'fin' and s['lastPayload']['server'][0] == close['frame']):
                refuse(f'{c["client"]}: server payload after the close frame')
            after = [p for p in s['packets'] if p['frame'] > close['frame']]
            desc_after = []
            for p in after:
                what = ('RST' if p['rst'] else 'FIN' if p['fin'] else 'data' if p['len'] else 'ACK')
                desc_after.append(f'{p["frame"]} {p["side"]} {what}')
            c['close'] = {
                'closedWith': closed_with, 'closeFrame': close['frame'], 'closeTime': close['t'],
                'requestFrame': rq['frame'], 'requestTime': rq['t'], 'responseHeadFrame': rs['headFrame'],
                'declared': rs.get('contentLength', 'chunked' if rs.get('chunked') else None),
                'bodyBytes': rs['body'], 'lastChunk': rs.get('lastChunk'),
                'lastBodyByteFrame': rs['lastByteFrame'], 'lastBodyByteTime': rs['lastByteTime'],
                'lastServerPayloadFrame': s['lastPayload']['server'][0],
                'requestToClose': round(close['t'] - rq['t'], 4),
                'lastBodyByteToClose': round(close['t'] - rs['lastByteTime'], 4),
                'serverFinWithData': closed_with == 'fin' and s['lastPayload']['server'][0] == close['frame'],
                'after': desc_after, 'clientLogged': cut['entry']['error'] or
                f'no error (read {cut["entry"]["bytes"]} of {rs.get("contentLength")} bytes: a silent truncation)',
                'silentTruncation': cut.get('silent', False),
            }
            if closed_with == 'fin' and srv_rst:
                c['close']['laterRst'] = srv_rst['frame']
            # the server's own account
            cl = c['close']
            if server == 'go':
                reqs = go_req.get(port, [])
                idx = len(exchanges) - 1
                if len(reqs) != len(exchanges) or go_close.get(port) is None:
                    refuse(f'{c["client"]}: Go logged {len(reqs)} requests and close {go_close.get(port)}')
                else:
                    t_req = reqs[idx]['t']
                    cl['goHandlerStart'] = t_req
                    cl['goCloseCall'] = go_close[port]
                    cl['goCloseAfterRequest'] = round(go_close[port] - t_req, 4)
                    cl['goHandlerStartAfterRequestOnWire'] = round(t_req - rq['t'], 4)
                    cl['wireCloseAfterGoClose'] = round(close['t'] - go_close[port], 4)
                    done = [d for d in go_done.get(port, []) if d['path'] == rq['uri']]
                    cl['goHandler'] = ({'written': done[-1]['written'], 'error': done[-1].get('error'),
                                        'returnedAfterRequest': round(done[-1]['t'] - t_req, 4)} if done else None)
                    if not (a.limit - 0.002 <= cl['goCloseAfterRequest'] <= a.limit + 0.1):
                        refuse(f'{c["client"]}: Go closed {cl["goCloseAfterRequest"]} s after the request, not at its {a.limit} s WriteTimeout')
                    if cl['wireCloseAfterGoClose'] < -0.002:
                        refuse(f'{c["client"]}: the FIN on the wire precedes Go\'s close by {-cl["wireCloseAfterGoClose"]} s')
                    if not c['zeroWindows'] and cl['wireCloseAfterGoClose'] > 0.05:
                        refuse(f'{c["client"]}: FIN {cl["wireCloseAfterGoClose"]} s after Go\'s close with no zero window')
            elif server == 'gunicorn':
                st = app_start.get(port, [])
                en = app_end.get(port, [])
                if len(st) != 1 or len(en) != 1:
                    refuse(f'{c["client"]}: app log has {len(st)} starts and {len(en)} ends for port {port}')
                else:
                    pid = st[0]['pid']
                    cl['workerPid'] = pid
                    cl['handlerEnded'] = en[0]['how']
                    cl['chunksYielded'] = en[0]['chunks']
                    cl['handlerStartAfterRequestOnWire'] = round(st[0]['t'] - rq['t'], 4)
                    if en[0]['how'] != 'SystemExit':
                        refuse(f'{c["client"]}: the handler ended with {en[0]["how"]}, not SystemExit (SIGABRT)')
                    wt = [w for w in worker_timeouts if w[1] == pid]
                    if len(wt) != 1:
                        refuse(f'{c["client"]}: {len(wt)} WORKER TIMEOUT lines for pid {pid}')
                    else:
                        cl['workerTimeoutLogged'] = f'[{wt[0][0]}] [CRITICAL] WORKER TIMEOUT (pid:{pid})'
                        used_timeouts.add(pid)
                    if not (a.limit - 0.01 <= cl['requestToClose'] <= a.limit + 1.3):
                        refuse(f'{c["client"]}: closed {cl["requestToClose"]} s after the request, outside gunicorn\'s {a.limit}-{a.limit + 1} s')
            elif server == 'node':
                w = node_writes.get(port, [])
                nc = node_close.get(port)
                if not w or nc is None:
                    refuse(f'{c["client"]}: Node logged {len(w)} writes and close {nc}')
                else:
                    cl['nodeLastWrite'] = w[-1]['t']
                    cl['nodeClose'] = nc['t']
                    cl['nodeCloseAfterLastWrite'] = round(nc['t'] - w[-1]['t'], 4)
                    cl['nodeResponseFinished'] = nc['responseFinished']
                    cl['wireCloseAfterNodeClose'] = round(close['t'] - nc['t'], 4)
                    if not (a.limit - 0.02 <= cl['nodeCloseAfterLastWrite'] <= a.limit + 0.2):
                        refuse(f'{c["client"]}: Node closed {cl["nodeCloseAfterLastWrite"]} s after its last write')
                    if nc['responseFinished']:
                        refuse(f'{c["client"]}: Node logged the response as finished')
                    if abs(cl['wireCloseAfterNodeClose']) > 0.05:
                        refuse(f'{c["client"]}: FIN {cl["wireCloseAfterNodeClose"]} s from Node\'s close')
        else:
            if s['rsts']:
                refuse(f'{c["client"]}: a RST on a connection that was answered whole ({s["rsts"]})')
            if server == 'gunicorn':
                for en in app_end.get(port, []):
                    if en['how'] != 'complete':
                        refuse(f'{c["client"]}: the gunicorn handler ended with {en["how"]}')
        conns.append(c)
    gun_cut = [c for c in conns if c['serverName'] == 'gunicorn' and c['cut']]
    if len(worker_timeouts) != len(gun_cut):
        refuse(f'gunicorn logged {len(worker_timeouts)} WORKER TIMEOUTs for {len(gun_cut)} cut connections')
    for name in ('go', 'gunicorn', 'node'):
        n_cut = sum(1 for c in conns if c['serverName'] == name and c['cut'])
        if n_cut < 3:
            refuse(f'{name}: only {n_cut} cut connections')

    if problems:
        for p in problems:
            print(f'x29g-meta: {a.scenario}: {p}', file=sys.stderr)
        sys.exit(1)

    # spreads
    def span(v):
        return [min(v), max(v)] if v else None
    cuts = [c for c in conns if c['cut']]
    go_fast = [c['close']['requestToClose'] for c in cuts if c['serverName'] == 'go' and not c['zeroWindows']]
    go_slow = [c['close']['requestToClose'] for c in cuts if c['serverName'] == 'go' and c['zeroWindows']]
    go_calls = [c['close']['goCloseAfterRequest'] for c in cuts if c['serverName'] == 'go']
    gun = [c['close']['requestToClose'] for c in cuts if c['serverName'] == 'gunicorn']
    node_idle = [c['close']['lastBodyByteToClose'] for c in cuts if c['serverName'] == 'node']
    node_req = [c['close']['requestToClose'] for c in cuts if c['serverName'] == 'node']
    spreads = {'goWireCloseAfterRequestFastReaders': span(go_fast), 'goWireCloseAfterRequestSlowReaders': span(go_slow),
               'goCloseCallAfterRequest': span(go_calls), 'gunicornCloseAfterRequest': span(gun),
               'nodeCloseAfterLastBodyByte': span(node_idle), 'nodeCloseAfterRequest': span(node_req)}
    print(f'x29g-meta: spreads {json.dumps(spreads)}', file=sys.stderr)

    expect = []
    for c in conns:
        tags = ','.join(sorted({x['entry']['tag'] for x in c['exchanges']}))
        clients = '/'.join(sorted({x['entry']['client'] for x in c['exchanges']}))
        nreq = len(c['exchanges'])
        if not c['cut']:
            statuses = [x['response']['status'] for x in c['exchanges']]
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'],
                           'notes': f'{tags} ({clients}, {c["serverName"]}): {nreq} request(s) answered whole ({", ".join(str(x["request"]["uri"]) for x in c["exchanges"])}: {statuses}); clean.'})
            continue
        cl = c['close']
        x = c['exchanges'][-1]
        e = x['entry']
        kind = 'response-truncated' if cl['closedWith'] == 'fin' else 'reset-before-response'
        decl = cl['declared']
        decl_txt = f'Content-Length {decl}' if isinstance(decl, int) else 'chunked'
        got_txt = (f'{cl["bodyBytes"]} of {decl} bytes' if isinstance(decl, int) else
                   f'{cl["bodyBytes"]} bytes of chunk data, no last chunk' if not cl['lastChunk'] else f'{cl["bodyBytes"]} bytes, last chunk seen')
        before = f'after {nreq - 1} answered request(s) on this keep-alive connection, ' if nreq > 1 else ''
        if c['serverName'] == 'go':
            why = (f'Go net/http WriteTimeout 2 s: the handler started {cl["goHandlerStartAfterRequestOnWire"]} s after the request\'s last byte '
                   f'(the write deadline is set then); Go called Close {cl["goCloseAfterRequest"]} s after that, '
                   + (f'and the FIN reached the wire {cl["wireCloseAfterGoClose"]} s later, after the data still in the send buffer '
                      f'({len(c["zeroWindows"])} zero-window ACKs from the slow reader)' if c['zeroWindows'] else
                      f'the FIN following at once ({cl["wireCloseAfterGoClose"]} s)')
                   + (f'; the handler got "{cl["goHandler"]["error"]}" after writing {cl["goHandler"]["written"]} bytes' if cl.get('goHandler') and cl['goHandler'].get('error') else
                      '; http.ServeContent (sendfile) reports no error to the handler' if '/file/' in x['request']['uri'] else ''))
        elif c['serverName'] == 'gunicorn':
            why = (f'gunicorn sync worker --timeout 2: the arbiter logged {cl.get("workerTimeoutLogged")} and sent SIGABRT; the worker '
                   f'(handler ended by {cl["handlerEnded"]} after {cl["chunksYielded"]} chunks) closed the socket '
                   f'{cl["requestToClose"]} s after the request (2-3 s: the timeout counts from the worker\'s last heartbeat, '
                   'taken as it accepted the connection, and is checked on the arbiter\'s 1 s loop)')
        else:
            why = (f'Node server.setTimeout(2000), an inactivity timeout: the socket was destroyed {cl["nodeCloseAfterLastWrite"]} s after '
                   f'the handler\'s last write (the stream stalled), {cl["requestToClose"]} s after the request')
        notes = (f'{e["tag"]} ({e["client"]}, {x["request"]["uri"]}): {before}the server ended the response with a '
                 f'{cl["closedWith"].upper()} mid-body: {decl_txt}, {got_txt}. {why}. '
                 f'The client logged: {cl["clientLogged"]}.')
        if kind == 'reset-before-response':
            notes = 'Closed with a RST, no FIN first. ' + notes
        ev = {'requestFrame': cl['requestFrame'], 'responseHeadFrame': cl['responseHeadFrame'],
              'lastBodyByteFrame': cl['lastBodyByteFrame'], 'closeFrame': cl['closeFrame'], 'closedWith': cl['closedWith'],
              'declaredLength': decl, 'bodyBytesReceived': cl['bodyBytes'], 'lastChunk': cl['lastChunk'],
              'requestToClose': cl['requestToClose'], 'lastBodyByteToClose': cl['lastBodyByteToClose'],
              'zeroWindowAcks': len(c['zeroWindows']), 'framesAfterClose': cl['after'], 'clientError': cl['clientLogged']}
        if c['serverName'] == 'go':
            ev['serverCloseCallAfterRequest'] = cl['goCloseAfterRequest']
        expect.append({'kind': kind, 'client': c['client'], 'server': c['server'], 'notes': notes, 'evidence': ev})

    ncut = len(cuts)
    py_versions = sorted({x['entry']['version'] for c in conns for x in c['exchanges'] if x['entry'].get('version')})
    n_silent = sum(1 for c in cuts if c['close']['silentTruncation'])
    n_ok = sum(1 for c in conns for x in c['exchanges'] if x['want'] == 'ok')
    desc = (
        'Servers that cut their own responses at a fixed limit, 2 s here, on one network namespace\'s loopback '
        f'({a.setup}). Go net/http (127.0.0.1:8080, http.Server{{WriteTimeout: 2 * time.Second}}, nothing else): the '
        'write deadline is set as the request\'s headers are read; a handler streaming a Content-Length body (or a '
        'chunked one) 512 bytes every 10 ms gets "i/o timeout" on its first write after it, and net/http closes the '
        f'socket at once: FIN {span(go_fast)[0]}-{span(go_fast)[1]} s after the request, mid-body, no last chunk. '
        'http.ServeContent of a 1 MB file to slow readers: the sendfile blocked on a full socket buffer fails at the '
        f'deadline and Go closes the socket {span(go_calls)[0]}-{span(go_calls)[1]} s after the request, but the data already '
        'in the send buffer still drains to the slow reader (zero windows), and the FIN follows it: '
        f'{span(go_slow)[0] if go_slow else "-"}-{span(go_slow)[1] if go_slow else "-"} s after the request on the wire. '
        'gunicorn 20.1 sync worker with --timeout 2 (127.0.0.1:8081): a WSGI generator that yields 2 KB every 100 ms for '
        '6 s; the arbiter logs "WORKER TIMEOUT", sends SIGABRT, the worker exits and its socket closes with a FIN '
        f'{span(gun)[0]}-{span(gun)[1]} s after the request (the heartbeat is checked on a 1 s loop), no last chunk. '
        'Node 20 http with server.setTimeout(2000) (127.0.0.1:8082): an inactivity timeout, not a time since the '
        'request: a stream that stalls is destroyed (FIN) '
        f'{span(node_idle)[0]}-{span(node_idle)[1]} s after its last write ({span(node_req)[0]}-{span(node_req)[1]} s after '
        'the request), while a stream with 1.5 s pauses runs 3 s and completes. Clients: curl (exit 18 "transfer closed '
        'with N bytes remaining to read" / "with outstanding read data remaining"), Go net/http ("unexpected EOF"), '
        f'Python {" and ".join(py_versions)}: with urllib3 2 requests raises ChunkedEncodingError (wrapping ProtocolError: '
        'IncompleteRead, or "Response ended prematurely" for a chunked body); urllib3 1.26 does not check Content-Length '
        f'and hands over the short body without an error ({n_silent} such connection{"s" if n_silent != 1 else ""}). '
        f'{ncut} responses cut, some on keep-alive connections after a complete response; {n_ok} requests answered '
        'whole (small ones, streams that end inside the limit).')
    meta = {'scenario': a.scenario, 'software': a.software, 'description': desc, 'silent': False}
    if a.configured:
        # Per server: Go's WriteTimeout is a limit since the request (its closes 2.00-2.02 s after
        # it), Node's setTimeout a silence (2.000-2.001 s after the last write); gunicorn's arbiter
        # kills on a 1 s tick (2-3 s after), which no single value within 2 % describes.
        meta['configured'] = {
            'responseTimeLimit': {'value': a.limit, 'server': '127.0.0.1:8080'},
            'responseStallTimeout': {'value': a.limit, 'server': '127.0.0.1:8082'},
        }
    meta['expect'] = expect
    meta['notes'] = (
        'Checked by samples/record/programs/x29g-meta.py against the clients\' logs (curl\'s -w %{json}: local port, exit '
        'code, error message, bytes; the Go client\'s and requests\' local port, bytes read and error), the Go server\'s log '
        '(handler start = write deadline - 2 s, handler error, and the time net/http called Close on each socket), '
        'gunicorn\'s error log (one WORKER TIMEOUT per cut connection, for the pid that served it) and the WSGI app\'s log '
        '(the generator ended by SystemExit), and the Node server\'s log (last write, socket close, response unfinished). '
        'Each cut connection: the server\'s FIN (or RST) came after fewer body bytes than declared, or without the '
        'last chunk, and no server data after it. requestToClose is measured from the frame carrying the request\'s last '
        'header byte to the server\'s FIN/RST frame; lastBodyByteToClose from the frame carrying the last body byte. '
        f'Spreads: {json.dumps(spreads)}. '
        'A correct finding names the server and the cut: bytes declared vs received (or the missing last chunk), and '
        'that the server closed; a constant request-to-close time across connections points to a total time limit '
        '(Go WriteTimeout, gunicorn --timeout, a proxy\'s send timeout), a constant silence before the close to an '
        'inactivity timeout (Node setTimeout); for slow readers the FIN trails the server\'s close by however long the '
        'send buffer takes to drain.')
    meta['facts'] = {'packets': npackets, 'connections': len(streams), 'cutConnections': ncut,
                     'healthyRequests': n_ok, 'workerTimeouts': [f'[{t}] WORKER TIMEOUT (pid:{p})' for t, p in worker_timeouts],
                     'spreads': spreads,
                     'connections': [{'client': c['client'], 'server': c['server'], 'serverName': c['serverName'],
                                      'requests': [{'uri': x['request']['uri'], 'frame': x['request']['frame'], 'tag': x['entry']['tag'],
                                                    'by': x['entry']['client'], 'status': x['response']['status'] if x['response'] else None,
                                                    'declared': (x['response'].get('contentLength', 'chunked' if x['response'].get('chunked') else None) if x['response'] else None),
                                                    'body': x['response']['body'] if x['response'] else None,
                                                    'complete': x['response']['complete'] if x['response'] else False,
                                                    'clientError': x['entry']['error']} for x in c['exchanges']],
                                      'close': c.get('close'), 'zeroWindowAcks': len(c['zeroWindows']),
                                      'serverFin': c['serverFin']['frame'] if c['serverFin'] else None,
                                      'clientFin': c['clientFin']['frame'] if c['clientFin'] else None,
                                      'rsts': [(r['side'], r['frame']) for r in ([c['serverRst']] if c['serverRst'] else []) + ([c['clientRst']] if c['clientRst'] else [])]}
                                     for c in conns]}
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x29g-meta: {a.scenario}: {len(conns)} connections, {ncut} cut, {npackets} packets: ok')


if __name__ == '__main__':
    main()
