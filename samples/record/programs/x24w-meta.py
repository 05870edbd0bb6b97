#!/usr/bin/env python3
"""Meta writer of keepalive-race-webfs-curl (programs/x24w-lib.sh): webfsd raced by curl command lines
(programs/x24w-curl-lanes.py). Built from the shared pieces, not copies: x16-meta.py's capture reader
(connections, race forms, findings, meta head and facts), x20h-meta.py's Server-header summary and
x23r-meta.py's spread().

Ground truth, from the programs' own output:
  curl   each lane's -v --trace-time stream with curl's -w '%{json}' summary after every transfer
         (the lane lines of --client-log name the files). Per transfer: the connection it used
         ("Re-using existing connection #N" or "Connected to ... (#N)"; the final one's local_port
         from the summary), "Connection N seems to be dead" (the pool saw the server's FIN and
         dropped it before reuse), "Connection died, retrying a fresh connect" (the request got
         nothing on a reused connection: curl sends it again on a new one, a POST's body included).
  webfsd its debug lines (programs/x24w-webfs-run.py: "NNN: new request", request lines,
         "NNN: keepalive timeout", "NNN: done"), per file descriptor; each descriptor's session is tied
         to its connection on the wire by its first request (logged 0-20 ms after it arrived).
Checks (exit 1, no meta, when one fails): tcpdump dropped no packet (its statistics, --tcpdump-log) and
every connection's handshake is on the wire; every request curl sent again failed on a connection that
raced on the wire (same method and URI), and every race on the wire is one of those; the retry went
on the connection curl names and was answered; every pool drop followed the server's FIN on the
wire; the wire's requests = transfers + retries, its responses = transfers; webfsd never read a
raced request on its raced connection; each idle close on the wire (a FIN, or an RST when a request
had just arrived unread) has its session's "keepalive timeout" line and each such line an idle close;
and each idle close came at or after the whole second floor(last write) + keepalive_time + 1, as
webfsd's check `now > req->ping + keepalive_time` (time(NULL) seconds) allows (a second earlier
when that write came within 10 ms after a whole second: time(NULL) reads the kernel's coarse clock). Also --need-races,
--need-post-races.

Usage: x24w-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --client-log F --server-log F
         --configured JSON --description TEXT --software S... [--configured-notes TEXT] [--capture-side TEXT]
         [--need-races N] [--need-post-races N] [--header-note TEXT] [--access-log F] [--curl-dir D]
         [--keepalive-time S] [--one-way-ms MS] [--max-conn N] [--tcpdump-log GLOB] [--known-miss KIND[:FORM]=REASON]...
"""
import argparse
import datetime
import glob
import json
import math
import os
import re
import statistics

import sibling

x20h = sibling.load('x20hmeta', 'x20h-meta.py')
x16 = x20h.x16
x23r = sibling.load('x23rmeta', 'x23r-meta.py')
spread = x23r.spread

SERVER = 'webfsd'
IDEMPOTENT = ('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE')
TRACE_LINE = re.compile(r'^(\d\d):(\d\d):(\d\d(?:\.\d+)?) (.*)$')
FD_LINE = re.compile(r'^(\d{3}): (.*)$')
COARSE_TICK = 0.010   # time(NULL) may lag the precise clock by up to a kernel tick (HZ 100 or more)


# ------------------------------------------------------------------------------------------- curl

def trace_clock(start_epoch):
    """HH:MM:SS.us of curl's --trace-time (TZ=UTC) -> epoch, on the lane's start day."""
    day = math.floor(start_epoch / 86400) * 86400

    def at(h, m, s):
        t = day + int(h) * 3600 + int(m) * 60 + float(s)
        return t + 86400 if t < start_epoch - 3600 else t
    return at


