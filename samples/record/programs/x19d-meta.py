#!/usr/bin/env python3
"""Meta writer for the database / cache pool samples (keepalive-race-redis, keepalive-race-postgres,
keepalive-race-mariadb, keepalive-race-pgbouncer, healthy-redis).

Reads the capture with tshark (x16-meta.py's packet reader), rebuilds each connection's two byte
streams and splits them into protocol messages (RESP for Redis; PostgreSQL's frontend / backend
messages, also PgBouncer's; MySQL / MariaDB packets: COM_QUERY commands, result sets up to their closing
EOF, OK or ERR), finds the server's idle close (its FIN, sent with every command answered) and a client
command sent after it (the race: "crossing" when that segment does not acknowledge the FIN, it left
the client before the FIN arrived there; "stale-reuse" when it does), and the server's RST. Checks
it all against the client's JSON-lines log (x19d-pool-client.py) and the server's own log (Redis:
"Closing idle client" lines; PostgreSQL: "FATAL: terminating connection due to idle-session timeout"
lines with the client's port; PgBouncer: "closing because: client_idle_timeout" lines with the client's
port; MariaDB: "Aborted connection N ... (Got timeout reading communication packets)", N the connection
id the client logged with each command), and writes samples/<scenario>.meta.json only when they agree. Exit 1
(no meta) when they disagree or when fewer than --need-races connections raced (or fewer of a form /
of a short command than asked): the recorder then records again.

Ground truth used: a command whose client log says error failed on `port`; every such failure must be
a race on the wire, and every race such a failure; the server never answered a raced command.

Usage: x19d-meta.py SCENARIO --proto redis|postgres|pgbouncer|mysql --capture PCAP --meta OUT --server-port P
         --client-log F --server-log F --server-idle-setting S --one-way-delay-ms MS
         --description TEXT --software S... [--healthy] [--need-races N] [--need-forms FORM...]
         [--need-short-races N] [--configured-notes TEXT] [--capture-side TEXT]
"""
import argparse
import importlib.util
import json
import os
import re
import statistics
import struct
from datetime import datetime, timezone

_spec = importlib.util.spec_from_file_location('x16meta', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'x16-meta.py'))
x16 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x16)

# conncheck's opaque race path ignores data after the FIN shorter than this (a TLS 1.3 close_notify
# is 24 bytes): recorded so that the meta says which raced commands are below it.
OPAQUE_MIN = 64


def stream(pk, from_server):
    """The direction's bytes in sequence order (first copy of each sequence number), with the frame,
    time and relative offset of each segment."""
    segs, seen = [], set()
    for p in pk:
        if p['fromServer'] != from_server or not p['len'] or p['seq'] in seen:
            continue
        seen.add(p['seq'])
        segs.append(p)
    segs.sort(key=lambda p: p['seq'])
    return segs


def joined(segs):
    """A direction's segments (stream()) as one byte string, and at(offset): the segment the byte at
    that offset came in (a message's frame and time are those of the segment it starts in)."""
    buf = b''
    starts = []   # (offset in buf, packet)
    for p in segs:
        starts.append((len(buf), p))
        buf += p['payload']

    def at(off):
        return max((s for s in starts if s[0] <= off), key=lambda s: s[0])[1]

    return buf, at


# The message splitters of the protocols that the meta writers built on analyse() add (x20m-meta.py:
# memcached; x21l-meta.py: LDAP): proto -> splitter(segs, from_server), giving messages as below.
SPLITTERS = {}


def messages(segs, proto, from_server):
    """Split a direction's segments into messages: (frame, t, kind, bytes, text)."""
    if proto in SPLITTERS:
        return SPLITTERS[proto](segs, from_server)
    buf, at = joined(segs)
    out = []
    off = 0
    if proto in ('postgres', 'pgbouncer'):
        # libpq's SSLRequest / GSSENCRequest (8 bytes, no type byte), each answered by one byte ('N': no)
        skipped = 0
        while not from_server and len(buf) >= off + 8 and struct.unpack('>II', buf[off:off + 8]) in ((8, 80877103), (8, 80877104)):
            p = at(off)
            out.append({'frame': p['frame'], 't': p['t'], 'type': 'SSLRequest', 'bytes': 8, 'text': ''})
            off += 8
        if from_server:
            while off < len(buf) and buf[off:off + 1] in (b'N', b'G') and (len(buf) == off + 1 or buf[off + 1:off + 2] in (b'R', b'N', b'G', b'E')):
                p = at(off)
                out.append({'frame': p['frame'], 't': p['t'], 'type': 'SSLAnswer', 'bytes': 1, 'text': buf[off:off + 1].decode()})
                off += 1
        if not from_server and len(buf) >= off + 8:   # startup packet: no type byte
            n = struct.unpack('>I', buf[off:off + 4])[0]
            p = at(off)
            out.append({'frame': p['frame'], 't': p['t'], 'type': 'Startup', 'bytes': n, 'text': ''})
            off += n
        while off + 5 <= len(buf):
            typ = chr(buf[off])
            n = struct.unpack('>I', buf[off + 1:off + 5])[0]
            body = buf[off + 5:off + 1 + n]
            p = at(off)
            text = ''
            if typ == 'Q' and not from_server:
                text = body.rstrip(b'\0').decode(errors='replace')
            elif typ == 'E' and from_server:
                fields = {chr(f[0]): f[1:].decode(errors='replace') for f in body.split(b'\0') if f}
                text = f"{fields.get('S', '?')} {fields.get('C', '?')} {fields.get('M', '')}"
            out.append({'frame': p['frame'], 't': p['t'], 'type': typ, 'bytes': 1 + n, 'text': text})
            off += 1 + n
    else:
        # RESP: a client command is an array of bulk strings; a reply one RESP value (these commands
        # get ':n' or '+OK' single lines)
        while off < len(buf):
            p = at(off)
            if buf[off:off + 1] == b'*' and not from_server:
                end = off
                count = int(buf[off + 1:buf.index(b'\r\n', off)])
                end = buf.index(b'\r\n', off) + 2
                parts = []
                for _ in range(count):
                    ln = int(buf[end + 1:buf.index(b'\r\n', end)])
                    end = buf.index(b'\r\n', end) + 2
                    parts.append(buf[end:end + ln].decode(errors='replace'))
                    end += ln + 2
                text = parts[0].upper() + (f' {parts[1]}' if len(parts) > 1 else '') + (f' <{len(parts[2])} bytes>' if len(parts) > 2 else '')
                out.append({'frame': p['frame'], 't': p['t'], 'type': 'command', 'bytes': end - off, 'text': text})
                off = end
            else:
                end = buf.index(b'\r\n', off) + 2
                out.append({'frame': p['frame'], 't': p['t'], 'type': 'reply', 'bytes': end - off,
                            'text': buf[off:end - 2].decode(errors='replace')})
                off = end
    return out


