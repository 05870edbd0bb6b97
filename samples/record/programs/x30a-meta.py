"""Checks the response-abandoned-client-timeouts recording against the programs' own logs and writes its
meta.json, or refuses (exit 1).

Front connections come from 127.0.0.1: the Go client (go-client.log) and requests (requests-client.log)
straight to the backend 127.0.0.3:9001, curl (curl.log, one -w %{json} line per transfer) and Node
(node-client.log) through nginx 127.0.0.2:8080, whose upstream legs come from 127.0.0.2 (proxy_bind).
Every URL carries want=cut|ok, c=PROGRAM and a unique id. Refused when:
- a logged request is not on the wire from its local port, in order, or a front connection no client logged;
- want=ok: the response is not complete on the wire, or the client logged an error or other byte counts;
- want=cut: the response head is missing or the body is complete when the client closed; the client's FIN
  or RST does not come first (before any close by the server); the bytes the client logged are not the body
  bytes on the wire before its close (up to one 1 KB part more on the wire: a part already in the socket
  buffer when the timer fired); the client logged no timeout (Go: "Client.Timeout", requests: ReadTimeout
  "Read timed out", curl: exit 28, Node: its 'timeout' event and req.destroy()); the close is off its timer
  (Go 2 s and curl 3 s after the request, requests 1.5 s and Node 2.5 s after the last body byte, each
  within -0.02/+0.06 s);
- through nginx: the access log line for the request (client port, request) is missing, completion is not
  "OK" for a whole answer or not "" for an abandoned one; an abandoned one without its error-log line
  "client prematurely closed connection, so upstream connection is closed too"; the request's upstream leg
  (matched by its unique URI) is not closed by nginx within 50 ms after the client's close, or before it;
- the backend's log has no "end" for the request from that peer, or "done" for an abandoned one (it must
  find the peer gone: BrokenPipeError/ConnectionResetError), or not "done" for a whole one;
- a program has not exactly 4 abandoned transfers, or fewer than 2 whole ones.
"""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
import x30_wire  # noqa: E402
from x29_capture import read_jsonl  # noqa: E402
from x30_wire import addr, curl_entry, path_of, query, span  # noqa: E402

TIMERS = {  # program: (kind, seconds, server it talks to)
    'go': ('total', 2.0, '127.0.0.3:9001'),
    'curl': ('total', 3.0, '127.0.0.2:8080'),
    'requests': ('read', 1.5, '127.0.0.3:9001'),
    'node': ('read', 2.5, '127.0.0.2:8080'),
}
problems = []


def refuse(msg):
    problems.append(msg)


