#!/usr/bin/env python3
"""Meta writer of the round-20h samples (programs/x20h-lib.sh: keepalive-race-hypercorn,
keepalive-race-twisted): programs/x19l-meta.py races (imported, not copied: its checks of the capture
against the clients' log and the server application's log, its expect/observed/groundTruth), plus:

--idle-log   the server log also has the server's own idle-close events ("idle-timeout" lines with the
             client's port: Twisted's "Timing out client" log events, programs/x20h-twisted-server.py).
             Every FIN the server sent first on the wire must have one such line on its port (logged
             at most 50 ms before the FIN left, never after it), and every such line a server FIN:
             the server's own word that each idle close on the wire was its idle timer. The meta then
             gets groundTruth.serverLog.idleTimeouts (count, log-to-FIN delays) and, for each race,
             the log line of the close it raced. Exit 1 (no meta) when they disagree.
--header-note TEXT   a sentence about the server's response headers, added to groundTruth.serverLog.
Always: groundTruth.serverLog.serverHeaders, the Server header values of the responses on the wire.

Usage: x20h-meta.py SCENARIO [--idle-log] [--header-note TEXT] X19L-META-RACES-ARGS...
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('x19lmeta', os.path.join(_here, 'x19l-meta.py'))
x19l = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x19l)
x16 = x19l.x16


def server_headers(rows, port):
    vals = {}
    for p in rows:
        if p['sport'] == port and p['payload'].startswith(b'HTTP/1.'):
            head = p['payload'].split(b'\r\n\r\n')[0].split(b'\r\n')[1:]
            v = next((h.split(b':', 1)[1].strip().decode('latin-1') for h in head if h.lower().startswith(b'server:')), None)
            vals[v] = vals.get(v, 0) + 1
    return [{'value': k, 'responses': n} for k, n in vals.items()]


def idle_log_check(a, rows, conns, problems):
    events = [e for e in x16.read_jsonl(a.server_log) if e.get('event') == 'idle-timeout']
    by_port = {}
    for e in events:
        by_port.setdefault(e['port'], []).append(e)
    delays, per_race = [], {}
    for port, c in sorted(conns.items()):
        fin = c['serverFin']
        server_first = fin is not None and (c['clientFin'] is None or c['clientFin']['t'] > fin['t'])
        logged = by_port.pop(port, [])
        if not server_first:
            if logged:
                problems.append(f"port {port}: the server logged an idle timeout but did not close first on the wire")
            continue
        if len(logged) != 1:
            problems.append(f"port {port}: server FIN (frame {fin['frame']}) with {len(logged)} idle-timeout log lines")
            continue
        d = round((fin['epoch'] - logged[0]['t']) * 1000, 2)
        if not 0 <= d <= 50:
            problems.append(f"port {port}: idle-timeout logged {d} ms before the FIN (frame {fin['frame']})")
        delays.append(d)
        if c['race']:
            per_race[c['client']] = {'finFrame': fin['frame'], 'loggedMsBeforeFin': d, 'peer': logged[0].get('peer')}
    for port, left in by_port.items():
        problems.append(f"port {port}: {len(left)} idle-timeout log line(s) with no connection closed first by the server on the wire")
    return {'count': len(events), 'matchedServerFins': len(delays),
            'logToFinMs': {'min': min(delays), 'median': statistics.median(delays), 'max': max(delays)} if delays else None,
            'racedCloses': per_race,
            'note': "each FIN the server sent first on the wire has exactly one of the server's own idle-timeout log events "
                    "on that client port, logged just before the FIN left"}


def main(argv):
    ap = argparse.ArgumentParser(prog='x20h-meta.py', add_help=False)
    ap.add_argument('--idle-log', action='store_true')
    ap.add_argument('--header-note', default=None)
    mine, rest = ap.parse_known_args(argv)
    x19l.races_main(rest)      # exits 1 (no meta) when capture and logs disagree
    # the same arguments again, for the paths
    rp = argparse.ArgumentParser(add_help=False)
    x16.add_capture_arguments(rp)
    rp.add_argument('--client-log')
    a, _ = rp.parse_known_args(rest)
    rows = x16.packets(a.capture)
    conns = x16.connections(rows, a.server_port)
    with open(a.meta) as f:
        meta = json.load(f)
    problems = []
    slog = meta['groundTruth']['serverLog']
    slog['serverHeaders'] = server_headers(rows, a.server_port)
    if mine.header_note:
        slog['serverHeadersNote'] = mine.header_note
    if mine.idle_log:
        slog['idleTimeouts'] = idle_log_check(a, rows, conns, problems)
        print(f"x20h-meta: {slog['idleTimeouts']['count']} idle-timeout log lines, {slog['idleTimeouts']['matchedServerFins']} "
              f"server FINs matched, log to FIN {slog['idleTimeouts']['logToFinMs']} ms", file=sys.stderr)
    if problems:
        os.unlink(a.meta)
        x16.refuse_if(problems, 'x20h-meta')
    x16.write_meta(a.meta, meta)
    print(f"x20h-meta: {a.scenario}: written")


if __name__ == '__main__':
    main(sys.argv[1:])
