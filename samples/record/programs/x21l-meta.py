#!/usr/bin/env python3
"""Meta writer of the round-21l samples (keepalive-race-ldap, healthy-ldap; programs/x21l-lib.sh).

Reads the capture with x16-meta.py's tshark reader and judges each connection with x19d-meta.py's
analyse() (the server's idle close, an operation sent after it: "crossing" when that segment does not
acknowledge the FIN, "stale-reuse" when it does, "closed-on-arrival" when the server closed with it
unread; the server's RST), its message splitter extended here to LDAP (RFC 4511 LDAPMessages, BER):
a client operation (searchRequest, modifyRequest, ...) is a 'command', its final response
(searchResDone, modifyResponse, ...) a 'reply'; the bind (bindRequest / bindResponse) opens the
connection (like PostgreSQL's startup), an UnbindRequest is a goodbye (like libpq's Terminate), a
searchResEntry is part of an answer, and an extendedResponse with messageID 0 an unsolicited
notification (RFC 4511 4.4.1 Notice of Disconnection, 1.3.6.1.4.1.1466.20036).

Checked against the client's JSON-lines log (x21l-ldap-client.py lanes) and slapd's own log (-d
stats on stderr, each line stamped by slapd with its time: "conn=N fd=F ACCEPT from IP=A:PORT",
"conn=N op=M SRCH ... / MOD ...", "RESULT", "conn=N fd=F closed (idletimeout)"). Ground truth used:
every client error is a race on the wire on the port it was sent on (same operation), every race a
client error; slapd closed for idletimeout exactly the connections the wire shows closed idle, each
within 5 ms of the FIN on the wire; slapd executed exactly the operations the client had answered
(none raced); binds on the wire = connections the client opened. Writes samples/<scenario>.meta.json
only when they agree and the recording has at least --need-races races (--need-forms,
--need-short-races; --healthy: none, no error, no server reset); else exit 1, and the recorder
records again.

Usage: x21l-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --client-log F --server-log F
         --server-idle-setting N --one-way-delay-ms MS --description TEXT --software S...
         [--healthy] [--need-races N] [--need-forms FORM...] [--need-short-races N]
         [--configured-notes TEXT] [--capture-side TEXT]
"""
import re
import statistics

import sibling

x16 = sibling.load('x16meta', 'x16-meta.py')
x19d = sibling.load('x19dmeta', 'x19d-meta.py')

# protocolOp tags (RFC 4511, [APPLICATION n]): constructed 0x60 | n, primitive 0x40 | n
CLIENT_OPS = {0x60: 'bindRequest', 0x42: 'unbindRequest', 0x63: 'searchRequest', 0x66: 'modifyRequest', 0x68: 'addRequest',
              0x4a: 'delRequest', 0x6c: 'modDNRequest', 0x6e: 'compareRequest', 0x50: 'abandonRequest', 0x77: 'extendedRequest'}
SERVER_OPS = {0x61: 'bindResponse', 0x64: 'searchResEntry', 0x65: 'searchResDone', 0x73: 'searchResRef', 0x67: 'modifyResponse',
              0x69: 'addResponse', 0x6b: 'delResponse', 0x6d: 'modDNResponse', 0x6f: 'compareResponse', 0x78: 'extendedResponse',
              0x79: 'intermediateResponse'}
NOTICE_OF_DISCONNECTION = '1.3.6.1.4.1.1466.20036'


def ber_len(buf, off):
    """(length, offset of the contents) of the BER element whose length octets start at OFF; None if
    the buffer ends first."""
    if off >= len(buf):
        return None
    b = buf[off]
    if b < 0x80:
        return b, off + 1
    n = b & 0x7f
    if off + 1 + n > len(buf):
        return None
    return int.from_bytes(buf[off + 1:off + 1 + n], 'big'), off + 1 + n


def ber_elements(buf, off, end):
    """The (tag, contents start, contents end) of the BER elements in buf[off:end]."""
    out = []
    while off < end:
        tag = buf[off]
        ln = ber_len(buf, off + 1)
        if ln is None:
            break
        n, c = ln
        out.append((tag, c, c + n))
        off = c + n
    return out


