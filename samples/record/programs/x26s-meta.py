#!/usr/bin/env python3
"""Meta writer of slow-clients-more-servers (slow-clients-more-servers.sh): Apache httpd, a Go net/http
server, HAProxy and lighttpd, each visited by x26s-slow-clients.py's five clients at once. Built on
x25s-meta.py (read_json_lines, conns_by_port, window, SLACK) and, through it, c-meta.py's capture
reader (read_packets, Conn, check, entry, facts_of), loaded through sibling.py, not copied. What differs
from x25s: four servers on four ports (tshark is run once per port, to decode each as HTTP), and each
server's own logs.

Ground truth, from the programs' own output (WORK = the recorder's scratch directory):
  clients   clients.log: x25s's JSON lines (server label, client kind, local port, bytes sent and when,
            status line got, the server's FIN/RST or the client's own 8 s limit, and when)
  Apache    apache-x26s.log `%{remote}p %>s %D %{%s}t.%{usec_frac}t %X %k "%r"`, apache-error.log
            (AH01382 "Request header/body read timeout", AH01270 from mod_cgid) by [client IP:PORT]
  Go        go.log (x26s-go-server.go's events by client port: read-error i/o timeout, request,
            response), backend.log (the instance behind HAProxy)
  HAProxy   haproxy.log `%Ts.%ms %ci:%cp %ST %tsc %TR/%Tw/%Tc/%Tr/%Ta %B %U "%r"`
  lighttpd  lighttpd-access.log `%{remote}p %s %D %{end:msec}t %k %X "%r"`, lighttpd-error.log
            ("connection closed - read timeout: FD", whole-second times), its fds mapped to client
            ports by snap-early.txt / snap-late.txt (`ss -tanp` 1 s and 7.5 s into the run)
Checks (exit 1, no meta, when one fails): 20 connections and 20 client lines; per connection the
server's log says what the wire shows (status, who closed first and with what, no RST) at the time
its timer allows; the keep-alive connections: 8 requests answered 2xx, closed by the client.
Usage: x26s-meta.py --scenario NAME --capture PCAP --out META --work DIR --ports LABEL=PORT,...
         --configured JSON --software S...
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import sibling

x25s = sibling.load('x25s_meta', 'x25s-meta.py')
cmeta = x25s.cmeta
check, CheckFailed, r3, window, SLACK = cmeta.check, cmeta.CheckFailed, cmeta.r3, x25s.window, x25s.SLACK

KINDS = ('slow-head', 'slow-headers', 'slow-body', 'silent', 'keepalive')
SLOW = ('slow-head', 'slow-headers', 'slow-body')


# ---------------------------------------------------------------- capture

def read_conns(capture, ports):
    """c-meta's connections of every server port, each port's packets decoded as HTTP (one tshark run per port)."""
    streams = {}
    for port in ports:
        by_stream = {}
        for p in cmeta.read_packets(capture, port):
            by_stream.setdefault(p.stream, []).append(p)
        for s, ps in by_stream.items():
            if ps[0].syn and not ps[0].ack and int(ps[0].dst.split(':')[1]) == port:
                streams[s] = ps
    packets = [p for _, ps in sorted(streams.items()) for p in ps]
    return x25s.conns_by_port(packets, set(ports))


def wire(conn):
    """What the capture shows of one connection (times from the first packet)."""
    sent = [p for p in conn.c2s() if p.len > 0]
    got = [p for p in conn.s2c() if p.len > 0]
    first = conn.first_close()
    resp = conn.responses()
    m = {'connect': r3(conn.syns()[0].t), 'clientBytes': conn.payload_bytes('client'), 'clientSegments': len(sent),
         'serverBytes': conn.payload_bytes('server')}
    if sent:
        m['firstByte'], m['lastByte'] = r3(sent[0].t), r3(sent[-1].t)
    if got:
        m['serverFirstByte'] = r3(got[0].t)
    if resp:
        m['status'], m['statusFrame'], m['statusAt'] = resp[0].status, resp[0].frame, r3(resp[0].t)
    if first:
        m['firstClose'] = {'by': first[0], 'with': first[1].upper(), 'at': r3(first[2].t), 'frame': first[2].frame}
    fins = conn.fins('server')
    if fins:
        m['serverFin'], m['serverFinFrame'] = r3(fins[0].t), fins[0].frame
    m['rst'] = len(conn.rsts('client')) + len(conn.rsts('server'))
    return m


def server_closed(label, kind, conn, m, status=None):
    """The server closed first, with a FIN, after sending nothing (status None) or one response STATUS."""
    check(m.get('firstClose', {}).get('by') == 'server' and m['firstClose']['with'] == 'FIN',
          f'{label} {kind}: the server did not close first with a FIN')
    check(m['rst'] == 0, f'{label} {kind}: a RST on the connection')
    if status is None:
        check(m['serverBytes'] == 0, f'{label} {kind}: the server sent {m["serverBytes"]} bytes')
    else:
        resp = conn.responses()
        check(len(resp) == 1 and resp[0].status == status, f'{label} {kind}: not one {status} response')
        fin = conn.fins('server')[0].t
        check(resp[0].t <= fin <= resp[0].t + 0.05, f'{label} {kind}: more than the {status} before the FIN')


def client_closed(label, kind, m, rec):
    """The client closed first (its 8 s limit), the server having sent nothing before."""
    check(rec['end'] == 'limit', f'{label} {kind}: the client did not reach its limit ({rec["end"]})')
    check(m.get('firstClose', {}).get('by') == 'client' and m['firstClose']['with'] == 'FIN',
          f'{label} {kind}: the client did not close first with a FIN')
    check(m['rst'] == 0, f'{label} {kind}: a RST on the connection')
    check(m.get('serverFirstByte') is None, f'{label} {kind}: the server sent bytes')


def after(m, t):
    """'X s after the SYN, Y s after the client's last byte' for time T."""
    s = f'{t - m["connect"]:.3f} s after the SYN'
    if 'lastByte' in m:
        s += f', {t - m["lastByte"]:.3f} s after the client\'s last byte'
    else:
        s += ' (the client never sent a byte)'
    return s


