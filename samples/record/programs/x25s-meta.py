#!/usr/bin/env python3
"""Meta writer of slow-clients-server-timeouts (slow-clients-server-timeouts.sh): a Node http.Server and
nginx timing out slow clients. Built on c-meta.py's capture reader and helpers (read_packets, Conn,
facts_of, check), loaded through sibling.py, not copied.

Ground truth, from the programs' own output:
  clients  x25s-slow-clients.py's JSON lines: server, client kind, local port, bytes sent and when,
           status line got, the server's FIN/RST and when
  Node     x25s-node-server.js's event log: clientError (code ERR_HTTP_REQUEST_TIMEOUT) with the
           socket's remotePort, request/response, close
  nginx    access log `$remote_port $status $request_time $msec $connection $request_completion
           $request_length "$request"`, error log "client timed out" lines
Checks (exit 1, no meta, when one fails), per connection (client port = the logs' port):
  every slow client  the server closes first with a FIN, no RST on the connection
  Node               exactly one response, "408 Request Timeout" with Connection: close, right before
                     its FIN; a clientError ERR_HTTP_REQUEST_TIMEOUT for the port; the client got the
                     408. slow-head and silent: 408 after headersTimeout (+ at most one
                     connectionsCheckingInterval) from the SYN; slow-body: after requestTimeout (+ one
                     interval) from the request's first byte
  nginx              no byte from the server; slow-head: 408 in the access log, FIN
                     client_header_timeout after the SYN; slow-body: 408 in the access log, FIN
                     client_body_timeout after the last body byte; silent: no access log line, FIN
                     client_header_timeout after the SYN; error log: "client timed out ... while reading client
                     request line" (slow-head) and "... while waiting for request" (silent), no other
                     "timed out" line (a body timeout is only in the access log)
  keepalive          every request answered 2xx, the client closes first
Usage: x25s-meta.py --scenario NAME --capture PCAP --out META --client-log F --node-log F --access-log F
         --error-log F --node-port P --nginx-port P --configured JSON --software S...
"""
import argparse
import json
import subprocess
import sys

import sibling

cmeta = sibling.load('cmeta', 'c-meta.py')
check, CheckFailed, r3 = cmeta.check, cmeta.CheckFailed, cmeta.r3

SLOW = ('slow-head', 'slow-body', 'silent')
SLACK = 0.15   # scheduling slack on top of a timer (seconds)