def result_text(buf, c, e):
    """An LDAPResult's 'resultCode matchedDN diagnostic' (the first three elements of the op)."""
    els = ber_elements(buf, c, e)
    if len(els) < 3:
        return ''
    code = int.from_bytes(buf[els[0][1]:els[0][2]], 'big')
    diag = buf[els[2][1]:els[2][2]].decode(errors='replace')
    return f"resultCode {code}" + (f" '{diag}'" if diag else '')


def ldap_messages(segs, from_server):
    """A direction's LDAP messages, as x19d-meta.py's messages() gives them: frame and time of the
    segment a message starts in, type (client: 'command' for an operation, 'Bind', 'Quit' for an
    UnbindRequest; server: 'reply' for an operation's final response, 'entry' for a searchResEntry /
    searchResRef, 'BindOK' for a bindResponse, 'Notice' for an unsolicited notification), bytes,
    text, messageId, op."""
    buf, at = x19d.joined(segs)
    out = []
    off = 0
    while off + 2 <= len(buf) and buf[off] == 0x30:
        ln = ber_len(buf, off + 1)
        if ln is None or ln[1] + ln[0] > len(buf):
            break
        n, c = ln
        end = c + n
        els = ber_elements(buf, c, end)
        mid = int.from_bytes(buf[els[0][1]:els[0][2]], 'big') if els else None
        tag, oc, oe = els[1] if len(els) > 1 else (None, end, end)
        p = at(off)
        m = {'frame': p['frame'], 't': p['t'], 'bytes': end - off, 'messageId': mid}
        if not from_server:
            op = CLIENT_OPS.get(tag, f'op 0x{tag:02x}' if tag is not None else '?')
            m['op'] = op
            sub = ber_elements(buf, oc, oe) if tag is not None and tag & 0x20 else []
            if op == 'bindRequest':
                m['type'], m['text'] = 'Bind', f"bind dn={buf[sub[1][1]:sub[1][2]].decode(errors='replace')}" if len(sub) > 1 else 'bind'
            elif op == 'unbindRequest':
                m['type'], m['text'] = 'Quit', 'unbind'
            elif op == 'searchRequest':
                m['type'], m['text'] = 'command', f"search base={buf[sub[0][1]:sub[0][2]].decode(errors='replace')}" if sub else 'search'
            elif op == 'modifyRequest':
                m['type'], m['text'] = 'command', f"modify {buf[sub[0][1]:sub[0][2]].decode(errors='replace')}" if sub else 'modify'
            else:
                m['type'], m['text'] = 'command', op
        else:
            op = SERVER_OPS.get(tag, f'op 0x{tag:02x}' if tag is not None else '?')
            m['op'] = op
            if mid == 0:
                sub = ber_elements(buf, oc, oe)
                name = next((buf[s:e].decode(errors='replace') for t, s, e in sub if t == 0x8a), '')
                m['type'], m['text'] = 'Notice', f"unsolicited {op} {name} {result_text(buf, oc, oe)}".strip()
            elif op == 'bindResponse':
                m['type'], m['text'] = 'BindOK', result_text(buf, oc, oe)
            elif op in ('searchResEntry', 'searchResRef', 'intermediateResponse'):
                m['type'], m['text'] = 'entry', op
            else:
                m['type'], m['text'] = 'reply', f"{op} {result_text(buf, oc, oe)}"
        out.append(m)
        off = end
    return out


x19d.SPLITTERS['ldap'] = ldap_messages   # analyse() splits through it


def operation_mismatch(p, r, e):
    """A problem when race R on port P is not the operation the client failed (E), else None."""
    if r['command'].split()[0] != e['command'].split()[0]:
        return f"port {p}: the client failed {e['command']!r}, the wire raced {r['command']!r}"
    if r['requestBytes'] != e['requestBytes']:
        return f"port {p}: the client sent {e['requestBytes']} bytes, the wire has {r['requestBytes']}"
    return None