# ---------------------------------------------------------------- logs

def read_lines(path):
    return open(path, encoding='latin-1').read().splitlines() if os.path.exists(path) else []


def read_apache(work):
    access = {}
    for line in read_lines(os.path.join(work, 'apache-x26s.log')):
        v = line.split(' ', 6)
        access.setdefault(int(v[0]), []).append({'status': int(v[1]), 'durationUs': int(v[2]), 'start': float(v[3]),
                                                 'conn': v[4], 'keepalives': int(v[5]), 'request': v[6].strip('"')})
    errors = {}
    for line in read_lines(os.path.join(work, 'apache-error.log')):
        m = re.search(r'\[client [\d.]+:(\d+)\] (AH\d+): (.*)$', line)
        if m:
            errors.setdefault(int(m.group(1)), []).append(f'{m.group(2)}: {m.group(3)}')
    return access, errors


def read_go(path):
    out = {}
    for e in x25s.read_json_lines(path) if os.path.exists(path) else []:
        if 'port' in e:
            out.setdefault(e['port'], []).append(e)
    return out


HAPROXY_LINE = re.compile(r'^(\d+\.\d+) [\d.]+:(\d+) (-?\d+) (\S{4}) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+) (\d+) (\d+) "(.*)"$')


def read_haproxy(path):
    out = {}
    for line in read_lines(path):
        m = HAPROXY_LINE.match(line)
        if m:
            out.setdefault(int(m.group(2)), []).append({'accept': float(m.group(1)), 'status': int(m.group(3)), 'term': m.group(4),
                                                        'Ta': int(m.group(9)), 'bytesOut': int(m.group(10)),
                                                        'bytesIn': int(m.group(11)), 'request': m.group(12)})
    return out


def read_lighttpd(work):
    access = {}
    for line in read_lines(os.path.join(work, 'lighttpd-access.log')):
        v = line.split(' ', 5)
        access.setdefault(int(v[0]), []).append({'status': int(v[1]), 'durationUs': int(v[2]), 'end': int(v[3]) / 1000,
                                                 'keepalives': int(v[4]), 'request': v[5].split(' ', 1)[1].strip('"')})
    timeouts = {}
    for line in read_lines(os.path.join(work, 'lighttpd-error.log')):
        m = re.match(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d): \(\S+\) (connection closed|request aborted) - read timeout: (\d+)$', line)
        if m:
            timeouts.setdefault(int(m.group(3)), []).append({'second': time.mktime(time.strptime(m.group(1), '%Y-%m-%d %H:%M:%S')),
                                                             'line': f'{m.group(2)} - read timeout: {m.group(3)}'})
    return access, timeouts