MYSQL_COMMANDS = {0x01: 'Quit', 0x03: 'Query', 0x0e: 'Ping'}


def mysql_packets(segs):
    """A direction's MySQL packets (3-byte length, sequence id, payload): (packet, seq, payload)."""
    buf, at = joined(segs)
    off = 0
    while off + 4 <= len(buf):
        n = int.from_bytes(buf[off:off + 3], 'little')
        yield at(off), buf[off + 3], buf[off + 4:off + 4 + n]
        off += 4 + n


def mysql_err_text(payload):
    code = int.from_bytes(payload[1:3], 'little')
    rest = payload[3:]
    state = rest[1:6].decode(errors='replace') if rest[:1] == b'#' else ''
    msg = (rest[6:] if state else rest).decode(errors='replace')
    return f"ERR {code} {state} {msg}".strip()


def mysql_messages(c):
    """(server messages, client messages) of a MySQL / MariaDB connection. Client: the handshake
    response ('Auth'), then commands (sequence id 0: 'Query' for COM_QUERY, 'Quit', 'Ping').
    Server: 'Greeting', the authentication's 'AuthOK', then each command's answer: OK, ERR, or a
    result set (header, column definitions, EOF, rows) whose closing EOF (or ERR) is the message
    'answer'; a server packet with no command outstanding is unsolicited ('ERR' as MySQL 8.0.24+
    sends with its wait_timeout close, else 'Unsolicited')."""
    client = []
    for p, seq, pl in mysql_packets(stream(c['pk'], False)):
        if seq == 0 and pl:
            typ = MYSQL_COMMANDS.get(pl[0], 'Command')
            text = pl[1:].decode(errors='replace') if typ == 'Query' else ''
        else:
            typ, text = 'Auth', ''
        client.append({'frame': p['frame'], 't': p['t'], 'type': typ, 'bytes': 4 + len(pl), 'text': text})
    commands = [m for m in client if m['type'] in ('Query', 'Ping', 'Command')]
    server = []
    state, asked, cols, rows = 'greeting', 0, 0, 0
    for p, seq, pl in mysql_packets(stream(c['pk'], True)):
        first = pl[0] if pl else -1
        m = {'frame': p['frame'], 't': p['t'], 'bytes': 4 + len(pl), 'text': ''}
        if state == 'greeting':
            m['type'], state = 'Greeting', 'auth'
        elif state == 'auth':
            if first == 0x00:
                m['type'], state = 'AuthOK', 'idle'
            elif first == 0xff:
                m['type'], m['text'] = 'ERR', mysql_err_text(pl)
            else:
                m['type'] = 'AuthMore'
        elif state == 'idle':
            outstanding = [x for x in commands if x['t'] <= p['t']]
            if len(outstanding) > asked:
                asked += 1
                if first == 0x00:
                    m['type'], m['text'] = 'answer', 'OK'
                elif first == 0xff:
                    m['type'], m['text'] = 'answer', mysql_err_text(pl)
                else:
                    m['type'], cols, rows, state = 'ResultHeader', first, 0, 'columns'
            elif first == 0xff:
                m['type'], m['text'] = 'ERR', mysql_err_text(pl)
            else:
                m['type'] = 'Unsolicited'
        elif state == 'columns':
            if cols > 0:
                m['type'] = 'ColumnDef'
                cols -= 1
            else:
                m['type'], state = 'ColumnsEOF', 'rows'
        else:   # rows
            if first == 0xfe and len(pl) < 9:
                m['type'], m['text'], state = 'answer', f'result set, {rows} row(s)', 'idle'
            elif first == 0xff:
                m['type'], m['text'], state = 'answer', mysql_err_text(pl), 'idle'
            else:
                m['type'] = 'Row'
                rows += 1
        server.append(m)
    return server, client


def is_request(m, proto):
    return m['type'] == {'postgres': 'Q', 'pgbouncer': 'Q', 'mysql': 'Query'}.get(proto, 'command')


def is_answer_end(m, proto):
    # ReadyForQuery ends a PostgreSQL answer; a result set's closing EOF (or OK / ERR) a MySQL one
    return m['type'] == {'postgres': 'Z', 'pgbouncer': 'Z', 'mysql': 'answer'}.get(proto, 'reply')