def closed_on_arrival_fin(c):
    """Races analyse() does not know, where the operation's segment and slapd's close are captured within
    5 ms with the operation first (no answer): its idle check ran just as the operation arrived.
    "closed-on-arrival" when the close (slapd's FIN, the kernel's RST after it) acknowledges the
    operation: slapd closed it unread; "crossing" (deltaMs <= 0) when the FIN does not acknowledge it:
    the FIN was sent before the server's TCP took the operation in (the two crossed at the server;
    the capture stamps them microseconds apart). Sets c['race'] and c['idleClose'] like analyse()."""
    reqs = c['requests']
    if not reqs:
        return
    r = reqs[-1]
    close = next((q for q in c['pk'] if q['fromServer'] and (q['fin'] or q['rst']) and q['t'] >= r['t']), None)
    if close is None or close['t'] - r['t'] > 0.005 or any(m['t'] > r['t'] for m in c['answers']):
        return
    if any(q['fromServer'] and (q['fin'] or q['rst']) and q['t'] < r['t'] for q in c['pk']):
        return
    answered = [m for m in c['answers'] if m['t'] < r['t']] or c.get('startupEnd') or []
    last = answered[-1] if answered else None
    rst = next((q for q in c['pk'] if q['fromServer'] and q['rst'] and q['t'] >= r['t']), None)
    cl = 'RST' if close['rst'] else 'FIN'
    idle = round(close['t'] - last['t'], 4) if last else None
    c['idleClose'] = {'closedWith': cl, 'closeFrame': close['frame'], 'closeAt': round(close['t'], 6),
                      'finFrame': close['frame'] if close['fin'] else None, 'finAt': round(close['t'], 6) if close['fin'] else None,
                      'lastAnswerFrame': last['frame'] if last else None, 'idleGapSeconds': idle, 'goodbye': [], 'used': bool(answered)}
    pkt = next(q for q in c['pk'] if q['frame'] == r['frame'])
    acks = bool(close['ack'] and close['acknum'] >= pkt['seq'] + pkt['len'])
    race = {'command': r['text'], 'requestBytes': pkt['len'], 'belowOpaqueMinimum': pkt['len'] < x19d.OPAQUE_MIN,
            'requestFrame': r['frame'], 'idleGapSeconds': idle, 'goodbye': [], 'lastAnswerFrame': last['frame'] if last else None,
            'requestAt': round(r['t'], 6)}
    if acks or not close['fin']:
        race.update(form='closed-on-arrival', finFrame=close['frame'] if close['fin'] else None, closedWith=cl,
                    closeAfterRequestMs=round((close['t'] - r['t']) * 1000, 3), closeAcksRequest=acks)
    else:
        race.update(form='crossing', finFrame=close['frame'], finAt=round(close['t'], 6), deltaMs=round((r['t'] - close['t']) * 1000, 3),
                    requestAcksFin=pkt['acknum'] > close['seq'], finAcksRequest=False,
                    crossingNote=('the FIN and the operation crossed at the server: the FIN does not acknowledge the operation (it left '
                                  'before the server took the operation in), the capture stamps the operation '
                                  f"{round((close['t'] - r['t']) * 1e6, 1)} us before it"))
    race.update({'rstFrame': rst['frame'] if rst else None, 'rstAt': round(rst['t'], 6) if rst else None,
                 'rstAfterRequestMs': round((rst['t'] - r['t']) * 1000, 3) if rst else None,
                 'answered': False, 'reuseIdleSeconds': round(r['t'] - last['t'], 4) if last else None})
    c['race'] = race


SLAPD_LINE = re.compile(r'([0-9a-f]{8})\.([0-9a-f]{8}) \S+ (.*)$')