def read_snapshot(path, server_port):
    """ss -tanp: the time, {client port: (state, owner's fd or None)} of the server side of SERVER_PORT's connections,
    and {client port: state} of their client side."""
    lines = read_lines(path)
    t = float(lines[0].split('=')[1])
    out, client = {}, {}
    for line in lines[1:]:
        v = line.split()
        if len(v) < 5 or v[0] == 'LISTEN':
            continue
        if v[3].endswith(f':{server_port}'):
            fd = re.search(r'pid=\d+,fd=(\d+)', line)
            out[int(v[4].rsplit(':', 1)[1])] = (v[0], int(fd.group(1)) if fd else None)
        elif v[4].endswith(f':{server_port}'):
            client[int(v[3].rsplit(':', 1)[1])] = v[0]
    return t, out, client


# ---------------------------------------------------------------- per server

def apache(kind, rec, conn, m, ctx):
    cfg, (access, errors) = ctx['cfg'], ctx['apache']
    port, H, B = rec['port'], cfg['apacheRequestReadTimeoutHeader'], cfg['apacheRequestReadTimeoutBody']
    lines, errs = access.get(port, []), errors.get(port, [])
    m['accessLog'], m['errorLog'] = lines, errs
    if kind == 'silent':
        client_closed('apache', kind, m, rec)
        check(not lines and not errs, f'apache silent: log lines for {port}: {lines} {errs}')
        for name in ('early', 'late'):
            t, snap, client = ctx['snap'][name]['apache']
            check(snap.get(port, (None,))[0] == 'SYN-RECV' and client.get(port) == 'ESTAB',
                  f'apache silent: {port} not SYN-RECV at the server, ESTAB at the client at the {name} snapshot ({snap.get(port)}, {client.get(port)})')
        m['synRecvAt'] = [r3(ctx['snap'][n]['apache'][0] - ctx['t0']) for n in ('early', 'late')]
        return cmeta.entry(None, conn,
                           f'Connected and sent nothing. Apache never accepted it: its default AcceptFilter (TCP_DEFER_ACCEPT on Linux) '
                           f'leaves a connection without data in the kernel (ss shows it SYN-RECV on the server side {m["synRecvAt"][0]} s and '
                           f'{m["synRecvAt"][1]} s into the capture, ESTABLISHED on the client side), so mod_reqtimeout\'s header={H} never started. '
                           f'The client gave up at its 8 s limit and closed first (FIN, frame {m["firstClose"]["frame"]}, '
                           f'{m["firstClose"]["at"] - m["connect"]:.3f} s after the SYN); its FIN completed the deferred accept and Apache '
                           f'closed it (FIN, frame {m["serverFinFrame"]}) without a byte or a log line. No request was lost, so no finding.')
    if kind == 'keepalive':
        return keepalive('apache', rec, conn, m, [l['status'] for l in lines])
    status = None if kind == 'slow-head' else 408
    server_closed('apache', kind, conn, m, status)
    stage = 'body' if kind == 'slow-body' else 'header'
    request = {'slow-head': '-', 'slow-headers': f'GET /slow-headers/{rec["server"]} HTTP/1.1',
               'slow-body': f'PUT /upload/slow-body-{rec["server"]} HTTP/1.1'}[kind]
    check(len(lines) == 1 and lines[0]['status'] == 408 and lines[0]['request'] == request,
          f'apache {kind}: not one 408 "{request}" in the access log for {port}: {lines}')
    check(f'AH01382: Request {stage} read timeout' in errs, f'apache {kind}: no "Request {stage} read timeout" for {port}: {errs}')
    if kind == 'slow-body':
        check(any(e.startswith('AH01270: Error reading request entity data') for e in errs), f'apache slow-body: no AH01270 for {port}')
    end = m['statusAt'] if status else m['serverFin']
    # %t is when Apache began the request (for the unfinished line: when it gave up), %D its duration.
    m['loggedEnd'] = r3(lines[0]['start'] + lines[0]['durationUs'] / 1e6 - ctx['t0'])
    check(abs(m['loggedEnd'] - end) < 0.05, f'apache {kind}: the 408 logged at {m["loggedEnd"]:.3f} s, on the wire {end:.3f} s')
    if kind == 'slow-body':
        m['wait'] = r3(end - m['firstByte'])
        window('apache RequestReadTimeout body', m['wait'], B - 0.02, B + 1 + SLACK)
    else:
        m['wait'] = r3(end - m['connect'])
        window('apache RequestReadTimeout header', m['wait'], H - 0.02, H + 1 + SLACK)
    late = ('mod_reqtimeout waits at least 1 s in a read, so it found its deadline passed only when the read that ended after it '
            'returned: with the client\'s next chunk, read and then given up on at once')
    if kind == 'slow-head':
        what = (f'an unfinished request line ({m["clientBytes"]} bytes, 4 every 0.3 s); Apache closed with a FIN (frame '
                f'{m["serverFinFrame"]}) {after(m, end)}, without sending a byte (mod_reqtimeout header={H}: the whole head '
                f'within {H} s of the accept; {late}), and logged 408 "-" in its access log (error log AH01382 Request header read timeout)')
    elif kind == 'slow-headers':
        what = (f'a whole request line and Host, then the rest of the head 4 bytes every 0.3 s, never finished; Apache answered '
                f'408 Request Timeout (frame {m["statusFrame"]}) {after(m, end)} and closed (FIN, frame {m["serverFinFrame"]}) '
                f'(mod_reqtimeout header={H}, from the accept; {late}); access log 408, error log AH01382 Request header read timeout')
    else:
        what = (f'a PUT head with Content-Length: 100000 and {m["clientBytes"] - conn.requests()[0].len} body bytes, then nothing; '
                f'Apache answered 408 Request Timeout (frame {m["statusFrame"]}) {after(m, end)} and closed (FIN, frame '
                f'{m["serverFinFrame"]}) (mod_reqtimeout body={B}: the body within {B} s once its reading began, found passed '
                f'by a read of at least 1 s that no more data ended); error log AH01382 Request body read timeout and mod_cgid\'s '
                f'AH01270 Error reading request entity data, access log 408')
    return cmeta.entry('slow-client-timeout', conn, f'The client sent {what}: the server timed out a slow client.')


