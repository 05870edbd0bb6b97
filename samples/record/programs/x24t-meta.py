#!/usr/bin/env python3
"""Meta writer of unanswered-request-jvm-ruby-erlang-timeouts (programs/x24t-lib.sh): Java's
HttpClient (x24t-java-client.java), Ruby's Net::HTTP (x24t-net-http-client.rb) and Erlang's httpc
(x24t-httpc.escript) against programs/b-http-server.js, which never answers /hang... .

The capture is read with x16-meta.py's tshark reader (packets, connections). Ground truth, checked
before anything is written (exit 1, no meta, when they disagree):
  - every request a client gave up on is on the wire, as many times as the client sent it (twice when
    Net::HTTP retried it), each copy on the port the server's log has for it (and the client's own
    log, where the client tells its port), with no response and a close from the client (FIN, or
    RST) after it; the server's application read each copy (b-http-server.js logs it) and never
    answered;
  - every request a client had answered is answered on the wire;
  - each client's error is its timeout's (HttpTimeoutException, Net::ReadTimeout, {error,timeout}),
    after about its own timeout (each wait, client-side, within 0.15 s of it; per attempt for Net::HTTP);
  - at least --need-hung hung requests on the wire, one of them a POST, one on a reused connection.
The meta's expect: one unanswered-request per hung copy (its client port; evidence: request and
close frames, the wait from the request's last byte to the client's close, as conncheck measures
it), one retried-request per Net::HTTP resend (on the new connection's port), and a clean entry
(kind null) for any connection with no hung request.

Usage: x24t-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --server-log F --java-log F
         --ruby-log F --erlang-log F --configured JSON --description TEXT --software S... [--need-hung N]
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys

_spec = importlib.util.spec_from_file_location('x16meta', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'x16-meta.py'))
x16 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x16)

CLIENTS = {
    'java': {'name': 'Java HttpClient', 'setting': 'HttpRequest.Builder.timeout(Duration)', 'error': 'java.net.http.HttpTimeoutException',
             'timeoutKey': 'javaHttpRequestTimeoutMs', 'unit': 0.001, 'agent': 'Java-http-client/'},
    'ruby': {'name': 'Ruby Net::HTTP', 'setting': 'Net::HTTP#read_timeout', 'error': 'Net::ReadTimeout',
             'timeoutKey': 'netHttpReadTimeout', 'unit': 1.0, 'agent': 'Ruby'},
    'erlang': {'name': 'Erlang httpc', 'setting': "httpc:request HTTP option {timeout, Ms}", 'error': '{error,timeout}',
               'timeoutKey': 'httpcTimeoutMs', 'unit': 0.001, 'agent': None},
}


def client_requests(a):
    """Every request the clients made, in each client's order: client, method, uri, ok, error, elapsed, ports (client-side)."""
    out = []
    for e in x16.read_jsonl(a.java_log):
        out.append({'client': 'java', 'method': e['method'], 'uri': e['uri'], 'start': e['start'], 'end': e['end'], 'elapsed': e['elapsed'],
                    'ok': 'status' in e, 'status': e.get('status'), 'error': f"{e['error']}: {e['message']}" if 'error' in e else None,
                    'clientPorts': None, 'retried': False})
    for e in x16.read_jsonl(a.ruby_log):
        ports = ([e['pooledPort']] if e.get('pooledPort') else []) + e.get('connects', [])
        out.append({'client': 'ruby', 'method': e['method'], 'uri': e['uri'], 'start': e['start'], 'end': e['end'], 'elapsed': e['elapsed'],
                    'ok': 'status' in e, 'status': e.get('status'), 'error': f"{e['error']}: {e['message']}" if 'error' in e else None,
                    'clientPorts': ports, 'retried': e.get('retried', False), 'netHttp': [m['msg'] for m in e.get('netHttp', [])]})
    for e in x16.read_jsonl(a.erlang_log):
        ports = [p for p in (e.get('portBefore'), e.get('portDuring')) if p]
        out.append({'client': 'erlang', 'method': e['method'], 'uri': e['uri'], 'start': e['start'], 'end': e['end'], 'elapsed': round(e['elapsed'], 4),
                    'ok': 'status' in e, 'status': int(e['status']) if 'status' in e else None, 'error': e.get('error'),
                    'clientPorts': sorted(set(ports)), 'retried': False})
    return out


def wire_requests(conns):
    """Every request on the wire by URI: a list of copies (port, conn, request, its index, response, request end, client close)."""
    by_uri = {}
    for port, c in conns.items():
        for i, r in enumerate(c['requests']):
            nxt = c['requests'][i + 1]['t'] if i + 1 < len(c['requests']) else float('inf')
            resp = next((x for x in c['responses'] if r['t'] < x['t'] < nxt), None)
            close = next((p for p in c['pk'] if not p['fromServer'] and (p['fin'] or p['rst']) and p['t'] > r['t']), None)
            body = [p for p in c['pk'] if not p['fromServer'] and p['len'] and r['t'] <= p['t'] < min(nxt, close['t'] if close else nxt)]
            srv_close = next((p for p in c['pk'] if p['fromServer'] and (p['fin'] or p['rst']) and p['t'] > r['t']), None)
            by_uri.setdefault(r['uri'], []).append({'port': port, 'conn': c, 'req': r, 'index': i, 'resp': resp, 'close': close,
                                                    'end': body[-1] if body else r['pkt'], 'serverClose': srv_close,
                                                    'agent': agent_of(r['pkt']['payload'])})
    for copies in by_uri.values():
        copies.sort(key=lambda w: w['req']['t'])
    return by_uri