def analyse(conns, proto):
    for c in conns.values():
        if proto == 'mysql':
            c['server_msgs'], c['client_msgs'] = mysql_messages(c)
        else:
            c['server_msgs'] = messages(stream(c['pk'], True), proto, True)
            c['client_msgs'] = messages(stream(c['pk'], False), proto, False)
        c['requests'] = [m for m in c['client_msgs'] if is_request(m, proto)]
        c['answers'] = [m for m in c['server_msgs'] if is_answer_end(m, proto)]
        if proto == 'mysql':
            c['startupEnd'] = [m for m in c['server_msgs'] if m['type'] == 'AuthOK'][:1]   # the handshake's OK answers no query
        if proto in ('postgres', 'pgbouncer') and any(m['type'] == 'Startup' for m in c['client_msgs']):
            c['startupEnd'] = c['answers'][:1]   # the ReadyForQuery that ends the startup answers no query
            c['answers'] = c['answers'][1:]
        c['race'] = c['idleClose'] = None
        fin = c['serverFin']
        srst = next((q for q in c['pk'] if q['fromServer'] and q['rst']), None)
        # the server's close: its FIN, or its RST when it closed with unread data (no FIN then)
        close = fin if fin is not None and (srst is None or fin['t'] <= srst['t']) else srst
        if close is None or (c['clientFin'] is not None and c['clientFin']['t'] < close['t']):
            continue
        answered = [a for a in c['answers'] if a['t'] < close['t']]
        last_answer = answered[-1] if answered else (c.get('startupEnd') or [None])[0]
        # what the server sent after its last answer, up to its close: its goodbye (PostgreSQL's FATAL)
        goodbye = [m for m in c['server_msgs'] if m['t'] <= close['t'] and (last_answer is None or m['t'] > last_answer['t'])
                   and m['frame'] != (last_answer or {}).get('frame')]
        close_start = goodbye[0]['t'] if goodbye else close['t']
        before = [r for r in c['requests'] if r['t'] < close_start]
        n_answered = len([a for a in answered if a['t'] < close_start])
        gap_to = close_start
        if (len(before) == n_answered + 1 and close is srst and not goodbye and close['ack']
                and close['t'] - before[-1]['t'] < 0.005
                and close['acknum'] >= max(q['seq'] + q['len'] for q in c['pk'] if not q['fromServer'] and q['t'] <= before[-1]['t'])):
            # the idle close (a RST: MariaDB's) came just after a command arrived, the RST's ACK covering it:
            # the server's read timeout had expired and it closed with the command unread (closed on arrival);
            # its idle gap runs to the close, the command is the race
            gap_to = close['t']
            close_start = before[-1]['t'] - 1e-9
            before = before[:-1]
        if len(before) != n_answered:
            continue
        idle_from = last_answer['t'] if last_answer else None
        closed_with = 'FIN' if close is fin else 'RST'
        c['idleClose'] = {
            'closedWith': closed_with, 'closeFrame': close['frame'], 'closeAt': round(close['t'], 6),
            'finFrame': fin['frame'] if fin is not None else None, 'finAt': round(fin['t'], 6) if fin is not None else None,
            'lastAnswerFrame': last_answer['frame'] if last_answer else None,
            'idleGapSeconds': round(gap_to - idle_from, 4) if idle_from is not None else None,
            'goodbye': [{'frame': m['frame'], 'type': m['type'], 'bytes': m['bytes'], 'text': m['text'],
                         'beforeCloseMs': round((close['t'] - m['t']) * 1000, 3)} for m in goodbye],
            'used': bool(answered),
        }
        after = [p for p in c['pk'] if not p['fromServer'] and p['len'] and p['t'] > close_start]
        if not after:
            continue
        p = after[0]
        req = next((r for r in c['requests'] if r['frame'] == p['frame']), None)
        bye_msg = next((m for m in c['client_msgs'] if m['frame'] == p['frame'] and m['type'] in ('X', 'Quit')), None)
        if req is None and bye_msg is not None:
            # libpq's Terminate (PyMySQL's COM_QUIT) sent when the application closed a connection whose
            # close it had not read: no request, not a race (the kernel resets it all the same)
            rst = next((q for q in c['pk'] if q['fromServer'] and q['rst'] and q['t'] >= p['t']), None)
            c['closeAfterClose'] = {'message': 'Terminate' if bye_msg['type'] == 'X' else 'COM_QUIT', 'frame': p['frame'], 'bytes': p['len'],
                                    'afterFinMs': round((p['t'] - close['t']) * 1000, 3), 'rstFrame': rst['frame'] if rst else None,
                                    'acksFin': fin is not None and p['acknum'] > fin['seq']}
            continue
        rst = next((q for q in c['pk'] if q['fromServer'] and q['rst'] and q['t'] >= p['t']), None)
        race = {
            'command': req['text'] if req else None,
            'requestBytes': p['len'],
            'belowOpaqueMinimum': p['len'] < OPAQUE_MIN,
            'requestFrame': p['frame'],
            'idleGapSeconds': c['idleClose']['idleGapSeconds'],
            'goodbye': c['idleClose']['goodbye'],
            'lastAnswerFrame': c['idleClose']['lastAnswerFrame'],
            'requestAt': round(p['t'], 6), 'requestEpoch': p['epoch'],
        }
        if goodbye:
            g = goodbye[-1]
            gend = max(q['seq'] + q['len'] for q in c['pk'] if q['fromServer'] and q['len'] and q['t'] <= close['t'])
            race.update(goodbyeFrame=goodbye[0]['frame'], requestAfterGoodbyeMs=round((p['t'] - goodbye[0]['t']) * 1000, 3),
                        requestAcksGoodbye=p['acknum'] >= gend)
        if fin is not None and close is fin and p['t'] > fin['t']:
            race.update(form='stale-reuse' if p['acknum'] > fin['seq'] else 'crossing',
                        finFrame=fin['frame'], finAt=round(fin['t'], 6),
                        deltaMs=round((p['t'] - fin['t']) * 1000, 3), requestAcksFin=p['acknum'] > fin['seq'])
        elif p['t'] < close['t']:
            # the command arrived after the goodbye left, before the server closed its socket: closed with
            # the command unread, the kernel sends RST instead of FIN
            race.update(form='closed-on-arrival', finFrame=None, closedWith=closed_with,
                        closeAfterRequestMs=round((close['t'] - p['t']) * 1000, 3),
                        closeAcksRequest=close['ack'] and close['acknum'] >= p['seq'] + p['len'])
        elif closed_with == 'RST' and p['t'] > close['t']:
            # the server closed the idle connection with a RST (MariaDB at wait_timeout: no data, no FIN),
            # and the command left the client before that RST reached it (a client that has it cannot
            # send: its write fails locally): it crossed the RST, and the kernel answered it with another
            race.update(form='crossing', finFrame=None, closedWith='RST', idleRstFrame=close['frame'],
                        idleRstAt=round(close['t'], 6), deltaMs=round((p['t'] - close['t']) * 1000, 3), requestAcksFin=None)
        else:
            continue
        race.update({
            'rstFrame': rst['frame'] if rst else None, 'rstAt': round(rst['t'], 6) if rst else None,
            'rstAfterRequestMs': round((rst['t'] - p['t']) * 1000, 3) if rst else None,
            'answered': any(m['t'] > p['t'] for m in c['answers']),
            'reuseIdleSeconds': round(p['t'] - idle_from, 4) if idle_from is not None else None,
        })
        c['race'] = race


