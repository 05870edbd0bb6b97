#!/usr/bin/env python3
"""Meta writer for the waitress / CherryPy (cheroot) samples with PHP curl and Perl LWP clients
(keepalive-race-waitress-php-curl, keepalive-race-cherrypy-lwp, healthy-cherrypy-php-curl-lwp).

Rebuilds each connection of the capture with x16-meta.py's tshark reader (requests, responses, the
server's idle-close FIN, a request sent after it, RSTs; see there for the race forms), checks it
against the clients' JSON-lines logs (x19w-php-curl-client.php, x19w-lwp-client.pl: one line per
request) and the server's log (x19w-server.py: one line per request the WSGI app saw and one per idle
close, logged from inside waitress's / cheroot's own idle-close code), and writes
samples/<scenario>.meta.json only when they agree. Exit 1 (no meta) when they disagree, or when
fewer than --need-races connections raced (or fewer POST races than asked): the recorder then
records again.

Ground truth used:
  php-curl: a request whose CURLOPT_VERBOSE output says "Connection died, retrying a fresh connect"
    was sent on the kept connection (pooledPort), failed before any response byte, and libcurl sent
    it again on a new connection (port) by itself: `retried`. A request with curl_errno failed on
    the kept connection (or on its new one when libcurl had opened one). "seems to be dead": libcurl's
    pre-reuse check found the server's FIN already there and connected anew (no race).
  lwp: a request answered by LWP's own 500 (Client-Warning: Internal response) failed on `port`
    (LWP never retries). abandonedPooled: LWP found the cached connection readable (the FIN had
    arrived) and connected anew (no race).
Every race on the wire must be one of those failures and every failure a race on the wire; a raced
request never reaches the WSGI app on its raced connection; every server idle close in the server's
log is a FIN (or, with the request unread, RST) on the wire.

Usage: x19w-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --client-log F --server-log F
         --configured JSON [--configured-notes TEXT] --description TEXT --software S... [--healthy]
         [--need-races N] [--need-post-races N] [--capture-side TEXT] --server-name NAME
"""
import argparse
import importlib.util
import os
import statistics

_spec = importlib.util.spec_from_file_location('x16meta', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'x16-meta.py'))
x16 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x16)

LIB_NAME = {'php-curl': 'PHP curl (libcurl)', 'lwp': 'Perl LWP::UserAgent'}


def failure_port(e):
    """The local port of the connection a failed or retried request failed on (None: not a failure)."""
    if e['lib'] == 'php-curl':
        if e.get('retried'):
            return e['pooledPort']
        if e['event'] == 'error':
            return e['pooledPort'] if e.get('reusedPooled') else e['port']
        return None
    return e['port'] if e['event'] == 'error' else None