def entries(work):
    out = []
    for e in read_jsonl(os.path.join(work, 'go-client.log')):
        out.append({'program': 'go', 'url': e['url'], 'localPort': e.get('localPort'), 'status': e.get('status'),
                    'bytes': e.get('bytes'), 'error': e.get('error'), 'timedOut': 'Client.Timeout' in (e.get('error') or ''),
                    'seconds': round(e['tEnd'] - e['tStart'], 4)})
    for e in read_jsonl(os.path.join(work, 'requests-client.log')):
        err = f'{e["exception"]}: {e["error"]}' if e.get('exception') else None
        out.append({'program': 'requests', 'url': e['url'], 'localPort': e.get('localPort'), 'status': e.get('status'),
                    'bytes': e.get('bytes'), 'error': err + (f' (from {e["cause"]})' if e.get('cause') else '') if err else None,
                    'timedOut': bool(err) and 'Read timed out' in err and 'ReadTimeout' in (e.get('cause') or err),
                    'seconds': round(e['tEnd'] - e['tStart'], 4)})
    for line in read_jsonl(os.path.join(work, 'curl.log')):
        e = curl_entry(line)
        out.append({**e, 'timedOut': e['exitcode'] == 28})
    for e in read_jsonl(os.path.join(work, 'node-client.log')):
        err = None
        if e.get('outcome') != 'complete':
            err = (f'{e.get("outcome")}: ' + '; '.join(e.get('errors') or []))
        out.append({'program': 'node', 'url': e['url'], 'localPort': e.get('localPort'), 'status': e.get('status'),
                    'bytes': e.get('bytes'), 'error': err, 'timedOut': e.get('outcome') == 'timeout-destroyed',
                    'seconds': round(e['tEnd'] - e['tStart'], 4)})
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
    ents = entries(a.work)
    for e in ents:
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

    def backend_end(peer, uri):
        hits = [b for b in backend if b['peer'] == peer and b['path'] == uri]
        return hits[0] if len(hits) == 1 else None

    expect, cuts, oks, leg_facts, nginx_lines = [], [], [], [], []
    per_program = {p: {'requestToClose': [], 'lastBodyByteToClose': [], 'cuts': 0, 'ok': 0} for p in TIMERS}
    for c in sorted(front.values(), key=lambda x: x['first']):
        ex = x30_wire.exchanges(c)
        if not c['entries']:
            refuse(f'{addr(c["client"])}: a connection no client logged')
            continue
        if len(ex) != len(c['entries']):
            refuse(f'{addr(c["client"])}: {len(ex)} requests on the wire, {len(c["entries"])} logged')
            continue
        prog = c['entries'][0]['program']
        kind_t, timer, server = TIMERS[prog]
        if addr(c['server']) != server:
            refuse(f'{addr(c["client"])}: {prog} talked to {addr(c["server"])}')
        done_ex = []
        cut = None
        cclose, sclose = c['close']['client'], c['close']['server']
        for i, ((rq, rs), e) in enumerate(zip(ex, c['entries'])):
            if rq['uri'] != path_of(e['url']):
                refuse(f'{addr(c["client"])}: request {i} is {rq["uri"]} on the wire, {e["url"]} in the {prog} log')
                continue
            through = addr(c['server']) == '127.0.0.2:8080'
            acc = None
            if through:
                hits = [x for x in access if x['client'] == addr(c['client']) and x['request'].split(' ')[1] == rq['uri']]
                if len(hits) != 1:
                    refuse(f'{e["id"]}: {len(hits)} nginx access log lines')
                else:
                    acc = hits[0]
                lg = leg_by_uri.get(rq['uri'])
                if lg is None:
                    refuse(f'{e["id"]}: no upstream leg carried {rq["uri"]}')
                peer, bk_uri = (addr(lg[0]['client']) if lg else None), rq['uri']
            else:
                peer, bk_uri = addr(c['client']), rq['uri']
            bk = backend_end(peer, bk_uri) if peer else None
            if bk is None:
                refuse(f'{e["id"]}: no single backend "end" for {peer} {bk_uri}')
            if e['want'] == 'ok':
                if rs is None or not rs['complete']:
                    refuse(f'{e["id"]}: want=ok but the response is not complete on the wire')
                    continue
                if e['error'] or e['bytes'] != rs['body']:
                    refuse(f'{e["id"]}: want=ok, the client logged error {e["error"]} and {e["bytes"]} bytes ({rs["body"]} on the wire)')
                if acc and acc['completion'] != 'OK':
                    refuse(f'{e["id"]}: nginx logged completion {acc["completion"]!r}')
                if bk and bk['result'] != 'done':
                    refuse(f'{e["id"]}: the backend logged {bk["result"]}')
                done_ex.append((rq, rs, e))
                per_program[prog]['ok'] += 1
                continue
            # want=cut
            if i != len(ex) - 1:
                refuse(f'{e["id"]}: want=cut is not the connection\'s last request')
                continue
            if cclose is None or (sclose and sclose['frame'] < cclose['frame']):
                refuse(f'{e["id"]}: the client did not close first (client {cclose}, server {sclose})')
                continue
            resp_then, after = x30_wire.before(c, cclose['frame'])
            if len(resp_then) != i + 1 or resp_then[i].get('partialHead'):
                refuse(f'{e["id"]}: no response head before the client\'s close')
                continue
            r0 = resp_then[i]
            if r0['complete']:
                refuse(f'{e["id"]}: the body was complete when the client closed')
                continue
            if not e['timedOut']:
                refuse(f'{e["id"]}: the client logged no timeout: {e["error"]}')
            if not (e['bytes'] is not None and e['bytes'] <= r0['body'] <= e['bytes'] + 1024):
                refuse(f'{e["id"]}: the client logged {e["bytes"]} body bytes, {r0["body"]} on the wire before its close')
            r2c = round(cclose['t'] - rq['t'], 4)
            l2c = round(cclose['t'] - r0['lastByteTime'], 4)
            measured = r2c if kind_t == 'total' else l2c
            if not (timer - 0.02 <= measured <= timer + 0.06):
                refuse(f'{e["id"]}: {prog} closed {measured} s after the {"request" if kind_t == "total" else "last body byte"}, not {timer} s')
            if bk and bk['result'] != 'peer-gone':
                refuse(f'{e["id"]}: the backend logged {bk["result"]} for an abandoned response')
            cut = {'request': rq, 'response': r0, 'entry': e, 'requestToClose': r2c, 'lastBodyByteToClose': l2c,
                   'close': cclose, 'serverBytesAfterClose': after, 'backend': bk, 'access': acc}
            per_program[prog]['requestToClose'].append(r2c)
            per_program[prog]['lastBodyByteToClose'].append(l2c)
            per_program[prog]['cuts'] += 1
            if through:
                errs = [ln for ln in errlog if 'client prematurely closed connection, so upstream connection is closed too' in ln
                        and f'"GET {rq["uri"]} HTTP/1.1"' in ln]
                if len(errs) != 1:
                    refuse(f'{e["id"]}: {len(errs)} "client prematurely closed" error-log lines')
                else:
                    cut['errorLog'] = errs[0][errs[0].index('[info]'):]
                if acc and acc['completion'] != '':
                    refuse(f'{e["id"]}: nginx logged completion {acc["completion"]!r} for an abandoned response')
                if lg:
                    leg = lg[0]
                    lc = leg['close']['client']  # nginx is the client of its upstream leg
                    bc = leg['close']['server']
                    if lc is None or lc['t'] < cclose['t'] or lc['t'] - cclose['t'] > 0.05 or (bc and bc['frame'] < lc['frame']):
                        refuse(f'{e["id"]}: the upstream leg {addr(leg["client"])} was not closed by nginx just after the client ({lc}, backend {bc})')
                    else:
                        lresp, lafter = x30_wire.before(leg, lc['frame'])
                        lr = lresp[-1] if lresp else None
                        brst = leg['rst']['server']
                        cut['leg'] = {'client': addr(leg['client']), 'server': addr(leg['server']), 'closeFrame': lc['frame'],
                                      'closedWith': lc['closedWith'], 'gapAfterClientClose': round(lc['t'] - cclose['t'], 6),
                                      'bodyBytesBeforeClose': lr['body'] if lr else None,
                                      'backendBytesAfterClose': lafter,
                                      'resetByNginxFrame': leg['rst']['client']['frame'] if leg['rst']['client'] else None,
                                      'backendCloseFrame': bc['frame'] if bc else None, 'backendRstFrame': brst['frame'] if brst else None,
                                      'requests': [q['uri'] for q, _ in x30_wire.exchanges(leg)]}
                        leg['followed'] = cut
        if cut:
            cuts.append((c, prog, done_ex, cut))
        else:
            oks.append((c, prog, done_ex))
        if c['rst']['server']:
            refuse(f'{addr(c["client"])}: a RST from the server')

    for p, v in per_program.items():
        if v['cuts'] != 4 or v['ok'] < 2:
            refuse(f'{p}: {v["cuts"]} abandoned and {v["ok"]} whole transfers')
    for lg in legs:
        if not lg.get('followed'):
            ex = x30_wire.exchanges(lg)
            if not all(rs and rs['complete'] for _, rs in ex):
                refuse(f'upstream leg {addr(lg["client"])}: an unfinished response nobody abandoned')
            if lg['rst']['client'] or lg['rst']['server']:
                refuse(f'upstream leg {addr(lg["client"])}: a RST on a leg no client abandoned')

    if problems:
        for p in problems:
            print(f'x30a-meta: {a.scenario}: {p}', file=sys.stderr)
        sys.exit(1)

    spreads = {p: {'timer': f'{TIMERS[p][0]} {TIMERS[p][1]} s', 'requestToClose': span(v['requestToClose']),
                   'lastBodyByteToClose': span(v['lastBodyByteToClose'])} for p, v in per_program.items()}
    print(f'x30a-meta: spreads {json.dumps(spreads)}', file=sys.stderr)
    why = {
        'go': 'Go net/http http.Client{Timeout: 2 * time.Second}: the timer covers the whole exchange, body included; '
              'at 2 s the transport closes the connection while the body (1 KB parts) is still flowing',
        'requests': 'Python requests timeout=(1, 1.5): the read timeout is the longest wait for any one recv; the body '
                    'stalled and the socket was closed 1.5 s after its last byte',
        'curl': 'curl --max-time 3: the whole transfer gets 3 s; curl closed while the body was still flowing',
        'node': 'Node http.get(url, {timeout: 2500}) and req.destroy() on \'timeout\': a socket inactivity timer; the '
                'body stalled and the socket was destroyed 2.5 s after its last byte',
    }
    expect = []
    for c, prog, done_ex, cut in sorted(cuts, key=lambda x: x[0]['first']):
        rq, r0, e = cut['request'], cut['response'], cut['entry']
        decl = r0['declared']
        got = (f'{r0["body"]} of {decl} bytes' if isinstance(decl, int) else f'{r0["body"]} bytes of chunk data, no last chunk'
               if decl == 'chunked' else f'{r0["body"]} bytes of a close-delimited body')
        before_txt = (f'after {len(done_ex)} whole response(s) on this keep-alive connection ({", ".join(x[2]["id"] for x in done_ex)}), '
                      if done_ex else '')
        via = ''
        if cut.get('leg'):
            lgf = cut['leg']
            via = (f' nginx logged status {cut["access"]["status"]} with $request_completion "" and {cut["access"]["bodyBytesSent"]} '
                   f'body bytes sent (the head had gone out, so no 499), and "client prematurely closed connection, so '
                   f'upstream connection is closed too"; it closed its upstream leg {lgf["client"]} with a '
                   f'{lgf["closedWith"].upper()} {lgf["gapAfterClientClose"]} s after the client\'s close.')
        notes = (f'{prog} ({e["id"]}, {rq["uri"]}): {before_txt}the client closed the connection with a '
                 f'{cut["close"]["closedWith"].upper()} mid-body: {got} ({r0["framing"]}), {cut["requestToClose"]} s after the '
                 f'request, {cut["lastBodyByteToClose"]} s after the last body byte. {why[prog]}. The client logged: {e["error"]}.'
                 + via + (f' The server went on sending {cut["serverBytesAfterClose"]} bytes after the close, answered by the '
                          f'client\'s RST; the backend logged {cut["backend"]["error"]}.' if cut['serverBytesAfterClose'] and cut['backend'] else ''))
        ev = {'requestFrame': rq['frame'], 'responseHeadFrame': r0['headFrame'], 'lastBodyByteFrame': r0['lastByteFrame'],
              'closeFrame': cut['close']['frame'], 'closedWith': cut['close']['closedWith'], 'declaredLength': decl,
              'bodyBytesReceived': r0['body'], 'requestToClose': cut['requestToClose'],
              'lastBodyByteToClose': cut['lastBodyByteToClose'], 'clientError': e['error'],
              'userAgent': rq['userAgent'],
              'clientRstFrame': c['rst']['client']['frame'] if c['rst']['client'] else None}
        expect.append({'kind': 'response-abandoned', 'client': addr(c['client']), 'server': addr(c['server']),
                       'notes': notes, 'evidence': ev})
    for c, prog, done_ex in sorted(oks, key=lambda x: x[0]['first']):
        expect.append({'kind': None, 'client': addr(c['client']), 'server': addr(c['server']),
                       'notes': f'{prog}: {len(done_ex)} request(s) answered whole ({", ".join(x[2]["id"] for x in done_ex)}); clean.'})
    for lg in sorted(legs, key=lambda x: x['first']):
        ex = x30_wire.exchanges(lg)
        ids = ', '.join(query(q['uri']).get('id', '?') for q, _ in ex)
        f = lg.get('followed')
        if f:
            lgf = f['leg']
            notes = (f'nginx\'s upstream leg for {ids}: the proxy followed its client. The client '
                     f'{f["entry"]["program"]} ({f["entry"]["id"]}) abandoned the response and closed at frame {f["close"]["frame"]}; '
                     f'nginx ("client prematurely closed connection, so upstream connection is closed too") closed this leg '
                     f'with a {lgf["closedWith"].upper()} at frame {lgf["closeFrame"]}, {lgf["gapAfterClientClose"]} s later'
                     + (f', and reset it (frame {lgf["resetByNginxFrame"]}) when the backend\'s next bytes came' if lgf['resetByNginxFrame'] else '')
                     + '. Not a finding of its own: the abandonment is the front connection\'s.')
        else:
            notes = f'nginx\'s upstream keep-alive leg for {ids}: answered whole; clean.'
        expect.append({'kind': None, 'client': addr(lg['client']), 'server': addr(lg['server']), 'notes': notes})

    ncut = len(cuts)
    desc = (
        'Clients that give up on a response whose body is still arriving, each at its own timer, on one network '
        'namespace\'s loopback. A Python stdlib backend on 127.0.0.3:9001 writes slow bodies (1 KB parts every '
        '230-450 ms, Content-Length or chunked, lasting longer than any timer) and stalling ones (some parts over PRE '
        'ms, then 4 s of silence); nginx 1.22 on 127.0.0.2:8080 proxies to it (proxy_buffering off, upstream keepalive, '
        'proxy_read_timeout 30s: nginx never cuts first). From 127.0.0.1: the Go net/http client with '
        'http.Client{Timeout: 2 * time.Second} straight to the backend (closes '
        f'{spreads["go"]["requestToClose"][0]}-{spreads["go"]["requestToClose"][1]} s after the request, the body still '
        'flowing: "context deadline exceeded (Client.Timeout or context cancellation while reading body)"); Python '
        'requests 2.28 with timeout=(1, 1.5) straight to the backend on stalling bodies (closes '
        f'{spreads["requests"]["lastBodyByteToClose"][0]}-{spreads["requests"]["lastBodyByteToClose"][1]} s after the last '
        f'byte, {spreads["requests"]["requestToClose"][0]}-{spreads["requests"]["requestToClose"][1]} s after the request: '
        'ConnectionError "Read timed out."); curl 7.88 --max-time 3 through nginx (closes '
        f'{spreads["curl"]["requestToClose"][0]}-{spreads["curl"]["requestToClose"][1]} s after the request, exit 28 '
        '"Operation timed out after 3000 milliseconds with N out of M bytes received"); Node 20 http with '
        'http.get(url, {timeout: 2500}) and req.destroy() on \'timeout\' through nginx on stalling bodies (closes '
        f'{spreads["node"]["lastBodyByteToClose"][0]}-{spreads["node"]["lastBodyByteToClose"][1]} s after the last byte, '
        f'{spreads["node"]["requestToClose"][0]}-{spreads["node"]["requestToClose"][1]} s after the request). Every close '
        'is the client\'s FIN with the body short (fewer bytes than Content-Length, or no last chunk); the server\'s next '
        'bytes are answered with a RST. nginx follows its client: it logs the request with the status already sent '
        '(200, $request_completion empty: 499 is only logged when the head has not gone out) and "client prematurely '
        'closed connection, so upstream connection is closed too", and closes its upstream leg within a millisecond. '
        f'{ncut} abandoned transfers, 4 per program; the others (small answers, short slow bodies, stalls shorter than '
        'the read timeout) complete, some on the same keep-alive connection before a cut.')
    meta = {'scenario': a.scenario, 'software': a.software, 'description': desc, 'silent': False,
            'configured': {'clientTimeout': [{'value': 2.0, 'server': '127.0.0.3:9001'}, {'value': 3.0, 'server': '127.0.0.2:8080'}],
                           'clientReadTimeout': [{'value': 1.5, 'server': '127.0.0.3:9001'}, {'value': 2.5, 'server': '127.0.0.2:8080'}]},
            'expect': expect}
    meta['notes'] = (
        'Checked by samples/record/programs/x30a-meta.py against the clients\' logs (local port, bytes read, error: Go\'s '
        'error text, requests\' exception, curl\'s -w %{json} exit code and message, Node\'s timeout event), the '
        'backend\'s log (bytes written; "peer-gone" with BrokenPipeError for every abandoned transfer, "done" for the '
        'others), nginx\'s access log (completion "" for the abandoned, "OK" for the others) and error log. requestToClose '
        'is measured from the frame carrying the request\'s last header byte to the client\'s FIN; lastBodyByteToClose '
        'from the frame carrying the last body byte that arrived before the close. bodyBytesReceived counts the body '
        'bytes that arrived before the close (the server\'s bytes after it are not received). Go and curl close at a '
        'constant time since the request while the last byte is a fraction of a part period old (a total timeout); '
        'requests and Node close at a constant silence after the last byte while the time since the request varies with '
        'PRE (a read timeout between bytes). The two clients on each server keep their timers apart: 2.0 s total and '
        '1.5 s read on 127.0.0.3:9001, 3.0 s total and 2.5 s read on 127.0.0.2:8080. nginx\'s upstream legs are closed '
        'by nginx because its client went away: the proxy followed its client, not a finding of their own.')
    meta['facts'] = {
        'packets': npackets, 'connections': len(conns), 'frontConnections': len(front), 'upstreamLegs': len(legs),
        'abandonedTransfers': ncut, 'spreads': spreads,
        'perProgram': {p: {'abandoned': v['cuts'], 'whole': v['ok'], 'requestToClose': v['requestToClose'],
                           'lastBodyByteToClose': v['lastBodyByteToClose']} for p, v in per_program.items()},
        'nginxAccessLogAbandoned': [json.dumps(cut['access']) for _, _, _, cut in cuts if cut.get('access')],
        'nginxErrorLog': [cut['errorLog'] for _, _, _, cut in cuts if cut.get('errorLog')],
        'upstreamLegsClosedByNginx': [dict(cut['leg'], id=cut['entry']['id'], clientCloseFrame=cut['close']['frame'])
                                      for _, _, _, cut in sorted(cuts, key=lambda x: x[0]['first']) if cut.get('leg')],
        'upstreamCloseGap': span([cut['leg']['gapAfterClientClose'] for _, _, _, cut in cuts if cut.get('leg')]),
        'backendPeerGone': [f'{cut["backend"]["peer"]} {query(cut["request"]["uri"]).get("id")}: {cut["backend"]["bodyBytes"]} bytes written, {cut["backend"]["error"]}'
                            for _, _, _, cut in sorted(cuts, key=lambda x: x[0]['first']) if cut.get('backend')],
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x30a-meta: {a.scenario}: {len(conns)} connections, {ncut} abandoned, {npackets} packets: ok')


if __name__ == '__main__':
    main()