def go(kind, rec, conn, m, ctx):
    cfg, events = ctx['cfg'], ctx['go'].get(rec['port'], [])
    port, RH, RT = rec['port'], cfg['goReadHeaderTimeout'], cfg['goReadTimeout']
    reqs = [e for e in events if e['event'] == 'request']
    resps = [e for e in events if e['event'] == 'response']
    if kind == 'keepalive':
        return keepalive('go', rec, conn, m, [e['status'] for e in resps])
    errs = [e for e in events if e['event'] == 'read-error']
    check(len(errs) == 1 and errs[0]['timeout'] and errs[0]['bytesRead'] == m['clientBytes'],
          f'go {kind}: not one read i/o timeout after {m["clientBytes"]} bytes for {port}: {errs}')
    m['readTimeoutLogged'] = r3(errs[0]['t'] - ctx['t0'])
    if kind == 'slow-body':
        check(len(reqs) == 1 and len(resps) == 1 and resps[0]['status'] == 408 and resps[0].get('bodyTimeout')
              and resps[0]['bodyBytes'] == 4000, f'go slow-body: no handler 408 after a body timeout for {port}: {resps}')
        server_closed('go', kind, conn, m, 408)
        check(conn.responses()[0].connection and conn.responses()[0].connection.lower() == 'close', 'go slow-body: no Connection: close')
        m['wait'] = r3(m['statusAt'] - m['connect'])
        window('go ReadTimeout', m['wait'], RT - 0.02, RT + SLACK)
        return cmeta.entry('slow-client-timeout', conn,
                           f'The client sent a PUT head with Content-Length: 100000 and 4000 body bytes, then nothing; the read deadline '
                           f'of ReadTimeout {RT} s (from the accept) failed the handler\'s body read (i/o timeout) and the handler answered '
                           f'408 Request Timeout with Connection: close (frame {m["statusFrame"]}) {after(m, m["statusAt"])}; net/http '
                           f'closed (FIN, frame {m["serverFinFrame"]}): the server timed out a slow client.')
    check(not reqs and not resps, f'go {kind}: the handler ran for {port}')
    if kind == 'slow-head':
        # net/http's bufio ReadLine hands back the partial line the deadline cut, which fails to parse:
        # conn.serve answers it 400 Bad Request itself.
        server_closed('go', kind, conn, m, 400)
        check((rec['got'] or '').startswith('HTTP/1.1 400 Bad Request'), f'go slow-head: the client got {rec["got"]!r}')
        end = m['statusAt']
    else:
        server_closed('go', kind, conn, m)
        end = m['serverFin']
    check(abs(m['readTimeoutLogged'] - end) < 0.05, f'go {kind}: timeout logged {m["readTimeoutLogged"]} s, on the wire {end} s')
    m['wait'] = r3(end - m['connect'])
    window('go ReadHeaderTimeout', m['wait'], RH - 0.02, RH + SLACK)
    if kind == 'silent':
        return cmeta.entry(None, conn,
                           f'Connected and sent nothing; ReadHeaderTimeout {RH} s (from the accept) expired and net/http closed it with a '
                           f'FIN (frame {m["serverFinFrame"]}) {m["wait"]:.3f} s after the SYN, without a byte (a head read that times out is '
                           f'answered with nothing). No request was lost, so no finding.')
    if kind == 'slow-head':
        return cmeta.entry('slow-client-timeout', conn,
                           f'The client sent an unfinished request line ({m["clientBytes"]} bytes, 4 every 0.3 s: "{rec["sentText"]}"); '
                           f'ReadHeaderTimeout {RH} s (from the accept) cut the read, and net/http parsed the partial line it had (bufio '
                           f'ReadLine returns a line without its end when the read fails) as a request line: it answered "{rec["got"]}" '
                           f'(frame {m["statusFrame"]}) {after(m, end)} and closed (FIN, frame {m["serverFinFrame"]}). Its log: the read '
                           f'failed with an i/o timeout. A 400, not a 408, but the server timed out a slow client.')
    return cmeta.entry('slow-client-timeout', conn,
                       f'The client sent a whole request line and Host, then the rest of the head 4 bytes every 0.3 s, never finished; '
                       f'ReadHeaderTimeout {RH} s (from the accept) expired and net/http closed with a FIN (frame {m["serverFinFrame"]}) '
                       f'{after(m, end)} without sending a byte (a head read that times out is answered with nothing; its log: the '
                       f'read failed with an i/o timeout): the server timed out a slow client, which got no response at all.')


