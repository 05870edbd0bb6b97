#!/usr/bin/env python3
"""Meta writer of keepalive-race-webrick (programs/x23r-lib.sh): WEBrick raced by Node's http.Agent
(x17p-node-lanes.js, never retries) and Ruby's Net::HTTP (x17r-net-http-client.rb sweep, retries an
idempotent request once). Built from the shared pieces, not copies: x16-meta.py's capture reader
(connections, race forms, findings, meta head and facts) and x20h-meta.py's --idle-log check (every
FIN WEBrick sent first on the wire has exactly one of its "idle-timeout" log lines, logged 0-50 ms
before it) and Server-header summary.

Ground truth: each client request that failed on a connection (Node: its "error" line's port;
Net::HTTP: an "error" line's port, or for a request its debug messages say it sent again ("... and
retry"), the connection it was first sent on: connects[-2], or pooledPort when it opened only the
retry's) is a race on the wire of the same method and URI, and every race on the wire is one of
those; no raced request reached WEBrick's proc on its raced connection; the clients' responses, the
proc's log lines and the wire's responses agree in number; Net::HTTP retried only idempotent
methods. Exit 1 (no meta) when they disagree or with fewer than --need-races races (--need-retries
Net::HTTP retries, --need-post-races POST races).

Usage: x23r-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --client-log F --server-log F
         --configured JSON --description TEXT --software S... [--configured-notes TEXT]
         [--capture-side TEXT] [--need-races N] [--need-post-races N] [--need-retries N]
         [--header-note TEXT] [--request-timeout S]
"""
import argparse
import importlib.util
import json
import os
import statistics

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('x20hmeta', os.path.join(_here, 'x20h-meta.py'))
x20h = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x20h)
x16 = x20h.x16

IDEMPOTENT = ('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE')
SERVER = 'WEBrick'


def first_port(e):
    """The connection a request Net::HTTP retried was first sent on."""
    return e['connects'][-2] if len(e['connects']) >= 2 else e['pooledPort']


def failures(reqs):
    """port -> (event, 'retried' or 'error') for each request that failed on a connection."""
    out = {}
    for e in reqs:
        if e.get('retried'):
            out[first_port(e)] = (e, 'retried')
        elif e['event'] == 'error':
            out[e['port']] = (e, 'error')
    return out


def is_node(e):
    return e.get('lib', '').startswith('node')


def outcome_text(e, how, port_client):
    if how == 'retried':
        msg = next(m for m in e['netHttp'] if 'and retry' in m)
        return (f"Ruby Net::HTTP logged '{msg}' and sent it again on a new connection ({port_client.get(e['connects'][-1])}), "
                f"answered {e.get('status')}: its caller saw no error (max_retries 1, idempotent method).")
    if is_node(e):
        return (f"Node's http.Agent got {e['error']}: {e['message']!r} after an idle pause of {e.get('idleMeasured')} s; "
                "not retried (http.Agent never retries).")
    why = (' (POST is not idempotent: Net::HTTP retries only GET, HEAD, PUT, DELETE, OPTIONS, TRACE)' if e['method'] not in IDEMPOTENT
           else '')
    return (f"Ruby Net::HTTP raised {e['error']}: {e['message']!r} after an idle pause of {e.get('idleMeasured')} s; "
            f"not retried{why}.")


def spread(values):
    return {'min': min(values), 'median': statistics.median(values), 'max': max(values), 'n': len(values)} if values else None


def body_lags_ms(conns):
    """Per response sent as a head segment then a separate body segment: ms from the head to the body."""
    lags = []
    for c in conns.values():
        data = [p for p in c['pk'] if p['fromServer'] and p['len']]
        for head, nxt in zip(data, data[1:]):
            if head['payload'].startswith(b'HTTP/1.') and not nxt['payload'].startswith(b'HTTP/1.'):
                lags.append(round((nxt['t'] - head['t']) * 1000, 2))
    return lags


def server_log(server, handled, rows, port, idle_log, header_note):
    """The meta's groundTruth.serverLog of a race recording (x23r, x24e): what the server's own log says,
    beside the Server headers in the capture."""
    log = {'server': server, 'requestsHandled': len(handled),
           'statuses': {str(s): sum(1 for e in handled if e['status'] == s) for s in sorted({e['status'] for e in handled})},
           'serverHeaders': x20h.server_headers(rows, port), 'idleTimeouts': idle_log}
    if header_note:
        log['serverHeadersNote'] = header_note
    return log


