#!/usr/bin/env python3
"""Meta writer of the round-19l samples (programs/x19l-lib.sh). Two kinds:

races SCENARIO ...      keepalive-race-lighttpd, keepalive-race-starman: the capture is rebuilt with
    x16-meta.py's tshark reader (requests, responses, the server's idle-close FIN, a request sent
    after it, RSTs; its race forms: crossing, stale-reuse, closed-on-arrival) and checked against the
    clients' JSON-lines log (x17p-node-lanes.js and x17p-requests-lanes.py, one file) and the
    server's own log (Starman: x19l-app.psgi's lines; lighttpd: its access log, --access-log, and the
    POST CGI's lines). Ground truth: every client error is a race on the wire on the port it was sent
    on (same method and URI), every race on the wire is a client error, and the server's
    application never saw a raced request. Exit 1 (no meta) when they disagree or with fewer than
    --need-races races.

timeouts SCENARIO ...   unanswered-request-client-timeouts: requests (x9-timeout-client.py), curl
    (its -w JSON line per transfer) and Node (b-pool-client.js --mode timeouts) against
    x19l-hang-server.py. Ground truth: each request a client gave up on (its error and its own
    elapsed time) is matched by URI to its exchange on the wire (request frame, the client's FIN,
    the server's late answer and the client's RST); exit 1 when a client error has no unanswered
    request on the wire, or an answered one does not match.
"""
import argparse
import importlib.util
import json
import os
import re
import statistics
import sys

_spec = importlib.util.spec_from_file_location('x16meta', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'x16-meta.py'))
x16 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x16)


# ---------------------------------------------------------------------------------------------- races

def server_seen(a):
    """(port or None, method, uri) of each request the server's application handled."""
    seen = [(e.get('port'), e['method'], e['uri']) for e in x16.read_jsonl(a.server_log) if e.get('event') == 'request']
    if a.access_log:
        for line in open(a.access_log):
            m = re.search(r'"(GET|HEAD) (\S+) HTTP/1\.[01]"', line)
            if m:
                seen.append((None, m.group(1), m.group(2)))
    return seen


