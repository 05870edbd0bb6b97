#!/usr/bin/env python3
"""Meta writer of zero-window-nginx-send-timeout (zero-window-nginx-send-timeout.sh): curl downloads
from nginx, stopped (SIGSTOP) mid-download and continued (SIGCONT). Built on c-meta.py's capture
reader and helpers (read_packets, connections, facts_of, keepalive_probes), imported, not copied.

Ground truth, from the programs' own output:
  curl   one `x24z-curl NAME PORT STATUS SIZE EXIT TIME ERRORMSG` line per download (its -w summary)
         and one `x24z-client NAME PATH START STOP CONT` line from the recorder: the epoch times
         (bash $EPOCHREALTIME) it started curl, sent SIGSTOP and sent SIGCONT
  nginx  access log `$remote_port $status $body_bytes_sent $bytes_sent $request_time $msec $connection
         $request_completion "$request"`, and its error log's "*N client timed out (110: Connection timed
         out) while sending response to client" lines (N = $connection)
Checks (exit 1, no meta, when one fails), per download:
  every  its connection on the wire (curl's local port = nginx's $remote_port), one GET; the client
         advertises a zero window after SIGSTOP, reopens it only after SIGCONT, and the zero window lasts
         more than 1 s; nginx's kernel probes it (seq = next - 1) while it is zero
  kept   (nginx still waiting when curl went on) no "timed out" line, status 200, $request_completion
         OK, all FILE_BYTES bytes sent and received by curl (exit 0); its zero window shorter than
         send_timeout
  timed out, FIN   a "timed out" line for its $connection; nothing from nginx on the wire between its
         close ($msec) and SIGCONT but zero-window probes: its FIN, after the rest of its send buffer, only
         once curl reads again; the FIN's sequence = $bytes_sent; curl received $body_bytes_sent bytes
         and exited 18 "transfer closed with (FILE_BYTES - $body_bytes_sent) bytes remaining to read"
  timed out, RST   a "timed out" line; nginx's RST within 20 ms of its $msec, while the window is
         still zero; curl exited 56 (Connection reset by peer) with fewer bytes than $body_bytes_sent
         (those in nginx's send buffer were lost with the reset)

Usage: x24z-meta.py --scenario NAME --capture PCAP --out META --client-log F --access-log F --error-log F
         --file-bytes N --send-timeout S --kinds NAME=kept|fin|rst,... --configured JSON
         --description TEXT --software S...
"""
import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('cmeta', os.path.join(_here, 'c-meta.py'))
cmeta = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cmeta)
check, CheckFailed, r3 = cmeta.check, cmeta.CheckFailed, cmeta.r3

SERVER_PORT = 8080
TIMED_OUT = re.compile(r'\*(\d+) client timed out \(110: Connection timed out\) while sending response to client')


def first_epoch(capture):
    out = subprocess.run(['tshark', '-r', capture, '-n', '-c', '1', '-T', 'fields', '-e', 'frame.time_epoch'],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0])


def read_client_log(path):
    curl, client = {}, {}
    for line in open(path):
        v = line.rstrip('\n').split(' ')
        if v[0] == 'x24z-curl':
            curl[v[1]] = {'port': int(v[2]), 'status': int(v[3]), 'size': int(v[4]), 'exit': int(v[5]),
                          'time': float(v[6]), 'error': ' '.join(v[7:]).strip()}
        elif v[0] == 'x24z-client':
            client[v[1]] = {'path': v[2], 'start': float(v[3]), 'stop': float(v[4]), 'cont': float(v[5])}
    return curl, client


def read_access_log(path):
    by_port = {}
    for line in open(path):
        v = line.split(' ')
        by_port[int(v[0])] = {'status': int(v[1]), 'body': int(v[2]), 'bytes': int(v[3]), 'requestTime': float(v[4]),
                              'msec': float(v[5]), 'connection': int(v[6]), 'completion': v[7]}
    return by_port