def mismatch_expect(server, closes, idle_gaps, reuse_gaps):
    """The idle-timeout-mismatch expected of a race recording (x23r, x24e): `closes` says how the server closes
    idle connections and how long the clients keep them; the raced reuses and their consequence follow."""
    return {'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
            'notes': f"{closes}: raced reuses at {reuse_gaps[0]}-{reuse_gaps[-1]} s server side. The races above are the consequence.",
            'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps), 'racedReuseIdleSeconds': reuse_gaps}}


def main():
    ap = argparse.ArgumentParser(prog='x23r-meta.py')
    x16.add_common_arguments(ap)
    ap.add_argument('--need-retries', type=int, default=0)
    ap.add_argument('--header-note', default=None)
    ap.add_argument('--request-timeout', type=float, default=None)
    a = ap.parse_args()
    configured = json.loads(a.configured)
    rows = x16.packets(a.capture)
    conns = x16.connections(rows, a.server_port)
    clog, slog = x16.read_jsonl(a.client_log), x16.read_jsonl(a.server_log)
    problems = []

    reqs, errors, retried, responses = x16.client_requests(clog)
    races = {p: c for p, c in conns.items() if c['race']}
    failed_on = failures(reqs)
    for port, (e, how) in failed_on.items():
        if how == 'retried' and e['method'] not in IDEMPOTENT:
            problems.append(f"Net::HTTP retried a {e['method']} on port {port}")
    x16.check_failures(failed_on, conns, races, problems, describe=lambda e: e.get('error') or e.get('netHttp'),
                       missing='no client saw an error or a retry')
    handled = [e for e in slog if e.get('event') == 'request']
    x16.check_app_never_saw(races, {(e['port'], e['uri']) for e in handled}, "WEBrick's proc", problems)
    wire_reqs = x16.check_wire_counts(conns, len(responses), len(reqs), problems, who='clients', retries=len(retried))
    if len(handled) != len(responses):
        problems.append(f"WEBrick's proc logged {len(handled)} requests, the clients {len(responses)} responses")
    post_races = [c for c in races.values() if c['race']['method'] == 'POST']
    if len(races) < a.need_races or len(post_races) < a.need_post_races or len(retried) < a.need_retries:
        problems.append(f"only {len(races)} races ({len(post_races)} POST, {len(retried)} retried by Net::HTTP); "
                        f"need {a.need_races} ({a.need_post_races} POST, {a.need_retries} retried)")
    idle_log = x20h.idle_log_check(a, rows, conns, problems)
    idle, idle_gaps = x16.idle_closes(conns)
    print(f"x23r-meta: {len(conns)} connections, {wire_reqs} requests, {len(races)} races "
          f"({sorted(c['race']['form'] for c in races.values())}; {len(post_races)} POST, {len(retried)} retried by Net::HTTP), "
          f"{len(errors)} client errors, idle closes {idle_gaps[:1]}..{idle_gaps[-1:]} (n={len(idle_gaps)}), "
          f"idle-timeout lines {idle_log['count']} (matched {idle_log['matchedServerFins']})")
    x16.refuse_if(problems, 'x23r-meta')

    port_client = {p: c['client'] for p, c in conns.items()}
    retry_on = {e['connects'][-1]: e for e, how in failed_on.values() if how == 'retried'}
    closer = f"RequestTimeout wait ({a.request_timeout:g} s)" if a.request_timeout else 'idle timer'
    expect = []
    for port in sorted(conns):
        c = conns[port]
        if c['race']:
            e, how = failed_on[port]
            notes = (f"{x16.race_what(c['race'], SERVER, closer)}. WEBrick's proc never saw it on this connection. "
                     f"{outcome_text(e, how, port_client)}")
            if not c['race']['idempotent']:
                notes += ' Non-idempotent method: a blind retry could duplicate it.'
            extra = {'retriedOn': port_client.get(e['connects'][-1])} if how == 'retried' else {}
            expect.append(x16.race_finding(c, notes, retried=how == 'retried', clientError=e.get('error'),
                                           clientLibrary=e.get('lib'), **extra))
    for port in sorted(conns):
        c = conns[port]
        if port in retry_on:
            e = retry_on[port]
            expect.append({'kind': 'retried-request', 'client': c['client'], 'server': c['server'],
                           'notes': f"Net::HTTP's automatic retry (max_retries 1, idempotent methods): {e['method']} {e['uri']} sent again on "
                                    f"this new connection after it failed on {port_client.get(first_port(e))} (the keep-alive race there); "
                                    f"answered {e.get('status')}." + (' Later this connection raced too (keepalive-race above).' if c['race'] else '')})
        elif not c['race']:
            expect.append(x16.clean_finding(c, SERVER))
    from_start = spread(sorted(i['idleFromResponseStart'] for i in idle))
    lags = body_lags_ms(conns)
    if races:
        reuse_gaps = sorted(c['race']['reuseIdleSeconds'] for c in races.values())
        expect.append(mismatch_expect(
            next(iter(conns.values()))['server'],
            f"WEBrick closes idle keep-alive connections after {statistics.median(idle_gaps):.3f} s (median of {len(idle_gaps)} "
            f"idle closes, {idle_gaps[0]}-{idle_gaps[-1]} s, last response byte to FIN; {from_start['median']} s from the "
            f"response's first byte: :RequestTimeout {a.request_timeout:g} s waited in 0.5 s steps from the moment WEBrick "
            "had written the response, whose body segment Nagle held one round trip behind its head) while Node's http.Agent (no idle limit) and Net::HTTP "
            f"(keep_alive_timeout raised to {configured.get('netHttpKeepAliveTimeout')} s) reuse connections idle about as long",
            idle_gaps, reuse_gaps))

    rel = x16.since(rows[0]['epoch'])
    meta = x16.meta_head(a, configured, conns, races, idle_gaps, expect)
    meta['observed']['serverIdleCloseFromResponseStartSeconds'] = from_start
    meta['observed']['responseBodySegmentLagMs'] = spread(lags)
    meta['observed']['idleCloseNote'] = (
        "WEBrick writes a response's head and body in two writes without TCP_NODELAY, so Nagle holds the small body segment "
        f"until the head is ACKed ({len(lags)} responses in two segments, body {spread(lags)['median'] if lags else None} ms behind the head: "
        "one round trip). Its idle wait starts once both writes are done (head on the wire): serverIdleCloseSeconds (last response "
        "byte to FIN) are about one round trip shorter than the 2.0 s (+ a few ms) WEBrick waits; serverIdleCloseFromResponseStartSeconds "
        "(first response byte to FIN) show that wait.")
    meta['facts'] = x16.wire_facts(a, conns, races, post_races, idle, retriedByNetHttp=len(retried))
    nodes_new = [e for e in responses if is_node(e) and e.get('kind') == 'reuse' and e.get('port') != e.get('prevPort')]
    ruby_eof = [e for e in reqs if 'Conn close because of EOF' in e.get('netHttp', [])]
    ruby_start = next((e for e in clog if e.get('event') == 'start' and e.get('lib') == 'net-http'), {})
    meta['groundTruth'] = {
        'clientLog': {
            'libraries': sorted({e['lib'] for e in reqs}),
            'netHttp': {'versions': ruby_start.get('versions'), 'keepAliveTimeout': ruby_start.get('keepAliveTimeout'),
                        'maxRetries': ruby_start.get('maxRetries')},
            'requests': len(reqs),
            'responses': len(responses),
            'errors': [{'captureTime': rel(e['sentAt']), 'lib': e['lib'], 'port': e['port'], 'method': e['method'], 'uri': e['uri'],
                        'error': e['error'], 'message': e['message'], 'idleMeasured': e.get('idleMeasured'), 'gapAsked': e.get('gapAsked'),
                        'elapsedMs': e['elapsedMs'], **({'netHttp': e['netHttp']} if 'netHttp' in e else {})} for e in errors],
            'retriedByNetHttp': [{'captureTime': rel(e['sentAt']), 'failedOn': first_port(e), 'retriedOn': e['connects'][-1],
                                  'method': e['method'], 'uri': e['uri'], 'status': e.get('status'), 'idleMeasured': e.get('idleMeasured'),
                                  'gapAsked': e.get('gapAsked'), 'elapsedMs': e['elapsedMs'], 'netHttp': e['netHttp']} for e in retried],
            'reusesOnNewConnection': (
                [{'captureTime': rel(e['t']), 'lib': e['lib'], 'idleMeasured': e.get('idleMeasured'), 'oldPort': e.get('prevPort'),
                  'newPort': e.get('port'), 'method': e['method'], 'uri': e['uri']} for e in nodes_new]
                + [{'captureTime': rel(e['sentAt']), 'lib': e['lib'], 'idleMeasured': e.get('idleMeasured'), 'oldPort': e['pooledPort'],
                    'newPort': e['connects'][0], 'method': e['method'], 'uri': e['uri']} for e in ruby_eof]),
            'reusesOnNewConnectionNote': ("a reuse that went on a new connection because the client had seen WEBrick's FIN first: Node "
                                          "drops a pooled socket on its 'end'; Net::HTTP#begin_transport checks `wait_readable(0) && eof?` "
                                          "and logs 'Conn close because of EOF'. No race."),
        },
        'serverLog': server_log(SERVER, handled, rows, a.server_port, idle_log, a.header_note),
        'timesNote': x16.TIMES_NOTE,
    }
    x16.write_meta(a.meta, meta)
    print(f"x23r-meta: {a.scenario}: written")


if __name__ == '__main__':
    main()
