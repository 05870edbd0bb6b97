#!/usr/bin/env python3
"""Meta writer of keepalive-race-inets (programs/x24e-lib.sh): Erlang/OTP's inets httpd raced by
Erlang's httpc (x24e-inets.escript httpc-lanes) and python requests (x17p-requests-lanes.py).
Neither client sends a request again. Built from the shared pieces, not copies: x16-meta.py's
capture reader (connections, race forms, findings, meta head and facts), x23r-meta.py's measure of
responses written as a head segment and a body segment (Nagle), and x20h-meta.py's
--idle-log check (every FIN httpd sent first on the wire has exactly one of its traced
handle_info(timeout, ...) "idle-timeout" lines, logged 0-50 ms before it) and Server-header summary.

Ground truth: each client error (httpc: {error, socket_closed_remotely}, logged with the port of
the profile's session the request went on; requests: ConnectionError, its urllib3 port) is a race
on the wire on that port, of the same method and URI, and every race on the wire is one of those;
no raced request reached do/1 on its raced connection; the clients' responses, do/1's lines and the
wire's responses agree in number; no request went on the wire twice. A race httpd closed on arrival
with RST, no FIN, must have its idle-timeout line just before that RST. Exit 1 (no meta) when they
disagree or with fewer than --need-races races (--need-post-races POST races, --need-per-lib races
of each client library).

Usage: x24e-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --client-log F --server-log F
         --configured JSON --description TEXT --software S... [--configured-notes TEXT]
         [--capture-side TEXT] [--need-races N] [--need-post-races N] [--need-per-lib N]
         [--header-note TEXT]
"""
import argparse
import copy
import json
import os
import statistics
import tempfile

import sibling

x20h = sibling.load('x20hmeta', 'x20h-meta.py')
x16 = x20h.x16
x23r = sibling.load('x23rmeta', 'x23r-meta.py')

SERVER = 'inets httpd'
LIBS = {'httpc': 'Erlang httpc', 'requests': 'python requests'}


ERROR_FIELDS = ('lib', 'port', 'method', 'uri', 'error', 'message', 'idleMeasured', 'gapAsked', 'elapsedMs')


def pick(e, capture_time, fields):
    """A client log line's FIELDS, with its time as seconds into the capture."""
    return {'captureTime': capture_time, **{k: e.get(k) for k in fields}}


def lib_name(e):
    return next(v for k, v in LIBS.items() if e.get('lib', '').startswith(k))


def outcome(e):
    if lib_name(e) == 'Erlang httpc':
        return (f"httpc:request/5 returned {e['message']} after an idle pause of {e.get('idleMeasured')} s (asked {e.get('gapAsked')} s); "
                "not sent again (httpc_handler answers the request it lost with socket_closed_remotely; only requests queued behind "
                "it are retried).")
    return (f"python requests raised {e['error']}: {e['message']!r} after an idle pause of {e.get('idleMeasured')} s "
            f"(asked {e.get('gapAsked')} s); not retried (max_retries 0).")


def idle_lines(a, rows, conns, races, problems):
    """x20h's idle-log check, with the lines of closes-on-arrival that ended in RST, no FIN (httpd closed
    with the request unread in the socket) checked here against their RST instead. A close on arrival
    with a FIN (the VM had already read the request into the connection process's mailbox, behind the
    timer's message, and dropped it) is x20h's check's: a server FIN first."""
    arrival = {p: c for p, c in races.items() if c['race']['form'] == 'closed-on-arrival' and c['serverFin'] is None}
    slog = x16.read_jsonl(a.server_log)
    on_arrival = {}
    for p, c in arrival.items():
        lines = [e for e in slog if e.get('event') == 'idle-timeout' and e.get('port') == p]
        rst = next((pk for pk in c['pk'] if pk['fromServer'] and pk['rst'] and pk['t'] >= c['race']['requestAt']), None)
        d = round((rst['epoch'] - lines[0]['t']) * 1000, 2) if len(lines) == 1 and rst else None
        if d is None or not 0 <= d <= 50:
            problems.append(f"closed-on-arrival race on port {p}: idle-timeout lines {lines}, close {rst and rst['frame']}")
        on_arrival[c['client']] = {'rstFrame': rst and rst['frame'], 'loggedMsBeforeRst': d}
    with tempfile.NamedTemporaryFile('w', suffix='.log', delete=False) as f:
        for e in slog:
            if not (e.get('event') == 'idle-timeout' and e.get('port') in arrival):
                f.write(json.dumps(e) + '\n')
    b = copy.copy(a)
    b.server_log = f.name
    try:
        out = x20h.idle_log_check(b, rows, conns, problems)
    finally:
        os.unlink(f.name)
    out['closedOnArrival'] = on_arrival
    return out