def races_main(argv):
    ap = argparse.ArgumentParser(prog='x19l-meta.py races')
    x16.add_capture_arguments(ap)
    ap.add_argument('--client-log', required=True)
    ap.add_argument('--access-log', default=None, help="lighttpd's access log (GETs); the server log then has the POST CGI's lines")
    ap.add_argument('--server-name', required=True)
    ap.add_argument('--idle-setting', required=True, help='the setting that closed idle connections, as its documentation names it')
    ap.add_argument('--need-races', type=int, default=1)
    a = ap.parse_args(argv)
    configured = json.loads(a.configured)
    t0, conns = x16.read_capture(a)
    clog = x16.read_jsonl(a.client_log)
    seen = server_seen(a)
    problems = []
    errors = [e for e in clog if e.get('event') == 'error']
    responses = [e for e in clog if e.get('event') == 'response']
    races = {p: c for p, c in conns.items() if c['race']}
    err_ports = x16.error_ports(errors, problems)
    x16.check_failures({p: (e, 'error') for p, e in err_ports.items()}, conns, races, problems)
    for p, c in races.items():
        if any(u == c['race']['uri'] for _, _, u in seen):
            problems.append(f"race on port {p}: the server's application saw {c['race']['uri']}")
    wire_reqs = x16.check_wire_counts(conns, len(responses), len(responses) + len(errors), problems)
    if len(seen) != len(responses):
        problems.append(f"the server logged {len(seen)} requests, the clients {len(responses)} responses")
    if len(races) < a.need_races:
        problems.append(f"only {len(races)} races; need {a.need_races}")
    idle, idle_gaps = x16.idle_closes(conns)
    print(f"x19l-meta: {len(conns)} connections, {wire_reqs} requests, {len(races)} races "
          f"({sorted(c['race']['form'] for c in races.values())}), {len(errors)} client errors, idle closes "
          f"{idle_gaps[:1]}..{idle_gaps[-1:]} (n={len(idle_gaps)})", file=sys.stderr)
    x16.refuse_if(problems, 'x19l-meta')

    server = next(iter(conns.values()))['server']
    expect = []
    for port in sorted(conns):
        c = conns[port]
        r = c['race']
        if not r:
            expect.append(x16.clean_finding(c, a.server_name))
            continue
        e = err_ports[port]
        lib = e['lib']
        if r['form'] == 'closed-on-arrival':
            what = (f"closed on arrival: {r['method']} {r['uri']} (frame {r['requestFrame']}) reached {a.server_name} {r['idleBeforeRequest']} s "
                    f"after the previous response's last byte, as its idle timer closed the connection: no FIN before it, "
                    f"{r['closeWith']} (frame {r['closeFrame']}) {r['closeAfterRequestMs']} ms after it")
        else:
            rst = (f"the server side answered RST (frame {r['rstFrame']}) {r['rstAfterRequestMs']} ms after it arrived"
                   if r.get('rstFrame') else
                   f"no RST: {a.server_name} had only shut its side (FIN) and read and dropped the request, the connection ending in FINs")
            what = (f"{r['method']} {r['uri']} (frame {r['requestFrame']}) on a connection {a.server_name} closed (FIN, frame {r['finFrame']}) "
                    f"after {r['idleGapSeconds']} s idle (last response byte to FIN, server side); "
                    + ("crossing: it left the client before that FIN reached it (its ACK does not cover the FIN), "
                       if r['form'] == 'crossing' else "stale reuse: it ACKs the FIN, ")
                    + f"and reached the server {r['deltaMs']} ms after the FIN left; {rst}")
        outcome = (f"The client ({lib}) got {e['error']}: {e['message']!r} after an idle pause of {e.get('idleMeasured')} s "
                   f"(asked {e.get('gapAsked')} s); not retried (Node's http.Agent does not retry, requests' max_retries is 0).")
        notes = f"{what}. {a.server_name}'s application never saw it. {outcome}"
        if not r['idempotent']:
            notes += ' Non-idempotent method: a blind retry could duplicate it.'
        expect.append(x16.race_finding(c, notes, retried=False, clientError=e['error'], clientMessage=e['message']))
    if races:
        reuse_gaps = sorted(c['race']['reuseIdleSeconds'] for c in races.values())
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                       'notes': f"{a.server_name} closes idle connections after {statistics.median(idle_gaps):.3f} s (median of {len(idle_gaps)} idle "
                                f"closes, {idle_gaps[0]}-{idle_gaps[-1]} s; {a.idle_setting}) while the clients' pools (Node http.Agent, requests) have "
                                f"no idle limit of their own and reuse connections idle about as long: raced reuses at {reuse_gaps[0]}-{reuse_gaps[-1]} s "
                                "server side. The races above are the consequence.",
                       'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps), 'racedReuseIdleSeconds': reuse_gaps}})

    rel = x16.since(t0)
    class A:
        pass
    h = A()
    h.scenario, h.description, h.software, h.configured_notes, h.healthy, h.capture_side, h.capture = \
        a.scenario, a.description, a.software, a.configured_notes, False, a.capture_side, a.capture
    meta = x16.meta_head(h, configured, conns, races, idle_gaps, expect)
    meta['facts'] = x16.wire_facts(h, conns, races, [c for c in races.values() if c['race']['method'] == 'POST'], idle)
    reuse_new = [e for e in responses if e.get('kind') == 'reuse' and e.get('port') != e.get('prevPort')]
    meta['groundTruth'] = {
        'clientLog': {
            'libraries': sorted({e['lib'] for e in clog if 'lib' in e}),
            'requests': len(responses) + len(errors),
            'responses': len(responses),
            'errors': [{'captureTime': rel(e['sentAt']), 'lib': e['lib'], 'port': e['port'], 'reused': e.get('reused'), 'method': e['method'],
                        'uri': e['uri'], 'error': e['error'], 'message': e['message'], 'idleMeasured': e.get('idleMeasured'),
                        'gapAsked': e.get('gapAsked'), 'elapsedMs': e['elapsedMs']} for e in errors],
            'reusesOnNewConnection': [{'captureTime': rel(e['t']), 'lib': e['lib'], 'idleMeasured': e.get('idleMeasured'),
                                       'oldPort': e.get('prevPort'), 'newPort': e.get('port'), 'method': e['method'], 'uri': e['uri']}
                                      for e in reuse_new],
            'reusesOnNewConnectionNote': ("a reuse that went on a new connection: the pool had seen the server's FIN first (Node drops a "
                                          "socket on its 'end'; urllib3 checks is_connection_dropped before reuse): no race"),
        },
        'serverLog': {'server': a.server_name, 'requestsHandled': len(seen)},
        'timesNote': x16.TIMES_NOTE,
    }
    x16.write_meta(a.meta, meta)
    print(f"x19l-meta: {a.scenario}: written")


