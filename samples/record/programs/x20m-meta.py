#!/usr/bin/env python3
"""Meta writer of keepalive-race-memcached (round 20m; programs/x20m-lib.sh).

Reads the capture with x16-meta.py's tshark reader and judges each connection with x19d-meta.py's
analyse() (the server's idle close, a command sent after it: "crossing" when that segment does not
acknowledge the FIN, "stale-reuse" when it does; the server's RST), its message splitter extended
here to memcached's text protocol: a client command is a line, and for the storage commands (set,
add, replace, append, prepend, cas) the data block of the line's <bytes> and CRLF after it; an answer
is one line (STORED, END, ERROR, ...) or VALUE lines each with their data block, up to END.

Checked against the client's JSON-lines log (x20m-memcache-client.py) and memcached's own logs: its
-vv stderr timestamped line by line (x20m-mc-log.py stamp: "<fd get k" for each command it read,
"Closing idle fd N" when its idle-timeout thread closed one) and a `watch connevents` connection
(x20m-mc-log.py watch: conn_close lines with the client's port, the fd and reason=idle_timeout).
Ground truth used: every client error is a race on the wire on the port it was sent on, every race a
client error; memcached closed exactly the connections the wire shows closed idle, each within 5 ms
of the FIN on the wire; it read as many commands as the client had answered (so none raced).
Writes samples/<scenario>.meta.json only when they agree and the recording has at least
--need-races races (--need-forms, --need-short-races); else exit 1, and the recorder records again.

Usage: x20m-meta.py SCENARIO --capture PCAP --meta OUT --server-port P --client-log F --server-log F
         --watch-log F --server-idle-setting N --one-way-delay-ms MS --description TEXT --software S...
         [--need-races N] [--need-forms FORM...] [--need-short-races N] [--configured-notes TEXT]
         [--capture-side TEXT]
"""
import re
import statistics

import sibling

x16 = sibling.load('x16meta', 'x16-meta.py')
x19d = sibling.load('x19dmeta', 'x19d-meta.py')

STORAGE = (b'set', b'add', b'replace', b'append', b'prepend', b'cas')
FINAL = (b'END', b'STORED', b'NOT_STORED', b'EXISTS', b'NOT_FOUND', b'DELETED', b'TOUCHED', b'OK', b'ERROR')


def memcached_messages(segs, from_server):
    """A direction's memcached text-protocol messages: client 'command', server 'reply' (one whole
    answer), as x19d-meta.py's messages() gives them (frame and time of the segment a message starts in)."""
    buf, at = x19d.joined(segs)
    out = []
    off = 0
    while True:
        eol = buf.find(b'\r\n', off)
        if eol < 0:
            break
        line = buf[off:eol]
        end = eol + 2
        p = at(off)
        if not from_server:
            words = line.split()
            text = line.decode(errors='replace')
            if words and words[0] in STORAGE and len(words) >= 5:
                n = int(words[4])
                if len(buf) < end + n + 2:
                    break
                end += n + 2
                text += f' <{n} bytes>'
            out.append({'frame': p['frame'], 't': p['t'], 'type': 'command', 'bytes': end - off, 'text': text})
        else:
            first = line.decode(errors='replace')
            complete = True
            while line.startswith(b'VALUE '):
                n = int(line.split()[3])
                if len(buf) < end + n + 2:
                    complete = False
                    break
                end += n + 2
                eol = buf.find(b'\r\n', end)
                if eol < 0:
                    complete = False
                    break
                line = buf[end:eol]
                end = eol + 2
            if not complete:
                break
            if first.startswith('VALUE '):
                first += ' ... ' + line.decode(errors='replace')
            out.append({'frame': p['frame'], 't': p['t'], 'type': 'reply', 'bytes': end - off, 'text': first})
        off = end
    return out


x19d.SPLITTERS['memcached'] = memcached_messages   # analyse() splits through it


def command_mismatch(p, r, e):
    """A problem when race R on port P is not the command the client failed (E), else None."""
    if not r['command'] or r['command'].split(' <')[0] != e['command']:
        return f"port {p}: the client failed {e['command']!r}, the wire raced {r['command']!r}"
    return None