def server_log_events(path, proto):
    """Redis: times of 'Closing idle client'; PostgreSQL: client port -> time of its idle-session FATAL;
    PgBouncer: client port -> time of its client_idle_timeout close; MariaDB: connection id -> time of
    its 'Aborted connection' for a read timeout (whole seconds)."""
    lines = open(path, errors='replace').read().splitlines()
    if proto == 'pgbouncer':
        out = {}
        for ln in lines:
            m = re.match(r'([\d-]+ [\d:.]+) \S+ \[\d+\] LOG C-\S+ \S+@[\d.]+:(\d+) closing because: client_idle_timeout', ln)
            if m:
                out[int(m.group(2))] = datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S.%f').replace(tzinfo=timezone.utc).timestamp()
        return out
    if proto == 'mysql':
        out = {}
        for ln in lines:
            m = re.match(r'([\d-]+ +[\d:]+) +\d+ \[Warning\] Aborted connection (\d+) to db: .*\(Got timeout reading communication packets\)', ln)
            if m:
                out[int(m.group(2))] = datetime.strptime(' '.join(m.group(1).split()), '%Y-%m-%d %H:%M:%S').replace(tzinfo=timezone.utc).timestamp()
        return out
    if proto == 'redis':
        out = []
        for ln in lines:
            m = re.match(r'\d+:\w (\d+ \w+ \d+ [\d:.]+) - Closing idle client', ln)
            if m:
                out.append(datetime.strptime(m.group(1), '%d %b %Y %H:%M:%S.%f').replace(tzinfo=timezone.utc).timestamp())
        return out
    out = {}
    for ln in lines:
        m = re.match(r'([\d-]+ [\d:.]+) UTC \[\d+\] [\d.]+\((\d+)\) \S* ?FATAL:  terminating connection due to idle-session timeout', ln)
        if m:
            out[int(m.group(2))] = datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S.%f').replace(tzinfo=timezone.utc).timestamp()
    return out


def pool_parser(protos=None, logs=(), healthy=True):
    """The options of this meta writer, also those of the meta writers built on analyse() (x20m-meta.py,
    x21l-meta.py): --proto when PROTOS are given (its choices), LOGS (more required log files) after
    --server-log, --healthy unless HEALTHY is false (then a.healthy is False)."""
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    if protos:
        ap.add_argument('--proto', choices=protos, required=True)
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--server-port', type=int, required=True)
    ap.add_argument('--client-log', required=True)
    ap.add_argument('--server-log', required=True)
    for opt in logs:
        ap.add_argument(opt, required=True)
    ap.add_argument('--server-idle-setting', type=float, required=True)
    ap.add_argument('--one-way-delay-ms', type=float, required=True)
    ap.add_argument('--description', required=True)
    ap.add_argument('--configured-notes')
    ap.add_argument('--software', nargs='+', required=True)
    ap.add_argument('--capture-side')
    if healthy:
        ap.add_argument('--healthy', action='store_true')
    else:
        ap.set_defaults(healthy=False)
    ap.add_argument('--need-races', type=int, default=0)
    ap.add_argument('--need-forms', nargs='*', default=[])
    ap.add_argument('--need-short-races', type=int, default=0)
    return ap