# ------------------------------------------------------------------------------------------- timeouts

def client_events(a):
    """One dict per request a client made: client, lib, uri, method, ok (answered), status, error, waitSeconds, port."""
    out = []
    for e in x16.read_jsonl(a.requests_log):
        if e.get('event') == 'response':
            out.append({'client': 'requests', 'method': e['method'], 'uri': e['uri'], 'ok': True, 'status': e['status'],
                        'waitSeconds': e['after'], 'port': e.get('port')})
        elif e.get('event') == 'error':
            out.append({'client': 'requests', 'method': e['method'], 'uri': e['uri'], 'ok': False, 'error': f"{e['error']}: {e['text']}",
                        'waitSeconds': e['after'], 'port': None})
    for e in x16.read_jsonl(a.curl_log):
        uri = re.sub(r'^https?://[^/]+', '', e['url'])
        ok = e['exit'] == 0
        out.append({'client': 'curl', 'method': e.get('method', 'GET'), 'uri': uri, 'ok': ok, 'status': int(e['code']) if ok else None,
                    'error': None if ok else f"curl exit {e['exit']}: {e['error']}", 'waitSeconds': e['time'], 'port': e['port'] or None})
    for e in x16.read_jsonl(a.node_log):
        if 'path' not in e:
            continue
        ok = 'status' in e
        out.append({'client': 'node', 'method': 'GET', 'uri': e['path'], 'ok': ok, 'status': e.get('status'),
                    'error': None if ok else e['error'], 'waitSeconds': round(e['ms'] / 1000, 4), 'port': e.get('localPort'),
                    'reused': e.get('reused')})
    return out


