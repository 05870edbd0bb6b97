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
import argparse
import importlib.util
import os
import re
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


x16 = _load('x16meta', 'x16-meta.py')
x19d = _load('x19dmeta', 'x19d-meta.py')

STORAGE = (b'set', b'add', b'replace', b'append', b'prepend', b'cas')
FINAL = (b'END', b'STORED', b'NOT_STORED', b'EXISTS', b'NOT_FOUND', b'DELETED', b'TOUCHED', b'OK', b'ERROR')


def memcached_messages(segs, from_server):
    """A direction's memcached text-protocol messages: client 'command', server 'reply' (one whole
    answer), as x19d-meta.py's messages() gives them (frame and time of the segment a message starts in)."""
    buf = b''
    starts = []
    for p in segs:
        starts.append((len(buf), p))
        buf += p['payload']

    def at(off):
        return max((s for s in starts if s[0] <= off), key=lambda s: s[0])[1]

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


_x19d_messages = x19d.messages


def _messages(segs, proto, from_server):
    if proto == 'memcached':
        return memcached_messages(segs, from_server)
    return _x19d_messages(segs, proto, from_server)


x19d.messages = _messages   # analyse() splits through it


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
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--server-port', type=int, required=True)
    ap.add_argument('--client-log', required=True)
    ap.add_argument('--server-log', required=True)
    ap.add_argument('--watch-log', required=True)
    ap.add_argument('--server-idle-setting', type=float, required=True)
    ap.add_argument('--one-way-delay-ms', type=float, required=True)
    ap.add_argument('--description', required=True)
    ap.add_argument('--configured-notes')
    ap.add_argument('--software', nargs='+', required=True)
    ap.add_argument('--capture-side')
    ap.add_argument('--need-races', type=int, default=0)
    ap.add_argument('--need-forms', nargs='*', default=[])
    ap.add_argument('--need-short-races', type=int, default=0)
    a = ap.parse_args()
    a.healthy = False
    name, lib = 'memcached', 'pymemcache'
    setting = f"-o idle_timeout={int(a.server_idle_setting)}"

    rows = x16.packets(a.capture)
    t0 = rows[0]['epoch']
    rel = x16.since(t0)
    conns = x16.connections([p for p in rows if a.server_port in (p['sport'], p['dport'])], a.server_port)
    x19d.analyse(conns, 'memcached')
    clog = x16.read_jsonl(a.client_log)
    cmds = [e for e in clog if e.get('event') == 'command']
    errors = [e for e in cmds if e['outcome'] == 'error']
    oks = [e for e in cmds if e['outcome'] == 'ok']
    races = {p: c for p, c in conns.items() if c['race']}
    problems = []

    err_by_port = {}
    for e in errors:
        if e['port'] in err_by_port:
            problems.append(f"two errors on port {e['port']}")
        err_by_port[e['port']] = e
        if e['port'] not in races:
            problems.append(f"client error on port {e['port']} ({e['command']}: {e['message'][:60]!r}) is not a race on the wire")
    for p, c in races.items():
        if p not in err_by_port:
            problems.append(f"race on port {p} ({c['race']['command']}) but the client logged no error")
        elif not c['race']['command'] or c['race']['command'].split(' <')[0] != err_by_port[p]['command']:
            problems.append(f"port {p}: the client failed {err_by_port[p]['command']!r}, the wire raced {c['race']['command']!r}")
        if c['race']['answered']:
            problems.append(f"race on port {p} was answered")
        if c['race']['rstFrame'] is None:
            problems.append(f"race on port {p}: no RST")
    wire_reqs = sum(len(c['requests']) for c in conns.values())
    if wire_reqs != len(cmds):
        problems.append(f"client logged {len(cmds)} commands, wire has {wire_reqs}")
    wire_answers = sum(len(c['answers']) for c in conns.values())
    if wire_answers != len(oks):
        problems.append(f"client logged {len(oks)} answers, wire has {wire_answers}")

    read, closes, watched = server_logs(a.server_log, a.watch_log)
    slog = idle_close_ports(closes, watched, problems)
    if len(read) != len(oks):
        problems.append(f"memcached read {len(read)} commands (-vv), the client had {len(oks)} answered")
    idle = {p: c for p, c in conns.items() if c['idleClose']}
    if set(slog) != set(idle):
        problems.append(f"memcached logged idle closes for ports {sorted(slog)}, wire has idle closes on {sorted(idle)}")
    for p, c in idle.items():
        ic = c['idleClose']
        arrival = c['race'] and c['race']['form'] == 'closed-on-arrival'
        if (ic['closedWith'] != 'FIN' and not arrival) or ic['goodbye']:
            problems.append(f"port {p}: idle close {ic['closedWith']} with {len(ic['goodbye'])} message(s) before it")
        if p in slog and abs(slog[p] - (t0 + ic['closeAt'])) > 0.005:
            problems.append(f"port {p}: memcached logged its idle close {(slog[p] - t0 - ic['closeAt']) * 1000:.1f} ms from the wire's FIN")
    forms = {c['race']['form'] for c in races.values()}
    short = [c for c in races.values() if c['race']['belowOpaqueMinimum']]
    if len(races) < a.need_races or not set(a.need_forms) <= forms or len(short) < a.need_short_races:
        problems.append(f"only {len(races)} races (forms {sorted(forms)}, {len(short)} under {x19d.OPAQUE_MIN} bytes); need {a.need_races} "
                        f"(forms {a.need_forms}, {a.need_short_races} short)")
    x16.refuse_if(problems, 'x20m-meta')

    server = next(iter(conns.values()))['server']
    idle_gaps = sorted(c['idleClose']['idleGapSeconds'] for c in idle.values() if c['idleClose']['used'])
    passes = passes_of(slog.values())
    pass_phase_ms = sorted(round((t % 1) * 1000, 1) for t, _ in passes)
    pass_intervals = [round(passes[i + 1][0] - passes[i][0], 3) for i in range(len(passes) - 1)]
    expect = []
    for port in sorted(conns):
        c = conns[port]
        r = c['race']
        if r:
            e = err_by_port[port]
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
            ev = {k: v for k, v in r.items() if k not in ('requestEpoch',)}
            ev.update(clientError=f"{e['module']}.{e['error']}", clientMessage=e['message'], retried=False)
            expect.append({'kind': 'keepalive-race', 'client': c['client'], 'server': c['server'], 'notes': what + outcome, 'evidence': ev})
        else:
            n = len(c['requests'])
            ic = c['idleClose']
            if ic:
                how = f"; memcached's idle close (FIN, frame {ic['closeFrame']}) {ic['idleGapSeconds']} s after its last answer; the client closed its side later, unused"
            elif c['clientFin'] is not None:
                how = '; the client closed it (FIN first from the client)'
            else:
                how = '; open at the end of the capture'
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': f"{n} command(s), all answered{how}. Clean."})
    if races:
        reuse = sorted(c['race']['reuseIdleSeconds'] for c in races.values())
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                       'notes': f"memcached closes idle connections ({setting}): {len(idle_gaps)} idle closes after {idle_gaps[0]}-{idle_gaps[-1]} s "
                                f"(median {statistics.median(idle_gaps):.3f} s; its idle-timeout thread runs on whole wall-clock seconds, every 2 s or more, "
                                f"and compares whole seconds) while the client's pool has no idle limit and reuses connections idle "
                                f"{reuse[0]}-{reuse[-1]} s (raced reuses, server side). The races above are the consequence.",
                       'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(idle_gaps), 'racedReuseIdleSeconds': reuse}})

    configured = {'protocol': 'memcached', 'serverIdleSetting': setting, 'serverIdleSeconds': a.server_idle_setting,
                  'oneWayDelayMs': a.one_way_delay_ms}
    meta = x16.meta_head(a, configured, conns, races, idle_gaps, expect)
    meta['observed']['racedCommandBytes'] = {c['client']: c['race']['requestBytes'] for p, c in sorted(races.items())}
    meta['observed']['idleTimeoutPasses'] = {
        'count': len(passes), 'closesPerPass': [n for _, n in passes],
        'phaseInSecondMs': pass_phase_ms, 'intervalsSeconds': pass_intervals,
        'note': ("memcached's conn_timeout_thread: each pass starts on a whole second of the wall clock (seen at -vvv: its "
                 "wait between passes ends on a whole second), sleeps one timeslice (1 s / (max_fds / 100)) before each 100 fds, so it reaches these fds ~0.1 s into the "
                 "second, and closes a connection when current_time - last_cmd_time > idle_timeout (whole seconds); a pass over "
                 "1024 fds takes ~1.1 s, and the next starts on the whole second floor(its end) + sleep_time, sleep_time = "
                 "idle_timeout - (current_time - oldest last command) + 1, at least 1"),
    }
    meta['facts'] = {
        'connections': len(conns), 'commands': wire_reqs, 'answers': len(oks), 'races': len(races),
        'racesUnderOpaqueMinimum': len(short),
        'serverResets': sum(1 for c in conns.values() for side, _ in c['rsts'] if side == 'server'),
        'serverIdleCloses': len(idle), 'closeStates': x16.close_states(conns),
        'captureFile': os.path.basename(a.capture),
    }
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