def haproxy(kind, rec, conn, m, ctx):
    cfg, lines = ctx['cfg'], ctx['haproxy'].get(rec['port'], [])
    HR = cfg['haproxyTimeoutHttpRequest']
    m['log'] = lines
    if kind == 'keepalive':
        back = [e for e in ctx['backend'] if e['event'] == 'request' and 'haproxy' in e['uri']]
        check(len(back) == 8, f'haproxy keepalive: {len(back)} requests reached the backend')
        return keepalive('haproxy', rec, conn, m, [l['status'] for l in lines])
    request = f'PUT /upload/slow-body-{rec["server"]} HTTP/1.1' if kind == 'slow-body' else '<BADREQ>'
    check(len(lines) == 1 and lines[0]['status'] == 408 and lines[0]['term'] == 'cR--' and lines[0]['request'] == request,
          f'haproxy {kind}: not one 408 cR-- "{request}" in its log for {rec["port"]}: {lines}')
    check(abs(lines[0]['accept'] - ctx['t0'] - m['connect']) < 0.01, f'haproxy {kind}: accept time differs from the SYN')
    window('haproxy Ta', lines[0]['Ta'] / 1000, HR - 0.02, HR + SLACK)
    server_closed('haproxy', kind, conn, m, 408)
    check(rec['got'] == 'HTTP/1.1 408 Request Time-out', f'haproxy {kind}: the client got {rec["got"]!r}')
    m['wait'] = r3(m['statusAt'] - m['connect'])
    window('haproxy timeout http-request', m['wait'], HR - 0.02, HR + SLACK)
    told = (f'HAProxy answered 408 Request Time-out (frame {m["statusFrame"]}) {after(m, m["statusAt"])} and closed (FIN, frame '
            f'{m["serverFinFrame"]}); its log: 408, termination state cR-- (client-side timeout while waiting for the request), '
            f'Ta {lines[0]["Ta"]} ms, request {lines[0]["request"]}')
    if kind == 'silent':
        return cmeta.entry(None, conn,
                           f'Connected and sent nothing; `timeout http-request {HR}s` (from the accept) expired and {told}: a 408 nobody '
                           'asked for (without `option http-ignore-probes` HAProxy answers and logs a connection that never sent a byte). '
                           'No request was lost, so no finding.')
    sent = {'slow-head': f'an unfinished request line ({m["clientBytes"]} bytes, 4 every 0.3 s)',
            'slow-headers': 'a whole request line and Host, then the rest of the head 4 bytes every 0.3 s, never finished',
            'slow-body': 'a PUT head with Content-Length: 100000 and 4000 body bytes, then nothing'}[kind]
    timer = (f'`timeout http-request {HR}s`, from the accept, covering the body too with `option http-buffer-request`; '
             'the request never reached the backend' if kind == 'slow-body' else f'`timeout http-request {HR}s`, from the accept, for the whole head')
    return cmeta.entry('slow-client-timeout', conn, f'The client sent {sent}; {told} ({timer}): the server timed out a slow client.')