def read_json_lines(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def read_access_log(path):
    out = {}
    for line in open(path):
        v = line.split(' ', 7)
        out.setdefault(int(v[0]), []).append({'status': int(v[1]), 'requestTime': float(v[2]), 'msec': float(v[3]),
                                              'requestLength': int(v[6]), 'request': v[7].strip().strip('"')})
    return out


def conns_by_port(packets, ports):
    """c-meta's connections, each given the server port its SYN went to."""
    streams = {}
    for p in packets:
        streams.setdefault(p.stream, []).append(p)
    out = {}
    for s, ps in sorted(streams.items()):
        port = next(int(x.split(':')[1]) for x in (ps[0].dst, ps[0].src) if int(x.split(':')[1]) in ports)
        c = cmeta.Conn(s, ps, port)
        out[(int(c.client.split(':')[1]), port)] = c
    return out


def window(name, got, lo, hi):
    check(lo <= got <= hi, f'{name}: {got:.3f} s, expected {lo:.3f}-{hi:.3f} s')


def slow_conn(rec, conn, cfg, node_log, access, t0):
    """Checks one slow client's connection; returns (its expect entry, its measured dict)."""
    kind, server, port = rec['client'], rec['server'], rec['port']
    first = conn.first_close()
    check(first is not None and first[0] == 'server' and first[1] == 'fin', f'{server} {kind}: the server did not close first with a FIN')
    check(not conn.rsts('client') and not conn.rsts('server'), f'{server} {kind}: a RST on the connection')
    fin = first[2]
    syn_t = conn.syns()[0].t
    sent = [p for p in conn.c2s() if p.len > 0]
    m = {'server': server, 'client': kind, 'clientBytes': conn.payload_bytes('client'),
         'clientSegments': len(sent), 'connect': r3(syn_t), 'serverFin': r3(fin.t), 'serverFinFrame': fin.frame}
    if sent:
        m['firstByte'], m['lastByte'] = r3(sent[0].t), r3(sent[-1].t)
    check(rec['sentBytes'] == m['clientBytes'], f'{server} {kind}: sent {rec["sentBytes"]} bytes, {m["clientBytes"]} on the wire')
    req = conn.requests()
    if server == 'node':
        resp = conn.responses()
        check(len(resp) == 1 and resp[0].status == 408 and (resp[0].connection or '').lower() == 'close',
              f'node {kind}: not one 408 with Connection: close')
        check(conn.payload_bytes('server') == 51 and resp[0].t <= fin.t <= resp[0].t + 0.05, f'node {kind}: more than the 408 before the FIN')
        errs = [e for e in node_log if e['ev'] == 'clientError' and e['port'] == port]
        check(len(errs) == 1 and errs[0]['code'] == 'ERR_HTTP_REQUEST_TIMEOUT', f'node {kind}: no clientError ERR_HTTP_REQUEST_TIMEOUT for {port}')
        check(rec['got'] == 'HTTP/1.1 408 Request Timeout', f'node {kind}: the client got {rec["got"]!r}')
        check(abs(errs[0]['t'] - t0 - resp[0].t) < 0.05, f'node {kind}: clientError logged {errs[0]["t"] - t0:.3f} s, 408 on the wire {resp[0].t:.3f} s')
        m.update({'status408': r3(resp[0].t), 'status408Frame': resp[0].frame, 'clientErrorLogged': r3(errs[0]['t'] - t0)})
        if kind == 'slow-body':
            m['wait'] = r3(resp[0].t - sent[0].t)
            window('node requestTimeout', m['wait'], cfg['nodeRequestTimeout'], cfg['nodeRequestTimeout'] + cfg['nodeConnectionsCheckingInterval'] + SLACK)
        else:
            m['wait'] = r3(resp[0].t - syn_t)
            window('node headersTimeout', m['wait'], cfg['nodeHeadersTimeout'], cfg['nodeHeadersTimeout'] + cfg['nodeConnectionsCheckingInterval'] + SLACK)
    else:
        check(conn.payload_bytes('server') == 0 and rec['got'] is None, f'nginx {kind}: the server sent bytes')
        lines = access.get(port, [])
        if kind == 'silent':
            check(not lines, f'nginx silent: an access log line for {port}')
            m['wait'] = r3(fin.t - syn_t)
            window('nginx client_header_timeout', m['wait'], cfg['nginxClientHeaderTimeout'] - 0.02, cfg['nginxClientHeaderTimeout'] + SLACK)
        else:
            check(len(lines) == 1 and lines[0]['status'] == 408, f'nginx {kind}: no 408 in the access log for {port}')
            m.update({'accessLog': lines[0]})
            if kind == 'slow-head':
                m['wait'] = r3(fin.t - syn_t)
                window('nginx client_header_timeout', m['wait'], cfg['nginxClientHeaderTimeout'] - 0.02, cfg['nginxClientHeaderTimeout'] + SLACK)
            else:
                m['wait'] = r3(fin.t - sent[-1].t)
                m['requestAge'] = r3(fin.t - sent[0].t)
                window('nginx client_body_timeout', m['wait'], cfg['nginxClientBodyTimeout'] - 0.02, cfg['nginxClientBodyTimeout'] + SLACK)
    if kind == 'slow-body':
        check(len(req) == 1 and req[0].content_length == 100000, f'{server} slow-body: no PUT head with Content-Length 100000')
        m['requestFrame'] = req[0].frame
        m['bodyBytes'] = m['clientBytes'] - req[0].len
    return expect_slow(server, kind, conn, m, cfg), m


def expect_slow(server, kind, conn, m, cfg):
    """conncheck's expectation for a slow client's connection (what it says, or knownMiss and why)."""
    if kind == 'silent':
        what = (f'a 408 Request Timeout (frame {m["status408Frame"]}) {m["wait"]:.3f} s after the SYN, unasked (headersTimeout '
                f'{cfg["nodeHeadersTimeout"]} s, checked every {cfg["nodeConnectionsCheckingInterval"]} s, also runs on a connection that never sent a byte), then FIN'
                if server == 'node' else
                f'FIN (frame {m["serverFinFrame"]}) {m["wait"]:.3f} s after the SYN, nothing sent, no access log line (client_header_timeout {cfg["nginxClientHeaderTimeout"]} s from the accept)')
        return cmeta.entry(None, conn, f'Connected and sent nothing; the server closed it: {what}. No request was lost, so '
                           'no finding: a server closing a connection nobody used is not a failure (a pool that preconnects '
                           'and sends later would race this close).')
    if server == 'node':
        timer = (f'headersTimeout {cfg["nodeHeadersTimeout"]} s' if kind == 'slow-head' else f'requestTimeout {cfg["nodeRequestTimeout"]} s')
        sent = ('an unfinished request head, 4 bytes every 0.3 s' if kind == 'slow-head'
                else f'a PUT head with Content-Length: 100000 and {m["bodyBytes"]} body bytes, then nothing')
        e = cmeta.entry('slow-client-timeout', conn,
                        f'The client sent {sent}; Node answered 408 Request Timeout with Connection: close (frame {m["status408Frame"]}) '
                        f'{m["wait"]:.3f} s after the {"SYN" if kind == "slow-head" else "request began"} ({timer}, checked every '
                        f'{cfg["nodeConnectionsCheckingInterval"]} s) and closed (FIN, frame {m["serverFinFrame"]}): the server timed out a slow client.')
        return e
    timer = (f'client_header_timeout {cfg["nginxClientHeaderTimeout"]} s, counted from the accept' if kind == 'slow-head'
             else f'client_body_timeout {cfg["nginxClientBodyTimeout"]} s, between two reads of the body; {m["requestAge"]:.3f} s after the request began')
    sent = ('an unfinished request head, 4 bytes every 0.3 s (ACKed)' if kind == 'slow-head'
            else f'a PUT head with Content-Length: 100000 and {m["bodyBytes"]} body bytes (ACKed), then nothing')
    e = cmeta.entry('slow-client-timeout', conn,
                    f'The client sent {sent}; nginx closed with a FIN (frame {m["serverFinFrame"]}) {m["wait"]:.3f} s after the '
                    f'{"SYN" if kind == "slow-head" else "last body byte"} ({timer}) '
                    'without sending a byte, and logged 408 in its access log: the server timed out a slow client, which got no response at all.')
    return e


def main():
    ap = argparse.ArgumentParser()
    for a in ('--scenario', '--capture', '--out', '--client-log', '--node-log', '--access-log', '--error-log', '--configured'):
        ap.add_argument(a, required=True)
    ap.add_argument('--node-port', type=int, required=True)
    ap.add_argument('--nginx-port', type=int, required=True)
    ap.add_argument('--software', action='append', default=[])
    ap.add_argument('--description', default=DESCRIPTION)
    args = ap.parse_args()
    cfg = json.loads(args.configured)
    ports = {'node': args.node_port, 'nginx': args.nginx_port}
    packets = cmeta.read_packets(args.capture, args.node_port)
    # The capture's first packet's epoch time: the logs' epoch times minus it are the capture's relative times.
    t0 = float(subprocess.run(['tshark', '-r', args.capture, '-n', '-c', '1', '-T', 'fields', '-e', 'frame.time_epoch'],
                              check=True, capture_output=True, text=True).stdout.split()[0])
    conns = conns_by_port(packets, set(ports.values()))
    clients = read_json_lines(args.client_log)
    node_log = read_json_lines(args.node_log)
    access = read_access_log(args.access_log)
    error_log = open(args.error_log).read()
    timed_out = error_log.count('client timed out')
    expect, measured = [], {}
    try:
        check(len(conns) == 8 and len(clients) == 8, f'{len(conns)} connections, {len(clients)} client lines (8 expected)')
        check(timed_out == 2 and 'timed out (110: Connection timed out) while reading client request line' in error_log
              and 'timed out (110: Connection timed out) while waiting for request' in error_log,
              f'{timed_out} nginx "client timed out" lines (2 expected: the unfinished head, the silent connection)')
        for rec in sorted(clients, key=lambda r: (r['server'], r['client'])):
            conn = conns.get((rec['port'], ports[rec['server']]))
            check(conn is not None, f'{rec["server"]} {rec["client"]}: port {rec["port"]} not on the wire')
            if rec['client'] in SLOW:
                e, m = slow_conn(rec, conn, cfg, node_log, access, t0)
            else:
                resp = conn.responses()
                check(len(conn.requests()) == 8 and len(resp) == 8 and all(200 <= p.status < 300 for p in resp),
                      f'{rec["server"]} keepalive: not 8 requests answered 2xx')
                check(conn.first_close()[0] == 'client' and not conn.rsts('server'), f'{rec["server"]} keepalive: the client did not close first')
                m = {'server': rec['server'], 'client': 'keepalive', 'requests': 8, 'statuses': sorted({p.status for p in resp}),
                     'clientFin': r3(conn.first_close()[2].t), 'gaps': cmeta.idle_gaps_before_requests(conn)}
                e = cmeta.entry(None, conn, f'8 normal requests (GETs, a small PUT) 0.6 s apart on one kept-alive connection while the slow '
                                f'clients beside it were timed out, all answered {"/".join(map(str, m["statuses"]))}; the client closes it: clean.')
            expect.append(e)
            measured[conn.client + ' -> ' + conn.server] = m
    except (CheckFailed, KeyError, StopIteration, IndexError) as e:
        print(f'x25s-meta: {args.scenario}: the capture does not show the scenario: {e}', file=sys.stderr)
        return 1
    meta = {'scenario': args.scenario, 'description': args.description, 'software': args.software, 'configured': cfg,
            'configuredNotes': NOTES, 'expect': expect, 'silent': False, 'facts': cmeta.facts_of(list(conns.values())),
            'measured': measured}
    with open(args.out, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x25s-meta: {args.scenario}: ok, {len(conns)} connections, {len(expect)} expect entries')
    return 0


DESCRIPTION = ('Servers timing out slow clients, on one loopback: a Node 20 http.Server (127.0.0.1:8080; headersTimeout 2000 ms, '
               'requestTimeout 3000 ms, connectionsCheckingInterval 250 ms) and nginx 1.22 (127.0.0.1:8088; client_header_timeout 2s, '
               'client_body_timeout 2s; PUT to a dav_methods location reads the body). Each gets four raw-socket clients at once: slow-head '
               '(a request head, 4 bytes every 0.3 s, never finished), slow-body (a whole PUT head with Content-Length: 100000, 4000 body '
               'bytes in 4 chunks 0.3 s apart, then nothing), silent (connects, sends nothing) and keepalive (8 normal requests 0.6 s apart on one '
               'connection, closed by the client). Node checks its timers every connectionsCheckingInterval: at headersTimeout (slow-head, '
               'and silent too: a connection that never sent a byte counts from its accept) or requestTimeout (slow-body, from the '
               "request's first byte) it writes 'HTTP/1.1 408 Request Timeout' with Connection: close and closes (FIN), emitting "
               "clientError ERR_HTTP_REQUEST_TIMEOUT. nginx sends nothing: at client_header_timeout (from the accept, for the whole head) it "
               'closes (FIN), logging 408 in the access log for the unfinished head and nothing there for the silent connection (error log: '
               '"client timed out (110: Connection timed out) while reading client request line" and "... while waiting for request"); at '
               'client_body_timeout (between two reads of the body) it closes (FIN) and logs 408 in the access log only, no error log line. The keep-alive connections '
               'beside them are unaffected. Measured per connection in measured (times in seconds from the first packet).')
NOTES = ('nodeHeadersTimeout / nodeRequestTimeout are http.Server headersTimeout (60 s by default) and requestTimeout (300 s by '
         'default), enforced only when the connectionsCheckingInterval timer (nodeConnectionsCheckingInterval, 30 s by default) '
         'finds them expired, so the 408 comes up to one interval late. nginxClientHeaderTimeout / nginxClientBodyTimeout are '
         'client_header_timeout and client_body_timeout (60 s by default each): the first for the whole head from the accept, the '
         'second between two successive reads of the body (a body trickling faster never times out). Named per product: conncheck '
         'infers none of them.')

if __name__ == '__main__':
    sys.exit(main())
