#!/usr/bin/env python3
"""Meta writer of the round-22p samples (programs/x22p-lib.sh): lighttpd 1.4.69 mod_proxy as a reverse
proxy, built on x20n-meta.py (imported, not copied: its leg reader, capture-gap check, curl and backend
log readers, meta head, and the request matching and checks it shares with the tinyproxy samples:
timeout_arguments, client_requests, unanswered_backend, dead_attempts, take_attempt, other_connections ...).

x22p-meta.py SCENARIO --mode gateway|connect ...
  gateway: gateway-timeout-lighttpd (a backend that reads /hang... requests and never answers);
  connect: connect-timeout-lighttpd (/x/ goes to a backend port whose SYNs are dropped).
Ground truth: lighttpd's error log at proxy.debug = 1 ("read timeout on socket: tcp:H:P (fd: N)",
"establishing connection failed: socket: tcp:H:P: Connection timed out", which disables the host for its
disable-time: a request then is answered 503 at once with no connection attempt and no log line; "all
handlers for URI on PREFIX are down." when a failed request finds no other host; "gw-server re-enabled"),
its access log (client port, request, status, %D duration), curl's -w
lines and the backend's request log (client port, method, URI). Every request is matched by URI to its
exchange on both legs; exit 1 (no meta) when they disagree, the capture lost a packet, or with fewer
than --need timeouts.
"""
import argparse
import json
import os
import re
import statistics
import sys

import sibling

x20n = sibling.load('x20nmeta', 'x20n-meta.py')
x16 = x20n.x16

ACCESS = re.compile(r'^(\S+) (\d+) \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d+) (\S+) (\d+)$')
ERR = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d): \(([^)]+)\) (.*)$')


def access_log(path):
    out = []
    for line in open(path):
        m = ACCESS.match(line.strip())
        if not m:
            raise SystemExit(f'x22p-meta: access log line not understood: {line.strip()}')
        out.append({'clientPort': int(m.group(2)), 'time': m.group(3), 'method': m.group(4), 'uri': m.group(5), 'status': int(m.group(7)),
                    'bytes': m.group(8), 'durationUs': int(m.group(9))})
    return out


def error_log(path):
    events = []
    for line in open(path):
        m = ERR.match(line.strip())
        if not m:
            continue
        t, where, msg = m.groups()
        kind = None
        if msg.startswith('read timeout on socket'):
            kind = 'read-timeout'
        elif msg.startswith('establishing connection failed') and 'timed out' in msg:
            kind = 'connect-timed-out'
        elif msg.startswith('all handlers for'):
            kind = 'all-handlers-down'
        elif msg.startswith('gw-server re-enabled'):
            kind = 're-enabled'
        elif 'timeout' in msg.lower() or 'failed' in msg or 'disabled' in msg or 'down' in msg:
            kind = 'other'
        if kind:
            events.append({'time': t, 'source': where, 'kind': kind, 'line': line.strip()})
    return events