def slapd_log(path, client_ip):
    """slapd's -d stats lines: {conn id: {'port', 'accept', 'ops': [(t, op text)], 'results': [(t, text)],
    'closed': (t, reason)}} for the connections from CLIENT_IP."""
    conns = {}
    for ln in open(path, errors='replace'):
        m = SLAPD_LINE.match(ln.rstrip('\n'))
        if not m:
            continue
        t = int(m.group(1), 16) + int(m.group(2), 16) / 1e9
        rest = m.group(3)
        a = re.match(r'conn=(\d+) fd=\d+ ACCEPT from IP=([\d.]+):(\d+) ', rest)
        if a:
            if a.group(2) == client_ip:
                conns[int(a.group(1))] = {'port': int(a.group(3)), 'accept': t, 'ops': [], 'binds': [], 'results': [], 'closed': None}
            continue
        o = re.match(r'conn=(\d+) (?:fd=\d+ )?(.*)$', rest)
        if not o or int(o.group(1)) not in conns:
            continue
        c = conns[int(o.group(1))]
        body = o.group(2)
        cl = re.match(r'closed(?: \((.*)\))?$', body)
        if cl:
            c['closed'] = (t, cl.group(1) or '')
        elif re.match(r'op=\d+ (SRCH base=|MOD dn=|ADD dn=|DEL dn=|CMP dn=|MODRDN dn=|EXT oid=)', body):
            c['ops'].append((t, body))
        elif re.match(r'op=\d+ BIND dn=.* method=', body):
            c['binds'].append((t, body))
        elif re.match(r'op=\d+ (SEARCH )?RESULT ', body):
            c['results'].append((t, body))
        elif re.match(r'op=\d+ UNBIND', body):
            c.setdefault('unbinds', []).append(t)
    return conns


