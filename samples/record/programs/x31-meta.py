"""Checks the proxy-uri-rewrite recording against the programs' own logs and writes its meta.json, or
refuses (exit 1).

The capture (tshark, through x30_wire.py) holds client legs 127.0.0.1 -> 127.0.0.2:8080 (nginx, which
strips /api: location /api/ { proxy_pass http://backend/; }) and 127.0.0.1 -> 127.0.0.2:8081 (HAProxy,
which adds /v1: http-request set-path /v1%[path]), and upstream legs 127.0.0.2 -> 127.0.0.3:9001. Every
request target carries id=TAG-N, which both rewrites keep: the two legs of one request are the client
leg's and the upstream leg's requests with the same id.

Ground truth read from --work: curl-TAG.jsonl (curl -w '%{json}' per transfer) with curl-TAG.rc and
.err; py-clients.log (x31-py-client.py); backend.log (x31-backend.py: each request's target as it
arrived and its peer, peer-closed / peer-reset / write-error); nginx-access.log (JSON) and error.log;
haproxy.log (status, timers, termination state, backend source port, path+query sent to the server).

Refused when:
- a request a client logged is not on both legs, or a request on the wire is in no client log, or the
  client leg is not from the local port the client logged;
- the upstream target is not the client's target rewritten (nginx: /api removed; HAProxy: /v1 added),
  exactly, or the backend (and HAProxy's log) saw another target or another peer than the capture;
- scene 1 (/slow-head?ms=4000): not a 504 to the client 1.95-2.3 s after the request, the upstream leg
  got bytes of an answer, the proxy did not close it 1.95-2.3 s after the request, the backend did not
  log the peer gone before its head, nginx/HAProxy did not log the timeout (504, "upstream timed out
  ... while reading response header from upstream", sH--);
- scene 2 (/stall-body): the client leg's response complete, the proxy did not FIN it 1.7-2.3 s after
  its last body byte (HAProxy: MSG_MORE holds the last partial segment ~0.2 s) and 1.95-2.3 s after the
  backend's last byte, a RST on the client leg from the proxy, the proxy did not close the upstream leg
  1.95-2.3 s after the backend's last byte, the client did not log the cut (curl exit 18, IncompleteRead)
  with the bytes the wire shows, no "upstream timed out ... while reading upstream" / sD--;
- scene 3 (/flow?total=17408, curl --max-time 2): the client did not close first, 1.95-2.1 s after the
  request, mid-body, with curl exit 28; the proxy did not close the upstream leg after the client's close
  (within 0.5 s); the backend did not log its write failing; nginx did not log "client prematurely closed
  connection" and completion "", HAProxy not C?--;
- scene 4 (every other request): not complete on both legs or not logged complete by its client;
- a scene has not 3 requests per proxy.
"""
import argparse
import glob
import json
import os
import re
import sys
from collections import defaultdict
from urllib.parse import urlsplit

sys.dont_write_bytecode = True
import x30_wire  # noqa: E402
from x29_capture import read_jsonl  # noqa: E402
from x30_wire import addr, query, span  # noqa: E402

x30_wire.SERVER_PORTS.add(8081)  # HAProxy's port (the module knows 8080 and 9001)
PROXIES = {8080: 'nginx', 8081: 'haproxy'}
PROXY_IP = '127.0.0.2'
BACKEND = ('127.0.0.3', 9001)
T = 2.0
SCENES = {'gateway': 'gateway timeout', 'stall': 'backend stalls mid-body', 'abandon': 'client timeout mid-body',
          'healthy': 'healthy'}
RULE = {'nginx': 'location /api/ { proxy_pass http://backend/; } strips /api',
        'haproxy': 'http-request set-path /v1%[path] adds /v1'}
problems = []


def refuse(msg):
    problems.append(msg)


def scene_of(target):
    path = urlsplit(target).path
    if path.endswith('/slow-head'):
        return 'gateway'
    if path.endswith('/stall-body'):
        return 'stall'
    if path.endswith('/flow') and query(target).get('total') == '17408':
        return 'abandon'
    return 'healthy'


def rewritten(proxy, target):
    if proxy == 'nginx':
        return target[len('/api'):] if target.startswith('/api/') else None
    return '/v1' + target


def client_logs(work):
    out = {}
    for f in sorted(glob.glob(os.path.join(work, 'curl-*.jsonl'))):
        tag = os.path.basename(f)[5:-6]
        rcf = os.path.join(work, f'curl-{tag}.rc')
        rc = open(rcf).read().strip() if os.path.exists(rcf) else ''
        for j in read_jsonl(f):
            rid = query(j['url']).get('id')
            ok = j['exitcode'] == 0
            out[rid] = {'program': 'curl', 'tag': tag, 'url': j['url'], 'localPort': j['local_port'],
                        'status': j['http_code'], 'received': j['size_download'], 'exitCode': j['exitcode'],
                        'complete': ok and j['http_code'] == 200, 'seconds': j['time_total'],
                        'logged': f"curl: ({j['exitcode']}) {j['errormsg']}" if not ok else f"exit 0, HTTP {j['http_code']}",
                        'curlExit': int(rc) if rc else None}
    for j in read_jsonl(os.path.join(work, 'py-clients.log')):
        exc = j.get('exception')
        out[j['id']] = {'program': 'python-http.client', 'tag': j['tag'], 'url': j['url'], 'localPort': j.get('localPort'),
                        'status': j.get('status'), 'received': j.get('received'), 'exitCode': None,
                        'complete': bool(j.get('complete')), 'seconds': round(j['tEnd'] - j['tStart'], 4),
                        'exception': exc,
                        'logged': f"{exc['class']}: {exc['message']}" if exc else f"HTTP {j.get('status')}, {j.get('received')} body bytes"}
    return out