def timeouts_main(argv):
    ap = argparse.ArgumentParser(prog='x19l-meta.py timeouts')
    x16.add_capture_arguments(ap)
    ap.add_argument('--requests-log', required=True)
    ap.add_argument('--curl-log', required=True)
    ap.add_argument('--node-log', required=True)
    ap.add_argument('--need-timeouts', type=int, default=6)
    a = ap.parse_args(argv)
    configured = json.loads(a.configured)
    rows = x16.packets(a.capture)
    conns = x16.connections(rows, a.server_port)
    slog = x16.read_jsonl(a.server_log)
    events = client_events(a)
    problems = []
    # every request on the wire, by URI (the recorder makes each URI unique)
    wire = {}
    for port, c in conns.items():
        for i, r in enumerate(c['requests']):
            nxt = c['requests'][i + 1]['t'] if i + 1 < len(c['requests']) else None
            resp = next((x for x in c['responses'] if x['t'] > r['t'] and (nxt is None or x['t'] < nxt)), None)
            cfin = c['clientFin'] if c['clientFin'] is not None and c['clientFin']['t'] > r['t'] else None
            crst = next((p for side, p in c['rsts'] if side == 'client' and p['t'] > r['t']), None)
            wire[r['uri']] = {'port': port, 'conn': c, 'req': r, 'resp': resp, 'index': i, 'clientFin': cfin, 'clientRst': crst}
    answered_srv = {e['uri']: e for e in slog if e.get('event') in ('answered', 'write-failed')}
    expect = []
    timed_out = []
    for ev in events:
        w = wire.get(ev['uri'])
        if w is None:
            problems.append(f"{ev['client']} {ev['uri']}: not on the wire")
            continue
        ev['port'] = ev['port'] or w['port']
        if ev['ok']:
            if w['resp'] is None or w['resp']['t'] - w['req']['t'] > 3:
                problems.append(f"{ev['client']} {ev['uri']}: answered for the client, not in time on the wire")
            continue
        r, c = w['req'], w['conn']
        if w['resp'] is not None and (w['clientFin'] is None or w['resp']['t'] < w['clientFin']['t']):
            problems.append(f"{ev['client']} {ev['uri']}: the client gave up, but the wire has a response before its close")
            continue
        if w['clientFin'] is None:
            problems.append(f"{ev['client']} {ev['uri']}: no client FIN after the request")
            continue
        wait = round(w['clientFin']['t'] - r['t'], 3)
        srv = answered_srv.get(ev['uri'], {})
        late = w['resp']
        timed_out.append({'client': ev['client'], 'uri': ev['uri'], 'method': ev['method'], 'port': w['port'], 'error': ev['error'],
                          'clientElapsed': ev['waitSeconds'], 'wireWaitSeconds': wait, 'reusedConnection': w['index'] > 0,
                          'lateResponseAfter': round(late['t'] - r['t'], 3) if late else None,
                          'server': srv.get('event'), 'serverError': srv.get('error')})
        late_txt = (f"; the server answered {late['status']} {round(late['t'] - r['t'], 3)} s after the request (frame {late['frame']})"
                    + (f" and the client's closed socket reset it (RST, frame {w['clientRst']['frame']})" if w['clientRst'] else '')
                    if late else '; no answer in the capture')
        expect.append({'kind': 'unanswered-request', 'client': c['client'], 'server': c['server'],
                       'notes': f"{ev['method']} {ev['uri']} ({'reused' if w['index'] > 0 else 'new'} connection): {ev['client']} gave up "
                                f"{ev['waitSeconds']} s after sending it ({ev['error']}) and closed (FIN, frame {w['clientFin']['frame']}, "
                                f"{wait} s after the request reached the server){late_txt}.",
                       'evidence': {'closedBy': 'client', 'closedWith': 'FIN', 'waitSeconds': wait, 'requestFrame': r['frame'],
                                    'finFrame': w['clientFin']['frame'], 'lateResponseFrame': late['frame'] if late else None,
                                    'lateResponseAfter': round(late['t'] - r['t'], 3) if late else None,
                                    'clientRstFrame': w['clientRst']['frame'] if w['clientRst'] else None}})
    ok = [e for e in events if e['ok']]
    timed_ports = {t['port'] for t in timed_out}
    for port in sorted(conns):
        c = conns[port]
        if port not in timed_ports:
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'],
                           'notes': f"{len(c['requests'])} request(s) answered in time ({', '.join(r['uri'] for r in c['requests'])})."})
    if len(timed_out) < a.need_timeouts:
        problems.append(f"only {len(timed_out)} timeouts; need {a.need_timeouts}")
    print(f"x19l-meta: {len(conns)} connections, {len(events)} client requests, {len(timed_out)} gave up, {len(ok)} answered", file=sys.stderr)
    x16.refuse_if(problems, 'x19l-meta')
    waits = sorted(t['wireWaitSeconds'] for t in timed_out)
    diagnosis = ({'kind': 'unanswered-request', 'inferred': 'clientTimeout', 'notes': f"{len(timed_out)} requests on {len(timed_ports)} connections given up after "
                   f"{waits[0]}-{waits[-1]} s (median {statistics.median(waits)} s): the clients' own 3 s timeouts (requests timeout=3, "
                   "curl --max-time 3, Node http.request timeout 3000 ms), not the server's; the server answered each of them later.",
                   'evidence': {'inferredClientTimeoutSeconds': configured.get('clientTimeout'), 'waits': waits}})
    meta = {'scenario': a.scenario, 'description': a.description, 'software': a.software, 'configured': configured}
    if a.configured_notes:
        meta['configuredNotes'] = a.configured_notes
    meta['observed'] = {'clientWaitSeconds': waits,
                        'lateResponseAfterSeconds': sorted(t['lateResponseAfter'] for t in timed_out if t['lateResponseAfter'] is not None),
                        'clientErrors': sorted({t['error'] for t in timed_out}),
                        'answeredInTime': len(ok)}
    meta['expect'] = expect
    meta['expectDiagnoses'] = [diagnosis]
    meta['silent'] = False
    if a.capture_side:
        meta['captureSide'] = a.capture_side
    meta['facts'] = {'connections': len(conns), 'requests': sum(len(c['requests']) for c in conns.values()),
                     'responses': sum(len(c['responses']) for c in conns.values()), 'givenUp': len(timed_out),
                     'closeStates': x16.close_states(conns), 'captureFile': os.path.basename(a.capture)}
    meta['groundTruth'] = {'givenUp': timed_out,
                           'answered': [{k: e.get(k) for k in ('client', 'method', 'uri', 'status', 'waitSeconds', 'port')} for e in ok],
                           'serverLog': {'requests': sum(1 for e in slog if e.get('event') == 'request'),
                                         'answered': sum(1 for e in slog if e.get('event') == 'answered'),
                                         'writeFailed': sum(1 for e in slog if e.get('event') == 'write-failed')}}
    x16.write_meta(a.meta, meta)
    print(f"x19l-meta: {a.scenario}: written")


if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] not in ('races', 'timeouts'):
        sys.exit('usage: x19l-meta.py races|timeouts SCENARIO ...')
    (races_main if sys.argv[1] == 'races' else timeouts_main)(sys.argv[2:])