def lighttpd(kind, rec, conn, m, ctx):
    cfg, (access, timeouts) = ctx['cfg'], ctx['lighttpd']
    port, I = rec['port'], cfg['lighttpdMaxReadIdle']
    lines = access.get(port, [])
    if kind == 'keepalive':
        return keepalive('lighttpd', rec, conn, m, [l['status'] for l in lines])
    check(not lines, f'lighttpd {kind}: an access log line for {port}: {lines}')
    _, early, _ = ctx['snap']['early']['lighttpd']
    state, fd = early.get(port, (None, None))
    check(state == 'ESTAB' and fd is not None, f'lighttpd {kind}: {port} not held by lighttpd at the early snapshot')
    m['fd'] = fd
    tos = timeouts.get(fd, [])
    if kind in ('slow-head', 'slow-headers'):
        check(not tos, f'lighttpd {kind}: a read timeout for fd {fd}: {tos}')
        t_late, late, _ = ctx['snap']['late']['lighttpd']
        check(late.get(port) == ('ESTAB', fd), f'lighttpd {kind}: {port} not held by lighttpd (fd {fd}) at the late snapshot')
        client_closed('lighttpd', kind, m, rec)
        m['heldAt'] = r3(t_late - ctx['t0'])
        line = len(f'GET /slow-head/{rec["server"]} HTTP/1.1\r\n')
        whole = rec['sent'][(line + 3) // 4 - 1][0] - rec['tConnect']
        sent = (f'its request line 4 bytes every 0.3 s (the line was whole {whole:.1f} s after the connect) and then the rest of its head the same way'
                if kind == 'slow-head' else 'a whole request line and Host, then the rest of the head 4 bytes every 0.3 s')
        return cmeta.entry(None, conn,
                           f'The client sent {sent} ({m["clientBytes"]} bytes, never a whole head). lighttpd never timed it out: '
                           f'server.max-read-idle = {I} is an idle timer, restarted by every read, and a chunk came every 0.3 s (nothing else in '
                           f'its configuration limits a whole head\'s time); ss showed it still open at lighttpd (fd {fd}) {m["heldAt"]} s into the '
                           f'capture and its error log has no read timeout for it. The client gave up at its 8 s limit and closed first '
                           f'(FIN, frame {m["firstClose"]["frame"]}, {after(m, m["firstClose"]["at"])}); lighttpd closed after (FIN, frame '
                           f'{m["serverFinFrame"]}). The server gave up on nothing and answered no request, so no finding (a client that '
                           'abandons its own unfinished request is no failure a capture can pin on either side).')
    server_closed('lighttpd', kind, conn, m)
    check(len(tos) == 1, f'lighttpd {kind}: not one read timeout for fd {fd}: {tos}')
    fin_epoch = m['serverFin'] + ctx['t0']
    check(tos[0]['second'] <= fin_epoch < tos[0]['second'] + 1.05, f'lighttpd {kind}: read timeout logged in second {tos[0]["second"]}, FIN at {fin_epoch:.3f}')
    m['errorLog'] = tos[0]['line']
    m['wait'] = r3(m['serverFin'] - (m['lastByte'] if kind == 'slow-body' else m['connect']))
    # Checked once a second, on whole seconds: closes when now - last read > max-read-idle, I to I + 2 s after.
    window('lighttpd server.max-read-idle', m['wait'], I - 0.02, I + 2 + SLACK)
    if kind == 'silent':
        return cmeta.entry(None, conn,
                           f'Connected and sent nothing; lighttpd closed it with a FIN (frame {m["serverFinFrame"]}) {m["wait"]:.3f} s after '
                           f'the SYN without a byte (server.max-read-idle = {I}, checked once a second on whole seconds; error log: '
                           f'"{m["errorLog"]}", fd {fd} = this connection by ss; no access log line). No request was lost, so no finding.')
    return cmeta.entry('slow-client-timeout', conn,
                       f'The client sent a PUT head with Content-Length: 100000 and 4000 body bytes, then nothing; lighttpd closed with a '
                       f'FIN (frame {m["serverFinFrame"]}) {after(m, m["serverFin"])} without sending a byte (server.max-read-idle = {I}: '
                       f'idle time between two reads, checked once a second on whole seconds; error log "{m["errorLog"]}", fd {fd} = this '
                       'connection by ss; no access log line): the server timed out a slow client, which got no response at all.')


def keepalive(label, rec, conn, m, logged):
    resp = conn.responses()
    check(len(conn.requests()) == 8 and len(resp) == 8 and all(200 <= p.status < 300 for p in resp),
          f'{label} keepalive: not 8 requests answered 2xx')
    check(sorted(logged) == sorted(p.status for p in resp), f'{label} keepalive: the server logged {logged}')
    check(m['firstClose']['by'] == 'client' and m['rst'] == 0, f'{label} keepalive: the client did not close first')
    m.update({'requests': 8, 'statuses': sorted({p.status for p in resp}), 'gaps': cmeta.idle_gaps_before_requests(conn)})
    return cmeta.entry(None, conn, f'8 normal requests (GETs, a small PUT) 0.6 s apart on one kept-alive connection while the slow '
                       f'clients beside it were timed out, all answered {"/".join(map(str, m["statuses"]))}; the client closes it: clean.')


SERVERS = {'apache-httpd': apache, 'go-nethttp': go, 'haproxy': haproxy, 'lighttpd': lighttpd}


def main():
    ap = argparse.ArgumentParser()
    for a in ('--scenario', '--capture', '--out', '--work', '--ports', '--configured'):
        ap.add_argument(a, required=True)
    ap.add_argument('--software', action='append', default=[])
    args = ap.parse_args()
    cfg = json.loads(args.configured)
    ports = {k: int(v) for k, v in (x.split('=') for x in args.ports.split(','))}
    w = args.work
    t0 = float(subprocess.run(['tshark', '-r', args.capture, '-n', '-c', '1', '-T', 'fields', '-e', 'frame.time_epoch'],
                              check=True, capture_output=True, text=True).stdout.split()[0])
    conns = read_conns(args.capture, list(ports.values()))
    clients = x25s.read_json_lines(os.path.join(w, 'clients.log'))
    snap = {}
    for name in ('early', 'late'):
        snap[name] = {'apache': read_snapshot(os.path.join(w, f'snap-{name}.txt'), ports['apache-httpd']),
                      'lighttpd': read_snapshot(os.path.join(w, f'snap-{name}.txt'), ports['lighttpd'])}
    ctx = {'cfg': cfg, 't0': t0, 'snap': snap, 'apache': read_apache(w), 'go': read_go(os.path.join(w, 'go.log')),
           'backend': x25s.read_json_lines(os.path.join(w, 'backend.log')), 'haproxy': read_haproxy(os.path.join(w, 'haproxy.log')),
           'lighttpd': read_lighttpd(w)}
    expect, measured = [], {}
    try:
        n = len(SERVERS) * len(KINDS)
        check(len(conns) == n and len(clients) == n, f'{len(conns)} connections, {len(clients)} client lines ({n} expected)')
        check(not [e for e in ctx['backend'] if e['event'] == 'request' and '/slow-' in e['uri']],
              'a slow request reached the backend behind HAProxy')
        order = {k: i for i, k in enumerate(KINDS)}
        for rec in sorted(clients, key=lambda r: (r['server'], order[r['client']])):
            label, kind = rec['server'], rec['client']
            conn = conns.get((rec['port'], ports[label]))
            check(conn is not None, f'{label} {kind}: port {rec["port"]} not on the wire')
            m = wire(conn)
            check(rec['sentBytes'] == m['clientBytes'], f'{label} {kind}: sent {rec["sentBytes"]} bytes, {m["clientBytes"]} on the wire')
            if kind == 'slow-head':
                rec['sentText'] = slow_head_text(label, m['clientBytes'])
                check('\r\n' not in rec['sentText'] or label == 'lighttpd', f'{label} slow-head: the request line was finished')
            e = SERVERS[label](kind, rec, conn, m, ctx)
            m = {'server': label, 'client': kind, **m}
            expect.append(e)
            measured[conn.client + ' -> ' + conn.server] = m
    except (CheckFailed, KeyError, StopIteration, IndexError, ValueError, TypeError) as e:
        print(f'x26s-meta: {args.scenario}: the capture does not show the scenario: {type(e).__name__}: {e}', file=sys.stderr)
        return 1
    meta = {'scenario': args.scenario, 'description': DESCRIPTION, 'software': args.software, 'configured': cfg,
            'configuredNotes': NOTES, 'expect': expect, 'silent': False, 'facts': cmeta.facts_of(list(conns.values())),
            'measured': measured}
    with open(args.out, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x26s-meta: {args.scenario}: ok, {len(conns)} connections, {len(expect)} expect entries')
    return 0


def slow_head_text(label, n):
    """What x25s's slow-head client had sent of its head after N bytes."""
    return f'GET /slow-head/{label} HTTP/1.1\r\n'[:n] if n <= len(f'GET /slow-head/{label} HTTP/1.1\r\n') else f'GET /slow-head/{label} HTTP/1.1\r\n...'


DESCRIPTION = (
    'Slow clients timed out (or not) by four more servers, on one loopback, all in one capture: Apache httpd 2.4 (127.0.0.1:8081, event '
    'MPM, mod_reqtimeout `RequestReadTimeout header=2 body=2`, PUT to a CGI), a Go 1.19 net/http server (127.0.0.1:8082, ReadHeaderTimeout '
    '2s, ReadTimeout 3s), HAProxy 2.6 (127.0.0.1:8083, `timeout http-request 2s` with `option http-buffer-request`, in front of a Go '
    'backend that is not captured) and lighttpd 1.4 (127.0.0.1:8084, `server.max-read-idle = 2`, PUT to a CGI). Each gets five raw-socket '
    'clients at once: slow-head (the request line itself, 4 bytes every 0.3 s, never finished), slow-headers (the request line and Host in '
    'one write, then the rest of the head 4 bytes every 0.3 s, never finished), slow-body (a whole PUT head with Content-Length: 100000, '
    '4000 body bytes in 4 chunks 0.3 s apart, then nothing), silent (connects, sends nothing) and keepalive (8 normal requests 0.6 s apart '
    'on one connection, closed by the client); every client gives up and closes after 8 s. Apache closes an unfinished request line '
    'with a bare FIN (access log 408 "-"), answers 408 to unfinished headers and to a stalled body (mod_cgid), each at the first read '
    'that ends after the deadline (mod_reqtimeout waits at least 1 s per read: the heads at their next trickled chunk, ~2.1 s; the '
    'stalled body 1 s after its last byte, ~2.2 s); it never accepts the '
    'silent connection (TCP_DEFER_ACCEPT), which the client closes at 8 s. Go closes unfinished headers and the silent connection with a '
    'bare FIN at ReadHeaderTimeout, but answers the unfinished request line "400 Bad Request" (net/http parses the partial line the '
    'deadline cut), and the handler answers 408 when ReadTimeout fails its body read. HAProxy answers "408 Request Time-out" to all four '
    'at 2.0 s from the accept, the silent connection included (log: cR--). lighttpd closes the silent connection and the stalled body with '
    'a bare FIN 2-3 s after the last read (idle timer, checked once a second, nothing in the access log), and never times out the two '
    'trickling heads: their clients close at 8 s. The keep-alive connections beside them are unaffected. Measured per connection in '
    'measured (times in seconds from the first packet).')
NOTES = (
    'apacheRequestReadTimeoutHeader / apacheRequestReadTimeoutBody are mod_reqtimeout `RequestReadTimeout header=2 body=2` (Debian\'s '
    'reqtimeout.conf default: header=20-40,MinRate=500 body=10,MinRate=500; without MinRate: the whole head within the time from the '
    'accept, the whole body within the time from its first read; a read waits at least 1 s, so the deadline is noticed up to 1 s late). '
    'The header timer starts only once Apache accepts, and Linux Apache accepts a connection only when data or a FIN arrives (AcceptFilter '
    'http data: TCP_DEFER_ACCEPT, ~30 s). goReadHeaderTimeout / goReadTimeout are net/http Server.ReadHeaderTimeout and ReadTimeout (no '
    'default: 0 = none), read deadlines set when the head read begins (at the accept for the first request); ReadTimeout covers the body. '
    'haproxyTimeoutHttpRequest is `timeout http-request` (no default), for the whole head from the accept, and for the body too with '
    '`option http-buffer-request`; HAProxy answers 408 Request Time-out itself. lighttpdMaxReadIdle is `server.max-read-idle` (60 s by '
    'default): the idle time between two reads, checked once a second on whole seconds, so it closes I to I + 2 s after the last read, and '
    'never times out a client that keeps trickling. Named per product: conncheck infers none of them.')

if __name__ == '__main__':
    sys.exit(main())