def measure(name, kind, conn, curl, client, ngx, timed_out, t0, cfg):
    """Check one download against the wire; return its expect entries and its measured facts."""
    rel = lambda t: t - t0  # noqa: E731
    stop, cont = rel(client['stop']), rel(client['cont'])
    reqs = conn.requests()
    check(len(reqs) == 1 and reqs[0].method == 'GET', f'{name}: {len(reqs)} requests')
    c2s, s2c = conn.c2s(), conn.s2c()
    zero = [p for p in c2s if p.win == 0 and not p.syn and not p.rst]
    check(zero, f'{name}: no zero window advertised')
    zw = zero[0]
    check(zw.t > stop, f'{name}: zero window at {zw.t:.3f} s before curl was stopped ({stop:.3f} s)')
    reopen = next((p for p in c2s if p.t > zw.t and p.win and p.win > 0), None)
    zw_end = reopen.t if reopen is not None else conn.packets[-1].t
    check(reopen is None or reopen.t > cont, f'{name}: window reopened at {zw_end:.3f} s, before SIGCONT ({cont:.3f} s)')
    probes = [p for p in cmeta.keepalive_probes(s2c) if zw.t < p.t < zw_end]
    check(len(probes) >= 2, f'{name}: {len(probes)} zero-window probes')
    check(zw_end - zw.t > 1.0, f'{name}: zero window only {zw_end - zw.t:.3f} s')
    last_data = max((p for p in s2c if p.len > 1 and p.t < zw.t), key=lambda p: p.t)
    check(ngx['status'] == 200 and curl['status'] == 200, f'{name}: status {ngx["status"]}/{curl["status"]}')
    close_at = rel(ngx['msec'])
    head = ngx['bytes'] - ngx['body']
    fins, rsts = conn.fins('server'), conn.rsts('server')
    m = {'path': client['path'], 'curlStopped': r3(stop), 'curlContinued': r3(cont),
         'lastDataBeforeStall': r3(last_data.t), 'lastDataFrame': last_data.frame,
         'zeroWindowFrom': r3(zw.t), 'zeroWindowFrame': zw.frame,
         'windowReopened': r3(reopen.t) if reopen else None, 'windowReopenedFrame': reopen.frame if reopen else None,
         'zeroWindowSeconds': r3(zw_end - zw.t), 'serverProbes': [r3(p.t) for p in probes],
         'serverRetransmissions': [p.frame for p in s2c if p.retrans],
         'nginx': {'connection': ngx['connection'], 'status': ngx['status'], 'bodyBytesSent': ngx['body'],
                   'bytesSent': ngx['bytes'], 'requestTime': ngx['requestTime'], 'loggedAt': r3(close_at),
                   'requestCompletion': ngx['completion'] or '', 'timedOut': ngx['connection'] in timed_out},
         'curl': {'exitCode': curl['exit'], 'sizeDownload': curl['size'], 'timeTotal': curl['time'],
                  'error': curl['error']}}
    if kind == 'kept':
        check(ngx['connection'] not in timed_out, f'{name}: nginx timed it out')
        check(ngx['completion'] == 'OK' and ngx['body'] == cfg['fileBytes'], f'{name}: nginx sent {ngx["body"]} bytes')
        check(curl['exit'] == 0 and curl['size'] == cfg['fileBytes'], f'{name}: curl exit {curl["exit"]}, {curl["size"]} bytes')
        check(reopen is not None and zw_end - zw.t < cfg['nginxSendTimeout'], f'{name}: zero window not shorter than send_timeout')
        notes = (f"curl stopped at {r3(stop)} s and continued at {r3(cont)} s; the client advertises a zero window from "
                 f"{r3(zw.t)} s (frame {zw.frame}) to {r3(reopen.t)} s (frame {reopen.frame}): {r3(zw_end - zw.t)} s, under "
                 f"nginx's send_timeout {cfg['nginxSendTimeout']} s; nginx's kernel probes it {len(probes)} times; the transfer "
                 f"resumes and completes (200, {ngx['body']} bytes, curl exit 0): a stall that recovered")
        return [cmeta.entry('zero-window-stall', conn, notes)], m
    check(ngx['connection'] in timed_out, f'{name}: no "client timed out" line for *{ngx["connection"]}')
    check(ngx['completion'] != 'OK', f'{name}: $request_completion OK')
    check(stop < close_at < cont, f'{name}: nginx closed at {close_at:.3f} s, not while curl was stopped')
    m['nginx']['closeAfterZeroWindow'] = r3(close_at - zw.t)
    m['nginx']['closeAfterLastData'] = r3(close_at - last_data.t)
    lost = cfg['fileBytes'] - ngx['body']
    if kind == 'fin':
        check(not rsts and len(fins) == 1, f'{name}: server {len(fins)} FIN, {len(rsts)} RST')
        fin = fins[0]
        check(reopen is not None and fin.t >= reopen.t, f'{name}: FIN before the window reopened')
        early = [p for p in s2c if close_at <= p.t < reopen.t and (p.len > 1 or p.fin or p.rst)]
        check(not early, f'{name}: nginx sent more than probes between its close and curl reading again')
        syn = conn.synacks()[0]
        check(fin.seq + fin.len - syn.seq - 1 == ngx['bytes'], f'{name}: FIN at byte {fin.seq + fin.len - syn.seq - 1}, nginx sent {ngx["bytes"]}')
        check(curl['exit'] == 18 and curl['size'] == ngx['body'], f'{name}: curl exit {curl["exit"]}, {curl["size"]} bytes')
        check(f'transfer closed with {lost} bytes remaining to read' in curl['error'], f'{name}: curl said {curl["error"]!r}')
        m['serverFin'] = {'at': r3(fin.t), 'frame': fin.frame, 'afterWindowReopened': r3(fin.t - reopen.t)}
        zw_notes = (f"curl stopped at {r3(stop)} s; the client advertises a zero window from {r3(zw.t)} s (frame {zw.frame}) "
                    f"to {r3(reopen.t)} s (frame {reopen.frame}, after SIGCONT at {r3(cont)} s): {r3(zw_end - zw.t)} s; nginx's "
                    f"kernel probes it {len(probes)} times. The transfer does not really recover: nginx gave up at "
                    f"{r3(close_at)} s (send_timeout {cfg['nginxSendTimeout']} s; {r3(close_at - zw.t)} s into the zero window, "
                    f"{r3(close_at - last_data.t)} s after its last data segment) and close()d the socket; its kernel "
                    f"kept the unsent bytes and the FIN behind the zero window and sent them once curl read again "
                    f"(FIN frame {fin.frame}): the response ends {lost} bytes short of its Content-Length, curl exit 18. "
                    "conncheck's zero-window-stall tells it (senderGaveUp 'fin': the FIN queued behind the zero window on a "
                    "response cut short), not the timeout's value, which the wire does not show")
        return [cmeta.entry('zero-window-stall', conn, zw_notes)], m
    check(len(rsts) == 1 and not fins, f'{name}: server {len(fins)} FIN, {len(rsts)} RST')
    rst = rsts[0]
    check(reopen is None and rst.t > zw.t, f'{name}: the window reopened before the RST')
    check(abs(rst.t - close_at) < 0.02, f'{name}: RST at {rst.t:.3f} s, nginx closed at {close_at:.3f} s')
    check(curl['exit'] == 56 and 'Connection reset by peer' in curl['error'], f'{name}: curl exit {curl["exit"]} {curl["error"]!r}')
    check(curl['size'] < ngx['body'], f'{name}: curl got all {ngx["body"]} bytes nginx sent')
    m['serverRst'] = {'at': r3(rst.t), 'frame': rst.frame, 'afterZeroWindow': r3(rst.t - zw.t),
                      'afterLastData': r3(rst.t - last_data.t)}
    m['bytesLostInNginxSendBuffer'] = ngx['body'] - curl['size']
    zw_notes = (f"curl stopped at {r3(stop)} s; the client advertises a zero window from {r3(zw.t)} s (frame {zw.frame}) "
                f"until nginx's RST at {r3(rst.t)} s (frame {rst.frame}): {r3(zw_end - zw.t)} s, still zero when the "
                f"connection ends; nginx's kernel probes it {len(probes)} times")
    rst_notes = (f"nginx gave up after send_timeout ({cfg['nginxSendTimeout']} s; error log \"client timed out\") and, "
                 f"reset_timedout_connection on, reset the connection: RST frame {rst.frame}, {r3(rst.t - zw.t)} s into the "
                 f"zero window, {r3(rst.t - last_data.t)} s after its last data segment, the 200 response "
                 f"{cfg['fileBytes'] - ngx['body']} body bytes short; the {ngx['body'] - curl['size']} bytes in its send "
                 f"buffer were lost: curl (continued at {r3(cont)} s) read {curl['size']} bytes, then exit 56 "
                 f"\"{curl['error']}\". A deliberate abort by nginx's timeout against a client that stopped reading, not a "
                 "dying server")
    return [cmeta.entry('zero-window-stall', conn, zw_notes), cmeta.entry('reset-before-response', conn, rst_notes)], m