def read_lane(lane):
    """The transfers of one curl lane, from its trace."""
    clock = trace_clock(lane['startAt'])
    transfers, conn_port = [], {}
    cur = {'attempts': [], 'dead': []}
    attempt = None
    for raw in open(lane['trace'], encoding='latin-1'):
        line = raw.rstrip('\n')
        if line.startswith('x24w-transfer '):
            summary = json.loads(line[len('x24w-transfer '):])
            if attempt is not None and attempt.get('conn') is not None:
                conn_port[attempt['conn']] = summary['local_port']
            cur['summary'] = summary
            transfers.append(cur)
            cur, attempt = {'attempts': [], 'dead': []}, None
            continue
        m = TRACE_LINE.match(line)
        if not m:
            continue
        t, text = clock(m.group(1), m.group(2), m.group(3)), m.group(4)
        if (r := re.match(r'\* Re-using existing connection #(\d+)', text)):
            attempt = {'conn': int(r.group(1)), 'reused': True}
            cur['attempts'].append(attempt)
        elif text.startswith('*   Trying '):
            attempt = {'conn': None, 'reused': False, 'connectAt': t}
            cur['attempts'].append(attempt)
        elif (r := re.match(r'\* Connected to .* \(#(\d+)\)', text)) and attempt is not None:
            attempt['conn'] = int(r.group(1))
        elif (r := re.match(r'\* Connection (\d+) seems to be dead', text)):
            cur['dead'].append({'conn': int(r.group(1)), 't': t})
        elif (r := re.match(r'> (GET|POST|HEAD|PUT|DELETE|OPTIONS) (\S+) HTTP/1\.1', text)) and attempt is not None:
            attempt.update(method=r.group(1), uri=r.group(2), sentAt=t)
        elif text.startswith('* Connection died, retrying a fresh connect') and attempt is not None:
            attempt['died'] = text[2:]
            attempt['diedAt'] = t
        elif text.startswith('* Recv failure') and attempt is not None:
            attempt['recvFailure'] = text[2:]
        elif (r := re.match(r'< HTTP/1\.[01] (\d{3})', text)) and attempt is not None:
            attempt['status'] = int(r.group(1))
    # each connection id's port: the local_port of a transfer that ended on it
    for tr in transfers:
        for at in tr['attempts']:
            at['port'] = conn_port.get(at['conn'])
        for d in tr['dead']:
            d['port'] = conn_port.get(d['conn'])
    return transfers


def align_clock(lane_transfers, conns, one_way, problems):
    """curl's --trace-time maps its monotonic clock to the wall clock through a whole-second offset
    taken once (time(NULL)), so a lane's trace times are off the host clock by up to a second. Align
    each lane on the wire: the median of (the request's arrival on the wire - its '>' trace time)
    less the one-way delay; every request must agree within 10 ms. Returns the lane's offset (s)."""
    deltas = []
    for tr in lane_transfers:
        for at in tr['attempts']:
            c = conns.get(at.get('port'))
            req = c and next((r for r in c['requests'] if (r['method'], r['uri']) == (at.get('method'), at.get('uri'))), None)
            if req and at.get('sentAt'):
                deltas.append(req['epoch'] - at['sentAt'])
    if not deltas:
        problems.append('a curl lane with no request on the wire')
        return 0.0
    mid = statistics.median(deltas)
    if max(abs(d - mid) for d in deltas) > 0.010:
        problems.append(f"curl lane's trace times disagree with the wire by {max(abs(d - mid) for d in deltas) * 1000:.1f} ms")
    offset = mid - one_way
    for tr in lane_transfers:
        for at in tr['attempts']:
            for k in ('sentAt', 'diedAt', 'connectAt'):
                if at.get(k) is not None:
                    at[k] += offset
        for d in tr['dead']:
            d['t'] += offset
    return offset


def curl_transfers(clog, conns, one_way, problems):
    lanes = [e for e in clog if e.get('event') == 'lane']
    out = []
    for lane in lanes:
        if lane.get('exit') != 0:
            problems.append(f"curl lane {lane['lane']} exited {lane.get('exit')}")
        prev_end = None
        lane_transfers = read_lane(lane)
        lane['clockOffsetSeconds'] = round(align_clock(lane_transfers, conns, one_way, problems), 6)
        for n, tr in enumerate(lane_transfers):
            s = tr['summary']
            first, last = tr['attempts'][0], tr['attempts'][-1]
            rec = {'lane': lane['lane'], 'n': n, 'gapSeconds': lane['gapSeconds'], 'method': s['method'], 'uri': first.get('uri'),
                   'sentAt': first.get('sentAt'), 'port': s['local_port'], 'status': s['http_code'], 'exitcode': s['exitcode'],
                   'reused': first['reused'], 'attempts': tr['attempts'], 'dead': tr['dead'],
                   'idleClient': round(first['sentAt'] - prev_end, 4) if prev_end and first.get('sentAt') else None}
            prev_end = (first.get('sentAt') or 0) + s['time_total']
            if s['exitcode'] != 0 or s['http_code'] not in (200, 501):
                problems.append(f"{lane['lane']} transfer {n}: exit {s['exitcode']}, HTTP {s['http_code']}")
            if last.get('port') != s['local_port']:
                problems.append(f"{lane['lane']} transfer {n}: last connection #{last.get('conn')} is not port {s['local_port']}")
            out.append(rec)
    return lanes, out