def agent_of(payload):
    for line in payload.split(b'\r\n')[1:]:
        if line.lower().startswith(b'user-agent:'):
            return line.split(b':', 1)[1].strip().decode()
    return None


def main():
    ap = argparse.ArgumentParser()
    x16.add_capture_arguments(ap)
    ap.add_argument('--java-log', required=True)
    ap.add_argument('--ruby-log', required=True)
    ap.add_argument('--erlang-log', required=True)
    ap.add_argument('--need-hung', type=int, default=9)
    a = ap.parse_args()
    configured = json.loads(a.configured)
    conns = x16.connections(x16.packets(a.capture), a.server_port)
    wire = wire_requests(conns)
    seen = {}
    for e in x16.read_jsonl(a.server_log):
        if 'url' in e:
            seen.setdefault(e['url'], []).append(e)
    problems, hung, answered, expect = [], [], [], []
    for ev in client_requests(a):
        spec = CLIENTS[ev['client']]
        copies = wire.get(ev['uri'], [])
        want = 2 if ev['retried'] else 1
        if len(copies) != want:
            problems.append(f"{ev['client']} {ev['method']} {ev['uri']}: {len(copies)} copies on the wire, expected {want}")
            continue
        srv = seen.get(ev['uri'], [])
        if sorted(s['port'] for s in srv) != sorted(w['port'] for w in copies):
            problems.append(f"{ev['client']} {ev['uri']}: the server's log has ports {[s['port'] for s in srv]}, the wire {[w['port'] for w in copies]}")
        if ev['clientPorts'] and not {w['port'] for w in copies} <= set(ev['clientPorts']):
            problems.append(f"{ev['client']} {ev['uri']}: the client's ports {ev['clientPorts']}, the wire's {[w['port'] for w in copies]}")
        for w in copies:
            if (w['agent'] is None) != (spec['agent'] is None) or (w['agent'] and not w['agent'].startswith(spec['agent'])):
                problems.append(f"{ev['client']} {ev['uri']}: User-Agent {w['agent']!r} on the wire")
        if ev['ok']:
            w = copies[0]
            if w['resp'] is None or w['resp']['status'] != ev['status']:
                problems.append(f"{ev['client']} {ev['uri']}: answered {ev['status']} for the client, not on the wire")
            answered.append({k: ev[k] for k in ('client', 'method', 'uri', 'status', 'elapsed')} | {'port': w['port'], 'reusedConnection': w['index'] > 0})
            continue
        timeout = configured[spec['timeoutKey']] * spec['unit']
        if not ev['error'] or not ev['error'].startswith(spec['error']):
            problems.append(f"{ev['client']} {ev['uri']}: error {ev['error']!r}, not {spec['error']}")
        if abs(ev['elapsed'] - want * timeout) > 0.15 * want:
            problems.append(f"{ev['client']} {ev['uri']}: gave up after {ev['elapsed']} s, its timeout is {timeout} s (x{want})")
        for n, w in enumerate(copies):
            if w['resp'] is not None or w['close'] is None:
                problems.append(f"{ev['client']} {ev['uri']} on {w['port']}: {'answered' if w['resp'] else 'no client close'} on the wire")
                continue
            hung.append((ev, w, n))
    if len(hung) < a.need_hung:
        problems.append(f"only {len(hung)} hung requests on the wire; need {a.need_hung}")
    if not any(ev['method'] == 'POST' for ev, _, _ in hung) or not any(w['index'] > 0 for _, w, _ in hung):
        problems.append('no hung POST, or no hung request on a reused connection')
    print(f"x24t-meta: {len(conns)} connections, {len(hung)} hung requests on the wire, {len(answered)} answered", file=sys.stderr)
    x16.refuse_if(problems, 'x24t-meta')

    given_up = []
    waits = {c: [] for c in CLIENTS}
    for ev, w, n in hung:
        spec = CLIENTS[ev['client']]
        c, close = w['conn'], w['close']
        wait = round(close['t'] - w['end']['t'], 3)
        waits[ev['client']].append(wait)
        how = 'RST' if close['rst'] else 'FIN'
        attempt = (f" (Net::HTTP's resend of it after the first attempt's {spec['error']}, on a new connection)" if n == 1
                   else " (Net::HTTP then sent it again on a new connection)" if ev['retried'] else '')
        srv = f", the server's FIN {w['serverClose']['frame']}" if w['serverClose'] is not None and not w['serverClose']['rst'] else ''
        notes = (f"{ev['method']} {ev['uri']}{attempt} on a {'reused' if w['index'] > 0 else 'new'} connection: {spec['name']} gave up "
                 f"{wait} s after the request's last byte reached the server ({spec['setting']} = {configured[spec['timeoutKey']]}"
                 f"{' ms' if spec['unit'] < 1 else ' s'}) and closed the connection ({how}, frame {close['frame']}{srv}); "
                 f"the server's application read the request and never answered. The client reported: {ev['error']}.")
        expect.append({'kind': 'unanswered-request', 'client': c['client'], 'server': c['server'], 'notes': notes,
                       'evidence': {'closedBy': 'client', 'closedWith': how, 'waitSeconds': wait, 'requestFrame': w['req']['frame'],
                                    'requestEndFrame': w['end']['frame'], 'closeFrame': close['frame'],
                                    'userAgent': w['agent'], 'reusedConnection': w['index'] > 0}})
        given_up.append({'client': ev['client'], 'method': ev['method'], 'uri': ev['uri'], 'port': w['port'], 'attempt': n + 1,
                         'reusedConnection': w['index'] > 0, 'wireWaitSeconds': wait, 'closedWith': how, 'requestFrame': w['req']['frame'],
                         'closeFrame': close['frame'], 'clientElapsed': ev['elapsed'], 'clientError': ev['error'], 'userAgent': w['agent'],
                         'clientStart': ev['start'], 'clientEnd': ev['end'], **({'netHttp': ev['netHttp']} if ev['client'] == 'ruby' else {})})
        if n == 1:
            first = next(x for x in hung if x[0] is ev and x[2] == 0)[1]
            expect.append({'kind': 'retried-request', 'client': c['client'], 'server': c['server'],
                           'notes': f"{ev['method']} {ev['uri']} sent again by Net::HTTP (max_retries 1: it resends an idempotent request once after "
                                    f"Net::ReadTimeout) on a new connection {round(w['req']['t'] - first['close']['t'], 3)} s after it closed "
                                    f"{first['conn']['client']} (frame {first['close']['frame']}) at its read_timeout; the resend timed out too, so the "
                                    f"caller waited {ev['elapsed']} s (two read timeouts) for one Net::ReadTimeout.",
                           'evidence': {'failedOn': first['conn']['client'], 'failure': 'client-closed', 'requestFrame': w['req']['frame'],
                                        'afterFailure': round(w['req']['t'] - first['close']['t'], 3)}})
    hung_ports = {w['port'] for _, w, _ in hung}
    for port in sorted(set(conns) - hung_ports):
        c = conns[port]
        expect.append({'kind': None, 'client': c['client'], 'server': c['server'],
                       'notes': f"{len(c['requests'])} request(s), all answered ({', '.join(r['uri'] for r in c['requests'])}). Clean."})
    diagnoses = []
    for key, spec in CLIENTS.items():
        ws = sorted(waits[key])
        diagnoses.append({'kind': 'unanswered-request', 'inferred': 'clientTimeout', 'client': spec['name'],
                          'notes': f"{len(ws)} requests given up by {spec['name']} after {ws[0]}-{ws[-1]} s (median {statistics.median(ws)} s): "
                                   f"its {spec['setting']} of {configured[spec['timeoutKey']]}{' ms' if spec['unit'] < 1 else ' s'}; one of three distinct client timeouts.",
                          'evidence': {'clientTimeoutSeconds': configured[spec['timeoutKey']] * spec['unit'], 'waits': ws,
                                       'userAgent': spec['agent'], 'clientSetting': f"{spec['name']}: {spec['setting']}"}})
    meta = {'scenario': a.scenario, 'description': a.description, 'software': a.software, 'configured': configured}
    if a.configured_notes:
        meta['configuredNotes'] = a.configured_notes
    meta['observed'] = {'clientWaitSeconds': {CLIENTS[k]['name']: sorted(v) for k, v in waits.items()},
                        'clientErrors': sorted({ev['error'] for ev, _, _ in hung}),
                        'netHttpResends': sum(1 for _, _, n in hung if n == 1), 'answered': len(answered)}
    meta['expect'] = expect
    meta['expectDiagnoses'] = diagnoses
    meta['silent'] = False
    if a.capture_side:
        meta['captureSide'] = a.capture_side
    meta['facts'] = {'connections': len(conns), 'requests': sum(len(c['requests']) for c in conns.values()),
                     'responses': sum(len(c['responses']) for c in conns.values()), 'hungOnWire': len(hung),
                     'closeStates': x16.close_states(conns), 'captureFile': os.path.basename(a.capture)}
    meta['groundTruth'] = {'givenUp': given_up, 'answered': answered,
                           'serverLog': {'requestsRead': sum(len(v) for v in seen.values()),
                                         'hangNeverAnswered': sum(len(v) for u, v in seen.items() if u.startswith('/hang'))}}
    x16.write_meta(a.meta, meta)
    print(f"x24t-meta: {a.scenario}: written")


if __name__ == '__main__':
    main()
