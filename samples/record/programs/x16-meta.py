#!/usr/bin/env python3
"""Round-16 meta writer for the uvicorn / aiohttp / httpx samples: reads the capture with tshark,
rebuilds each connection (requests, responses, the server's idle-close FIN, requests sent after
it, RSTs), checks it against the client's JSON-lines log (x16-aiohttp-client.py,
x16-httpx-client.py) and uvicorn's log (x16-asgi-server.py), and writes samples/<scenario>.meta.json
only when they agree. Exit 1 (no meta) when they disagree, or with --need-races N when fewer than
N connections raced (the recorder then records again). Exit 3 (meta written) when the recording is
usable but has no race of a --want-form form (the recorder may then try once more, keeping this one).

Usage: x16-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --client-log F --server-log F
         --configured JSON --description TEXT --software S... [--healthy] [--need-races N]
         [--need-post-races N] [--capture-side TEXT] [--want-form FORM...]

A race is a connection on which, after the server's FIN (sent with no request outstanding, after
idling), the client sent a request: "crossing" when that request does not acknowledge the FIN (it
left the client before the FIN arrived there), "stale-reuse" when it does; or "closed-on-arrival":
a reused connection's request with no FIN before it, answered within 5 ms by the server's RST (or
FIN) and never by a response (it reached the server as its idle timer closed the connection).
Every race must match a client error on its port and have no line in uvicorn's access log.
"""
import argparse
import json
import statistics
import subprocess
import sys