def close_desc(c, side):
    x = c['close'][side]
    return None if x is None else {'by': 'client' if side == 'client' else 'server', 'with': x['closedWith'].upper(),
                                   'frame': x['frame'], 't': x['t']}


def first_close(c):
    """The connection's first FIN or RST, by either side: (side, {frame, t, closedWith}) or None."""
    cands = [(s, c['close'][s]) for s in ('client', 'server') if c['close'][s]]
    return min(cands, key=lambda x: x[1]['frame']) if cands else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--software', nargs='*', default=[])
    a = ap.parse_args()

    conns, npackets = x30_wire.load(a.capture)
    front, back = [], []
    legs = defaultdict(dict)
    for c in sorted(conns.values(), key=lambda c: c['first']):
        if not c['packets'][0]['syn']:
            refuse(f'{addr(c["client"])} -> {addr(c["server"])}: no SYN first')
        for side in ('client', 'server'):
            if c['dir'][side].gap:
                refuse(f'{addr(c["client"])} -> {addr(c["server"])}: a gap in the {side} bytes')
        if c['server'][0] == PROXY_IP and c['server'][1] in PROXIES and c['client'][0] == '127.0.0.1':
            c['role'], c['proxy'] = 'front', PROXIES[c['server'][1]]
            front.append(c)
        elif c['server'] == BACKEND and c['client'][0] == PROXY_IP:
            c['role'] = 'back'
            back.append(c)
        else:
            refuse(f'unexpected connection {addr(c["client"])} -> {addr(c["server"])}')
            continue
        if any(r.get('partial') for r in c['requests']):
            refuse(f'{addr(c["client"])}: a partial request head')
        for k, (rq, rs) in enumerate(x30_wire.exchanges(c)):
            rid = query(rq['uri']).get('id')
            if c['role'] in legs[rid]:
                refuse(f'{rid}: twice on the {c["role"]} side')
            legs[rid][c['role']] = {'c': c, 'rq': rq, 'rs': rs, 'k': k, 'n': len(c['requests'])}

    clients = client_logs(a.work)
    backend = read_jsonl(os.path.join(a.work, 'backend.log'))
    be_req = {e['id']: e for e in backend if e['event'] == 'request'}
    be_end = defaultdict(list)
    for e in backend:
        if e['event'] in ('peer-closed', 'peer-reset', 'write-error', 'done'):
            be_end[e.get('id')].append(e)
    if any(e['event'] == 'exception' for e in backend):
        refuse(f'backend exceptions: {[e for e in backend if e["event"] == "exception"]}')
    nginx_acc = {}
    for j in read_jsonl(os.path.join(a.work, 'nginx-access.log')):
        nginx_acc[query(j['request'].split(' ')[1]).get('id')] = j
    nginx_err = defaultdict(list)
    for ln in open(os.path.join(a.work, 'error.log')):
        if '[notice]' in ln or 'closed keepalive connection' in ln or 'epoll_wait() failed (4' in ln:
            continue
        m = re.search(r'request: "GET ([^ ]+) HTTP', ln)
        if not m:
            refuse(f'nginx error log: unexpected line: {ln.strip()}')
            continue
        nginx_err[query(m.group(1)).get('id')].append(ln.strip())
    ha = {}
    for ln in open(os.path.join(a.work, 'haproxy.log')):
        m = re.match(r'^(\d+\.\d+) (\S+):(\d+) (\S+) (\S+) (\d+) (\S+) (\d+) (\S+) (\d+) (\d+) (\S+)$', ln.strip())
        if m:
            ha[query(m.group(5)).get('id')] = {'clientPort': int(m.group(3)), 'uri': m.group(5), 'status': int(m.group(6)),
                                            'timers': m.group(7), 'Tt': int(m.group(8)), 'termination': m.group(9),
                                            'backendPort': int(m.group(10)), 'bytesRead': int(m.group(11)),
                                            'sentPath': m.group(12)}
        elif not ln.startswith('[NOTICE]') and "overrides previous 'option httplog'" not in ln:
            refuse(f'haproxy log: unexpected line: {ln.strip()}')

    exchanges = []
    for rid in sorted(set(legs) | set(clients), key=lambda r: (r or '')):
        lg, cl = legs.get(rid, {}), clients.get(rid)
        if cl is None:
            refuse(f'request {rid} on the wire, in no client log')
            continue
        if 'front' not in lg or 'back' not in lg:
            refuse(f'{rid}: legs on the wire: {sorted(lg)}')
            continue
        f, b = lg['front'], lg['back']
        fc, bc = f['c'], b['c']
        proxy = fc['proxy']
        e = {'id': rid, 'proxy': proxy, 'client': cl, 'front': f, 'back': b, 'scene': scene_of(f['rq']['uri']),
             'clientTarget': f['rq']['uri'], 'upstreamTarget': b['rq']['uri']}
        exchanges.append(e)
        if fc['client'] != ('127.0.0.1', cl['localPort']):
            refuse(f'{rid}: the client logged port {cl["localPort"]}, the capture has {addr(fc["client"])}')
        if b['rq']['uri'] != rewritten(proxy, f['rq']['uri']):
            refuse(f'{rid}: {proxy} sent {b["rq"]["uri"]} for {f["rq"]["uri"]}')
        if b['rq']['uri'] == f['rq']['uri']:
            refuse(f'{rid}: not rewritten')
        if urlsplit(cl['url']).path + '?' + urlsplit(cl['url']).query != f['rq']['uri']:
            refuse(f'{rid}: the client logged {cl["url"]}, the wire has {f["rq"]["uri"]}')
        br = be_req.get(rid)
        if not br or br['target'] != b['rq']['uri'] or br['peer'] != addr(bc['client']):
            refuse(f'{rid}: backend log {br} vs upstream leg {addr(bc["client"])} {b["rq"]["uri"]}')
        if proxy == 'haproxy':
            h = ha.get(rid)
            if not h or h['clientPort'] != fc['client'][1] or h['backendPort'] != bc['client'][1] or h['sentPath'] != b['rq']['uri'] \
                    or h['uri'] != f['rq']['uri']:
                refuse(f'{rid}: HAProxy log {h} vs the capture')
            e['proxyLog'] = h
        else:
            n = nginx_acc.get(rid)
            if not n or n['client'] != addr(fc['client']) or n['request'] != f'GET {f["rq"]["uri"]} HTTP/1.1':
                refuse(f'{rid}: nginx access log {n} vs the capture')
            e['proxyLog'] = n
        ends = be_end.get(rid, [])
        e['backendLogged'] = ends[0] if len(ends) == 1 else None
        if len(ends) != 1:
            refuse(f'{rid}: backend end events {ends}')
        frs, brs = f['rs'], b['rs']
        sc = e['scene']
        if sc == 'healthy':
            if not (frs and brs and frs['complete'] and brs['complete'] and frs['status'] == 200 and cl['complete']):
                refuse(f'{rid}: healthy request not complete ({cl["logged"]})')
            if cl['received'] != (frs or {}).get('body'):
                refuse(f'{rid}: the client logged {cl["received"]} bytes, the wire has {(frs or {}).get("body")}')
            if ends and ends[0]['event'] != 'done':
                refuse(f'{rid}: backend {ends[0]}')
            if rid in nginx_err:
                refuse(f'{rid}: nginx error log: {nginx_err[rid]}')
            if proxy == 'haproxy' and e['proxyLog'] and e['proxyLog']['termination'] != '----':
                refuse(f'{rid}: HAProxy {e["proxyLog"]["termination"]}')
            continue
        if f['k'] != f['n'] - 1 and not (sc == 'gateway'):
            refuse(f'{rid}: a request after the failed one on the client leg')
        if sc == 'gateway':
            if not frs or frs['status'] != 504 or cl['status'] != 504:
                refuse(f'{rid}: not a 504 (wire {frs and frs["status"]}, client {cl["status"]})')
                continue
            e['delay'] = round(frs['headTime'] - f['rq']['t'], 4)
            if not (T - 0.05 <= e['delay'] <= T + 0.3):
                refuse(f'{rid}: 504 after {e["delay"]} s')
            if brs is not None or any(p['side'] == 'server' and p['len'] and p['t'] > b['rq']['t'] for p in bc['packets']):
                refuse(f'{rid}: the backend answered on the upstream leg')
            cls = bc['close']['client']
            if b['k'] != b['n'] - 1 or cls is None:
                refuse(f'{rid}: the proxy did not close the upstream leg after the request')
                continue
            e['upstreamClose'] = cls
            e['upstreamWait'] = round(cls['t'] - b['rq']['t'], 4)
            if not (T - 0.05 <= e['upstreamWait'] <= T + 0.3):
                refuse(f'{rid}: upstream leg closed {e["upstreamWait"]} s after the request')
            if bc['close']['server'] and bc['close']['server']['frame'] < cls['frame']:
                refuse(f'{rid}: the backend closed the upstream leg first')
            if not ends or ends[0]['event'] not in ('peer-closed', 'peer-reset') or ends[0]['what'] != 'before-head':
                refuse(f'{rid}: backend {ends}')
            if proxy == 'nginx':
                if not any('upstream timed out (110: Connection timed out) while reading response header from upstream' in x
                           for x in nginx_err.get(rid, [])) or e['proxyLog']['status'] != 504:
                    refuse(f'{rid}: nginx logs {nginx_err.get(rid)} {e["proxyLog"]}')
                e['proxyLogged'] = 'nginx: 504, error.log "upstream timed out (110: Connection timed out) while reading response header from upstream"'
            else:
                h = e['proxyLog']
                if not h or h['status'] != 504 or h['termination'] != 'sH--':
                    refuse(f'{rid}: HAProxy {h}')
                e['proxyLogged'] = f'HAProxy: 504, termination sH--, Tc/Tw/Tr/Ta {h["timers"] if h else "?"}'
        elif sc == 'stall':
            if not frs or frs['status'] != 200 or frs['complete'] or not brs or brs['complete']:
                refuse(f'{rid}: a stalled response complete on a leg')
                continue
            e['bodyBytes'], e['upstreamBodyBytes'] = frs['body'], brs['body']
            if cl['received'] != frs['body'] or cl['complete']:
                refuse(f'{rid}: the client logged {cl["received"]} bytes ({cl["logged"]}), the wire has {frs["body"]}')
            if cl['program'] == 'curl' and cl['exitCode'] != 18:
                refuse(f'{rid}: curl exit {cl["exitCode"]}')
            if cl['program'] != 'curl' and (cl.get('exception') or {}).get('class') != 'http.client.IncompleteRead':
                refuse(f'{rid}: {cl["logged"]}')
            fin = fc['fin']['server']
            if fc['rst']['server'] or fin is None or (fc['close']['client'] and fc['close']['client']['frame'] < fin['frame']):
                refuse(f'{rid}: the client leg not ended by the proxy\'s FIN')
                continue
            e['proxyFin'] = fin
            e['silence'] = round(fin['t'] - frs['lastByteTime'], 4)
            e['sinceBackendLastByte'] = round(fin['t'] - brs['lastByteTime'], 4)
            if not (T - 0.3 <= e['silence'] <= T + 0.3):
                refuse(f'{rid}: FIN {e["silence"]} s after the last body byte')
            if not (T - 0.05 <= e['sinceBackendLastByte'] <= T + 0.3):
                refuse(f'{rid}: FIN {e["sinceBackendLastByte"]} s after the backend\'s last byte')
            cls = bc['close']['client']
            if cls is None or (bc['close']['server'] and bc['close']['server']['frame'] < cls['frame']):
                refuse(f'{rid}: the proxy did not close the upstream leg first')
                continue
            e['upstreamClose'] = cls
            e['upstreamSilence'] = round(cls['t'] - brs['lastByteTime'], 4)
            if not (T - 0.05 <= e['upstreamSilence'] <= T + 0.3):
                refuse(f'{rid}: upstream leg closed {e["upstreamSilence"]} s after the backend\'s last byte')
            if not ends or ends[0]['event'] not in ('peer-closed', 'peer-reset') or ends[0]['what'] != 'mid-body':
                refuse(f'{rid}: backend {ends}')
            if proxy == 'nginx':
                if not any('upstream timed out (110: Connection timed out) while reading upstream' in x for x in nginx_err.get(rid, [])):
                    refuse(f'{rid}: nginx error log {nginx_err.get(rid)}')
                e['proxyLogged'] = 'nginx error.log "upstream timed out (110: Connection timed out) while reading upstream"'
            else:
                h = e['proxyLog']
                if not h or h['termination'] != 'sD--':
                    refuse(f'{rid}: HAProxy {h}')
                e['proxyLogged'] = f'HAProxy: termination sD--, Tc/Tw/Tr/Ta {h["timers"] if h else "?"}, {h["bytesRead"] if h else "?"} bytes from the server'
        elif sc == 'abandon':
            if not frs or frs['status'] != 200 or frs['complete']:
                refuse(f'{rid}: the abandoned response is complete on the client leg')
                continue
            cc = fc['close']['client']
            if cc is None or cc['closedWith'] != 'fin' or (fc['close']['server'] and fc['close']['server']['frame'] < cc['frame']):
                refuse(f'{rid}: the client did not close the client leg first with a FIN')
                continue
            e['clientClose'] = cc
            had, _ = x30_wire.before(fc, cc['frame'])
            got = had[f['k']]['body'] if len(had) > f['k'] else 0
            e['bodyBytes'], e['declared'] = got, frs['declared']
            e['requestToClose'] = round(cc['t'] - f['rq']['t'], 4)
            e['lastBodyByteToClose'] = round(cc['t'] - had[f['k']]['lastByteTime'], 4) if len(had) > f['k'] else None
            if cl['program'] != 'curl' or cl['exitCode'] != 28:
                refuse(f'{rid}: {cl["logged"]}')
            if not (0 <= got - cl['received'] <= 1024):
                refuse(f'{rid}: curl logged {cl["received"]} bytes, {got} on the wire before its close')
            if not (T - 0.05 <= e['requestToClose'] <= T + 0.1):
                refuse(f'{rid}: the client closed {e["requestToClose"]} s after the request')
            cls = bc['close']['client']
            if cls is None or (bc['close']['server'] and bc['close']['server']['frame'] < cls['frame']):
                refuse(f'{rid}: the proxy did not close the upstream leg first')
                continue
            e['upstreamClose'] = cls
            e['closeGap'] = round(cls['t'] - cc['t'], 4)
            # what the client leg carried after the client's FIN (HAProxy forwards the next part, answered by a RST)
            e['afterClientClose'] = [
                f'{"client" if p["side"] == "client" else "proxy"} ' + ('RST' if p['rst'] else 'FIN' if p['fin'] else f'{p["len"]} bytes')
                + f' frame {p["frame"]} (+{p["t"] - cc["t"]:.4f} s)'
                for p in fc['packets'] if p['frame'] > cc['frame'] and (p['len'] or p['fin'] or p['rst'])]
            if not (0 <= e['closeGap'] <= 0.5):
                refuse(f'{rid}: the upstream leg closed {e["closeGap"]} s after the client\'s close')
            if not ends or ends[0]['event'] not in ('write-error', 'peer-closed', 'peer-reset'):
                refuse(f'{rid}: backend {ends}')
            if proxy == 'nginx':
                n = e['proxyLog'] or {}
                if n.get('completion') != '' or not any('client prematurely closed connection' in x for x in nginx_err.get(rid, [])):
                    refuse(f'{rid}: nginx logs {n} {nginx_err.get(rid)}')
                e['proxyLogged'] = (f'nginx: status {n.get("status")} (head already sent), completion "", {n.get("bodyBytesSent")} body bytes sent; '
                                    'error.log "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too"')
            else:
                h = e['proxyLog']
                if not h or not h['termination'].startswith('C'):
                    refuse(f'{rid}: HAProxy {h}')
                e['proxyLogged'] = f'HAProxy: termination {h["termination"] if h else "?"}, Tc/Tw/Tr/Ta {h["timers"] if h else "?"}'
    for sc in ('gateway', 'stall', 'abandon'):
        for p in PROXIES.values():
            k = sum(1 for e in exchanges if e['scene'] == sc and e['proxy'] == p)
            if k != 3:
                refuse(f'{p}: {k} requests in scene {sc}')
    if sum(1 for e in exchanges if e['scene'] == 'healthy') < 10:
        refuse('fewer than 10 healthy requests')
    for c in front:
        if sum(1 for e in exchanges if e['front']['c'] is c and e['scene'] != 'healthy') > 1:
            refuse(f'{addr(c["client"])}: two failures on one client leg')
        if not c['requests']:
            refuse(f'{addr(c["client"])}: a client leg without a request')
    if problems:
        for p in problems:
            print(f'x31-meta: {p}', file=sys.stderr)
        print(f'x31-meta: refusing ({len(problems)} problems)', file=sys.stderr)
        sys.exit(1)
    write(a, exchanges, front, back, npackets)