def main():
    ap = argparse.ArgumentParser()
    for a in ('--scenario', '--capture', '--out', '--client-log', '--access-log', '--error-log', '--kinds',
              '--configured', '--description'):
        ap.add_argument(a, required=True)
    ap.add_argument('--software', action='append', default=[])
    args = ap.parse_args()
    cfg = json.loads(args.configured)
    kinds = dict(kv.split('=') for kv in args.kinds.split(','))
    conns = cmeta.connections(cmeta.read_packets(args.capture, SERVER_PORT), SERVER_PORT)
    t0 = first_epoch(args.capture)
    curl, client = read_client_log(args.client_log)
    access = read_access_log(args.access_log)
    timed_out = {int(m.group(1)) for m in TIMED_OUT.finditer(open(args.error_log).read())}
    expect, measured = [], {}
    try:
        check(len(conns) == len(kinds), f'{len(conns)} connections, {len(kinds)} downloads')
        check(len(timed_out) == sum(k != 'kept' for k in kinds.values()), f'{len(timed_out)} "timed out" lines')
        by_client = {c.client: c for c in conns}
        for name, kind in kinds.items():
            cu, cl = curl[name], client[name]
            conn = by_client.get(f'127.0.0.1:{cu["port"]}')
            check(conn is not None and cu['port'] in access, f'{name}: port {cu["port"]} not on the wire or in the access log')
            e, m = measure(name, kind, conn, cu, cl, access[cu['port']], timed_out, t0, cfg)
            expect += e
            measured[conn.client] = {'download': name, 'outcome': kind, **m}
    except (CheckFailed, KeyError) as e:
        print(f'x24z-meta: {args.scenario}: the capture does not show the scenario: {e}', file=sys.stderr)
        return 1
    meta = {'scenario': args.scenario, 'description': args.description, 'software': args.software,
            'configured': cfg, 'expect': expect, 'silent': False, 'facts': cmeta.facts_of(conns), 'measured': measured}
    with open(args.out, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x24z-meta: {args.scenario}: ok, {len(conns)} connections, {len(expect)} expect entries')
    return 0


if __name__ == '__main__':
    sys.exit(main())