def races_or_refuse(a, races, problems, prog):
    """A problem when the recording has fewer races than asked (a.need_races, of the forms a.need_forms,
    a.need_short_races under OPAQUE_MIN bytes); then, on any problem, exit 1 (x16-meta.py's refuse_if,
    as PROG). Returns the races' forms and the races under OPAQUE_MIN."""
    forms = {c['race']['form'] for c in races.values()}
    short = [c for c in races.values() if c['race']['belowOpaqueMinimum']]
    if len(races) < a.need_races or not set(a.need_forms) <= forms or len(short) < a.need_short_races:
        problems.append(f"only {len(races)} races (forms {sorted(forms)}, {len(short)} under {OPAQUE_MIN} bytes); need {a.need_races} "
                        f"(forms {a.need_forms}, {a.need_short_races} short)")
    x16.refuse_if(problems, prog)
    return forms, short


def capture_connections(a):
    """(the capture's first packet's epoch, its connections to a.server_port): x16-meta.py's TCP
    bookkeeping (FINs, RSTs; HTTP parts unused) of the connections to the server port only (a capture
    may hold a proxy's other leg too)."""
    rows = x16.packets(a.capture)
    return rows[0]['epoch'], x16.connections([p for p in rows if a.server_port in (p['sport'], p['dport'])], a.server_port)


def client_commands(path):
    """The client's JSON-lines log: (all its events, its commands, those that failed, those answered)."""
    clog = x16.read_jsonl(path)
    cmds = [e for e in clog if e.get('event') == 'command']
    return clog, cmds, [e for e in cmds if e['outcome'] == 'error'], [e for e in cmds if e['outcome'] == 'ok']


def check_client_log(conns, races, cmds, problems, mismatch, what='commands'):
    """The client's log against the wire, as the meta writers built on analyse() check it (x20m-meta.py,
    x21l-meta.py; CMDS: the log's commands): every error is a race on the wire on the port it was sent
    on (one error a port), every race such an error, of the same command (MISMATCH(port, race, error):
    the problem when it is not, else None), never answered, reset; the wire has as many requests (WHAT)
    and answers as the client logged. Returns (port -> the client's error, the wire's request count)."""
    err_by_port = {}
    for e in cmds:
        if e['outcome'] != 'error':
            continue
        if e['port'] in err_by_port:
            problems.append(f"two errors on port {e['port']}")
        err_by_port[e['port']] = e
        if e['port'] not in races:
            problems.append(f"client error on port {e['port']} ({e['command'][:30]}: {e['message'][:60]!r}) is not a race on the wire")
    for p, c in races.items():
        if p not in err_by_port:
            problems.append(f"race on port {p} ({c['race']['command']}) but the client logged no error")
        else:
            wrong = mismatch(p, c['race'], err_by_port[p])
            if wrong:
                problems.append(wrong)
        if c['race']['answered']:
            problems.append(f"race on port {p} was answered")
        if c['race']['rstFrame'] is None:
            problems.append(f"race on port {p}: no RST")
    wire_reqs = sum(len(c['requests']) for c in conns.values())
    if wire_reqs != len(cmds):
        problems.append(f"client logged {len(cmds)} {what}, wire has {wire_reqs}")
    wire_answers = sum(len(c['answers']) for c in conns.values())
    oks = sum(1 for e in cmds if e['outcome'] == 'ok')
    if wire_answers != oks:
        problems.append(f"client logged {oks} answers, wire has {wire_answers}")
    return err_by_port, wire_reqs


def check_idle_closes(conns, logged, t0, problems, server, logged_as='idle closes', wire_close='FIN'):
    """The server's log (LOGGED: port -> the time SERVER logged its idle close) against the wire, for
    the meta writers built on analyse() (x20m-meta.py, x21l-meta.py): the same connections closed idle,
    each close a FIN with nothing before it (a RST only when a command arrived as it closed), logged
    within 5 ms of the close on the wire (capture times from T0). Returns the idle-closed connections
    (port -> connection)."""
    idle = {p: c for p, c in conns.items() if c['idleClose']}
    if set(logged) != set(idle):
        problems.append(f"{server} logged {logged_as} for ports {sorted(logged)}, wire has idle closes on {sorted(idle)}")
    for p, c in idle.items():
        ic = c['idleClose']
        arrival = c['race'] and c['race']['form'] == 'closed-on-arrival'
        if (ic['closedWith'] != 'FIN' and not arrival) or ic['goodbye']:
            problems.append(f"port {p}: idle close {ic['closedWith']} with {len(ic['goodbye'])} message(s) before it")
        if p in logged and abs(logged[p] - (t0 + ic['closeAt'])) > 0.005:
            problems.append(f"port {p}: {server} logged its idle close {(logged[p] - t0 - ic['closeAt']) * 1000:.1f} ms from the wire's {wire_close}")
    return idle


def by_port(conns, err_by_port):
    """Each connection in port order: (the connection, its race or None, the client's error on its
    port or None), for the expectations of the meta writers built on analyse()."""
    for port in sorted(conns):
        c = conns[port]
        yield c, c['race'], err_by_port.get(port)


def clean_connection(c, how=None, what='command'):
    """The expectation of connection C with no race: its requests (WHAT(s)), all answered, and HOW it
    ended (by default: the client closed it, FIN first; or open at the end of the capture)."""
    if how is None:
        how = '; the client closed it (FIN first from the client)' if c['clientFin'] is not None else '; open at the end of the capture'
    return {'kind': None, 'client': c['client'], 'server': c['server'], 'notes': f"{len(c['requests'])} {what}(s), all answered{how}. Clean."}