# ------------------------------------------------------------------------------------------ webfsd

def webfs_sessions(slog):
    """webfsd's debug lines per file-descriptor session: new request .. done; and the most
    connections it had open at once ("new request (N)", "done (N)": its curr_conn)."""
    open_s, sessions, curr, peak = {}, [], 0, 0
    for e in slog:
        m = FD_LINE.match(e.get('line', ''))
        if not m:
            continue
        fd, text, t = int(m.group(1)), m.group(2), e['t']
        if (r := re.match(r'(?:new request|done) \((\d+)\)', text)):
            curr = int(r.group(1))
            peak = max(peak, curr)
        if text.startswith('new request'):
            open_s[fd] = {'fd': fd, 'newAt': t, 'requests': [], 'keepaliveTimeout': None, 'doneAt': None}
            sessions.append(open_s[fd])
            continue
        s = open_s.get(fd)
        if s is None:
            continue
        if (r := re.match(r'(GET|POST|HEAD|PUT|DELETE|OPTIONS) "([^"]*)" HTTP/1\.[01]', text)):
            s['requests'].append({'method': r.group(1), 'path': r.group(2), 't': t})
        elif text == 'keepalive timeout':
            s['keepaliveTimeout'] = t
            s['connectionsOpen'] = curr
        elif text.startswith('done'):
            s['doneAt'] = t
            del open_s[fd]
    return sessions, peak


def waker(slog, t_close, fd):
    """What woke webfsd's select loop for the idle close logged at T_CLOSE: lines of other
    descriptors logged within 3 ms of it (the same pass over the connections): a request read, a new
    connection, a connection the client closed ("done" with no keepalive timeout); else the select
    timeout (keepalive_time s with no event) or an event webfsd does not log."""
    near = []
    for i, e in enumerate(slog):
        m = FD_LINE.match(e.get('line', ''))
        if m and int(m.group(1)) != fd and abs(e['t'] - t_close) <= 0.003:
            prev = slog[i - 1].get('line', '') if i else ''
            near.append((m.group(2), prev.startswith(m.group(1) + ': keepalive timeout')))
    for kind, test in (('request', lambda x, _: re.match(r'(GET|POST) ', x)), ('new connection', lambda x, _: x.startswith('new request')),
                       ('client closed another connection', lambda x, after_idle: x.startswith('done') and not after_idle)):
        if any(test(x, after_idle) for x, after_idle in near):
            return kind
    return 'select timeout or an event webfsd does not log'


def tie_sessions(sessions, conns, problems):
    """port -> session: a session's request lines were each logged 0-20 ms after the answered
    requests of its connection arrived on the wire, as many; pairs are taken closest first."""
    answered = {p: [r['epoch'] for r in c['requests'][:len(c['responses'])]] for p, c in conns.items() if c['responses']}
    accepted = {p: next((q['epoch'] for q in c['pk'] if not q['fromServer'] and not q['syn'] and q['ack']), None) for p, c in conns.items()}
    closes = {p: close_packet(c) for p, c in conns.items()}
    pairs = []
    for i, s in enumerate(sessions):
        logged = [r['t'] for r in s['requests']]
        for p, wire in answered.items():
            if len(wire) != len(logged) or not all(0 <= t - e <= 0.02 for t, e in zip(logged, wire)):
                continue
            if accepted[p] is None or not 0 <= s['newAt'] - accepted[p] <= 0.02:
                continue
            close = closes[p]
            if (s['keepaliveTimeout'] is None) != (close is None):
                continue
            if close is not None and abs(close['epoch'] - s['keepaliveTimeout']) > 0.02:
                continue
            score = sum(t - e for t, e in zip(logged, wire)) + s['newAt'] - accepted[p]
            pairs.append((score + (abs(close['epoch'] - s['keepaliveTimeout']) if close else 0), i, p))
    by_port, taken = {}, set()
    for _, i, p in sorted(pairs):
        if i not in taken and p not in by_port:
            by_port[p] = sessions[i]
            taken.add(i)
    for i, s in enumerate(sessions):
        if s['requests'] and i not in taken:
            problems.append(f"webfsd fd {s['fd']} session (first request logged at {s['requests'][0]['t']:.6f}) has no connection on the wire")
    return by_port