def main():
    ap = argparse.ArgumentParser()
    x16.add_common_arguments(ap)
    ap.add_argument('--server-name', required=True)
    a = ap.parse_args()

    configured, t0, conns, clog, slog = x16.read_inputs(a)
    problems = []

    reqs, errors, retried, responses = x16.client_requests(clog)
    races = {p: c for p, c in conns.items() if c['race']}
    failed_on = {}
    for e in reqs:
        p = failure_port(e)
        if p is not None:
            failed_on[p] = (e, 'retried' if e.get('retried') else 'error')
    x16.check_failures(failed_on, conns, races, problems, describe=lambda e: e.get('message') or e.get('curl'),
                       missing='the client saw neither an error nor a retry')
    app_reqs = [e for e in slog if e.get('event') == 'request']
    x16.check_app_never_saw(races, {(e['port'], e['uri']) for e in app_reqs}, 'the WSGI app', problems)
    wire_reqs = x16.check_wire_counts(conns, len(responses), len(reqs), problems, who='clients', retries=len(retried))
    if len(app_reqs) != len(responses):
        problems.append(f'the WSGI app logged {len(app_reqs)} requests, the clients got {len(responses)} responses')
    # every idle close the server logged is a close of that connection on the wire, from the server, first
    srv_closes = [e for e in slog if e.get('event') == 'idle-close']
    for e in srv_closes:
        c = conns.get(e['port'])
        if c is None or not (c['serverFin'] or any(s == 'server' for s, _ in c['rsts'])):
            problems.append(f"server logged an idle close of port {e['port']}, not on the wire")
    if a.healthy and (errors or races or retried or any(c['rsts'] for c in conns.values())):
        problems.append('healthy sample with an error, a race, a retry or a reset')
    post_races = x16.post_races_or_problem(a, races, problems)
    x16.refuse_if(problems, 'x19w-meta')

    server = next(iter(conns.values()))['server']
    name = a.server_name
    idle, idle_gaps = x16.idle_closes(conns)
    port_client = {p: c['client'] for p, c in conns.items()}
    retry_on = {}
    expect = []
    for port in sorted(conns):
        c = conns[port]
        r = c['race']
        if not r:
            continue
        e, how = failed_on[port]
        what = x16.race_what(r, name, closer='idle check')
        if how == 'retried':
            retry_on[e['port']] = (e, port)
            outcome = (f"libcurl ('Connection died, retrying a fresh connect') sent it again by itself on a new connection "
                       f"({port_client.get(e['port'], e['port'])}), answered {e.get('status')}: PHP saw no error"
                       + (' - a POST replayed without the application asking (libcurl retries any request that got no response byte '
                          'on a reused connection, whatever its method).' if e['method'] == 'POST' else '.'))
        elif e['lib'] == 'php-curl':
            outcome = f"curl_exec failed: curl_errno {e['errno']} ({e['error']}): {e['message']!r}; not retried."
        else:
            outcome = (f"LWP::UserAgent returned its own {e['message']!r} (Client-Warning: Internal response) after an idle pause of "
                       f"{e.get('idleMeasured')} s; LWP does not retry.")
        notes = f"{what}. The WSGI app never saw it on this connection. {outcome}"
        ev = {'retried': how == 'retried', 'clientError': e.get('message') if how == 'error' else None}
        if how == 'retried':
            ev['retriedOn'] = port_client.get(e['port'])
        expect.append(x16.race_finding(c, notes, **ev))
    for port in sorted(conns):
        c = conns[port]
        if port in retry_on:
            e, old = retry_on[port]
            expect.append({'kind': 'retried-request', 'client': c['client'], 'server': c['server'],
                           'notes': f"libcurl's automatic retry: {e['method']} {e['uri']} sent again on this new connection after it failed on "
                                    f"{port_client.get(old)} (no response byte on a reused connection: the keep-alive race there); "
                                    f"answered {e.get('status')}." + (" Later this connection raced too (keepalive-race above)." if c['race'] else '')})
            continue
        if not c['race']:
            expect.append(x16.clean_finding(c, name))
    srv_idle = sorted(round(e['idle'], 4) for e in srv_closes)
    if not a.healthy and races:
        reuse_gaps = sorted(r['race']['reuseIdleSeconds'] for r in races.values())
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                       'notes': f"{name} closes idle connections after {idle_gaps[0]}-{idle_gaps[-1]} s on the wire (median "
                                f"{statistics.median(idle_gaps):.3f} s, {len(idle_gaps)} idle closes): {configured.get('serverIdleNote')}; the clients "
                                f"keep connections longer and reuse them after about that idle time (raced reuses at {reuse_gaps[0]}-{reuse_gaps[-1]} s "
                                "server side). The races above are the consequence.",
                       'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps),
                                    'serverIdleCloseRangeSeconds': [idle_gaps[0], idle_gaps[-1]],
                                    'racedReuseIdleSeconds': reuse_gaps}})
    if a.healthy:
        expect.insert(0, {'kind': None, 'notes': 'healthy keep-alive reuse: every request answered, no race, no reset'})

    rel = x16.since(t0)
    meta = x16.meta_head(a, configured, conns, races, idle_gaps, expect)
    meta['facts'] = x16.wire_facts(a, conns, races, post_races, idle, retriedByLibcurl=len(retried))
    starts = [e for e in clog if e.get('event') == 'start']
    meta['groundTruth'] = {
        'clientLog': {
            'libraries': sorted({LIB_NAME[e['lib']] for e in starts}),
            'versions': {e['lib']: e.get('versions') for e in starts},
            'lanes': len(starts),
            'requests': len(reqs),
            'responses': len(responses),
            'errors': [{'captureTime': rel(e['sentAt']), 'lib': e['lib'], 'port': failure_port(e), 'method': e['method'], 'uri': e['uri'],
                        'error': e.get('error'), 'message': e.get('message'), 'idleMeasured': e.get('idleMeasured'),
                        'gapAsked': e.get('gapAsked'), 'elapsedMs': e['elapsedMs'], 'curl': e.get('curl')} for e in errors],
            'retried': [{'captureTime': rel(e['sentAt']), 'lib': e['lib'], 'failedOn': e['pooledPort'], 'retriedOn': e['port'],
                         'method': e['method'], 'uri': e['uri'], 'status': e.get('status'), 'idleMeasured': e.get('idleMeasured'),
                         'gapAsked': e.get('gapAsked'), 'elapsedMs': e['elapsedMs'], 'curl': e.get('curl')} for e in retried],
            'reconnectedAfterSeeingFin': [{'captureTime': rel(e['sentAt']), 'lib': e['lib'], 'oldPort': e['pooledPort'], 'newPort': e['port'],
                                           'method': e['method'], 'uri': e['uri'], 'idleMeasured': e.get('idleMeasured')}
                                          for e in reqs if e.get('deadBeforeReuse') or e.get('abandonedPooled')],
            'reconnectedAfterSeeingFinNote': ("Both clients check a kept connection before reusing it: libcurl polls it ('Connection N seems to "
                                              "be dead', 'Closing connection N') and LWP::Protocol::http drops it when can_read(0) is true; when "
                                              "the server's FIN has already arrived they connect anew: no race. Only a request sent while the "
                                              "FIN is still in flight (within about one RTT) races."),
        },
        'serverLog': {
            'server': f"WSGI app under {name} (x19w-server.py): one line per request it handled, one per idle close (from inside the server's idle-close code)",
            'requests': len(app_reqs),
            'statuses': {str(s): sum(1 for e in app_reqs if e['status'] == s) for s in sorted({e['status'] for e in app_reqs})},
            'idleCloses': len(srv_closes),
            'idleCloseIdleSeconds': srv_idle,
            'idleCloseIdleNote': ("idle: the server's own clock, from its last-activity stamp (waitress: last_activity, set on the last send/recv; "
                                  "cheroot: last_used, set when the worker put the connection back after the response) to its idle check"),
        },
        'timesNote': x16.TIMES_NOTE,
    }
    x16.write_meta(a.meta, meta)
    print(f"x19w-meta: {a.scenario}: {len(conns)} connections, {wire_reqs} requests, {len(races)} races ({len(post_races)} POST, "
          f"{len(retried)} retried by libcurl, {len(errors)} client errors), race forms {sorted({c['race']['form'] for c in races.values()})}, "
          f"idle closes {idle_gaps[:1]}..{idle_gaps[-1:]}")


if __name__ == '__main__':
    main()