def pool_meta_head(a, proto, setting, conns, races, idle_gaps, expect):
    """x16-meta.py's meta_head, configured with the server's idle SETTING, and the raced commands' sizes."""
    configured = {'protocol': proto, 'serverIdleSetting': setting, 'serverIdleSeconds': a.server_idle_setting,
                  'oneWayDelayMs': a.one_way_delay_ms}
    meta = x16.meta_head(a, configured, conns, races, idle_gaps, expect)
    meta['observed']['racedCommandBytes'] = {c['client']: c['race']['requestBytes'] for p, c in sorted(races.items())}
    return meta


def pool_facts(a, conns, wire_reqs, answers, races, short, idle, requests='commands', **more):
    """meta['facts']: the wire's connections, requests (called REQUESTS), the ANSWERS the client had, races
    (SHORT: those under OPAQUE_MIN), server resets, idle closes (IDLE), MORE, how connections ended."""
    return {
        'connections': len(conns), requests: wire_reqs, 'answers': answers, 'races': len(races),
        'racesUnderOpaqueMinimum': len(short),
        'serverResets': sum(1 for c in conns.values() for side, _ in c['rsts'] if side == 'server'),
        'serverIdleCloses': len(idle), **more, 'closeStates': x16.close_states(conns),
        'captureFile': os.path.basename(a.capture),
    }


