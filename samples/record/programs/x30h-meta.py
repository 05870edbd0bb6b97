"""Checks the healthy-client-cancels recording against the programs' own logs and writes its meta.json
(silent: no finding expected), or refuses (exit 1).

Front connections come from 127.0.0.1: Node (node-client.log), the Python clients (py-client.log: partial,
keepalive, halfclose) and curl (curl.log, one -w %{json} line per transfer), straight to the backend
127.0.0.3:9001 or through nginx 127.0.0.2:8080, whose upstream legs come from 127.0.0.2. Every URL carries
want=cancel|ok, c=PROGRAM and a unique id. Refused when:
- a logged request is not on the wire from its local port, in order, or a connection no client logged;
- want=ok: the response is not whole on the wire (Content-Length bytes, last chunk; a HEAD's none), or the
  client logged an error, another status or other byte counts;
- want=cancel: the request is not its connection's last; the client's FIN or RST is not the connection's
  first close; no response head before it, or the body already complete; the client logged no cancel
  (Node: its own req.destroy(); the partial reader's close; curl: exit 28); the partial reader's close is a
  RST without unread data or a FIN with some;
- through nginx: the access log line is missing, completion is not "" for a cancel or "OK" for a whole
  answer; a cancelled request's upstream leg is not closed by nginx after the client's close (within 50 ms);
- the backend logged no "end" for a proxied or direct request, "done" for a cancelled one that it was still
  sending, or not "done" for a whole one;
- a server (nginx or the backend on a front connection) closed a connection before its client did, or sent a
  RST; an upstream leg no client abandoned has a short response or a RST.
"""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
import x30_wire  # noqa: E402
from x29_capture import read_jsonl  # noqa: E402
from x30_wire import addr, curl_entry, path_of, query, span  # noqa: E402

problems = []


def refuse(msg):
    problems.append(msg)


