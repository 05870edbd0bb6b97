#!/usr/bin/env python3
"""Meta writer of keepalive-race-jdk-httpserver (programs/x23j-lib.sh): the capture is rebuilt with
x16-meta.py's reader (requests, responses, the server's idle-close FIN, a request sent after it, RSTs;
race forms crossing, stale-reuse, closed-on-arrival) and checked against the programs' own logs:

- the clients' log (x23j-Lanes.java: java.net.http.HttpClient; x17p-requests-lanes.py: requests; one
  file, the same events): every client error is a race on the wire on the port it was sent on (same
  method and URI); a HttpClient "reuse" answered on another port than its pooled connection's is a
  retry when that pooled connection raced with the same request on the wire (the same URI then sent
  again and answered on the new port), else the pool had seen the server's FIN first; every race on
  the wire is one of the two; the client's responses and requests (+ retries) are the wire's;
- the server's log (x23j-Server.java): the application never saw a raced request on its raced
  connection, it handled as many requests as the clients got responses, and every FIN the server sent
  first is one of its own "Closed idle connection" events (the idle-timeout task logs right after
  closing: at most 30 ms after the FIN left), and every such event a server FIN;
- the idle timer: each idle close came idleInterval to idleInterval + clockTick (+20 ms) after the
  response's first segment (the server writes headers and body apart and Nagle holds the body for
  one RTT, while its idle clock starts when the exchange ends: see responseWriteNote), and the FINs fall on one tick grid (a fitted period and phase; residuals).

Exit 1 (no meta) when they disagree, or with fewer than --need-races races or --need-retries of them
retried by HttpClient.

Usage: x23j-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --server-log F --client-log F
         --configured JSON --description TEXT --software S... --server-name NAME --idle-interval S
         --clock-tick-ms MS [--need-races N] [--need-retries N] [--configured-notes TEXT] [--capture-side TEXT]
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys

_spec = importlib.util.spec_from_file_location('x20hmeta', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'x20h-meta.py'))
x20h = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x20h)
x16 = x20h.x16

JAVA = 'java.net.http.HttpClient'


def retries_and_failures(clog, conns, problems):
    """(failed_on: port -> (event, 'error'|'retried'), the retried events, the reuses on a new connection
    because the pool had seen the FIN)."""
    errors = [e for e in clog if e.get('event') == 'error']
    failed_on = {p: (e, 'error') for p, e in x16.error_ports(errors, problems).items()}
    retried, moved = [], []
    for e in clog:
        if e.get('event') != 'response' or e.get('kind') != 'reuse' or e.get('port') == e.get('prevPort'):
            continue
        old = conns.get(e.get('prevPort'))
        if e['lib'].startswith(JAVA) and old and old['race'] and old['race']['uri'] == e['uri']:
            new = conns.get(e['port'])
            if new is None or not any(r['uri'] == e['uri'] for r in new['requests']):
                problems.append(f"retry of {e['uri']} not on the wire on port {e['port']}")
                continue
            again = next(r for r in new['requests'] if r['uri'] == e['uri'])
            e['retryFrame'], e['retryAfterRaceMs'] = again['frame'], round((again['t'] - old['race']['requestAt']) * 1000, 1)
            failed_on[e['prevPort']] = (e, 'retried')
            retried.append(e)
        else:
            moved.append(e)
    return errors, failed_on, retried, moved


def idle_timer(conns, slog, interval, tick_ms, problems):
    """The server's idle closes against its own 'idle-closed' events and its timer's tick grid."""
    fins = sorted((c['serverFin'] for c in conns.values()
                   if c['serverFin'] is not None and (c['clientFin'] is None or c['clientFin']['t'] > c['serverFin']['t'])),
                  key=lambda p: p['epoch'])
    events = sorted(e['t'] for e in slog if e.get('event') == 'idle-closed')
    if len(events) != len(fins):
        problems.append(f"{len(events)} 'Closed idle connection' events, {len(fins)} server FINs first on the wire")
    lags = []
    for fin in fins:
        near = [t for t in events if -0.002 <= t - fin['epoch'] <= 0.030]
        if not near:
            problems.append(f"server FIN (frame {fin['frame']}) with no 'Closed idle connection' event within 30 ms after it")
            continue
        lags.append(round((near[0] - fin['epoch']) * 1000, 2))
        events.remove(near[0])
    idle = sorted(c['idleClose']['idleFromLastByte'] for c in conns.values() if c['idleClose'])
    idle_start = sorted(c['idleClose']['idleFromResponseStart'] for c in conns.values() if c['idleClose'])
    lo, hi = interval, interval + tick_ms / 1000 + 0.020
    for c in conns.values():
        if c['idleClose'] and not lo - 0.002 <= c['idleClose']['idleFromResponseStart'] <= hi:
            problems.append(f"{c['client']}: idle close {c['idleClose']['idleFromResponseStart']} s after the response began, outside {lo}-{hi} s")
    # tick grid: FIN times as k ticks from the first, fitted (least squares) for the timer's real period
    tick = tick_ms / 1000
    e0 = fins[0]['epoch'] if fins else 0
    ks = [round((f['epoch'] - e0) / tick) for f in fins]
    grid = None
    if len(set(ks)) >= 2:
        mk, me = statistics.mean(ks), statistics.mean(f['epoch'] - e0 for f in fins)
        period = sum((k - mk) * (f['epoch'] - e0 - me) for k, f in zip(ks, fins)) / sum((k - mk) ** 2 for k in ks)
        res = [(f['epoch'] - e0) - (me + (k - mk) * period) for k, f in zip(ks, fins)]
        same_tick = sum(1 for i in range(1, len(ks)) if ks[i] == ks[i - 1])
        grid = {'fittedPeriodMs': round(period * 1000, 3), 'residualMs': {'min': round(min(res) * 1000, 2), 'max': round(max(res) * 1000, 2)},
                'ticksSpanned': ks[-1] - ks[0], 'finsSharingATickWithThePrevious': same_tick,
                'note': "each server FIN's time as a whole number of timer ticks from the first FIN; period fitted by least squares "
                        "(java.util.Timer.schedule is fixed-delay, so the real period is the tick plus each run's own time)"}
        if max(abs(r) for r in res) > 0.015:
            problems.append(f"server FINs off the timer's tick grid by up to {max(abs(r) for r in res) * 1000:.1f} ms")
    return {'closedIdleEvents': len([e for e in slog if e.get('event') == 'idle-closed']), 'matchedServerFins': len(lags),
            'eventAfterFinMs': {'min': min(lags), 'median': statistics.median(lags), 'max': max(lags)} if lags else None,
            'idleFromLastByteSeconds': {'min': idle[0], 'median': statistics.median(idle), 'max': idle[-1], 'spreadMs': round((idle[-1] - idle[0]) * 1000, 1)}
            if idle else None,
            'idleFromResponseStartSeconds': {'min': idle_start[0], 'median': statistics.median(idle_start), 'max': idle_start[-1],
                                             'spreadMs': round((idle_start[-1] - idle_start[0]) * 1000, 1)} if idle else None,
            'responseWriteNote': ("the server writes a response in two writes (headers at sendResponseHeaders, then the body) with "
                                  "TCP_NODELAY off (sun.net.httpserver.nodelay false by default): Nagle holds the small body segment "
                                  "until the client ACKs the headers, one RTT (~10 ms here) later, while the exchange has already "
                                  "ended and the idle clock started (markIdle: System.currentTimeMillis() when the connection is "
                                  "re-registered). So the idle interval runs from the response's first segment (its headers), and "
                                  "measured from the last byte on the wire an idle close can come up to one RTT before idleInterval"),
            'expectedBandSeconds': [interval, round(interval + tick, 3)], 'tickGrid': grid,
            'note': "every FIN the server sent first is one of the server's own 'Closed idle connection' events (logged by the "
                    "idle-timeout task right after closing the channel, so it no longer names the peer: matched by time)"}


def race_notes(c, e, how, server_name):
    r = c['race']
    what = x16.race_what(r, server_name, closer='idle-timeout task')
    if how == 'retried':
        outcome = (f"{e['lib']} retried it by itself on a new connection (port {e['port']}, the same request again in frame "
                   f"{e['retryFrame']}, {e['retryAfterRaceMs']} ms after the raced one) and got {e['status']}: the caller saw no error "
                   f"(an idempotent GET; HttpClient retries once). Idle pause {e.get('idleMeasured')} s (asked {e.get('gapAsked')} s).")
    else:
        retry = ("HttpClient does not retry a POST (not idempotent)" if e['lib'].startswith(JAVA) else "requests' max_retries is 0")
        outcome = (f"The client ({e['lib']}) got {e['error']}: {e['message']!r} after an idle pause of {e.get('idleMeasured')} s "
                   f"(asked {e.get('gapAsked')} s); not retried ({retry}).")
    notes = f"{what}. {server_name}'s application never saw it on that connection. {outcome}"
    if not r['idempotent']:
        notes += ' Non-idempotent method: a blind retry could duplicate it.'
    return notes


def main(argv):
    ap = argparse.ArgumentParser(prog='x23j-meta.py')
    x16.add_capture_arguments(ap)
    ap.add_argument('--client-log', required=True)
    ap.add_argument('--server-name', required=True)
    ap.add_argument('--idle-interval', type=float, required=True)
    ap.add_argument('--clock-tick-ms', type=float, required=True)
    ap.add_argument('--need-races', type=int, default=1)
    ap.add_argument('--need-retries', type=int, default=0, help="races HttpClient retried by itself (GETs) wanted")
    a = ap.parse_args(argv)
    configured = json.loads(a.configured)
    rows = x16.packets(a.capture)
    t0, conns = rows[0]['epoch'], x16.connections(rows, a.server_port)
    clog, slog = x16.read_jsonl(a.client_log), x16.read_jsonl(a.server_log)
    problems = []
    races = {p: c for p, c in conns.items() if c['race']}
    responses = [e for e in clog if e.get('event') == 'response']
    errors, failed_on, retried, moved = retries_and_failures(clog, conns, problems)
    x16.check_failures(failed_on, conns, races, problems, describe=lambda e: e.get('error', 'retried'))
    seen = [e for e in slog if e.get('event') == 'request']
    x16.check_app_never_saw(races, {(e['port'], e['uri']) for e in seen}, a.server_name, problems)
    wire_reqs = x16.check_wire_counts(conns, len(responses), len(responses) + len(errors), problems, retries=len(retried))
    if len(seen) != len(responses):
        problems.append(f"the server logged {len(seen)} requests, the clients {len(responses)} responses")
    if len(races) < a.need_races or len(retried) < a.need_retries:
        problems.append(f"only {len(races)} races ({len(retried)} retried by HttpClient); need {a.need_races} ({a.need_retries} retried)")
    timer = idle_timer(conns, slog, a.idle_interval, a.clock_tick_ms, problems)
    idle, idle_gaps = x16.idle_closes(conns)
    print(f"x23j-meta: {len(conns)} connections, {wire_reqs} requests, {len(races)} races "
          f"({sorted(c['race']['form'] for c in races.values())}), {len(errors)} client errors, {len(retried)} retried, idle closes "
          f"{idle_gaps[:1]}..{idle_gaps[-1:]} (n={len(idle_gaps)}), timer {timer['tickGrid']}", file=sys.stderr)
    x16.refuse_if(problems, 'x23j-meta')

    server = next(iter(conns.values()))['server']
    expect = []
    retry_on = {e['port']: e for e in retried}
    for port in sorted(conns):
        c = conns[port]
        if port in retry_on:
            e = retry_on[port]
            expect.append({'kind': 'retried-request', 'client': c['client'], 'server': c['server'],
                           'notes': f"{e['method']} {e['uri']} (frame {e['retryFrame']}): {e['lib']}'s own retry on a new connection, "
                                    f"{e['retryAfterRaceMs']} ms after the same request raced the server's idle close on port {e['prevPort']} "
                                    f"(RST, frame {conns[e['prevPort']]['race']['rstFrame']}); answered {e['status']}, the caller saw no error.",
                           'evidence': {'failedOn': conns[e['prevPort']]['client'], 'retryFrame': e['retryFrame'],
                                        'afterFailureMs': e['retryAfterRaceMs'], 'retryStatus': e['status']}})
        if not c['race']:
            if port not in retry_on:
                expect.append(x16.clean_finding(c, a.server_name))
            continue
        e, how = failed_on[port]
        ev = {'retried': how == 'retried', 'clientLibrary': e['lib']}
        if how == 'retried':
            ev.update(retryPort=e['port'], retryFrame=e['retryFrame'], clientOutcome=f"{e['status']} (after the retry)")
        else:
            ev.update(clientError=e['error'], clientMessage=e['message'])
        expect.append(x16.race_finding(c, race_notes(c, e, how, a.server_name), **ev))
    if races:
        reuse_gaps = sorted(c['race']['reuseIdleSeconds'] for c in races.values())
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                       'notes': f"{a.server_name} closes idle connections {timer['idleFromResponseStartSeconds']['min']}-"
                                f"{timer['idleFromResponseStartSeconds']['max']} s after the last response's first segment "
                                f"({idle_gaps[0]}-{idle_gaps[-1]} s after its last byte, which Nagle held one RTT; median "
                                f"{statistics.median(idle_gaps):.3f} s over {len(idle_gaps)} idle closes): sun.net.httpserver.idleInterval "
                                f"= {a.idle_interval:g} s checked by a timer task every clockTick = {a.clock_tick_ms:g} ms, so the closes are "
                                f"ticked and spread over one tick, not a fixed delay. The clients' pools keep connections longer "
                                f"(HttpClient: jdk.httpclient.keepalive.timeout 1200 s; requests: no idle limit) and reuse them after about "
                                f"as long: raced reuses at {reuse_gaps[0]}-{reuse_gaps[-1]} s server side. The races above are the consequence.",
                       'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps),
                                    'serverIdleCloseBandSeconds': [idle_gaps[0], idle_gaps[-1]], 'racedReuseIdleSeconds': reuse_gaps}})

    rel = x16.since(t0)

    class A:
        pass
    h = A()
    h.scenario, h.description, h.software, h.configured_notes, h.healthy, h.capture_side, h.capture = \
        a.scenario, a.description, a.software, a.configured_notes, False, a.capture_side, a.capture
    meta = x16.meta_head(h, configured, conns, races, idle_gaps, expect)
    meta['facts'] = x16.wire_facts(h, conns, races, [c for c in races.values() if c['race']['method'] == 'POST'], idle,
                                   retriedByClient=len(retried))
    meta['groundTruth'] = {
        'clientLog': {
            'libraries': sorted({e['lib'] for e in clog if 'lib' in e}),
            'requests': len(responses) + len(errors),
            'responses': len(responses),
            'errors': [{'captureTime': rel(e['sentAt']), 'lib': e['lib'], 'port': e['port'], 'method': e['method'], 'uri': e['uri'],
                        'error': e['error'], 'message': e['message'], 'rootCause': e.get('rootCause'), 'causes': e.get('causes'),
                        'idleMeasured': e.get('idleMeasured'), 'gapAsked': e.get('gapAsked'), 'elapsedMs': e['elapsedMs']} for e in errors],
            'retriedByHttpClient': [{'captureTime': rel(e['t']), 'racedPort': e['prevPort'], 'retryPort': e['port'], 'method': e['method'],
                                     'uri': e['uri'], 'status': e['status'], 'retryFrame': e['retryFrame'],
                                     'retryAfterRaceMs': e['retryAfterRaceMs'], 'elapsedMs': e['elapsedMs'],
                                     'idleMeasured': e.get('idleMeasured')} for e in retried],
            'retriedNote': ("java.net.http.HttpClient sent a GET that failed on its reused connection again on a new connection by "
                            "itself and returned that response: the caller logged no error (found on the wire: the raced request's URI "
                            "again on a new connection)"),
            'reusesOnNewConnection': [{'captureTime': rel(e['t']), 'lib': e['lib'], 'idleMeasured': e.get('idleMeasured'),
                                       'oldPort': e.get('prevPort'), 'newPort': e.get('port'), 'method': e['method'], 'uri': e['uri']}
                                      for e in moved],
            'reusesOnNewConnectionNote': ("a reuse that went on a new connection with no race: the pool had seen the server's FIN first "
                                          "(HttpClient's pool watches idle connections for EOF; urllib3 checks is_connection_dropped)"),
        },
        'serverLog': {'server': a.server_name, 'requestsHandled': len(seen), 'idleTimer': timer,
                      'serverHeaders': x20h.server_headers(rows, a.server_port),
                      'serverHeadersNote': "the JDK HttpServer sends no Server header: its responses carry Date, Content-type (set by "
                                           "the handler) and Content-length only"},
        'timesNote': x16.TIMES_NOTE,
    }
    x16.write_meta(a.meta, meta)
    print(f"x23j-meta: {a.scenario}: written")


if __name__ == '__main__':
    main(sys.argv[1:])