def packets(capture):
    fields = ['frame.number', 'frame.time_epoch', 'frame.time_relative', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
              'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.seq', 'tcp.ack', 'tcp.len', 'tcp.payload']
    cmd = ['tshark', '-r', capture, '-T', 'fields', '-E', 'separator=|', '-o', 'tcp.relative_sequence_numbers:TRUE'] + sum((['-e', f] for f in fields), [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    flag = lambda v: v in ('1', 'True')
    rows = []
    for line in out.splitlines():
        n, te, tr, src, sp, dst, dp, syn, ack, fin, rst, seq, acknum, ln, payload = line.split('|')
        rows.append({'frame': int(n), 'epoch': float(te), 't': float(tr), 'src': src, 'sport': int(sp), 'dst': dst, 'dport': int(dp),
                     'syn': flag(syn), 'ack': flag(ack), 'fin': flag(fin), 'rst': flag(rst), 'seq': int(seq or 0),
                     'acknum': int(acknum or 0), 'len': int(ln or 0), 'payload': bytes.fromhex(payload.replace(':', '')) if payload else b''})
    return rows


def connections(rows, server_port):
    conns = {}
    for p in rows:
        from_server = p['sport'] == server_port
        cport = p['dport'] if from_server else p['sport']
        c = conns.setdefault(cport, {'client': None, 'server': None, 'pk': []})
        if c['client'] is None:
            c['client'] = f"{p['dst'] if from_server else p['src']}:{cport}"
            c['server'] = f"{p['src'] if from_server else p['dst']}:{server_port}"
        p['fromServer'] = from_server
        c['pk'].append(p)
    for c in conns.values():
        reqs, resps = [], []
        c['serverFin'] = c['clientFin'] = None
        c['rsts'] = []
        seen_client_seq = set()
        for p in c['pk']:
            if p['fromServer']:
                if p['len'] and p['payload'].startswith(b'HTTP/1.'):
                    resps.append({'frame': p['frame'], 't': p['t'], 'status': int(p['payload'].split(b' ')[1])})
                if p['len']:
                    c['lastServerData'] = p
                if p['fin'] and c['serverFin'] is None:
                    c['serverFin'] = p
                if p['rst']:
                    c['rsts'].append(('server', p))
            else:
                if p['len'] and p['seq'] not in seen_client_seq and p['payload'][:8].split(b' ')[0] in (b'GET', b'POST', b'PUT', b'HEAD', b'DELETE'):
                    seen_client_seq.add(p['seq'])
                    line = p['payload'].split(b'\r\n')[0].decode()
                    method, uri = line.split(' ')[:2]
                    reqs.append({'frame': p['frame'], 't': p['t'], 'epoch': p['epoch'], 'method': method, 'uri': uri, 'bytes': p['len'],
                                 'acknum': p['acknum'], 'pkt': p})
                if p['fin'] and c['clientFin'] is None:
                    c['clientFin'] = p
                if p['rst']:
                    c['rsts'].append(('client', p))
        c['requests'], c['responses'] = reqs, resps
        # the server closed first, idle (everything asked was answered before its FIN)
        fin = c['serverFin']
        c['idleClose'] = None
        c['race'] = None
        if fin is not None and (c['clientFin'] is None or c['clientFin']['t'] > fin['t']):
            before = [r for r in reqs if r['t'] < fin['t']]
            answered = len([r for r in resps if r['t'] < fin['t']])
            if len(before) == answered and before:
                last = c['lastServerDataBefore'] = max((p for p in c['pk'] if p['fromServer'] and p['len'] and p['t'] < fin['t']), key=lambda p: p['t'])
                first_resp = max(r['t'] for r in resps if r['t'] < fin['t'])
                c['idleClose'] = {'finFrame': fin['frame'], 'finAt': round(fin['t'], 6), 'idleFromLastByte': round(fin['t'] - last['t'], 4),
                                  'idleFromResponseStart': round(fin['t'] - first_resp, 4)}
                after = [r for r in reqs if r['t'] > fin['t']]
                if after:
                    r = after[0]
                    rst = next((p for side, p in c['rsts'] if side == 'server' and p['t'] >= r['t']), None)
                    syn_ack = next(p for p in c['pk'] if p['fromServer'] and p['syn'])
                    syn_ack_ack = next(p for p in c['pk'] if not p['fromServer'] and not p['syn'] and p['ack'])
                    c['race'] = {
                        'form': 'stale-reuse' if r['acknum'] > fin['seq'] else 'crossing',
                        'method': r['method'], 'uri': r['uri'], 'requestBytes': r['bytes'], 'requestFrame': r['frame'],
                        'idempotent': r['method'] in ('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'),
                        'idleGapSeconds': round(fin['t'] - last['t'], 4),
                        'finFrame': fin['frame'], 'finAt': round(fin['t'], 6), 'requestAt': round(r['t'], 6), 'requestEpoch': r['epoch'],
                        'deltaMs': round((r['t'] - fin['t']) * 1000, 1), 'requestAcksFin': r['acknum'] > fin['seq'],
                        'rstFrame': rst['frame'] if rst else None, 'rstAt': round(rst['t'], 6) if rst else None,
                        'rstAfterRequestMs': round((rst['t'] - r['t']) * 1000, 2) if rst else None,
                        'responseToRequest': any(x['t'] > r['t'] for x in resps),
                        'handshakeRttMs': round((syn_ack_ack['t'] - syn_ack['t']) * 1000, 1),
                        'reuseIdleSeconds': round(r['t'] - last['t'], 4),
                    }
        if c['race'] is None and len(reqs) >= 2:
            # closed on arrival: a reused connection's request reaches the server just as its idle timer
            # closes the connection (no FIN before it; the server's RST or FIN within 5 ms after it, no
            # response). uvicorn's asyncio transport closes with the request unread in the socket's
            # receive buffer, so the kernel sends RST (with an ACK covering the request), not FIN.
            r = reqs[-1]
            close = next((p for p in c['pk'] if p['fromServer'] and (p['rst'] or p['fin']) and p['t'] >= r['t']), None)
            answered = any(x['t'] > r['t'] for x in resps)
            if close is not None and not answered and (fin is None or fin['t'] >= r['t']) and close['t'] - r['t'] < 0.005:
                last = max((p for p in c['pk'] if p['fromServer'] and p['len'] and p['t'] < r['t']), key=lambda p: p['t'])
                c['race'] = {
                    'form': 'closed-on-arrival',
                    'method': r['method'], 'uri': r['uri'], 'requestBytes': r['bytes'], 'requestFrame': r['frame'],
                    'idempotent': r['method'] in ('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'),
                    'idleBeforeRequest': round(r['t'] - last['t'], 4), 'requestAt': round(r['t'], 6), 'requestEpoch': r['epoch'],
                    'closeFrame': close['frame'], 'closeWith': 'RST' if close['rst'] else 'FIN',
                    'closeAfterRequestMs': round((close['t'] - r['t']) * 1000, 2),
                    'closeAcksRequest': close['ack'] and close['acknum'] >= r['pkt']['seq'] + r['bytes'],
                    'responseToRequest': False,
                    'reuseIdleSeconds': round(r['t'] - last['t'], 4),
                }
    return conns


def read_jsonl(path):
    out = []
    for line in open(path):
        line = line.strip()
        if line.startswith('{'):
            out.append(json.loads(line))
    return out


# Shared with x17r-meta.py (Puma / Ruby Net::HTTP) and the x19 meta writers (x19w: waitress /
# CherryPy; x19l: lighttpd / Starman; x19d: Redis / PostgreSQL), which read their captures with
# packets() and connections() above.

def add_capture_arguments(ap):
    """The options of every meta writer that reads its capture with connections() (x19l-meta.py's)."""
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--server-port', type=int, required=True)
    ap.add_argument('--server-log', required=True)
    ap.add_argument('--configured', required=True)
    ap.add_argument('--configured-notes', default=None)
    ap.add_argument('--description', required=True)
    ap.add_argument('--software', nargs='+', required=True)
    ap.add_argument('--capture-side', default=None)


def add_common_arguments(ap):
    """The options of the meta writers with one client log (x16-meta.py, x17r-meta.py, x19w-meta.py)."""
    add_capture_arguments(ap)
    ap.add_argument('--client-log', required=True)
    ap.add_argument('--healthy', action='store_true')
    ap.add_argument('--need-races', type=int, default=0)
    ap.add_argument('--need-post-races', type=int, default=0)


def read_capture(a):
    """(the capture's first packet's epoch, its connections on a.server_port)."""
    rows = packets(a.capture)
    return rows[0]['epoch'], connections(rows, a.server_port)


TIMES_NOTE = "captureTime: the client's wall clock minus the capture's first packet (same host clock)"


def read_inputs(a):
    """What a meta writer with one client log reads: (configured, the capture's first packet's epoch,
    its connections, the client's log, the server's log)."""
    t0, conns = read_capture(a)
    return json.loads(a.configured), t0, conns, read_jsonl(a.client_log), read_jsonl(a.server_log)


def client_requests(clog):
    """The client log's requests (response and error lines): all, the errors, those sent again by the
    client library (retried), the responses."""
    reqs = [e for e in clog if e.get('event') in ('response', 'error')]
    return (reqs, [e for e in reqs if e['event'] == 'error'], [e for e in reqs if e.get('retried')],
            [e for e in reqs if e['event'] == 'response'])


def since(t0):
    """rel(t): a client's or server's wall-clock time T as seconds into the capture (same host clock)."""
    return lambda t: round(t - t0, 6)


def error_ports(errors, problems):
    """The port -> event of each client error (one logged without a port is a problem)."""
    err_ports = {}
    for e in errors:
        if e.get('port') is None:
            problems.append(f"client error with no known connection: {e}")
            continue
        err_ports[e['port']] = e
    return err_ports


def check_failures(failed_on, conns, races, problems, describe=lambda e: e['error'], missing='no client error'):
    """Every failure the client logged (FAILED_ON: port -> (event, 'error' or 'retried'); DESCRIBE(event):
    its error) is a race on the wire of the same request, and every race on the wire is such a
    failure (else "but MISSING"), never answered."""
    for port, (e, how) in failed_on.items():
        c = conns.get(port)
        if c is None or not c['race']:
            problems.append(f"client {how} on port {port} ({e['method']} {e['uri']}: {describe(e)}) is not a race on the wire")
        elif (c['race']['method'], c['race']['uri']) != (e['method'], e['uri']):
            problems.append(f"port {port}: client failed {e['method']} {e['uri']}, wire raced {c['race']['method']} {c['race']['uri']}")
    for p, c in races.items():
        if p not in failed_on:
            problems.append(f"race on port {p} ({c['race']['method']} {c['race']['uri']}) but {missing}")
        if c['race']['responseToRequest']:
            problems.append(f"race on port {p} was answered")


def check_app_never_saw(races, app_seen, app, problems):
    """No raced request reached the application (APP_SEEN: its (port, uri) pairs) on its raced connection."""
    for p, c in races.items():
        if (p, c['race']['uri']) in app_seen:
            problems.append(f"race on port {p}: {app} saw {c['race']['uri']} on that connection")


def check_wire_counts(conns, responses, requests, problems, who='client', retries=None):
    """The client logged as many responses and requests (+ RETRIES sent again) as the wire has; returns
    the wire's request count."""
    wire_resps = sum(len(c['responses']) for c in conns.values())
    if wire_resps != responses:
        problems.append(f"{who} logged {responses} responses, wire has {wire_resps}")
    wire_reqs = sum(len(c['requests']) for c in conns.values())
    if retries is None and wire_reqs != requests:
        problems.append(f"{who} logged {requests} requests, wire has {wire_reqs}")
    if retries is not None and wire_reqs != requests + retries:
        problems.append(f"{who} logged {requests} requests + {retries} retries, wire has {wire_reqs}")
    return wire_reqs


def post_races_or_problem(a, races, problems):
    """The POST races; a problem when fewer races or POST races than a.need_races / a.need_post_races."""
    post_races = [c for c in races.values() if c['race']['method'] == 'POST']
    if len(races) < a.need_races or len(post_races) < a.need_post_races:
        problems.append(f"only {len(races)} races ({len(post_races)} POST); need {a.need_races} ({a.need_post_races} POST)")
    return post_races


def race_what(r, server, closer='idle timer'):
    """What happened on the wire to race R against SERVER (its idle CLOSER), for a finding's notes."""
    rst = f"the kernel answered RST (frame {r['rstFrame']}) {r['rstAfterRequestMs']} ms after the request arrived" \
        if r.get('rstFrame') else 'no RST'
    if r['form'] == 'closed-on-arrival':
        return (f"closed on arrival: {r['method']} {r['uri']} reached {server} {r['idleBeforeRequest']} s after the previous response's "
                f"last byte, just as its {closer} closed the connection: no FIN before it, {r['closeWith']} (frame {r['closeFrame']}) "
                f"{r['closeAfterRequestMs']} ms after it (frame {r['requestFrame']})")
    return (f"{r['method']} {r['uri']} (frame {r['requestFrame']}) on a connection {server} closed (FIN, frame {r['finFrame']}) after "
            f"{r['idleGapSeconds']} s idle (server side, last response byte to FIN); "
            + ("crossing: the request left the client before that FIN reached it (its ACK does not cover the FIN), "
               if r['form'] == 'crossing' else "stale reuse: the request ACKs the FIN, ")
            + f"it reached the server {r['deltaMs']} ms after the FIN left; {rst}")


def refuse_if(problems, prog):
    """Exit 1 (no meta) when the capture and the logs disagree: each problem on stderr."""
    if problems:
        for p in problems:
            print(f'{prog}: {p}', file=sys.stderr)
        sys.exit(1)


def idle_closes(conns):
    """The server's idle closes (connections' idleClose) and their idle times, sorted."""
    idle = [c['idleClose'] for c in conns.values() if c['idleClose']]
    return idle, sorted(i['idleFromLastByte'] for i in idle)


def race_finding(c, notes, **evidence):
    """The expected keepalive-race finding of connection c: its race (less requestEpoch) and EVIDENCE."""
    ev = {k: v for k, v in c['race'].items() if k not in ('requestEpoch',)}
    ev.update(evidence)
    return {'kind': 'keepalive-race', 'client': c['client'], 'server': c['server'], 'notes': notes, 'evidence': ev}


def clean_finding(c, server_name):
    """A connection with no race: its requests, all answered, the idle gaps it was reused after, how it ended."""
    n = len(c['requests'])
    if c['idleClose']:
        how = f"then {server_name}'s idle close after {c['idleClose']['idleFromLastByte']} s (frame {c['idleClose']['finFrame']}); the client closed its side"
    elif c['clientFin'] is not None and (c['serverFin'] is None or c['clientFin']['t'] < c['serverFin']['t']):
        how = 'then the client closed the connection (FIN first from the client)'
    else:
        how = 'then the connection closed'
    gaps = []
    for i in range(1, n):
        prev = max((p for p in c['pk'] if p['fromServer'] and p['len'] and p['t'] < c['requests'][i]['t']), key=lambda p: p['t'])
        gaps.append(round(c['requests'][i]['t'] - prev['t'], 3))
    reuse = f"; reused after idle gaps {gaps} s (server side)" if gaps else ''
    return {'kind': None, 'client': c['client'], 'server': c['server'],
            'notes': f"{n} request(s), all answered{reuse}; {how}. Clean."}


def close_states(conns):
    """How many connections ended how: RST (from the server), FIN-both (who first), open."""
    states = {}
    for c in conns.values():
        if any(side == 'server' for side, _ in c['rsts']):
            st = 'RST'
        elif c['serverFin'] and c['clientFin']:
            st = 'FIN-both (server first)' if c['serverFin']['t'] < c['clientFin']['t'] else 'FIN-both (client first)'
        else:
            st = 'open'
        states[st] = states.get(st, 0) + 1
    return states


def meta_head(a, configured, conns, races, idle_gaps, expect):
    """The meta up to its facts: scenario, description, software, configured (and notes), observed,
    expect, silent, captureSide."""
    meta = {'scenario': a.scenario, 'description': a.description, 'software': a.software, 'configured': configured}
    if a.configured_notes:
        meta['configuredNotes'] = a.configured_notes
    meta['observed'] = {
        'serverIdleCloseSeconds': idle_gaps,
        'serverIdleCloseMedianSeconds': statistics.median(idle_gaps) if idle_gaps else None,
        'raceDeltaMs': {conns[p]['client']: c['race']['deltaMs'] for p, c in sorted(races.items()) if 'deltaMs' in c['race']},
        'forms': {conns[p]['client']: c['race']['form'] for p, c in sorted(races.items())},
    }
    meta['expect'] = expect
    meta['silent'] = bool(a.healthy)
    if a.capture_side:
        meta['captureSide'] = a.capture_side
    return meta


def wire_facts(a, conns, races, post_races, idle, **more):
    """meta['facts']: what the capture holds (MORE after the POST races)."""
    return {
        'connections': len(conns),
        'requests': sum(len(c['requests']) for c in conns.values()),
        'responses': sum(len(c['responses']) for c in conns.values()),
        'races': len(races),
        'postRaces': len(post_races),
        **more,
        'serverResets': sum(1 for c in conns.values() for side, _ in c['rsts'] if side == 'server'),
        'serverIdleCloses': len(idle),
        'closeStates': close_states(conns),
        'captureFile': a.capture.rsplit('/', 1)[-1],
    }


def write_meta(path, meta):
    with open(path, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')


def main():
    ap = argparse.ArgumentParser()
    add_common_arguments(ap)
    ap.add_argument('--want-form', action='append', default=[],
                    help='a race form wished for (repeatable): when no race has any of them, the meta is still written, exit 3')
    a = ap.parse_args()

    configured, t0, conns, clog, slog = read_inputs(a)
    problems = []

    # ground truth: the client's errors, each on the wire as a race on its port, and nothing else
    errors = [e for e in clog if e.get('event') == 'error']
    responses = [e for e in clog if e.get('event') == 'response']
    races = {p: c for p, c in conns.items() if c['race']}
    err_ports = error_ports(errors, problems)
    check_failures({p: (e, 'error') for p, e in err_ports.items()}, conns, races, problems)
    access_uris = [e['msg'] for e in slog if e.get('logger') == 'uvicorn.access']
    for p, c in races.items():
        if any(f" {c['race']['uri']} HTTP/" in m for m in access_uris):
            problems.append(f"race on port {p}: uvicorn's access log has {c['race']['uri']}")
    wire_reqs = check_wire_counts(conns, len(responses), len(responses) + len(errors), problems)
    if a.healthy and (errors or races or any(c['rsts'] for c in conns.values())):
        problems.append('healthy sample with an error, a race or a reset')
    post_races = post_races_or_problem(a, races, problems)
    refuse_if(problems, 'x16-meta')

    server = next(iter(conns.values()))['server']
    idle, idle_gaps = idle_closes(conns)
    reuse_ok = [e for e in responses if e.get('kind') == 'reuse' and (e.get('reused') or (e.get('port') == e.get('prevPort')))]
    reuse_new = [e for e in responses if e.get('kind') == 'reuse' and e.get('port') != e.get('prevPort')]

    expect = []
    for port in sorted(conns):
        c = conns[port]
        r = c['race']
        if r:
            e = err_ports[port]
            if r['form'] == 'closed-on-arrival':
                notes = (f"closed on arrival: {r['method']} {r['uri']} reached the server {r['idleBeforeRequest']} s after the previous "
                         f"response's last byte (server side), just as uvicorn's {configured.get('serverIdleTimeout')} s keep-alive timer closed "
                         f"the connection: no FIN before it, and {r['closeAfterRequestMs']} ms after it (frame {r['requestFrame']}) a "
                         f"{r['closeWith']} (frame {r['closeFrame']}{', its ACK covering the request' if r['closeAcksRequest'] else ''}): the asyncio "
                         "transport was closed with the request unread in the socket buffer, so the kernel reset instead of a FIN. uvicorn "
                         f"never read it (no access-log line). The client ({e['lib']}) raised {e['error']}: {e['message']!r} after an idle "
                         f"pause of {e.get('idleMeasured')} s; not retried.")
            else:
                kind_text = ('left the client before the server\'s idle-timeout FIN reached it (its ACK does not cover the FIN; '
                             f"on this server-side capture it arrives {r['deltaMs']} ms after the FIN left)") if r['form'] == 'crossing' else \
                            f"was sent after the client's kernel had the FIN (it ACKs it), {r['deltaMs']} ms after the FIN on this capture"
                notes = (f"{r['method']} {r['uri']} on a connection idle {r['idleGapSeconds']} s (server-side, last response byte to FIN) "
                         f"{kind_text}; uvicorn had closed (frame {r['finFrame']}) and the kernel answered RST (frame {r['rstFrame']}) "
                         f"{r['rstAfterRequestMs']} ms after the request arrived. The client ({e['lib']}) raised {e['error']}: {e['message']!r} "
                         f"after an idle pause of {e.get('idleMeasured')} s; not retried.")
            if not r['idempotent']:
                notes += ' Non-idempotent method: a blind retry could duplicate it.'
            expect.append(race_finding(c, notes, retried=False, clientError=e['error']))
        else:
            expect.append(clean_finding(c, 'uvicorn'))
    if not a.healthy and races:
        reuse_gaps = sorted(r['race']['reuseIdleSeconds'] for r in races.values())
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                       'notes': f"uvicorn closes idle connections after {statistics.median(idle_gaps):.3f} s (timeout_keep_alive = "
                                f"{configured.get('serverIdleTimeout')}; {len(idle_gaps)} idle closes, {idle_gaps[0]}-{idle_gaps[-1]} s) and the "
                                f"client pool keeps them longer and reuses them after ~the same idle time (raced reuses at {reuse_gaps[0]}-{reuse_gaps[-1]} s "
                                "server-side): the races are the consequence.",
                       'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps),
                                    'racedReuseIdleSeconds': reuse_gaps}})
    if a.healthy:
        expect.insert(0, {'kind': None, 'notes': 'healthy keep-alive reuse: every request answered, no race, no reset'})

    rel = since(t0)
    made = [e for e in slog if 'HTTP connection made' in e.get('msg', '')]
    lost = [e for e in slog if 'HTTP connection lost' in e.get('msg', '')]
    access = [e for e in slog if e.get('logger') == 'uvicorn.access']
    meta = meta_head(a, configured, conns, races, idle_gaps, expect)
    meta['facts'] = wire_facts(a, conns, races, post_races, idle)
    meta['groundTruth'] = {
        'clientLog': {
            'library': sorted({e['lib'] for e in clog}),
            'versions': next((e['versions'] for e in clog if e.get('event') == 'start'), None),
            'requests': len(responses) + len(errors),
            'responses': len(responses),
            'reuseAnsweredOnPooledConnection': len(reuse_ok),
            'reuseOnNewConnectionBecausePoolSawClose': len(reuse_new),
            'errors': [{'captureTime': rel(e['sentAt']), 'port': e['port'], 'method': e['method'], 'uri': e['uri'],
                        'error': e['error'], 'message': e['message'], 'idleMeasured': e.get('idleMeasured'),
                        'gapAsked': e.get('gapAsked'), 'elapsedMs': e['elapsedMs']} for e in errors],
            'reusesOnNewConnection': [{'captureTime': rel(e['t']), 'idleMeasured': e.get('idleMeasured'), 'oldPort': e.get('prevPort'),
                                       'newPort': e.get('port'), 'method': e['method'], 'uri': e['uri']} for e in reuse_new],
        },
        'serverLog': {
            'server': 'uvicorn (h11, asyncio), log level trace',
            'connectionsMade': len(made),
            'connectionsLost': len(lost),
            'accessLogLines': len(access),
            'statuses': {s: sum(1 for e in access if e['msg'].endswith(' ' + s)) for s in sorted({e['msg'].rsplit(' ', 1)[-1] for e in access})},
        },
        'timesNote': TIMES_NOTE,
    }
    write_meta(a.meta, meta)
    forms = sorted({c['race']['form'] for c in races.values()})
    print(f"x16-meta: {a.scenario}: race forms {forms}")
    if a.want_form and not set(a.want_form) & set(forms):
        print(f"x16-meta: {a.scenario}: usable, but no race of the forms wished for ({', '.join(a.want_form)})", file=sys.stderr)
        sys.exit(3)
    print(f"x16-meta: {a.scenario}: {len(conns)} connections, {wire_reqs} requests, {len(races)} races ({len(post_races)} POST), "
          f"idle closes {idle_gaps[:1]}..{idle_gaps[-1:]}")


if __name__ == '__main__':
    main()