def main():
    a = pool_parser(('redis', 'postgres', 'pgbouncer', 'mysql')).parse_args()
    proto = a.proto
    name = {'redis': 'Redis', 'postgres': 'PostgreSQL', 'pgbouncer': 'PgBouncer', 'mysql': 'MariaDB'}[proto]
    setting = {'redis': f"timeout {int(a.server_idle_setting)}", 'postgres': f"idle_session_timeout = {a.server_idle_setting:g}s",
               'pgbouncer': f"client_idle_timeout = {a.server_idle_setting:g}", 'mysql': f"wait_timeout = {a.server_idle_setting:g}"}[proto]
    lib = {'redis': 'redis-py', 'mysql': 'PyMySQL'}.get(proto, 'psycopg2')
    t0, conns = capture_connections(a)
    analyse(conns, proto)
    clog, cmds, errors, oks = client_commands(a.client_log)
    races = {p: c for p, c in conns.items() if c['race']}
    slog = server_log_events(a.server_log, proto)
    problems = []

    err_by_port = {}
    for e in errors:
        if e['port'] in err_by_port:
            problems.append(f"two errors on port {e['port']}")
        err_by_port[e['port']] = e
    # A command that failed before anything left the client: the server's idle RST had arrived, the
    # write failed (PyMySQL: 2006 'MySQL server has gone away' with ConnectionResetError); on the wire
    # only that RST, no command after it.
    local = {}
    for port, e in err_by_port.items():
        c = conns.get(port)
        ic = c['idleClose'] if c else None
        if (port not in races and ic is not None and ic['closedWith'] == 'RST'
                and not any(not q['fromServer'] and q['len'] and q['t'] > ic['closeAt'] for q in c['pk'])):
            local[port] = e
        elif port not in races:
            problems.append(f"client error on port {port} ({e['command'][:30]}: {e['message'][:60]!r}) is not a race on the wire")
    for p, c in races.items():
        if p not in err_by_port:
            problems.append(f"race on port {p} ({c['race']['command']}) but the client logged no error")
        if c['race']['answered']:
            problems.append(f"race on port {p} was answered")
        if c['race']['rstFrame'] is None:
            problems.append(f"race on port {p}: no RST")
    wire_reqs = sum(len(c['requests']) for c in conns.values())
    if wire_reqs != len(cmds) - len(local):
        problems.append(f"client logged {len(cmds)} commands, wire has {wire_reqs}")
    wire_answers = sum(len(c['answers']) for c in conns.values())
    if wire_answers != len(oks):
        problems.append(f"client logged {len(oks)} answers, wire has {wire_answers} answer ends")
    idle = {p: c for p, c in conns.items() if c['idleClose']}
    if proto == 'redis':
        if len(slog) != len(idle):
            problems.append(f"Redis logged {len(slog)} idle closes, wire has {len(idle)}")
    elif proto == 'mysql':
        port_of = {e['threadId']: e['port'] for e in cmds if e.get('threadId') is not None}
        logged = {port_of.get(t, f'thread {t}') for t in slog}
        if logged != set(idle):
            problems.append(f"MariaDB logged read timeouts for ports {sorted(map(str, logged))}, wire has idle closes on {sorted(idle)}")
    elif proto == 'pgbouncer':
        if set(slog) != set(idle):
            problems.append(f"PgBouncer logged client_idle_timeout closes for ports {sorted(slog)}, wire has idle closes on {sorted(idle)}")
        for p, c in idle.items():
            g = c['idleClose']['goodbye']
            if not g or g[0]['type'] != 'E' or 'client_idle_timeout' not in g[0]['text']:
                problems.append(f"port {p}: idle close without PgBouncer's client_idle_timeout ErrorResponse before its FIN")
    else:
        if set(slog) != set(idle):
            problems.append(f"PostgreSQL logged idle-session FATALs for ports {sorted(slog)}, wire has idle closes on {sorted(idle)}")
        for p, c in idle.items():
            g = c['idleClose']['goodbye']
            if not g or g[0]['type'] != 'E' or '57P05' not in g[0]['text']:
                problems.append(f"port {p}: idle close without the FATAL 57P05 ErrorResponse before its FIN")
    if a.healthy and (errors or races or any(side == 'server' for c in conns.values() for side, _ in c['rsts'])):
        problems.append('healthy sample with an error, a race or a reset')
    forms, short = races_or_refuse(a, races, problems, 'x19d-meta')

    server = next(iter(conns.values()))['server']
    idle_gaps = sorted(c['idleClose']['idleGapSeconds'] for c in idle.values() if c['idleClose']['used'])
    expect = []
    for port in sorted(conns):
        c = conns[port]
        r = c['race']
        if r:
            e = err_by_port[port]
            if r['goodbye']:
                g = r['goodbye'][0]
                kind = 'ERR packet' if proto == 'mysql' else 'ErrorResponse'
                bye = (f"{name}'s idle timer fired {r['idleGapSeconds']} s after its last answer (frame {r['lastAnswerFrame']}{'' if proto == 'mysql' else ', ReadyForQuery'}): "
                       f"it sent a {g['bytes']}-byte {kind} '{g['text']}' (frame {g['frame']}) {g['beforeCloseMs']} ms before its "
                       + (f"FIN (frame {r['finFrame']}); " if r['finFrame'] else f"close; "))
            elif r['form'] == 'closed-on-arrival':
                bye = ''
            elif r.get('closedWith') == 'RST':
                bye = (f"{name} closed the idle connection with a RST (frame {r['idleRstFrame']}; no data and no FIN before it) {r['idleGapSeconds']} s after "
                       f"its last answer (frame {r['lastAnswerFrame']}); ")
            else:
                bye = (f"{name} closed the idle connection silently (FIN, frame {r['finFrame']}, no data before it) {r['idleGapSeconds']} s after "
                       f"its last reply (frame {r['lastAnswerFrame']}); ")
            if r['form'] == 'closed-on-arrival' and not r['goodbye']:
                what = (f"{r['command']} ({r['requestBytes']} bytes, frame {r['requestFrame']}) reached {name} {r['reuseIdleSeconds']} s after its last answer "
                        f"(frame {r['lastAnswerFrame']}), just as its idle timer ({setting}) expired: {r['closeAfterRequestMs']} ms after the command arrived "
                        f"it closed the connection with the command unread, by a {r['closedWith']} (frame {r['rstFrame']}) whose ACK "
                        + ("covers" if r['closeAcksRequest'] else "does not cover") + f" the command; no data and no FIN before it ({r['idleGapSeconds']} s idle at the close).")
            elif r['form'] == 'closed-on-arrival':
                what = (bye + f"{r['command']} ({r['requestBytes']} bytes, frame {r['requestFrame']}) crossed that ErrorResponse (its ACK does not cover it) "
                        f"and reached the server {r['requestAfterGoodbyeMs']} ms after it left, before the exiting backend closed its socket: closed with "
                        f"the query unread, the kernel sent RST (frame {r['rstFrame']}, {r['rstAfterRequestMs']} ms after the query) and no FIN at all.")
            elif r.get('closedWith') == 'RST':
                what = (bye + f"crossing: {r['command']} ({r['requestBytes']} bytes, frame {r['requestFrame']}) left the client before that RST reached it "
                        f"(a client that has it cannot send) and reached the server {r['deltaMs']} ms after the RST left; the kernel answered it with "
                        f"another RST (frame {r['rstFrame']}, no ACK) {r['rstAfterRequestMs']} ms after it.")
            else:
                what = (bye + ("crossing: the command left the client before that FIN reached it (its ACK does not cover the FIN); "
                               if r['form'] == 'crossing' else "stale reuse: the command acknowledges the FIN (the client had it, and the goodbye before it); ")
                        + f"{r['command']} ({r['requestBytes']} bytes, frame {r['requestFrame']}) reached the server {r['deltaMs']} ms after the FIN left; "
                        + f"the kernel answered RST (frame {r['rstFrame']}) {r['rstAfterRequestMs']} ms after it.")
            outcome = (f" {lib} raised {e['module']}.{e['error']}: {e['message'].strip()!r} after an idle pause of {e['idleMeasured']} s; "
                       + ("not retried (redis-py 4.3 retries only with retry_on_error / retry_on_timeout set; default Retry(NoBackoff(), 0))."
                          if proto == 'redis' else
                          "not retried (PyMySQL has no pool and never retries; the lane reused its connection unchecked: no ping)."
                          if proto == 'mysql' else
                          "not retried (psycopg2 and its pool never retry; the pool handed out the closed connection unchecked)."))
            expect.append(x16.race_finding(c, what + outcome, clientError=f"{e['module']}.{e['error']}", clientMessage=e['message'],
                                           retried=False))
        elif port in local:
            e = local[port]
            ic = c['idleClose']
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'],
                           'notes': f"{len(c['requests'])} command(s), all answered; {name} closed the idle connection with a RST (frame {ic['closeFrame']}; "
                                    f"no data, no FIN) {ic['idleGapSeconds']} s after its last answer. The RST reached the client before its next command: "
                                    f"{lib} raised {e['module']}.{e['error']}: {e['message'].strip()!r} on the write (idle pause {e['idleMeasured']} s), "
                                    "nothing was sent, not retried. A failed reuse the wire shows only as the server's idle RST.",
                           'evidence': {'idleRstFrame': ic['closeFrame'], 'idleGapSeconds': ic['idleGapSeconds'], 'clientError': f"{e['module']}.{e['error']}",
                                        'clientMessage': e['message'], 'sentOnWire': False, 'retried': False}})
        else:
            ic = c['idleClose']
            if ic and c.get('closeAfterClose'):
                t = c['closeAfterClose']
                how = (f"; an ErrorResponse '{ic['goodbye'][0]['text']}' (frame {ic['goodbye'][0]['frame']}) and {name}'s idle close ({ic['closedWith']}, frame "
                       f"{ic['closeFrame']}) {ic['idleGapSeconds']} s after its last answer; then the application closed the connection: libpq sent its "
                       f"{t['bytes']}-byte {t['message']} message (frame {t['frame']}, {t['afterFinMs']} ms after the FIN, {'acknowledging' if t['acksFin'] else 'not acknowledging'} it) and the kernel "
                       f"answered RST (frame {t['rstFrame']}). A goodbye, not a request: no race") if ic['goodbye'] else (
                       f"; {name}'s idle close ({ic['closedWith']}, frame {ic['closeFrame']}), then the client's {t['message']} (frame {t['frame']}) and a RST "
                       f"(frame {t['rstFrame']}): a goodbye, not a request: no race")
            elif ic:
                bye = f"; an {'ERR packet' if proto == 'mysql' else 'ErrorResponse'} '{ic['goodbye'][0]['text']}' (frame {ic['goodbye'][0]['frame']}) and" if ic['goodbye'] else ';'
                how = f"{bye} {name}'s idle close ({ic['closedWith']}, frame {ic['closeFrame']}) {ic['idleGapSeconds']} s after its last answer; the client closed its side later, unused"
            else:
                how = None
            expect.append(clean_connection(c, how))
    if races:
        reuse = sorted(c['race']['reuseIdleSeconds'] for c in races.values())
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                       'notes': f"{name} closes idle connections ({setting}): {len(idle_gaps)} idle closes after {idle_gaps[0]}-{idle_gaps[-1]} s "
                                f"(median {statistics.median(idle_gaps):.3f} s) while the client's pool has no idle limit and reuses "
                                f"connections idle {reuse[0]}-{reuse[-1]} s (raced reuses, server side). The races above are the consequence.",
                       'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps), 'racedReuseIdleSeconds': reuse}})
    if a.healthy:
        expect.insert(0, {'kind': None, 'notes': 'healthy pooled reuse: every command answered, no race, no reset'})

    rel = x16.since(t0)
    meta = pool_meta_head(a, proto, setting, conns, races, idle_gaps, expect)
    if proto != 'redis':
        gb = [c['idleClose']['goodbye'][0] for c in idle.values() if c['idleClose']['goodbye']]
        meta['observed']['goodbyeBeforeFin'] = {
            'message': gb[0]['text'] if gb else None, 'bytes': sorted({g['bytes'] for g in gb}),
            'beforeCloseMs': sorted(g['beforeCloseMs'] for g in gb)}
    meta['facts'] = pool_facts(a, conns, wire_reqs, len(oks), races, short, idle)
    start = next((e for e in clog if e.get('event') == 'start'), {})
    reconnects = [e for e in cmds if e['pooledPort'] is not None and e['connects'] and e['outcome'] == 'ok']
    meta['groundTruth'] = {
        'clientLog': {
            'library': lib,
            'versions': start.get('versions'),
            'commands': len(cmds), 'ok': len(oks),
            'failedBeforeSending': sorted(local),
            'errors': [{'captureTime': rel(e['sentAt']), 'port': e['port'], 'command': e['command'][:60], 'error': f"{e['module']}.{e['error']}",
                        'message': e['message'], 'pgcode': e.get('pgcode'), 'idleMeasured': e['idleMeasured'], 'gapAsked': e['gapAsked'],
                        'elapsedMs': e['elapsedMs']} for e in errors],
            'reconnectedAfterSeeingFin': [{'captureTime': rel(e['sentAt']), 'oldPort': e['pooledPort'], 'newPort': e['connects'][0],
                                           'command': e['command'][:30], 'idleAsked': e['gapAsked']} for e in reconnects],
        },
        'serverLog': ({'server': 'redis-server (loglevel verbose)', 'closingIdleClient': [rel(t) for t in slog]} if proto == 'redis' else
                      {'server': 'pgbouncer (log_disconnections)', 'clientIdleTimeoutClose': {str(p): rel(t) for p, t in sorted(slog.items())}}
                      if proto == 'pgbouncer' else
                      {'server': 'mariadbd (log_warnings 3; times in whole seconds)',
                       'abortedConnectionReadTimeout': {f"connection {t} (port {port_of.get(t)})": rel(s) for t, s in sorted(slog.items())}}
                      if proto == 'mysql' else
                      {'server': 'postgres (log_connections, log_disconnections; log_line_prefix with the client port)',
                       'idleSessionTimeoutFatal': {str(p): rel(t) for p, t in sorted(slog.items())}}),
        'timesNote': "captureTime: the client's or server's wall clock minus the capture's first packet (same host clock)",
    }
    if proto == 'redis':
        meta['groundTruth']['clientLog']['reconnectedAfterSeeingFinNote'] = (
            "redis-py's ConnectionPool.get_connection calls can_read() on the pooled connection; when the server's FIN has arrived "
            "that read raises ConnectionError, the pool disconnects and connects anew: no race (only crossings can race).")
    x16.write_meta(a.meta, meta)
    print(f"x19d-meta: {a.scenario}: {len(conns)} connections, {wire_reqs} commands, {len(races)} races (forms {sorted(forms)}, "
          f"{len(short)} under {OPAQUE_MIN} bytes), idle closes {idle_gaps[:1]}..{idle_gaps[-1:]}")


if __name__ == '__main__':
    main()