def close_packet(c):
    """The server's idle close on the wire: the FIN after idling (x16 idleClose), or the RST of a
    closed-on-arrival race."""
    if c['race'] and c['race']['form'] == 'closed-on-arrival':
        return next(p for p in c['pk'] if p['frame'] == c['race']['closeFrame'])
    if c['idleClose']:
        return c['serverFin']
    return None


# -------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(prog='x24w-meta.py')
    x16.add_common_arguments(ap)
    ap.add_argument('--header-note', default=None)
    ap.add_argument('--access-log', default=None)
    ap.add_argument('--curl-dir', default=None)
    ap.add_argument('--keepalive-time', type=int, default=5)
    ap.add_argument('--one-way-ms', type=float, default=5)
    ap.add_argument('--max-conn', type=int, default=32, help="webfsd's -c")
    ap.add_argument('--tcpdump-log', default=None, help="glob of the capture's tcpdump logs (the newest is this attempt's): refuse when it dropped packets")
    ap.add_argument('--known-miss', action='append', default=[], help='KIND[:FORM]=REASON: expected findings conncheck misses')
    a = ap.parse_args()
    configured = json.loads(a.configured)
    if a.tcpdump_log:
        logs = sorted(glob.glob(a.tcpdump_log), key=os.path.getmtime)
        stats = open(logs[-1]).read() if logs else ''
        m = re.search(r'(\d+) packets? dropped by kernel', stats)
        if not m or int(m.group(1)):
            x16.refuse_if([f"tcpdump: {m.group(0) if m else 'no statistics'} ({logs[-1] if logs else a.tcpdump_log})"], 'x24w-meta')
    rows = x16.packets(a.capture)
    half = sorted({p['dport'] if p['sport'] == a.server_port else p['sport'] for p in rows}
                  - {p['dport'] for p in rows if p['sport'] == a.server_port and p['syn']})
    if half:
        x16.refuse_if([f"the capture lacks the server's SYN-ACK of client port(s) {half} (a packet tcpdump missed)"], 'x24w-meta')
    conns = x16.connections(rows, a.server_port)
    clog, slog = x16.read_jsonl(a.client_log), x16.read_jsonl(a.server_log)
    problems = []

    lanes, transfers = curl_transfers(clog, conns, a.one_way_ms / 1000, problems)
    retries = [(tr, at) for tr in transfers for at in tr['attempts'] if at.get('died')]
    failed_on = {}
    for tr, at in retries:
        if at.get('port') is None:
            problems.append(f"{tr['lane']} transfer {tr['n']}: retried, but connection #{at['conn']} has no known port")
            continue
        failed_on[at['port']] = ({**tr, 'retriedOn': tr['port'], 'diedLine': at['died'], 'recvFailure': at.get('recvFailure')}, 'retried')
        if not at['reused']:
            problems.append(f"{tr['lane']} transfer {tr['n']}: curl retried a request sent on a new connection")
    races = {p: c for p, c in conns.items() if c['race']}
    x16.check_failures(failed_on, conns, races, problems, describe=lambda e: e['diedLine'], missing='curl did not retry it')
    for port, (e, _) in failed_on.items():
        c = conns.get(e['retriedOn'])
        if c is None or not c['requests'] or (c['requests'][0]['method'], c['requests'][0]['uri']) != (e['method'], e['uri']) \
                or not c['responses'] or c['responses'][0]['status'] != e['status']:
            problems.append(f"port {port}: curl's retry of {e['method']} {e['uri']} is not the first exchange of port {e['retriedOn']}")
    dropped = []
    for tr in transfers:
        for d in tr['dead']:
            c = conns.get(d['port'])
            fin = c and c['serverFin']
            if not fin or fin['epoch'] > d['t']:
                problems.append(f"{tr['lane']} transfer {tr['n']}: curl dropped connection #{d['conn']} (port {d['port']}) with no server FIN before")
            else:
                dropped.append({'lane': tr['lane'], 'n': tr['n'], 'port': d['port'], 'finFrame': fin['frame'],
                                'finToDropSeconds': round(d['t'] - fin['epoch'], 4), 'newPort': tr['port']})
    wire_reqs = x16.check_wire_counts(conns, len(transfers), len(transfers), problems, who='curl', retries=len(retries))

    # webfsd's own account
    sessions, peak_conns = webfs_sessions(slog)
    if peak_conns > a.max_conn * 9 // 10:
        problems.append(f"webfsd had {peak_conns} connections open: above 90 % of -c {a.max_conn} it closes keep-alive connections at once")
    by_port = tie_sessions(sessions, conns, problems)
    boundary, idle_lines, wakers, coarse = [], 0, {}, []
    for port, c in sorted(conns.items()):
        s = by_port.get(port)
        close = close_packet(c)
        if s is None:
            if c['responses']:
                problems.append(f"port {port}: no webfsd session for a connection with {len(c['responses'])} responses")
            continue
        if len(s['requests']) != len(c['responses']):
            problems.append(f"port {port}: webfsd read {len(s['requests'])} requests, the wire has {len(c['responses'])} responses")
        if s['keepaliveTimeout'] is not None:
            idle_lines += 1
            if close is None:
                problems.append(f"port {port}: webfsd logged a keepalive timeout but the wire shows no idle close")
                continue
            d = close['epoch'] - s['keepaliveTimeout']
            if not -0.02 <= d <= 0.02:
                problems.append(f"port {port}: keepalive timeout logged {d * 1000:.1f} ms from the close (frame {close['frame']})")
            last = max((p for p in c['pk'] if p['fromServer'] and p['len'] and p['t'] < close['t']), key=lambda p: p['t'])
            second = math.floor(last['epoch'])
            after = close['epoch'] - (second + a.keepalive_time + 1)
            if after < -0.002 and last['epoch'] - second < COARSE_TICK and after + 1 >= -0.002:
                # time(NULL) reads the kernel's coarse clock, advanced once a tick: just after a whole second it can
                # still give the previous one, and ping (webfsd's time of that I/O) is one second earlier
                coarse.append({'port': port, 'lastResponseFrame': last['frame'], 'msAfterWholeSecond': round((last['epoch'] - second) * 1000, 3),
                               'closeFrame': close['frame'], 'idleSeconds': round(close['epoch'] - last['epoch'], 4)})
                after += 1
            if after < -0.002:
                problems.append(f"port {port}: idle close (frame {close['frame']}, {close['epoch']:.6f}) {after:.4f} s before the whole-second "
                                f"boundary after its last response byte (frame {last['frame']}, {last['epoch']:.6f}); webfsd fd {s['fd']}, "
                                f"requests logged {[round(r['t'], 6) for r in s['requests']]}, keepalive timeout {s['keepaliveTimeout']:.6f}, "
                                f"{s.get('connectionsOpen')} connections open")
            boundary.append(round(after, 4))
            w = waker(slog, s['keepaliveTimeout'], s['fd'])
            wakers[w] = wakers.get(w, 0) + 1
        elif close is not None:
            problems.append(f"port {port}: idle close on the wire (frame {close['frame']}) without webfsd's keepalive timeout line")
    post_races = [c for c in races.values() if c['race']['method'] == 'POST']
    if len(races) < a.need_races or len(post_races) < a.need_post_races:
        problems.append(f"only {len(races)} races ({len(post_races)} POST); need {a.need_races} ({a.need_post_races} POST)")
    idle, idle_gaps = x16.idle_closes(conns)
    print(f"x24w-meta: {len(conns)} connections, {len(rows)} packets, {wire_reqs} requests, {len(transfers)} curl transfers, "
          f"{len(races)} races ({sorted(c['race']['form'] for c in races.values())}; {len(post_races)} POST), {len(retries)} curl retries, "
          f"{len(dropped)} pool drops, idle closes {idle_gaps[:1]}..{idle_gaps[-1:]} (n={len(idle_gaps)}), keepalive-timeout lines {idle_lines}")
    x16.refuse_if(problems, 'x24w-meta')

    known = {}
    for km in a.known_miss:
        k, reason = km.split('=', 1)
        known[k] = reason

    def miss(entry, kind, form=None):
        reason = known.get(f'{kind}:{form}') if form else None
        reason = reason or known.get(kind)
        if reason:
            entry['knownMiss'] = reason
        return entry

    port_client = {p: c['client'] for p, c in conns.items()}
    retry_on = {e['retriedOn']: (port, e) for port, (e, _) in failed_on.items()}
    expect = []
    for port in sorted(conns):
        c = conns[port]
        if c['race']:
            e, _ = failed_on[port]
            r = c['race']
            notes = (f"{x16.race_what(r, SERVER, f'keep-alive check (keepalive_time {a.keepalive_time} s, whole seconds)')}. webfsd never read it "
                     f"(its debug log has no request line for it on this connection). curl ({e['lane']}, transfer {e['n']}, --rate gap "
                     f"{e['gapSeconds']} s) logged '{e['diedLine']}'" + (f" after '{e['recvFailure']}'" if e.get('recvFailure') else '')
                     + f" and sent it again on a new connection ({port_client.get(e['retriedOn'])}), answered {e['status']}: exit 0, no error shown.")
            if not r['idempotent']:
                notes += (' Non-idempotent method: curl sent the POST body again by itself; safe here only because webfsd never read the first '
                          'one.')
            expect.append(miss(x16.race_finding(c, notes, retried=True, retriedOn=port_client.get(e['retriedOn']), clientLibrary='curl 7.88.1',
                                                curlLane=e['lane']), 'keepalive-race', r['form']))
    for port in sorted(conns):
        c = conns[port]
        if port in retry_on:
            fport, e = retry_on[port]
            note = (f"curl's automatic retry ('Connection died, retrying a fresh connect'): {e['method']} {e['uri']} sent again on this new "
                    f"connection after it failed on {port_client.get(fport)} (the keep-alive race there); answered {e['status']}.")
            if e['method'] not in IDEMPOTENT:
                note += ' A POST: not idempotent, sent again with its body by curl; the first attempt never reached webfsd.'
            if c['race']:
                note += ' Later this connection raced too (keepalive-race above).'
            expect.append(miss({'kind': 'retried-request', 'client': c['client'], 'server': c['server'], 'notes': note},
                               'retried-request', 'POST' if e['method'] not in IDEMPOTENT else None))
        elif not c['race']:
            expect.append(x16.clean_finding(c, SERVER))
    if races:
        reuse_gaps = sorted(c['race']['reuseIdleSeconds'] for c in races.values())
        expect.append(miss({'kind': 'idle-timeout-mismatch', 'client': None, 'server': next(iter(conns.values()))['server'],
                            'notes': f"webfsd closes idle keep-alive connections {idle_gaps[0]}-{idle_gaps[-1]} s after the response (median "
                                     f"{statistics.median(idle_gaps):.3f} s, {len(idle_gaps)} idle closes): its keepalive_time is a hard-coded "
                                     f"{a.keepalive_time} s (-t sets another timeout), compared in whole seconds (time(NULL)) and only when its "
                                     "select loop wakes, so a connection closes at the first wake-up after the whole second "
                                     f"floor(last write) + {a.keepalive_time + 1}; curl (CURLOPT_MAXAGE_CONN 118 s by default) reuses connections "
                                     f"idle as long: raced reuses at {reuse_gaps[0]}-{reuse_gaps[-1]} s server side. The races above are the "
                                     "consequence.",
                            'evidence': {'idleCloseSecondsMin': idle_gaps[0], 'idleCloseSecondsMax': idle_gaps[-1],
                                         'racedReuseIdleSeconds': reuse_gaps}}, 'idle-timeout-mismatch'))

    rel = x16.since(rows[0]['epoch'])
    meta = x16.meta_head(a, configured, conns, races, idle_gaps, expect)
    meta['observed']['idleCloseAfterWholeSecondBoundarySeconds'] = spread(boundary)
    meta['observed']['idleCloseWokenBy'] = wakers
    meta['observed']['idleCloseCoarseClock'] = coarse
    meta['observed']['idleCloseCoarseClockNote'] = (
        "idle closes whose last response left within 10 ms after a whole second and that came before floor(last write) + "
        f"{a.keepalive_time + 1} (but after one second earlier): time(NULL) reads the kernel's coarse clock, advanced once a tick, "
        "so webfsd's ping for that I/O was still the previous second; their idleCloseAfterWholeSecondBoundarySeconds use that second")
    meta['observed']['idleCloseNote'] = (
        f"webfsd's check is `now > req->ping + keepalive_time` with now = time(NULL) and ping the whole second of the connection's "
        f"last I/O, made only when select() returns (on any socket's event, or after keepalive_time s of silence): each idle close "
        f"came {spread(boundary)['min'] if boundary else None}-{spread(boundary)['max'] if boundary else None} s after the whole second "
        f"floor(last write) + {a.keepalive_time + 1}, when something else woke the loop (idleCloseWokenBy). So the idle times spread "
        f"over ({a.keepalive_time}, {a.keepalive_time + 1}] s plus the wait for a wake-up (up to {a.keepalive_time} s more on an idle server).")
    meta['facts'] = x16.wire_facts(a, conns, races, post_races, idle, retriedByCurl=len(retries), curlTransfers=len(transfers))
    meta['groundTruth'] = {
        'curl': {
            'lanes': [{k: l[k] for k in ('lane', 'group', 'ratePerHour', 'gapSeconds', 'postAt', 'exit', 'clockOffsetSeconds')} for l in lanes],
            'transfers': len(transfers),
            'reusedFirstAttempt': sum(1 for tr in transfers if tr['reused']),
            'statuses': {str(s): sum(1 for tr in transfers if tr['status'] == s) for s in sorted({tr['status'] for tr in transfers})},
            'retried': [{'captureTime': rel(at['sentAt']), 'lane': tr['lane'], 'transfer': tr['n'], 'method': tr['method'], 'uri': tr['uri'],
                         'failedOn': at['port'], 'retriedOn': tr['port'], 'status': tr['status'], 'trace': at['died'],
                         **({'recvFailure': at['recvFailure']} if at.get('recvFailure') else {}), 'idleClient': tr['idleClient']}
                        for tr, at in retries],
            'poolDroppedBeforeReuse': dropped,
            'poolDroppedNote': ("'Connection N seems to be dead': before reusing a pooled connection curl polls it and drops it when "
                                "the server's FIN has arrived; the transfer goes on a new connection. No race."),
        },
        'webfsd': {
            'sessions': len(sessions), 'sessionsTiedToWire': len(by_port), 'keepaliveTimeoutLines': idle_lines,
            'mostConnectionsOpen': peak_conns,
            'mostConnectionsOpenNote': (f"webfsd also closes every keep-alive connection at once (the same 'keepalive timeout' line) "
                                        f"while more than 90 % of -c ({a.max_conn}) connections are open; never reached here"),
            'requestLines': sum(len(s['requests']) for s in sessions),
            'serverHeaders': x20h.server_headers(rows, a.server_port),
            'accessLogLines': sum(1 for _ in open(a.access_log)) if a.access_log and os.path.exists(a.access_log) else None,
            'accessLogNote': ("webfsd 1.21's access log (-L) is written when a request finishes and again when its connection "
                              "closes (the same request line once more), so it has more lines than requests; the debug lines are "
                              "used instead."),
        },
        'timesNote': ("captureTime: curl's --trace-time clock (UTC), aligned per lane on the wire (curl 7.88 ties its monotonic "
                      "clock to the wall clock by a whole-second offset, so raw trace times are up to 1 s off: each lane is shifted "
                      "by the median of its requests' arrival on the wire less the one-way delay), minus the capture's first packet"),
    }
    if a.header_note:
        meta['groundTruth']['webfsd']['serverHeadersNote'] = a.header_note
    x16.write_meta(a.meta, meta)
    print(f"x24w-meta: {a.scenario}: written ({datetime.datetime.utcfromtimestamp(rows[0]['epoch']).isoformat()}Z)")


if __name__ == '__main__':
    main()