def entries(work):
    out = []
    for e in read_jsonl(os.path.join(work, 'node-client.log')):
        cancelled = e.get('outcome') == 'cancel-destroyed'
        out.append({'program': 'node', 'url': e['url'], 'localPort': e.get('localPort'), 'status': e.get('status'),
                    'bytes': e.get('bytes'), 'cancelled': cancelled,
                    'error': None if e.get('outcome') == 'complete' else f'{e.get("outcome")}: ' + '; '.join(e.get('errors') or []),
                    'planned': f'req.destroy() {e.get("destroyAfterMs")} ms after the request' if e.get('destroyAfterMs') is not None else None,
                    'seconds': round(e['tEnd'] - e['tStart'], 4)})
    for e in read_jsonl(os.path.join(work, 'py-client.log')):
        partial = e['mode'] == 'partial'
        out.append({'program': e['tag'], 'url': e['url'], 'localPort': e.get('localPort'), 'status': e.get('status'),
                    'bytes': e.get('bodyBytes'), 'cancelled': partial and e.get('outcome') == 'client-closed',
                    'error': None if e.get('outcome') == 'complete' else e.get('outcome'),
                    'unreadAtClose': e.get('unreadAtClose'), 'method': e.get('method', 'GET'),
                    'planned': f'close after reading {e["read"]} body bytes' if partial else None,
                    'seconds': round(e['tEnd'] - e['tStart'], 4)})
    for line in read_jsonl(os.path.join(work, 'curl.log')):
        e = curl_entry(line)
        cancelled = e['exitcode'] == 28
        out.append({**e, 'cancelled': cancelled, 'planned': f'--max-time ({e["seconds"]} s)' if cancelled else None})
    for e in out:
        q = query(e['url'])
        e['want'], e['id'] = q.get('want'), q.get('id')
        if q.get('c') != e['program']:
            refuse(f'{e["url"]}: logged by {e["program"]}')
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--software', nargs='*', default=[])
    a = ap.parse_args()

    conns, npackets = x30_wire.load_checked(a.capture, refuse)
    front = {c['client'][1]: c for c in conns.values() if c['client'][0] == '127.0.0.1'}
    legs = [c for c in conns.values() if c['client'][0] == '127.0.0.2' and addr(c['server']) == '127.0.0.3:9001']
    for c in conns.values():
        c['entries'] = []
    for e in entries(a.work):
        c = front.get(e['localPort'])
        if c is None:
            refuse(f'{e["program"]} {e["id"]}: no connection from 127.0.0.1:{e["localPort"]}')
            continue
        c['entries'].append(e)

    access = read_jsonl(os.path.join(a.work, 'nginx-access.log'))
    errlog = open(os.path.join(a.work, 'error.log')).read().splitlines() if os.path.exists(os.path.join(a.work, 'error.log')) else []
    backend = [b for b in read_jsonl(os.path.join(a.work, 'backend.log')) if b.get('event') == 'end']
    leg_by_uri = {}
    for lg in legs:
        for rq, rs in x30_wire.exchanges(lg):
            leg_by_uri[rq['uri']] = (lg, rq, rs)

    ended, whole = [], []
    for c in sorted(front.values(), key=lambda x: x['first']):
        ex = x30_wire.exchanges(c)
        if not c['entries']:
            refuse(f'{addr(c["client"])}: a connection no client logged')
            continue
        if len(ex) != len(c['entries']):
            refuse(f'{addr(c["client"])}: {len(ex)} requests on the wire, {len(c["entries"])} logged')
            continue
        cclose, sclose = c['close']['client'], c['close']['server']
        if c['rst']['server']:
            refuse(f'{addr(c["client"])}: a RST from the server')
        if sclose and (cclose is None or sclose['frame'] < cclose['frame']) and not all(rs and rs['complete'] for _, rs in ex):
            refuse(f'{addr(c["client"])}: the server closed first with a response unfinished')
        through = addr(c['server']) == '127.0.0.2:8080'
        for i, ((rq, rs), e) in enumerate(zip(ex, c['entries'])):
            if rq['uri'] != path_of(e['url']):
                refuse(f'{addr(c["client"])}: request {i} is {rq["uri"]} on the wire, {e["url"]} in the {e["program"]} log')
                continue
            static = rq['uri'].startswith('/static/')
            acc, lg = None, None
            if through:
                hits = [x for x in access if x['client'] == addr(c['client']) and x['request'].split(' ')[1] == rq['uri']]
                if len(hits) != 1:
                    refuse(f'{e["id"]}: {len(hits)} nginx access log lines')
                else:
                    acc = hits[0]
                if not static:
                    lg = leg_by_uri.get(rq['uri'])
                    if lg is None:
                        refuse(f'{e["id"]}: no upstream leg carried {rq["uri"]}')
            peer = (addr(lg[0]['client']) if lg else None) if through else addr(c['client'])
            bk = None
            if peer:
                hits = [b for b in backend if b['peer'] == peer and b['path'] == rq['uri']]
                if len(hits) != 1:
                    refuse(f'{e["id"]}: {len(hits)} backend "end" lines for {peer} {rq["uri"]}')
                else:
                    bk = hits[0]
            if e['want'] == 'ok':
                if rs is None or not rs['complete']:
                    refuse(f'{e["id"]}: want=ok but the response is not whole on the wire')
                    continue
                if e['error'] or e['bytes'] != rs['body'] or e['status'] != rs['status']:
                    refuse(f'{e["id"]}: want=ok, the client logged {e["error"]}, {e["status"]}, {e["bytes"]} bytes (wire {rs["status"]}, {rs["body"]})')
                if acc and acc['completion'] != 'OK':
                    refuse(f'{e["id"]}: nginx logged completion {acc["completion"]!r}')
                if bk and bk['result'] != 'done':
                    refuse(f'{e["id"]}: the backend logged {bk["result"]}')
                whole.append({'id': e['id'], 'program': e['program'], 'client': addr(c['client']), 'server': addr(c['server']),
                              'request': f'{rq["method"]} {rq["uri"]}', 'status': rs['status'], 'framing': rs['framing'],
                              'bodyBytes': rs['body'],
                              'halfCloseFrame': (cclose['frame'] if e['program'] == 'halfclose' and cclose else None)})
                continue
            # want=cancel
            if i != len(ex) - 1:
                refuse(f'{e["id"]}: a cancel that is not the connection\'s last request')
                continue
            if cclose is None or (sclose and sclose['frame'] < cclose['frame']):
                refuse(f'{e["id"]}: the client did not close first (client {cclose}, server {sclose})')
                continue
            if not e['cancelled']:
                refuse(f'{e["id"]}: the client logged no cancel: {e["error"]}')
            resp_then, after = x30_wire.before(c, cclose['frame'])
            if len(resp_then) != i + 1 or resp_then[i].get('partialHead'):
                refuse(f'{e["id"]}: no response head before the client\'s close')
                continue
            r0 = resp_then[i]
            if r0['complete']:
                refuse(f'{e["id"]}: the body was complete when the client closed')
                continue
            if e.get('unreadAtClose') is not None and (e['unreadAtClose'] > 0) != (cclose['closedWith'] == 'rst'):
                refuse(f'{e["id"]}: closed with a {cclose["closedWith"]} with {e["unreadAtClose"]} bytes unread')
            if acc and acc['completion'] != '':
                refuse(f'{e["id"]}: nginx logged completion {acc["completion"]!r} for a cancelled transfer')
            if bk and bk['result'] != 'peer-gone':
                refuse(f'{e["id"]}: the backend logged {bk["result"]} for a cancelled transfer')
            t = {'id': e['id'], 'program': e['program'], 'client': addr(c['client']), 'server': addr(c['server']),
                 'request': rq['uri'], 'userAgent': rq['userAgent'], 'planned': e['planned'],
                 'requestFrame': rq['frame'], 'responseHeadFrame': r0['headFrame'], 'lastBodyByteFrame': r0['lastByteFrame'],
                 'closeFrame': cclose['frame'], 'closedWith': cclose['closedWith'], 'declaredLength': r0['declared'],
                 'bodyBytesReceived': r0['body'], 'requestToClose': round(cclose['t'] - rq['t'], 4),
                 'lastBodyByteToClose': round(cclose['t'] - r0['lastByteTime'], 4), 'clientLogged': e['error'],
                 'clientBytesRead': e['bytes'], 'serverBytesAfterClose': after,
                 'laterClientRstFrame': c['rst']['client']['frame'] if c['rst']['client'] and cclose['closedWith'] == 'fin' else None}
            if e.get('unreadAtClose') is not None:
                t['unreadAtClose'] = e['unreadAtClose']
            if bk:
                t['backend'] = f'{bk["bodyBytes"]} bytes written, {bk["result"]}' + (f' ({bk["error"]})' if bk.get('error') else '')
            if through:
                errs = [ln[ln.index('[info]'):] for ln in errlog if f'"GET {rq["uri"]} HTTP/1.1"' in ln and '[info]' in ln]
                t['nginxErrorLog'] = errs
                t['nginxAccessLog'] = {k: acc[k] for k in ('status', 'completion', 'bodyBytesSent', 'upstream')} if acc else None
                if lg:
                    leg = lg[0]
                    lc, bc = leg['close']['client'], leg['close']['server']
                    if lc is None or lc['t'] < cclose['t'] or lc['t'] - cclose['t'] > 0.05 or (bc and bc['frame'] < lc['frame']):
                        refuse(f'{e["id"]}: the upstream leg {addr(leg["client"])} was not closed by nginx just after its client ({lc}, backend {bc})')
                    else:
                        t['upstreamLeg'] = {'client': addr(leg['client']), 'closeFrame': lc['frame'], 'closedWith': lc['closedWith'],
                                            'gapAfterClientClose': round(lc['t'] - cclose['t'], 6),
                                            'laterNginxRstFrame': leg['rst']['client']['frame'] if leg['rst']['client'] and lc['closedWith'] == 'fin' else None}
                        leg['followed'] = True
            ended.append(t)
    for lg in legs:
        if not lg.get('followed'):
            if not all(rs and rs['complete'] for _, rs in x30_wire.exchanges(lg)):
                refuse(f'upstream leg {addr(lg["client"])}: an unfinished response nobody cancelled')
            if lg['rst']['client'] or lg['rst']['server']:
                refuse(f'upstream leg {addr(lg["client"])}: a RST on a leg no client cancelled')
    progs = {}
    for t in ended:
        progs.setdefault(t['program'], []).append(t)
    for p, n in (('node', 8), ('partial', 4), ('curl', 3)):
        if len(progs.get(p, [])) != n:
            refuse(f'{p}: {len(progs.get(p, []))} client-ended transfers, not {n}')
    if sum(1 for w in whole if w['program'] == 'halfclose') != 2:
        refuse('the half-closing client: not 2 whole responses')

    if problems:
        for p in problems:
            print(f'x30h-meta: {a.scenario}: {p}', file=sys.stderr)
        sys.exit(1)

    spreads = {p: {'requestToClose': span([t['requestToClose'] for t in v]),
                   'lastBodyByteToClose': span([t['lastBodyByteToClose'] for t in v]),
                   'closedWith': sorted({t['closedWith'] for t in v})} for p, v in progs.items()}
    print(f'x30h-meta: spreads {json.dumps(spreads)}', file=sys.stderr)
    nd = spreads['node']
    desc = (
        'Clients that end transfers on purpose at scattered moments, no timer, on one network namespace\'s loopback: '
        'the backend of response-abandoned-client-timeouts (Python stdlib, 127.0.0.3:9001) and nginx 1.22 in front of '
        'it (127.0.0.2:8080, proxy_buffering off, upstream keepalive). One Node 20 program destroys 8 downloads flowing '
        f'1 KB every 200 ms {nd["requestToClose"][0]}-{nd["requestToClose"][1]} s after the request (0.35, 0.8, 1.25, 1.9, '
        '2.45, 3.1, 3.6 and 4.3 s planned), half straight to the backend, half through nginx; the silence before each '
        'close is whatever part of the 200 ms period had passed. A Python raw-socket reader reads 1 KB, 5 KB, 20 KB or '
        '1 KB of a body and closes: on the fast bodies with unread data in its socket (a RST), on the slow ones after '
        'reading all that had come (a FIN). curl --max-time 0.7, 1.6 and 2.9 s on slow bodies, once each (exit 28). The '
        'server\'s bytes after a client\'s FIN are answered with RSTs; nginx follows its client (closes the upstream '
        'leg at once, logs the status already sent with $request_completion empty). Around them, traffic that completes: '
        'curl keep-alive through nginx (small answers, a short slow chunked body, HEAD, single and multipart Range of a '
        'static file), Python http.client keep-alive straight to the backend (GET, HEAD), and a client that half-closes '
        'right after its request and still reads the whole response. No warning: no program closes at a constant time '
        'since the request or a constant silence, and every server answered in full whatever its client kept reading. '
        'Two closes are told as info (blind round 15): curl --max-time 0.7 (m1) and the reader that stops after 20 KB '
        'through nginx (p3) each close a Content-Length body while its bytes still flow, more than 0.5 s into it, the only '
        'such cut of its program to that server (curl\'s other cut there is chunked): on the wire a cancel and a total '
        'timeout look the same. So are curl --max-time 1.6 (m2, through nginx) and 2.9 (m3, direct) since blind round 15 (longlived s18): each '
        'closes a chunked body while the server still sends it at its own pace (0.1-0.2 s after its last byte, chunks '
        '0.25-0.3 s apart), a stream cut as a cancel or a total timeout. Node\'s 4 cuts per server, at scattered moments, '
        'are cancels: silent.')
    # One close of an owed body while it flowed (response-abandoned, info): a cancel or a total timeout.
    told = {'m1': 'curl --max-time 0.7 (exit 28) closed a Content-Length body still flowing: a total timeout of about 0.7 s '
                  'or a cancel, which one close cannot tell apart: info, no timeout value',
            'p3': 'the partial reader closed a Content-Length body still flowing after the 20480 bytes it wanted: a cancel, '
                  'which one close cannot tell from a total timeout of about 1.36 s: info, no timeout value',
            # A chunked body closed while the server still sent it at its pace (response-abandoned's stream cut, info).
            'm2': 'curl --max-time 1.6 (exit 28) closed a chunked body through nginx while the server still sent it at '
                  'its pace: a total timeout of about 1.6 s or a cancel, which one close cannot tell apart: info, no timeout value',
            'm3': 'curl --max-time 2.9 (exit 28) closed a chunked body while the server still sent it at its pace: a total '
                  'timeout of about 2.9 s or a cancel, which one close cannot tell apart: info, no timeout value'}
    expect = [{'kind': 'response-abandoned', 'client': t['client'], 'server': t['server'], 'notes': told[t['id']]}
              for t in ended if t['id'] in told]
    if len(expect) != len(told):
        print(f'x30h-meta: {a.scenario}: {len(expect)} of the {len(told)} transfers told as info found', file=sys.stderr)
        sys.exit(1)
    meta = {'scenario': a.scenario, 'software': a.software, 'description': desc, 'silent': False, 'expect': expect}
    meta['notes'] = (
        'Checked by samples/record/programs/x30h-meta.py against the clients\' logs (Node\'s own req.destroy(), the '
        'partial reader\'s bytes read and the bytes still unread in its socket at the close, curl\'s exit code 28 and '
        'time), the backend\'s log and nginx\'s access and error logs: every transfer a client ended was closed by that '
        'client first (FIN or RST), with the body short, and its proxied leg closed by nginx right after; every other '
        'response is whole on the wire. requestToClose: from the frame carrying the request\'s last header byte to the '
        'client\'s FIN/RST; lastBodyByteToClose: from the frame carrying the last body byte before it.')
    meta['facts'] = {
        'packets': npackets, 'connections': len(conns), 'frontConnections': len(front), 'upstreamLegs': len(legs),
        'clientEndedTransfers': ended, 'spreadsByProgram': spreads, 'wholeResponses': whole,
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x30h-meta: {a.scenario}: {len(conns)} connections, {len(ended)} client-ended transfers, {npackets} packets: ok')


if __name__ == '__main__':
    main()