def main():
    ap = x19d.pool_parser()
    ap.add_argument('--client-ip', default='10.99.0.1')
    a = ap.parse_args()
    lib = 'ldap3'
    idle_setting = int(a.server_idle_setting)
    setting = f"idletimeout {idle_setting}" if idle_setting else "no idletimeout (slapd's default, 0: idle connections are never closed)"

    t0, conns = x19d.capture_connections(a)
    rel = x16.since(t0)
    for c in conns.values():
        binds = [m for m in ldap_messages(x19d.stream(c['pk'], True), True) if m['type'] == 'BindOK']
        c['startupEnd'] = binds[:1]   # the bind's answer answers no operation
    x19d.analyse(conns, 'ldap')
    for c in conns.values():
        if c.get('closeAfterClose'):
            c['closeAfterClose']['message'] = 'UnbindRequest'
        if not c['race'] and not c['idleClose']:
            closed_on_arrival_fin(c)
    clog, cmds, errors, oks = x19d.client_commands(a.client_log)
    unbinds = [e for e in clog if e.get('event') == 'unbind']
    races = {p: c for p, c in conns.items() if c['race']}
    problems = []
    err_by_port, wire_reqs = x19d.check_client_log(conns, races, cmds, problems, operation_mismatch, what='operations')
    wire_binds = sum(1 for c in conns.values() for m in c['client_msgs'] if m['type'] == 'Bind')
    opened = sum(len(e['connects']) for e in cmds)
    if wire_binds != opened or len(conns) != opened:
        problems.append(f"client opened {opened} connections, wire has {len(conns)} with {wire_binds} binds")
    notices = [(p, m) for p, c in conns.items() for m in c['server_msgs'] if m['type'] == 'Notice']

    slog = slapd_log(a.server_log, a.client_ip)
    by_port = {s['port']: s for s in slog.values()}
    if set(by_port) != set(conns):
        problems.append(f"slapd accepted ports {sorted(by_port)}, wire has {sorted(conns)}")
    slapd_ops = sum(len(s['ops']) for s in slog.values())
    if slapd_ops != len(oks):
        problems.append(f"slapd executed {slapd_ops} operations, the client had {len(oks)} answered")
    idle_logged = {s['port']: s['closed'][0] for s in slog.values() if s['closed'] and s['closed'][1] == 'idletimeout'}
    idle = x19d.check_idle_closes(conns, idle_logged, t0, problems, 'slapd', 'idletimeout closes', 'close')
    if a.healthy and (errors or races or idle or any(side == 'server' for c in conns.values() for side, _ in c['rsts'])):
        problems.append('healthy sample with an error, a race, an idle close or a server reset')
    forms, short = x19d.races_or_refuse(a, races, problems, 'x21l-meta')

    server = next(iter(conns.values()))['server']
    idle_gaps = sorted(c['idleClose']['idleGapSeconds'] for c in idle.values() if c['idleClose']['used'])
    close_phase_ms = sorted(round((t % 1) * 1000, 1) for t in idle_logged.values())
    check_seconds = sorted({int(t) for t in idle_logged.values()})
    expect = []
    for c, r, e in x19d.by_port(conns, err_by_port):
        if r:
            if r['form'] == 'closed-on-arrival':
                what = (f"{r['command']} ({r['requestBytes']} bytes, frame {r['requestFrame']}) reached slapd {r['reuseIdleSeconds']} s after its "
                        f"last answer (frame {r['lastAnswerFrame']}), just as slapd's idle check ran: {r['closeAfterRequestMs']} ms after the "
                        f"operation arrived slapd closed the connection with it unread, a {r['closedWith']} (frame "
                        f"{r['finFrame'] if r['closedWith'] == 'FIN' else r['rstFrame']}) whose ACK " + ("covers" if r['closeAcksRequest'] else "does not cover")
                        + f" it, then the kernel's RST (frame {r['rstFrame']}, unread data at close()); no Notice of Disconnection "
                        f"({r['idleGapSeconds']} s idle at the close).")
            elif r.get('crossingNote'):
                what = (f"slapd's idle check closed the connection ({setting}) with a FIN (frame {r['finFrame']}) and nothing before it (no "
                        f"Notice of Disconnection) {r['idleGapSeconds']} s after its last answer (frame {r['lastAnswerFrame']}); crossing: "
                        f"{r['command']} ({r['requestBytes']} bytes, frame {r['requestFrame']}) reached the server as the FIN left: "
                        f"{r['crossingNote']}; the kernel answered RST (frame {r['rstFrame']}) {r['rstAfterRequestMs']} ms after it.")
            else:
                what = (f"slapd's idle check closed the connection ({setting}) with a FIN (frame {r['finFrame']}) and nothing before it (no "
                        f"Notice of Disconnection) {r['idleGapSeconds']} s after its last answer (frame {r['lastAnswerFrame']}); "
                        + ("crossing: the operation left the client before that FIN reached it (its ACK does not cover the FIN); "
                           if r['form'] == 'crossing' else
                           "stale reuse: the operation acknowledges the FIN (the client's kernel had it: ldap3's SYNC strategy sends on a kept "
                           "connection without looking at the socket); ")
                        + f"{r['command']} ({r['requestBytes']} bytes, frame {r['requestFrame']}) reached the server {r['deltaMs']} ms after the FIN "
                        f"left; the kernel answered RST (frame {r['rstFrame']}) {r['rstAfterRequestMs']} ms after it.")
            outcome = (f" {lib} raised {e['module']}.{e['error']}: {e['message'].strip()!r} after an idle pause of {e['idleMeasured']} s; "
                       "not retried (ldap3's SYNC strategy never retries; the lane opened and bound a new connection for its next operation).")
            expect.append(x16.race_finding(c, what + outcome, clientError=f"{e['module']}.{e['error']}", clientMessage=e['message'],
                                           retried=False))
        else:
            ic = c['idleClose']
            if ic and c.get('closeAfterClose'):
                t = c['closeAfterClose']
                how = (f"; slapd's idle close (FIN, frame {ic['closeFrame']}) {ic['idleGapSeconds']} s after its last answer; then the application "
                       f"called unbind() at shutdown: ldap3 sent its {t['bytes']}-byte UnbindRequest (frame {t['frame']}, {t['afterFinMs']} ms after "
                       f"the FIN, {'acknowledging' if t['acksFin'] else 'not acknowledging'} it) and the kernel answered RST (frame {t['rstFrame']}). "
                       "A goodbye that expects no answer, not a request: no race")
            elif ic:
                how = f"; slapd's idle close (FIN, frame {ic['closeFrame']}) {ic['idleGapSeconds']} s after its last answer; the client closed its side later, unused"
            elif c['clientFin'] is not None and any(m['type'] == 'Quit' for m in c['client_msgs']):
                how = '; the client unbound and closed it (UnbindRequest, FIN first from the client)'
            else:
                how = None
            expect.append(x19d.clean_connection(c, how, 'operation'))
    if races:
        reuse = sorted(c['race']['reuseIdleSeconds'] for c in races.values())
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                       'notes': f"slapd closes idle connections ({setting}): {len(idle_gaps)} idle closes after {idle_gaps[0]}-{idle_gaps[-1]} s "
                                f"(median {statistics.median(idle_gaps):.3f} s; its idle check compares whole seconds, now - last activity > "
                                f"{idle_setting}, and runs at most once per whole second) while the client keeps its connections with no idle limit "
                                f"and reuses them idle {reuse[0]}-{reuse[-1]} s (raced reuses, server side). The races above are the consequence.",
                       'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps), 'racedReuseIdleSeconds': reuse}})
    if a.healthy:
        expect.insert(0, {'kind': None, 'notes': 'healthy reuse of kept LDAP connections: every operation answered, no race, no reset'})

    meta = x19d.pool_meta_head(a, 'ldap', setting, conns, races, idle_gaps, expect)
    meta['observed']['idleCloseHow'] = ('FIN, no data before it (no Notice of Disconnection)' if idle else None)
    meta['observed']['noticesOfDisconnection'] = len(notices)
    meta['observed']['idleChecks'] = {
        'closePhaseInSecondMs': close_phase_ms, 'secondsWithCloses': len(check_seconds),
        'note': ("slapd 2.5's listener thread (daemon.c slapd_daemon_task) runs connections_timeout_idle(now) at the top of its event "
                 "loop when now (time(), whole seconds) has passed the last check by more than idletimeout/4 whole seconds (0 for "
                 "idletimeout 2: at the first loop turn of each new second); connections_timeout_idle closes every connection with no "
                 "operation executing and c_activitytime + idletimeout < now (connection_closing 'idletimeout', connection_close: FIN). "
                 "The loop waits at most idletimeout/4 s (0.5 s) for an event; here a metronome connection on another listener makes it "
                 "turn ~0.1 s after each whole second, so the closes come at that phase"),
    } if idle else None
    meta['facts'] = x19d.pool_facts(a, conns, wire_reqs, len(oks), races, short, idle, requests='operations',
                                    unbindsAfterIdleClose=sum(1 for c in conns.values() if c.get('closeAfterClose')))
    start = next((e for e in clog if e.get('event') == 'start'), {})
    meta['groundTruth'] = {
        'clientLog': {
            'library': lib, 'versions': start.get('versions'),
            'operations': len(cmds), 'ok': len(oks), 'connectionsOpened': opened,
            'errors': [{'captureTime': rel(e['sentAt']), 'port': e['port'], 'command': e['command'], 'requestBytes': e['requestBytes'],
                        'error': f"{e['module']}.{e['error']}", 'message': e['message'], 'idleMeasured': e['idleMeasured'],
                        'gapAsked': e['gapAsked'], 'elapsedMs': e['elapsedMs'], 'form': races[e['port']]['race']['form']} for e in errors],
            'unbindsAtEnd': [{'captureTime': rel(e['at']), 'port': e['port'], 'outcome': e['outcome']} for e in unbinds],
        },
        'serverLog': {
            'server': 'slapd -d stats (stderr; each line stamped by slapd: hex seconds.nanoseconds)',
            'operationsExecuted': slapd_ops,
            'idletimeoutCloses': {str(p): rel(t) for p, t in sorted(idle_logged.items(), key=lambda kv: kv[1])},
            'otherCloses': {str(s['port']): s['closed'][1] or '(no reason)' for s in slog.values() if s['closed'] and s['closed'][1] != 'idletimeout'},
        },
        'timesNote': "captureTime: the client's or slapd's wall clock minus the capture's first packet (same host clock)",
    }
    x16.write_meta(a.meta, meta)
    print(f"x21l-meta: {a.scenario}: {len(conns)} connections, {wire_reqs} operations, {len(races)} races (forms {sorted(forms)}, "
          f"{len(short)} under {x19d.OPAQUE_MIN} bytes), idle closes {idle_gaps[:1]}..{idle_gaps[-1:]}")


if __name__ == '__main__':
    main()