def server_logs(server_log, watch_log):
    """memcached's logs: the commands it read ((t, fd, text)), its idle closes ((t, fd)) from -vv, and
    the watcher's idle-timeout closes ((gid, fd, port))."""
    read, closes = [], []
    for e in x16.read_jsonl(server_log):
        m = re.match(r'<(\d+) ((?:get|gets|set|add|replace|append|prepend|cas|delete|incr|decr|touch)\b.*)', e['line'])
        if m:
            read.append((e['t'], int(m.group(1)), m.group(2)))
        m = re.match(r'Closing idle fd (\d+)$', e['line'])
        if m:
            closes.append((e['t'], int(m.group(1))))
    watched = []
    for e in x16.read_jsonl(watch_log):
        f = e.get('fields') or {}
        if f.get('type') == 'conn_close' and f.get('reason') == 'idle_timeout':
            watched.append((int(f['gid']), int(f['cfd']), int(f['rport']), float(f['ts'])))
    watched.sort()
    return read, closes, watched


def idle_close_ports(closes, watched, problems):
    """port -> time of memcached's idle close: the k-th "Closing idle fd N" line is the k-th watcher
    idle_timeout close of fd N (in gid order)."""
    by_fd = {}
    for gid, fd, port, ts in watched:
        by_fd.setdefault(fd, []).append((port, ts))
    seen = {}
    out = {}
    for t, fd in sorted(closes):
        k = seen.get(fd, 0)
        seen[fd] = k + 1
        if k >= len(by_fd.get(fd, [])):
            problems.append(f"memcached closed idle fd {fd} at {t:.6f}; the watcher has no matching idle_timeout close")
            continue
        port, ts = by_fd[fd][k]
        if not (t - 0.01 <= ts <= t + 0.5):
            problems.append(f"fd {fd}: stderr close at {t:.6f}, watcher's at {ts:.6f}")
        out[port] = t
    if sum(len(v) for v in by_fd.values()) != len(closes):
        problems.append(f"the watcher logged {sum(len(v) for v in by_fd.values())} idle closes, stderr {len(closes)}")
    return out


def passes_of(times, within=0.05):
    """memcached's idle-timeout passes as the close times show them: closes within WITHIN s of the first
    of a group are one pass. [(first close, number of connections closed)]"""
    out = []
    for t in sorted(times):
        if out and t - out[-1][0] < within:
            out[-1][1] += 1
        else:
            out.append([t, 1])
    return out


