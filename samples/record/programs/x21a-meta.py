#!/usr/bin/env python3
"""Meta writer of the round-21a samples (programs/x21a-lib.sh: keepalive-race-aiohttp,
keepalive-race-daphne): programs/x20h-meta.py (imported, not copied: x19l-meta.py races, which checks
the capture against the clients' and the server application's logs, the Server headers on the wire,
and --idle-log, which matches every server close on the wire with the server's own idle-timeout log
line), plus:

- a server close by RST counts for --idle-log like a FIN: on a connection the server closed first
  with an RST and no FIN (a close on arrival: aiohttp closing at its keep-alive check with the raced
  request unread in the socket's buffer), the RST is matched with the idle-timeout log line instead
  (its groundTruth.serverLog.idleTimeouts.racedCloses entry then has finFrame = that RST's frame and
  closedWith "RST"). Without such a connection the check and its output are x20h-meta.py's.
--keepalive-checks   the server log also has aiohttp's keep-alive checks (programs/x21a-aiohttp-server.py:
             "keepalive-check" lines for the checks that did not close, "idle-timeout" lines with the
             check's number and the idle seconds for those that did). groundTruth.serverLog.keepaliveChecks
             then says how many checks there were, how many idle closes came at a connection's first
             check (keepalive_timeout after its first response) and how many at a later one (on its
             one-second tick), and the idle seconds at the close by the server's own clock.

- with --idle-log, each race x16-meta.py calls closed-on-arrival (the request is on the capture before the
  server's close, which comes within 5 ms and answers nothing) gets the server's word on it: when the
  server logged its idle close before the request reached the capture point and the close does not
  ACK the request, the server's kernel sent its FIN before it had the request: on the wire the two
  crossed, a few microseconds from the capture point. The expect entry's evidence then has
  timerBeforeRequestMs (the idle-timeout log line to the request's frame) and its notes say so; the
  form stays x16-meta.py's, as in the other samples.

Usage: x21a-meta.py SCENARIO [--keepalive-checks] X20H-META-ARGS...
"""
import importlib.util
import json
import os
import statistics
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('x20hmeta', os.path.join(_here, 'x20h-meta.py'))
x20h = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x20h)
x16 = x20h.x16

_x20h_idle_log_check = x20h.idle_log_check
_rst_closed = {}


def idle_log_check(a, rows, conns, problems):
    """x20h-meta.py's check, with a connection the server closed first by RST (no FIN) seen as closed by that RST."""
    seen = {}
    for port, c in conns.items():
        srst = next((p for side, p in c['rsts'] if side == 'server'), None)
        if c['serverFin'] is None and srst is not None and (c['clientFin'] is None or c['clientFin']['t'] > srst['t']):
            c = dict(c, serverFin=srst)
            _rst_closed[port] = srst['frame']
        seen[port] = c
    out = _x20h_idle_log_check(a, rows, seen, problems)
    for client, r in out['racedCloses'].items():
        port = int(client.rsplit(':', 1)[1])
        if port in _rst_closed:
            r['closedWith'] = 'RST'
    if _rst_closed:
        out['closedByRst'] = sorted(_rst_closed)
        out['note'] += "; a connection the server closed first with an RST and no FIN (closedByRst: client ports) is matched by that RST"
    return out


x20h.idle_log_check = idle_log_check


def keepalive_checks(server_log):
    ev = x16.read_jsonl(server_log)
    checks = [e for e in ev if e.get('event') == 'keepalive-check']
    closes = [e for e in ev if e.get('event') == 'idle-timeout']
    first = sorted(e['idleSeconds'] for e in closes if e.get('check') == 1)
    later = sorted(e['idleSeconds'] for e in closes if e.get('check', 1) > 1)
    rng = lambda v: {'n': len(v), 'min': v[0], 'median': statistics.median(v), 'max': v[-1]} if v else {'n': 0}
    return {
        'checksThatDidNotClose': len(checks),
        'checksThatDidNotCloseWhileIdle': sum(1 for e in checks if e.get('waiting')),
        'idleClosesAtFirstCheck': rng(first),
        'idleClosesAtLaterCheck': rng(later),
        'note': ("aiohttp's own keep-alive checks (RequestHandler._process_keepalive, logged by programs/x21a-aiohttp-server.py): "
                 "the first at keepalive_timeout after a connection's first response, then every KEEPALIVE_RESCHEDULE_DELAY (1 s) "
                 "until one finds it idle longer than keepalive_timeout since its last response; idle seconds by the loop's clock"),
    }


def arrival_by_server_log(meta, capture, server_port, server_log):
    """Annotates the closed-on-arrival races (see the module's doc); returns how many were crossings by the server's log."""
    conns = x16.connections(x16.packets(capture), server_port)
    logged = {}
    for e in x16.read_jsonl(server_log):
        if e.get('event') == 'idle-timeout':
            logged.setdefault(e['port'], []).append(e)
    n = 0
    for e in meta['expect']:
        if e['kind'] != 'keepalive-race' or e['evidence'].get('form') != 'closed-on-arrival':
            continue
        port = int(e['client'].rsplit(':', 1)[1])
        r = conns[port]['race']
        lines = logged.get(port, [])
        if len(lines) != 1:
            continue
        before = round((r['requestEpoch'] - lines[0]['t']) * 1000, 3)
        e['evidence']['timerBeforeRequestMs'] = before
        when = f"{before} ms before" if before >= 0 else f"{-before} ms after"
        if before > 0 and not r['closeAcksRequest']:
            n += 1
            e['notes'] += (f" The server's own log has its idle close {when} the request reached the capture point, and its "
                           f"{r['closeWith']} (frame {r['closeFrame']}) does not ACK the request: the server's kernel sent it before it had the "
                           "request, so on the wire the request crossed the close (a crossing a few microseconds from the capture point); "
                           "closed-on-arrival here is x16-meta.py's reading of the capture's order alone.")
        else:
            e['notes'] += (f" The server's own log has its idle close {when} the request reached the capture point, and its "
                           f"{r['closeWith']} (frame {r['closeFrame']}) {'ACKs' if r['closeAcksRequest'] else 'does not ACK'} the request"
                           + (": the server's kernel had the request when it closed; the application never saw it." if r['closeAcksRequest'] else '.'))
    return n


def main(argv):
    mine = '--keepalive-checks' in argv
    rest = [x for x in argv if x != '--keepalive-checks']
    x20h.main(rest)          # exits 1 (no meta) when capture and logs disagree
    arg = lambda name: rest[rest.index(name) + 1]
    meta_path, server_log = arg('--meta'), arg('--server-log')
    with open(meta_path) as f:
        meta = json.load(f)
    if '--idle-log' in rest:
        n = arrival_by_server_log(meta, arg('--capture'), int(arg('--server-port')), server_log)
        if n:
            print(f"x21a-meta: {n} closed-on-arrival race(s) the server's log shows crossing its close", file=sys.stderr)
    if mine:
        meta['groundTruth']['serverLog']['keepaliveChecks'] = kc = keepalive_checks(server_log)
        print(f"x21a-meta: keep-alive checks: {kc['idleClosesAtFirstCheck']} closes at the first check, "
              f"{kc['idleClosesAtLaterCheck']} at a later one, {kc['checksThatDidNotClose']} checks that did not close", file=sys.stderr)
    x16.write_meta(meta_path, meta)


if __name__ == '__main__':
    main(sys.argv[1:])