def main(argv):
    ap = argparse.ArgumentParser(prog='x22p-meta.py')
    x20n.common_arguments(ap)
    x20n.timeout_arguments(ap, ['--error-log', '--access-log'], "the proxy.server host's read-timeout / connect-timeout (s)")
    a = ap.parse_args(argv)
    rows, downs, ups, dead = x20n.timeout_legs(a)
    acc = access_log(a.access_log)
    errs = error_log(a.error_log)
    curls = x20n.curl_log(a.curl_log)
    seen = x20n.backend_log(a.backend_log)
    problems = x20n.gap_problems(a.capture)

    timeouts, instant, expect, used_down, used_up = [], [], [], set(), set()
    for e, uri, code, dp, dc, dr, dresp in x20n.client_requests(curls, downs, problems, used_down):
        al = [x for x in acc if x['uri'] == uri]
        if len(al) != 1 or al[0]['clientPort'] != dp or al[0]['status'] != code or e['port'] != dp:
            problems.append(f'{uri}: access log {al} vs client port {dp} / curl {e}')
            continue
        al = al[0]
        if dresp is None or dresp['status'] != code:
            problems.append(f'{uri}: curl {code}, wire {dresp and dresp["status"]}')
            continue
        if code == 200:
            x20n.answered_backend(ups, uri, problems, used_up)
            continue
        fin = dc['serverFin']
        info = x20n.request_info(e, dc, dr, status=dresp['status'], clientResponseFrame=dresp['frame'],
                                 proxyAnsweredAfter=round(dresp['t'] - dr['t'], 4),
                                 proxyClosedClientConnection=bool(fin and fin['t'] >= dresp['t']),
                                 proxyClientFinFrame=fin['frame'] if fin and fin['t'] >= dresp['t'] else None,
                                 clientFinFrame=dc['clientFin']['frame'] if dc['clientFin'] else None)
        info['accessLog'] = f"{al['clientPort']} \"{al['method']} {uri}\" {al['status']} {al['durationUs']} us"
        if a.mode == 'gateway':
            if code != 504:
                problems.append(f'{uri}: expected 504, got {code}')
                continue
            u = x20n.unanswered_backend(ups, uri, problems, used_up)
            if u is None:
                continue
            up, uc, ur, pfin = u
            bl = [x for x in seen if x.get('url') == uri]
            if len(bl) != 1 or bl[0]['port'] != up:
                problems.append(f'{uri}: backend log {bl} vs backend-leg port {up}')
            info.update(x20n.backend_close_info(uc, ur, pfin))
            info.update({'backendRstFrames': [p['frame'] for s, p in uc['rsts']],
                         'backendApplicationSaw': f"{bl[0]['method']} {bl[0]['url']} from port {bl[0]['port']}" if bl else None,
                         'backendFinAfterErrorMs': x20n.ms(pfin['t'] - dresp['t'])})
            timeouts.append(info)
            cfin = dc['clientFin']
            if cfin is not None and (fin is None or cfin['t'] < fin['t']):
                keep = (f"kept the client connection open (no Connection: close): curl closed it (FIN, frame {cfin['frame']})"
                        + (f" and lighttpd's FIN followed (frame {fin['frame']})" if fin else ''))
            else:
                keep = f"closed the client connection (FIN, frame {fin['frame']})"
            expect.append({'kind': 'gateway-timeout', 'client': dc['client'], 'server': dc['server'],
                           'notes': f"{dr['method']} {uri} (frame {dr['frame']}): lighttpd forwarded it at once (backend connection {uc['client']}), "
                                    f"the backend never answered; {info['proxyAnsweredAfter']} s later lighttpd's read-timeout ({a.timeout:g} s, "
                                    "checked on its once-a-second tick with whole-second stamps) fired: it logged \"read timeout on socket\", "
                                    f"closed the backend connection (FIN, frame {pfin['frame']}) and answered 504 Gateway Timeout "
                                    f"(frame {dresp['frame']}, Server: lighttpd/1.4.69), then {keep}.",
                           'evidence': info})
            expect.append(x20n.backend_unanswered_expect('lighttpd', 'read-timeout', a, uri, dr, uc, ur, pfin, info))
        else:
            if code != 503:
                problems.append(f'{uri}: expected 503, got {code}')
                continue
            syn = x20n.dead_attempts(dead, dr, dresp, used_up)
            if info['proxyAnsweredAfter'] < 0.5:
                # the host was disabled (disable-time) after an earlier failure: 503 at once, no attempt
                if syn and syn[0][1]['pk'][0]['t'] < dresp['t']:
                    problems.append(f'{uri}: an instant 503 with a SYN attempt in between')
                info.update({'attempt': None, 'why': 'backend host disabled after an earlier connect failure (disable-time)'})
                instant.append(info)
                expect.append({'kind': None, 'client': dc['client'], 'server': dc['server'],
                               'notes': f"{dr['method']} {uri} (frame {dr['frame']}): answered 503 Service Unavailable by lighttpd "
                                        f"{x20n.ms(info['proxyAnsweredAfter'])} ms after the request, with no connection attempt: lighttpd "
                                        "had disabled the backend host after the previous connect failure (disable-time, 1 s by default, "
                                        "re-enabled on a whole-second tick). A proxy error answered at once, not a timeout.",
                               'evidence': info})
                continue
            t = x20n.take_attempt(syn, uri, problems, used_up)
            if t is None:
                continue
            sc, syns = t
            info.update({'backendConnection': sc['client'], 'synFrames': [p['frame'] for p in syns], 'synsSent': len(syns),
                         'firstSynAfterRequestMs': x20n.ms(syns[0]['t'] - dr['t']), 'lastSynAfterRequest': round(syns[-1]['t'] - dr['t'], 4),
                         'proxyRstFrames': [p['frame'] for s, p in dc['rsts'] if s == 'server']})
            timeouts.append(info)
            expect.append({'kind': 'gateway-timeout', 'client': dc['client'], 'server': dc['server'],
                           'notes': f"{dr['method']} {uri} (frame {dr['frame']}): lighttpd's SYNs to 127.0.0.3:{a.dead_port} ({len(syns)}, frames "
                                    f"{syns[0]['frame']}..{syns[-1]['frame']}) were never answered (nftables drops them); its connect-timeout "
                                    f"({a.timeout:g} s, checked on its once-a-second tick) fired {info['proxyAnsweredAfter']} s after the request: it "
                                    "logged \"establishing connection failed: ... Connection timed out\", disabled the host and answered 503 "
                                    f"Service Unavailable (frame {dresp['frame']}, Server: lighttpd/1.4.69, Connection: close), then closed.",
                           'evidence': info})
            expect.append({'kind': 'syn-unanswered', 'client': sc['client'], 'server': sc['server'],
                           'notes': f"lighttpd's connection attempt for {uri}: {len(syns)} SYNs ({syns[-1]['t'] - syns[0]['t']:.3f} s from first "
                                    f"to last), never answered (dropped by an nftables rule), abandoned at lighttpd's connect-timeout."})
    x20n.other_connections('lighttpd', '', downs, used_down, {**ups, **dead}, used_up, problems, expect)
    kind = 'read-timeout' if a.mode == 'gateway' else 'connect-timed-out'
    logged = [x for x in errs if x['kind'] == kind]
    if len(logged) != len(timeouts):
        problems.append(f'{len(logged)} {kind} lines in lighttpd\'s error log, {len(timeouts)} timeouts on the wire')
    if a.mode == 'gateway':
        ok = [e for e in curls if e['code'] == '200']
        if len(seen) != len(ok) + len(timeouts):
            problems.append(f'the backend saw {len(seen)} requests; {len(ok)} answered + {len(timeouts)} timed out')
    waits = sorted(f['proxyAnsweredAfter'] for f in timeouts)
    if len(timeouts) < a.need:
        problems.append(f'only {len(timeouts)} timeouts; need {a.need}')
    elif not (a.timeout <= waits[0] and waits[-1] <= a.timeout + 3):
        problems.append(f'waits {waits} not within {a.timeout}..{a.timeout + 3} s')
    print(f"x22p-meta: {len(downs)} client connections, {len(ups) + len(dead)} backend connections, {len(timeouts)} timeouts, "
          f"{len(instant)} instant 503s, waits {waits}", file=sys.stderr)
    x16.refuse_if(problems, 'x22p-meta')
    observed = {'timeouts': len(timeouts), 'waitSeconds': waits, 'waitMedianSeconds': statistics.median(waits),
                'statuses': sorted({f['status'] for f in timeouts}), 'instant503WithoutAttempt': len(instant)}
    ground = {'timeouts': timeouts, 'instant503s': instant,
              'lighttpdErrorLog': {'events': errs, 'counts': {k: sum(1 for x in errs if x['kind'] == k) for k in sorted({x['kind'] for x in errs})}},
              'accessLog': acc,
              'curl': x20n.curl_ground(curls),
              'backendLog': {'requestsSeen': len(seen), 'requests': [{k: x.get(k) for k in ('port', 'method', 'url')} for x in seen]}}
    facts = {'clientConnections': len(downs), 'backendConnections': len(ups) + len(dead), 'timeouts': len(timeouts),
             'clientCloseStates': x16.close_states(downs), 'backendCloseStates': x16.close_states({**ups, **dead}),
             'packets': len(rows), 'captureFile': os.path.basename(a.capture)}
    x16.write_meta(a.meta, x20n.head(a, observed, expect, ground, facts))
    print(f'x22p-meta: {a.scenario}: written')


if __name__ == '__main__':
    main(sys.argv[1:])