def main():
    ap = argparse.ArgumentParser(prog='x24e-meta.py')
    x16.add_common_arguments(ap)
    ap.add_argument('--need-per-lib', type=int, default=0)
    ap.add_argument('--header-note', default=None)
    a = ap.parse_args()
    configured = json.loads(a.configured)
    rows = x16.packets(a.capture)
    conns = x16.connections(rows, a.server_port)
    clog, slog = x16.read_jsonl(a.client_log), x16.read_jsonl(a.server_log)
    problems = []

    reqs, errors, retried, responses = x16.client_requests(clog)
    if retried:
        problems.append(f"{len(retried)} requests logged as retried: neither client retries")
    races = {p: c for p, c in conns.items() if c['race']}
    failed_on = {p: (e, 'error') for p, e in x16.error_ports(errors, problems).items()}
    x16.check_failures(failed_on, conns, races, problems)
    handled = [e for e in slog if e.get('event') == 'request']
    x16.check_app_never_saw(races, {(e['port'], e['uri']) for e in handled}, "httpd's do/1", problems)
    wire_reqs = x16.check_wire_counts(conns, len(responses), len(reqs), problems, who='clients')
    if len(handled) != len(responses):
        problems.append(f"httpd's do/1 logged {len(handled)} requests, the clients {len(responses)} responses")
    post_races = x16.post_races_or_problem(a, races, problems)
    per_lib = {v: sum(1 for p in races if p in failed_on and lib_name(failed_on[p][0]) == v) for v in LIBS.values()}
    if min(per_lib.values()) < a.need_per_lib:
        problems.append(f"races per client library {per_lib}; need {a.need_per_lib} each")
    idle_log = idle_lines(a, rows, conns, races, problems)
    idle, idle_gaps = x16.idle_closes(conns)
    print(f"x24e-meta: {len(conns)} connections, {wire_reqs} requests, {len(races)} races "
          f"({sorted(c['race']['form'] for c in races.values())}; {len(post_races)} POST; {per_lib}), {len(errors)} client errors, "
          f"idle closes {idle_gaps[:1]}..{idle_gaps[-1:]} (n={len(idle_gaps)}), idle-timeout lines {idle_log['count']} "
          f"(matched {idle_log['matchedServerFins']})")
    x16.refuse_if(problems, 'x24e-meta')

    kat = configured.get('inetsKeepAliveTimeout')
    expect = []
    for port in sorted(conns):
        c = conns[port]
        if not c['race']:
            expect.append(x16.clean_finding(c, SERVER))
            continue
        e = failed_on[port][0]
        notes = (f"{x16.race_what(c['race'], SERVER, f'keep_alive_timeout timer ({kat} s)')}. httpd's do/1 never saw it on this "
                 f"connection. {outcome(e)}")
        if c['race']['form'] == 'closed-on-arrival' and c['race']['closeWith'] == 'FIN':
            notes += (" (A FIN, not an RST, although the request had arrived: the VM had already read it from the socket into the "
                      "connection process's mailbox behind the timer's timeout message, which the process handled first: it stopped, "
                      "closed a socket with nothing unread, and the request was dropped.)")
        if not c['race']['idempotent']:
            notes += ' Non-idempotent method: a blind retry could duplicate it.'
        expect.append(x16.race_finding(c, notes, retried=False, clientError=e['error'], clientLibrary=lib_name(e)))
    from_start = sorted(i['idleFromResponseStart'] for i in idle)
    if races:
        reuse_gaps = sorted(c['race']['reuseIdleSeconds'] for c in races.values())
        expect.append(x23r.mismatch_expect(
            next(iter(conns.values()))['server'],
            f"inets httpd closes idle keep-alive connections after {statistics.median(idle_gaps):.3f} s (median of "
            f"{len(idle_gaps)} idle closes, {idle_gaps[0]}-{idle_gaps[-1]} s from the response's last byte; "
            f"{statistics.median(from_start)} s from its first byte: keep_alive_timeout {kat} s, a per-connection "
            "erlang:send_after timer armed when the response was handed to the socket, whose body segment Nagle "
            "held one round trip behind its head) while httpc (keep_alive_timeout "
            f"{configured.get('httpcKeepAliveTimeoutMs')} ms) and requests (no idle limit) reuse connections idle about "
            "as long",
            idle_gaps, reuse_gaps))

    rel = x16.since(rows[0]['epoch'])
    meta = x16.meta_head(a, configured, conns, races, idle_gaps, expect)
    meta['observed']['serverIdleCloseFromResponseStartSeconds'] = {
        'min': from_start[0], 'median': statistics.median(from_start), 'max': from_start[-1], 'n': len(from_start)} if from_start else None
    lags = x23r.body_lags_ms(conns)
    meta['observed']['responseBodySegmentLagMs'] = x23r.spread(lags)
    meta['observed']['idleCloseNote'] = (
        "httpd writes a response's head and body in two gen_tcp:send calls (httpd_response: send_header, then send_body) on a "
        f"socket without nodelay, so Nagle holds the small body segment until the head is ACKed ({len(lags)} responses in two "
        f"segments, body {x23r.spread(lags)['median'] if lags else None} ms behind the head: one round trip). The keep_alive_timeout "
        "timer starts once both sends have returned (head on the wire): serverIdleCloseSeconds (last response byte to FIN) are "
        "about one round trip shorter than keep_alive_timeout; serverIdleCloseFromResponseStartSeconds (first response byte to "
        "FIN) show the timer itself.")
    meta['facts'] = x16.wire_facts(a, conns, races, post_races, idle, racesByClientLibrary=per_lib)
    new_conn = [e for e in responses if e.get('kind') == 'reuse' and e.get('port') != e.get('prevPort')]
    start = next((e for e in clog if e.get('event') == 'start' and 'httpcOptions' in e), {})
    meta['groundTruth'] = {
        'clientLog': {
            'libraries': sorted({e['lib'] for e in reqs}),
            'httpcOptions': start.get('httpcOptions'),
            'requests': len(reqs),
            'responses': len(responses),
            'errors': [pick(e, rel(e['sentAt']), ERROR_FIELDS) for e in errors],
            'reusesOnNewConnection': [dict(pick(e, rel(e['t']), ('lib', 'idleMeasured', 'method', 'uri')), oldPort=e.get('prevPort'),
                                           newPort=e.get('port')) for e in new_conn],
            'reusesOnNewConnectionNote': ("a reuse that went on a new connection because the client had seen httpd's FIN first: httpc's "
                                          "handler process (active once) gets tcp_closed while idle and stops, its session leaves the "
                                          "profile's table; urllib3 checks is_connection_dropped before reuse. No race."),
        },
        'serverLog': x23r.server_log(SERVER, handled, rows, a.server_port, idle_log, a.header_note),
        'timesNote': x16.TIMES_NOTE,
    }
    x16.write_meta(a.meta, meta)
    print(f"x24e-meta: {a.scenario}: written")


if __name__ == '__main__':
    main()