def fmt_close(side_close, side_name):
    return f'{side_close["closedWith"].upper()} from the {side_name} (frame {side_close["frame"]})'


def write(a, exchanges, front, back, npackets):
    by_front = defaultdict(list)
    by_back = defaultdict(list)
    for e in exchanges:
        by_front[e['front']['c']['stream']].append(e)
        by_back[e['back']['c']['stream']].append(e)
    for v in list(by_front.values()) + list(by_back.values()):
        v.sort(key=lambda e: e['front']['rq']['frame'])
    expect = []
    for c in sorted(front, key=lambda c: c['first']):
        exs = sorted(by_front[c['stream']], key=lambda e: e['front']['k'])
        bad = [e for e in exs if e['scene'] != 'healthy']
        ids = ', '.join(f'{e["id"]} {e["clientTarget"]}' for e in exs)
        prog = exs[0]['client']['program']
        if not bad:
            fc = first_close(c)
            ended = f'{"the client" if fc[0] == "client" else "the proxy"} closed it first ({fc[1]["closedWith"].upper()})' if fc else 'still open at the end of the capture'
            expect.append({'kind': None, 'client': addr(c['client']), 'server': addr(c['server']),
                           'notes': f'{prog} through {c["proxy"]} ({RULE[c["proxy"]]}): {len(exs)} complete response(s) on one '
                                    f'keep-alive connection ({ids}), each forwarded with its target rewritten; {ended}. Clean.'})
            continue
        e = bad[0]
        bc = e['back']['c']
        before = [x['id'] for x in exs if x['front']['k'] < e['front']['k']]
        after = [x['id'] for x in exs if x['front']['k'] > e['front']['k']]
        pre = f'{prog} ({e["id"]}) through {e["proxy"]} ({RULE[e["proxy"]]}): the client sent {e["clientTarget"]}, the backend got {e["upstreamTarget"]} on the upstream leg {addr(bc["client"])} -> {addr(bc["server"])}'
        pre += f' (this client leg first carried {", ".join(before)})' if before else ''
        ev = {'id': e['id'], 'proxy': e['proxy'], 'clientProgram': prog, 'clientTarget': e['clientTarget'],
              'upstreamTarget': e['upstreamTarget'], 'upstreamLeg': addr(bc['client']), 'upstreamServer': addr(bc['server']),
              'requestFrame': e['front']['rq']['frame'], 'upstreamRequestFrame': e['back']['rq']['frame'],
              'clientLogged': e['client']['logged']}
        if e['scene'] == 'gateway':
            kind = 'gateway-timeout'
            note = (f'{pre}. The backend answers /slow-head after 4 s; {e["proxy"]} gave up {e["upstreamWait"]} s after forwarding the request '
                    f'(its 2 s timer), closed the upstream leg ({fmt_close(e["upstreamClose"], "proxy")}) and answered 504 '
                    f'{e["delay"]} s after the client\'s request. {e["proxyLogged"]}.'
                    + (f' The client then sent {", ".join(after)} on the same connection (answered 200).' if after else ''))
            ev.update({'status': 504, 'delaySeconds': e['delay'], 'responseFrame': e['front']['rs']['headFrame'],
                       'upstreamCloseFrame': e['upstreamClose']['frame'], 'upstreamClosedBy': 'proxy',
                       'upstreamClosedWith': e['upstreamClose']['closedWith'].upper(), 'upstreamWaitSeconds': e['upstreamWait'],
                       'upstreamAnswered': False})
        elif e['scene'] == 'stall':
            kind = 'response-truncated'
            note = (f'{pre}. The backend sent the head and {e["upstreamBodyBytes"]} of 24000 body bytes (Content-Length), then stalled 4 s; '
                    f'{e["proxy"]} gave up {e["upstreamSilence"]} s after the backend\'s last byte, closed the upstream leg '
                    f'({fmt_close(e["upstreamClose"], "proxy")}) and sent the client its FIN (frame {e["proxyFin"]["frame"]}) '
                    f'{e["silence"]} s after the last body byte the client got ({e["bodyBytes"]} of 24000). {e["proxyLogged"]}.')
            ev.update({'status': 200, 'framing': 'content-length', 'declaredLength': 24000, 'bodyBytesReceived': e['bodyBytes'],
                       'lastBodyByteFrame': e['front']['rs']['lastByteFrame'], 'proxyFinFrame': e['proxyFin']['frame'],
                       'silence': e['silence'], 'upstreamBodyBytes': e['upstreamBodyBytes'],
                       'upstreamLastByteFrame': e['back']['rs']['lastByteFrame'], 'upstreamCloseFrame': e['upstreamClose']['frame'],
                       'upstreamClosedWith': e['upstreamClose']['closedWith'].upper(), 'upstreamSilence': e['upstreamSilence'],
                       'closeGap': round(e['proxyFin']['t'] - e['upstreamClose']['t'], 4)})
        else:
            kind = 'response-abandoned'
            note = (f'{pre}. The body flows 1 KB every 300 ms (17408 bytes, ~5 s); curl --max-time 2 closed the connection with a FIN '
                    f'{e["requestToClose"]} s after the request, mid-body ({e["bodyBytes"]} of {e["declared"]} bytes on the wire before its '
                    f'close; curl logged {e["client"]["received"]}), and {e["proxy"]} closed the upstream leg '
                    f'({fmt_close(e["upstreamClose"], "proxy")}) {e["closeGap"]} s later: the proxy followed its client. After the client\'s FIN '
                    f'the client leg carried: {"; ".join(e["afterClientClose"]) or "nothing"}. {e["proxyLogged"]}.')
            ev.update({'status': 200, 'framing': 'content-length', 'declaredLength': e['declared'], 'bodyBytesReceived': e['bodyBytes'],
                       'closeFrame': e['clientClose']['frame'], 'closedWith': 'FIN', 'requestToClose': e['requestToClose'],
                       'lastBodyByteToClose': e['lastBodyByteToClose'], 'upstreamCloseFrame': e['upstreamClose']['frame'],
                       'upstreamClosedWith': e['upstreamClose']['closedWith'].upper(), 'closeGap': e['closeGap'],
                       'afterClientClose': e['afterClientClose']})
        expect.append({'kind': kind, 'client': addr(c['client']), 'server': addr(c['server']), 'notes': note, 'evidence': ev})
    for c in sorted(back, key=lambda c: c['first']):
        exs = sorted(by_back[c['stream']], key=lambda e: e['back']['k'])
        bad = [e for e in exs if e['scene'] != 'healthy']
        proxy = exs[0]['proxy'] if exs else '?'
        carried = ', '.join(f'{e["id"]} {e["upstreamTarget"]} (client leg {addr(e["front"]["c"]["client"])})' for e in exs)
        fc = first_close(c)
        ended = (f'{"the proxy" if fc[0] == "client" else "the backend"} closed it first ({fc[1]["closedWith"].upper()}, frame {fc[1]["frame"]})'
                 if fc else 'still open at the end of the capture')
        if not bad:
            expect.append({'kind': None, 'client': addr(c['client']), 'server': addr(c['server']),
                           'notes': f'{proxy}\'s upstream leg carrying {len(exs)} complete response(s): {carried}; {ended}. Clean.'})
            continue
        e = bad[0]
        if e['scene'] == 'gateway':
            expect.append({'kind': 'unanswered-request', 'client': addr(c['client']), 'server': addr(c['server']),
                           'notes': f'{proxy}\'s upstream leg for {e["id"]} (it carried {carried}): {e["upstreamTarget"]} got no answer '
                                    f'(the backend answers after 4 s); the proxy closed the leg ({fmt_close(e["upstreamClose"], "proxy")}) '
                                    f'{e["upstreamWait"]} s after the request, its 2 s timer, and answered its client '
                                    f'{addr(e["front"]["c"]["client"])} 504 ({e["clientTarget"]}).',
                           'evidence': {'id': e['id'], 'upstreamTarget': e['upstreamTarget'], 'clientTarget': e['clientTarget'],
                                        'clientLeg': addr(e['front']['c']['client']), 'waitSeconds': e['upstreamWait'],
                                        'closedBy': 'proxy', 'closedWith': e['upstreamClose']['closedWith'].upper()}})
        elif e['scene'] == 'stall':
            expect.append({'kind': None, 'client': addr(c['client']), 'server': addr(c['server']),
                           'notes': f'{proxy}\'s upstream leg for {e["id"]} (it carried {carried}): the backend stalled after '
                                    f'{e["upstreamBodyBytes"]} body bytes; the proxy (the client here) gave up {e["upstreamSilence"]} s later '
                                    f'and closed it ({fmt_close(e["upstreamClose"], "proxy")}). Not a finding of its own: the proxy\'s '
                                    f'response-truncated on the client leg {addr(e["front"]["c"]["client"])} names it.'})
        else:
            expect.append({'kind': None, 'client': addr(c['client']), 'server': addr(c['server']),
                           'notes': f'{proxy}\'s upstream leg for {e["id"]} (it carried {carried}): the client '
                                    f'{addr(e["front"]["c"]["client"])} abandoned the response and {proxy} closed this leg '
                                    f'({fmt_close(e["upstreamClose"], "proxy")}) {e["closeGap"]} s after the client\'s FIN: the proxy '
                                    f'followed its client, not a finding of its own.'})

    pairs = []
    for e in sorted(exchanges, key=lambda e: e['front']['rq']['frame']):
        fc, bc = e['front']['c'], e['back']['c']
        d = {'id': e['id'], 'proxy': e['proxy'], 'scene': SCENES[e['scene']], 'clientProgram': e['client']['program'],
             'clientLeg': addr(fc['client']), 'proxyAddress': addr(fc['server']), 'upstreamLeg': addr(bc['client']),
             'clientTarget': e['clientTarget'], 'upstreamTarget': e['upstreamTarget'],
             'clientRequestFrame': e['front']['rq']['frame'], 'upstreamRequestFrame': e['back']['rq']['frame'],
             'status': e['front']['rs']['status'] if e['front']['rs'] else None, 'clientLogged': e['client']['logged']}
        last_f = e['front']['k'] == e['front']['n'] - 1
        last_b = e['back']['k'] == e['back']['n'] - 1
        ff, bf = first_close(fc), first_close(bc)
        if last_f and ff:
            d['clientLegClose'] = {'by': 'client' if ff[0] == 'client' else 'proxy', 'with': ff[1]['closedWith'].upper(), 'frame': ff[1]['frame']}
        if last_b and bf:
            d['upstreamLegClose'] = {'by': 'proxy' if bf[0] == 'client' else 'backend', 'with': bf[1]['closedWith'].upper(), 'frame': bf[1]['frame']}
        if last_f and last_b and ff and bf:
            d['closeGap'] = round(bf[1]['t'] - ff[1]['t'], 4)  # upstream leg's first close minus the client leg's
        if not last_b:
            d['upstreamLegLater'] = 'the upstream leg carried later requests (pooled)'
        if not last_f:
            d['clientLegLater'] = 'the client leg carried later requests'
        pairs.append(d)
    bad = [e for e in exchanges if e['scene'] != 'healthy']
    per = {}
    for sc in ('gateway', 'stall', 'abandon'):
        for p in PROXIES.values():
            xs = [e for e in bad if e['scene'] == sc and e['proxy'] == p]
            k = f'{sc}/{p}'
            if sc == 'gateway':
                per[k] = {'delay504': span([e['delay'] for e in xs]), 'upstreamWait': span([e['upstreamWait'] for e in xs]),
                          'upstreamClosedWith': sorted({e['upstreamClose']['closedWith'].upper() for e in xs}),
                          'upstreamCloseMinus504': span([e['upstreamClose']['t'] - e['front']['rs']['headTime'] for e in xs])}
            elif sc == 'stall':
                per[k] = {'clientLegSilence': span([e['silence'] for e in xs]), 'upstreamSilence': span([e['upstreamSilence'] for e in xs]),
                          'bodyBytesReceived': sorted({e['bodyBytes'] for e in xs}),
                          'upstreamClosedWith': sorted({e['upstreamClose']['closedWith'].upper() for e in xs}),
                          'clientLegFinMinusUpstreamClose': span([e['proxyFin']['t'] - e['upstreamClose']['t'] for e in xs])}
            else:
                per[k] = {'requestToClose': span([e['requestToClose'] for e in xs]),
                          'upstreamCloseMinusClientFin': span([e['closeGap'] for e in xs]),
                          'bodyBytesReceived': sorted({e['bodyBytes'] for e in xs}),
                          'upstreamClosedWith': sorted({e['upstreamClose']['closedWith'].upper() for e in xs})}
    g = per
    meta = {
        'scenario': a.scenario,
        'software': a.software,
        'description': (
            'Proxies that rewrite the request target, in the failure scenes conncheck knows without rewriting, both legs captured on '
            'one namespace\'s loopback. nginx 1.22 on 127.0.0.2:8080 strips a prefix (location /api/ { proxy_pass http://backend/; }: '
            '/api/x?y reaches the backend as /x?y; upstream keepalive 4, proxy_http_version 1.1, proxy_buffering off, '
            'proxy_read_timeout 2s, proxy_bind 127.0.0.2); HAProxy 2.6 on 127.0.0.2:8081 adds one (http-request set-path /v1%[path]: '
            '/x?y reaches the backend as /v1/x?y; timeout server 2s, option http-keep-alive, source 127.0.0.2). Both forward to a '
            'Python stdlib backend on 127.0.0.3:9001; clients are curl 7.88 and Python http.client on 127.0.0.1. Every target carries '
            'id=TAG-N, kept by both rewrites. Scene 1, gateway timeout: /slow-head?ms=4000 answers after 4 s, each proxy answers 504 '
            f'after {g["gateway/nginx"]["delay504"][0]}-{max(g["gateway/nginx"]["delay504"][1], g["gateway/haproxy"]["delay504"][1])} s '
            f'and closes its upstream leg (nginx with a {"/".join(g["gateway/nginx"]["upstreamClosedWith"])}, HAProxy with a '
            f'{"/".join(g["gateway/haproxy"]["upstreamClosedWith"])}); 3 per proxy. Scene 2, a backend stalling mid-body: '
            '/stall-body sends the head and 6000 of 24000 body bytes, then 4 s of silence; each proxy\'s 2 s read timeout cuts the '
            f'client\'s response with a FIN (nginx {g["stall/nginx"]["clientLegSilence"][0]}-{g["stall/nginx"]["clientLegSilence"][1]} s, '
            f'HAProxy {g["stall/haproxy"]["clientLegSilence"][0]}-{g["stall/haproxy"]["clientLegSilence"][1]} s after the last body byte '
            f'the client got) and closes the upstream leg (nginx {"/".join(g["stall/nginx"]["upstreamClosedWith"])}, HAProxy '
            f'{"/".join(g["stall/haproxy"]["upstreamClosedWith"])}); 3 per proxy. Scene 3, client timeouts: curl --max-time 2 on a body '
            'flowing 1 KB every 300 ms (17408 bytes) closes with a FIN ~2.0 s after the request, mid-body (exit 28), and the proxy '
            f'closes its upstream leg after it (nginx with a {"/".join(g["abandon/nginx"]["upstreamClosedWith"])} {g["abandon/nginx"]["upstreamCloseMinusClientFin"][0]}-{g["abandon/nginx"]["upstreamCloseMinusClientFin"][1]} s, '
            f'HAProxy with a {"/".join(g["abandon/haproxy"]["upstreamClosedWith"])} {g["abandon/haproxy"]["upstreamCloseMinusClientFin"][0]}-{g["abandon/haproxy"]["upstreamCloseMinusClientFin"][1]} s later); 3 per proxy. Scene 4: healthy '
            'keep-alive connections (curl, http.client) through both proxies, every response complete. A correct analysis pairs each '
            'client leg with its upstream leg although the targets differ (/api/... vs /..., /... vs /v1/...) and reports on the client '
            'legs what it reports for the same failures without rewriting.'),
        'silent': False,
        'configured': {'proxyReadTimeout': T, 'responseStallTimeout': T, 'clientTimeout': T},
        'expect': expect,
        'notes': (
            'Checked by samples/record/programs/x31-meta.py against curl\'s -w %{json} and exit codes, http.client\'s log, the '
            'backend\'s log (each request\'s target as it arrived and its peer port: the ground truth for the pairing and the '
            'rewrites), nginx\'s JSON access log and error log, HAProxy\'s log (client port, URI as received, termination state, '
            'backend source port %bp, and the path+query it sent, logged from a variable set after set-path). Legs are paired by the '
            'id in the query string, which survives both rewrites: facts.pairs lists every request with its client leg, upstream leg '
            'and both targets. closeGap in facts.pairs = the upstream leg\'s first close minus the client leg\'s first close (given '
            'when the request was the last on both legs). The client legs show the proxies\' 2 s timers (a 504 after 2 s in scene 1, '
            'the proxy\'s FIN mid-body ~2 s after the last byte in scene 2); only the upstream legs, under their rewritten targets, show '
            'that the backend was the slow side. In scene 2 HAProxy '
            'sends the tail of an incomplete body with MSG_MORE (no option http-no-delay), so its client-leg silence before the FIN can '
            'be ~0.2 s shorter than its 2 s timer (as in response-truncated-proxy-stall). In scene 1 the backend\'s delayed answer is '
            'never written: it watches the socket and logs the proxy\'s close. In scene 3 nginx sees its client\'s FIN at once '
            '("epoll_wait() reported that client prematurely closed connection") and FINs both legs within ~0.1 ms; HAProxy (the '
            'flowing body\'s parts also sent with MSG_MORE) let one more 1 KB part reach the client right at its FIN, answered by '
            'the client\'s RST (evidence.afterClientClose), and closed the upstream leg with a RST only when the backend\'s next part '
            'arrived, ~0.1 s after the client\'s FIN (the parts come every 300 ms): its clients got 1 KB less than nginx\'s. nginx upstream keepalive pools its upstream '
            'connections, so one upstream leg may carry requests from several client legs (facts.pairs[].upstreamLegLater). '
            'Configured: proxyReadTimeout = nginx proxy_read_timeout 2s and HAProxy timeout server 2s (scene 1), responseStallTimeout = '
            'the same timers cutting a stalled body (scene 2), clientTimeout = curl --max-time 2 (scene 3; the http.client clients have '
            'a 10 s socket timeout that never fires).'),
        'facts': {
            'packets': npackets,
            'connections': len(front) + len(back),
            'clientLegs': len(front),
            'upstreamLegs': len(back),
            'requests': len(exchanges),
            'rewrites': {
                'nginx': {'rule': RULE['nginx'], 'examples': sorted({(e['clientTarget'], e['upstreamTarget']) for e in exchanges if e['proxy'] == 'nginx' and e['scene'] != 'healthy'})[:3]},
                'haproxy': {'rule': RULE['haproxy'], 'examples': sorted({(e['clientTarget'], e['upstreamTarget']) for e in exchanges if e['proxy'] == 'haproxy' and e['scene'] != 'healthy'})[:3]},
            },
            'perSceneAndProxy': per,
            'pairs': pairs,
        },
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x31-meta: {len(exchanges)} requests ({len(bad)} failed), {len(front)} client legs, {len(back)} upstream legs; '
          f'wrote {a.meta}', file=sys.stderr)


if __name__ == '__main__':
    main()