def main():
    a = x19d.pool_parser(logs=('--watch-log',), healthy=False).parse_args()
    name, lib = 'memcached', 'pymemcache'
    setting = f"-o idle_timeout={int(a.server_idle_setting)}"

    t0, conns = x19d.capture_connections(a)
    rel = x16.since(t0)
    x19d.analyse(conns, 'memcached')
    clog, cmds, errors, oks = x19d.client_commands(a.client_log)
    races = {p: c for p, c in conns.items() if c['race']}
    problems = []
    err_by_port, wire_reqs = x19d.check_client_log(conns, races, cmds, problems, command_mismatch)

    read, closes, watched = server_logs(a.server_log, a.watch_log)
    slog = idle_close_ports(closes, watched, problems)
    if len(read) != len(oks):
        problems.append(f"memcached read {len(read)} commands (-vv), the client had {len(oks)} answered")
    idle = x19d.check_idle_closes(conns, slog, t0, problems, 'memcached')
    forms, short = x19d.races_or_refuse(a, races, problems, 'x20m-meta')

    server = next(iter(conns.values()))['server']
    idle_gaps = sorted(c['idleClose']['idleGapSeconds'] for c in idle.values() if c['idleClose']['used'])
    passes = passes_of(slog.values())
    pass_phase_ms = sorted(round((t % 1) * 1000, 1) for t, _ in passes)
    pass_intervals = [round(passes[i + 1][0] - passes[i][0], 3) for i in range(len(passes) - 1)]
    expect = []
    for c, r, e in x19d.by_port(conns, err_by_port):
        if r:
            if r['form'] == 'closed-on-arrival':
                what = (f"{r['command']} ({r['requestBytes']} bytes, frame {r['requestFrame']}) reached memcached {r['reuseIdleSeconds']} s after its "
                        f"last reply (frame {r['lastAnswerFrame']}), just as its idle-timeout thread found the connection idle: "
                        f"{r['closeAfterRequestMs']} ms after the command arrived the worker closed the socket with the command unread, "
                        f"a {r['closedWith']} (frame {r['rstFrame']}) whose ACK " + ("covers" if r['closeAcksRequest'] else "does not cover")
                        + f" the command; no data and no FIN before it ({r['idleGapSeconds']} s idle at the close).")
            else:
                what = (f"memcached's idle-timeout thread closed the connection silently (FIN, frame {r['finFrame']}, no data before it) "
                      f"{r['idleGapSeconds']} s after its last reply (frame {r['lastAnswerFrame']}); "
                      + ("crossing: the command left the client before that FIN reached it (its ACK does not cover the FIN); "
                         if r['form'] == 'crossing' else
                         "stale reuse: the command acknowledges the FIN (the client's kernel had it: pymemcache hands out a pooled "
                         "connection without checking it); ")
                      + f"{r['command']} ({r['requestBytes']} bytes, frame {r['requestFrame']}) reached the server {r['deltaMs']} ms after the FIN left; "
                      + f"the kernel answered RST (frame {r['rstFrame']}) {r['rstAfterRequestMs']} ms after it.")
            outcome = (f" {lib} raised {e['module']}.{e['error']}: {e['message'].strip()!r} after an idle pause of {e['idleMeasured']} s; "
                       "not retried (pymemcache's PooledClient never retries; it destroys the failed client, the next command connects anew).")
            expect.append(x16.race_finding(c, what + outcome, clientError=f"{e['module']}.{e['error']}", clientMessage=e['message'],
                                           retried=False))
        else:
            ic = c['idleClose']
            how = (f"; memcached's idle close (FIN, frame {ic['closeFrame']}) {ic['idleGapSeconds']} s after its last answer; the client closed "
                   "its side later, unused") if ic else None
            expect.append(x19d.clean_connection(c, how))
    if races:
        reuse = sorted(c['race']['reuseIdleSeconds'] for c in races.values())
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                       'notes': f"memcached closes idle connections ({setting}): {len(idle_gaps)} idle closes after {idle_gaps[0]}-{idle_gaps[-1]} s "
                                f"(median {statistics.median(idle_gaps):.3f} s; its idle-timeout thread runs on whole wall-clock seconds, every 2 s or more, "
                                f"and compares whole seconds) while the client's pool has no idle limit and reuses connections idle "
                                f"{reuse[0]}-{reuse[-1]} s (raced reuses, server side). The races above are the consequence.",
                       'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps), 'racedReuseIdleSeconds': reuse}})

    meta = x19d.pool_meta_head(a, 'memcached', setting, conns, races, idle_gaps, expect)
    meta['observed']['idleTimeoutPasses'] = {
        'count': len(passes), 'closesPerPass': [n for _, n in passes],
        'phaseInSecondMs': pass_phase_ms, 'intervalsSeconds': pass_intervals,
        'note': ("memcached's conn_timeout_thread: each pass starts on a whole second of the wall clock (seen at -vvv: its "
                 "wait between passes ends on a whole second), sleeps one timeslice (1 s / (max_fds / 100)) before each 100 fds, so it reaches these fds ~0.1 s into the "
                 "second, and closes a connection when current_time - last_cmd_time > idle_timeout (whole seconds); a pass over "
                 "1024 fds takes ~1.1 s, and the next starts on the whole second floor(its end) + sleep_time, sleep_time = "
                 "idle_timeout - (current_time - oldest last command) + 1, at least 1"),
    }
    meta['facts'] = x19d.pool_facts(a, conns, wire_reqs, len(oks), races, short, idle)
    start = next((e for e in clog if e.get('event') == 'start'), {})
    meta['groundTruth'] = {
        'clientLog': {
            'library': lib, 'versions': start.get('versions'),
            'commands': len(cmds), 'ok': len(oks),
            'errors': [{'captureTime': rel(e['sentAt']), 'port': e['port'], 'command': e['command'], 'error': f"{e['module']}.{e['error']}",
                        'message': e['message'], 'idleMeasured': e['idleMeasured'], 'gapAsked': e['gapAsked'], 'elapsedMs': e['elapsedMs'],
                        'form': races[e['port']]['race']['form']} for e in errors],
        },
        'serverLog': {
            'server': 'memcached -vv (stderr, timestamped per line) and a `watch connevents` connection',
            'commandsRead': len(read),
            'idleTimeoutCloses': {str(p): rel(t) for p, t in sorted(slog.items(), key=lambda kv: kv[1])},
        },
        'timesNote': "captureTime: the client's or memcached's wall clock minus the capture's first packet (same host clock)",
    }
    x16.write_meta(a.meta, meta)
    print(f"x20m-meta: {a.scenario}: {len(conns)} connections, {wire_reqs} commands, {len(races)} races (forms {sorted(forms)}, "
          f"{len(short)} under {x19d.OPAQUE_MIN} bytes), idle closes {idle_gaps[:1]}..{idle_gaps[-1:]}, passes at {pass_phase_ms[:1]}..{pass_phase_ms[-1:]} ms")


if __name__ == '__main__':
    main()
