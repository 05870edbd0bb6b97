#!/usr/bin/env python3
"""Meta writer for the Puma / Ruby Net::HTTP samples (healthy-puma-ruby, keepalive-race-puma-ruby).

Rebuilds each connection of the capture with x16-meta.py's tshark reader (requests, responses, the
server's idle-close FIN, a request sent after it, RSTs; see there for the race forms), checks it
against the client's JSON-lines log (x17r-net-http-client.rb) and the Rack app's log (x17r-app.ru),
and writes samples/<scenario>.meta.json only when they agree (its options, clean and race findings,
observed, facts: x16-meta.py's shared pieces). Exit 1 (no meta) when they disagree,
or when fewer than --need-races connections raced (or fewer POST / retried-GET races than asked):
the recorder then records again.

Ground truth used: a Net::HTTP request whose debug messages say "... and retry" failed on its
persistent connection before any response and was sent again on the new connection it opened
(its `connects`); a request that raised (EOFError, Errno::ECONNRESET...) failed on `port`.
Every race on the wire must be one of those two, and every one of those a race on the wire; a
raced request never reaches the Rack app on its raced connection.

Usage: x17r-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --client-log F --server-log F
         --configured JSON [--configured-notes TEXT] --description TEXT --software S... [--healthy]
         [--need-races N] [--need-post-races N] [--need-retries N] [--capture-side TEXT]
"""
import argparse
import importlib.util
import os
import statistics

_spec = importlib.util.spec_from_file_location('x16meta', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'x16-meta.py'))
x16 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x16)


def main():
    ap = argparse.ArgumentParser()
    x16.add_common_arguments(ap)
    ap.add_argument('--need-retries', type=int, default=0)
    a = ap.parse_args()

    configured, t0, conns, clog, slog = x16.read_inputs(a)
    problems = []

    reqs, errors, retried, responses = x16.client_requests(clog)
    races = {p: c for p, c in conns.items() if c['race']}
    # each failure the client saw: the port it failed on -> (event, outcome)
    failed_on = {}
    for e in reqs:
        if e.get('retried'):
            # sent on the pooled connection (or on the one opened after an EOF check), failed, sent again on connects[-1]
            first = e['connects'][-2] if len(e['connects']) >= 2 else e['pooledPort']
            failed_on[first] = (e, 'retried')
        elif e['event'] == 'error':
            failed_on[e['port']] = (e, 'error')
    for port, (e, how) in failed_on.items():
        if how == 'retried' and e['method'] not in ('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE'):
            problems.append(f"Net::HTTP retried a {e['method']} on port {port}")
    x16.check_failures(failed_on, conns, races, problems, describe=lambda e: e.get('error') or e['netHttp'],
                       missing='the client saw neither an error nor a retry')
    app_seen = {(e['port'], e['uri']) for e in slog if e.get('event') == 'request'}
    x16.check_app_never_saw(races, app_seen, 'the Rack app', problems)
    wire_reqs = x16.check_wire_counts(conns, len(responses), len(reqs), problems, retries=len(retried))
    if len([e for e in slog if e.get('event') == 'request']) != len(responses):
        problems.append('the Rack app logged a different number of requests than the client got responses')
    if a.healthy and (errors or races or retried or any(c['rsts'] for c in conns.values())):
        problems.append('healthy sample with an error, a race, a retry or a reset')
    post_races = [c for c in races.values() if c['race']['method'] == 'POST']
    if len(races) < a.need_races or len(post_races) < a.need_post_races or len(retried) < a.need_retries:
        problems.append(f"only {len(races)} races ({len(post_races)} POST, {len(retried)} retried); "
                        f"need {a.need_races} ({a.need_post_races} POST, {a.need_retries} retried)")
    x16.refuse_if(problems, 'x17r-meta')

    server = next(iter(conns.values()))['server']
    idle, idle_gaps = x16.idle_closes(conns)
    port_client = {p: c['client'] for p, c in conns.items()}
    retry_on = {}   # retry connection port -> the request event
    expect = []
    for port in sorted(conns):
        c = conns[port]
        r = c['race']
        if r:
            e, how = failed_on[port]
            what = x16.race_what(r, 'Puma')
            if how == 'retried':
                new = e['connects'][-1]
                retry_on[new] = e
                outcome = (f"Net::HTTP ('{next(m for m in e['netHttp'] if 'and retry' in m)}') sent it again on a new connection "
                           f"({port_client.get(new, new)}), answered {e.get('status')}: the application saw no error.")
            else:
                outcome = (f"Net::HTTP raised {e['error']}: {e['message']!r} after an idle pause of {e.get('idleMeasured')} s; not retried"
                           + (' (POST is not idempotent: Net::HTTP retries only GET, HEAD, PUT, DELETE, OPTIONS, TRACE).' if e['method'] == 'POST' else '.'))
            notes = f"{what}. The Rack app never saw it on this connection. {outcome}"
            retried_on = {'retriedOn': port_client.get(e['connects'][-1])} if how == 'retried' else {}
            expect.append(x16.race_finding(c, notes, retried=how == 'retried', clientError=e.get('error'), **retried_on))
    for port in sorted(conns):
        c = conns[port]
        if port in retry_on:   # a retry's connection (it may have raced later itself: then it has both findings)
            e = retry_on[port]
            old = e['connects'][-2] if len(e['connects']) >= 2 else e['pooledPort']
            expect.append({'kind': 'retried-request', 'client': c['client'], 'server': c['server'],
                           'notes': f"Net::HTTP's automatic retry (max_retries 1, idempotent methods): {e['method']} {e['uri']} sent again on this new "
                                    f"connection after it failed on {port_client.get(old)} (EOF before any response byte: the keep-alive race "
                                    f"there); answered {e.get('status')}."
                                    + (" Later this connection raced too (keepalive-race above)." if c['race'] else '')})
            continue
        if not c['race']:
            expect.append(x16.clean_finding(c, 'Puma'))
    eof_reconnects = [e for e in reqs if any(m == 'Conn close because of EOF' for m in e.get('netHttp', []))]
    if not a.healthy and races:
        reuse_gaps = sorted(r['race']['reuseIdleSeconds'] for r in races.values())
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                       'notes': f"Puma closes idle connections after {statistics.median(idle_gaps):.3f} s ({len(idle_gaps)} idle closes, "
                                f"{idle_gaps[0]}-{idle_gaps[-1]} s: persistent_timeout {configured.get('persistentTimeout')} s counted from the end of "
                                "its 0.2 s fast-track wait for a next request) while Net::HTTP (keep_alive_timeout raised to "
                                f"{configured.get('clientKeepAliveTimeout')} s) reuses connections idle ~2.2 s: raced reuses at "
                                f"{reuse_gaps[0]}-{reuse_gaps[-1]} s server side. The races above are the consequence.",
                       'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps), 'racedReuseIdleSeconds': reuse_gaps}})
    if a.healthy:
        expect.insert(0, {'kind': None, 'notes': 'healthy keep-alive reuse: every request answered, no race, no reset'})

    rel = x16.since(t0)
    meta = x16.meta_head(a, configured, conns, races, idle_gaps, expect)
    meta['facts'] = x16.wire_facts(a, conns, races, post_races, idle, retriedByNetHttp=len(retried))
    start = next((e for e in clog if e.get('event') == 'start'), {})
    meta['groundTruth'] = {
        'clientLog': {
            'library': 'Ruby Net::HTTP',
            'versions': start.get('versions'),
            'keepAliveTimeout': start.get('keepAliveTimeout'),
            'maxRetries': start.get('maxRetries'),
            'requests': len(reqs),
            'responses': len(responses),
            'errors': [{'captureTime': rel(e['sentAt']), 'port': e['port'], 'method': e['method'], 'uri': e['uri'], 'error': e['error'],
                        'message': e['message'], 'idleMeasured': e.get('idleMeasured'), 'gapAsked': e.get('gapAsked'),
                        'elapsedMs': e['elapsedMs'], 'netHttp': e['netHttp']} for e in errors],
            'retried': [{'captureTime': rel(e['sentAt']), 'failedOn': e['connects'][-2] if len(e['connects']) >= 2 else e['pooledPort'],
                         'retriedOn': e['connects'][-1], 'method': e['method'], 'uri': e['uri'], 'status': e.get('status'),
                         'idleMeasured': e.get('idleMeasured'), 'gapAsked': e.get('gapAsked'), 'elapsedMs': e['elapsedMs'],
                         'netHttp': e['netHttp']} for e in retried],
            'reconnectedAfterSeeingFin': [{'captureTime': rel(e['sentAt']), 'oldPort': e['pooledPort'], 'newPort': e['connects'][0],
                                           'method': e['method'], 'uri': e['uri'], 'idleMeasured': e.get('idleMeasured')}
                                          for e in eof_reconnects],
            'reconnectedAfterSeeingFinNote': ("Net::HTTP#begin_transport checks `wait_readable(0) && eof?` before each reuse: when the "
                                              "server's FIN has arrived it logs 'Conn close because of EOF', closes, and connects anew: no race."),
        },
        'serverLog': {
            'server': 'Rack app (x17r-app.ru) under Puma: one line per request it handled',
            'requests': len([e for e in slog if e.get('event') == 'request']),
            'statuses': {str(s): sum(1 for e in slog if e.get('status') == s) for s in sorted({e.get('status') for e in slog if e.get('event') == 'request'})},
        },
        'timesNote': x16.TIMES_NOTE,
    }
    x16.write_meta(a.meta, meta)
    print(f"x17r-meta: {a.scenario}: {len(conns)} connections, {wire_reqs} requests, {len(races)} races ({len(post_races)} POST, "
          f"{len(retried)} retried by Net::HTTP), race forms {sorted({c['race']['form'] for c in races.values()})}, idle closes "
          f"{idle_gaps[:1]}..{idle_gaps[-1:]}")


if __name__ == '__main__':
    main()
