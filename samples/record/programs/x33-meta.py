"""x33-meta: checks a reset-before-response-tls-killed recording against the programs' logs and writes its meta.json,
or refuses (exit 1) when the capture does not show what the scenario claims.

  x33-meta.py SCENARIO --capture PCAP --meta OUT --work DIR --software S...

The capture is read with programs/x32-meta.py's reader (imported, not changed): TCP segments, the TLS records
parsed from the reassembled byte streams (outer content type, length, the frames where each starts and ends),
ClientHello / ServerHello fields, and the decrypted view (tshark with the key log $WORK/keys-all.txt: the
server's keylog_filename plus the clients' SSLKEYLOGFILE / node --tls-keylog, made at record time, never
committed) that tells what each encrypted record is (TLS 1.3 NewSessionTicket, alert, HTTP request, response).
Ground truth from $WORK: server1.log / server2.log (programs/x33-tls-server.py), curl.log, requests-client.log,
node-client.log, ss-before-kill.txt (the server sockets' Recv-Q just before the kill), kill-time.txt,
killed-pid.txt, restart-time.txt.

Checked for every connection whose request the server never read: the client's request record is in the
capture and the server logged no such request; the server's first close signal after it is a RST (no FIN, no
close_notify / alert before it), after the kill and within 0.5 s of it; the server sent no application data
after the request record other than TLS 1.3 NewSessionTicket records; the socket held unread bytes before the
kill (ss); the client reported a reset (requests ConnectionError / ECONNRESET, curl exit 56, Node ECONNRESET);
the previous /ok on the connection (if any) was answered. All the RSTs within 50 ms of each other. The healthy
connections: answered and closed before the kill, no RST; the ones after the restart: answered by the new
process. Every connection in the capture must be one of these.
Frame numbers are those of the capture that gets committed (1-based).
"""
import argparse
import importlib.util
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('x32meta', os.path.join(HERE, 'x32-meta.py'))
x32 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x32)
Refuse = x32.Refuse
r4 = x32.r4

LANES = {
    'requests': {'server': '127.0.0.2:8443', 'exchange': 2,
                 'how': 'Python requests 2.28 Session (verify=False, timeout=(5, 30)): GET /ok?then=hang answered, then the next GET on the same connection',
                 # Python 3.11's ssl (OpenSSL 3.0) reports the RST as an EOF (SSLEOFError, turned into b'' by
                 # suppress_ragged_eofs): http.client raises RemoteDisconnected, not ConnectionResetError
                 'error': lambda q: 'ConnectionError' in (q['error'] or '') and any(
                     w in q['error'] for w in ('Connection reset by peer', 'ECONNRESET', 'RemoteDisconnected'))},
    'node': {'server': '127.0.0.2:9443', 'exchange': 2,
             'how': 'Node 20 https.Agent({keepAlive: true, maxSockets: 1}), timeout 30000: GET /ok?then=hang answered, then the next GET on the reused socket',
             'error': lambda q: 'ECONNRESET' in (q['error'] or '')},
    'curl': {'server': '127.0.0.2:8443', 'exchange': 2,
             'how': 'curl 7.88 --http1.1 -k --max-time 30 with two URLs (one connection): /ok?then=hang answered, then the second URL',
             # curl retries a request that died on a reused connection once, on a fresh connect: refused here, so
             # the transfer ends with exit 7 (couldn't connect) and the first failure's message
             'error': lambda q: q['raw'].get('exitcode') in (7, 56) and 'reset' in (q['raw'].get('errormsg') or '').lower()},
    'fresh': {'server': '127.0.0.2:8443', 'exchange': 1,
              'how': 'curl 7.88 --http1.1 -k --max-time 30 --local-port 2000N, one URL on a fresh connection whose first request the server never read',
              'error': lambda q: q['raw'].get('exitcode') == 56 and 'reset' in (q['raw'].get('errormsg') or '').lower()},
}


def read_jsonl(path):
    return x32.read_jsonl(path)


def read_ss(path):
    """{peer 'ip:port': (recvq, local)} for the server sockets listed before the kill."""
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        f = line.split()
        if len(f) >= 4 and f[0].isdigit() and re.match(r'127\.0\.0\.2:(8443|9443)$', f[2]):
            out[f[3]] = (int(f[0]), f[2])
    return out


def read_verbose(path):
    """curl -v --trace-time lines: [(seconds of the local day, text)]."""
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path, errors='replace'):
        m = re.match(r'(\d\d):(\d\d):(\d\d\.\d+) (.*)', line.rstrip('\n'))
        if m:
            out.append((int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)), m.group(4)))
    return out


def day_seconds(t):
    lt = time.localtime(t)
    return lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + (t % 1)


def fnum(path):
    return float(open(path).read().strip())


def close_signals(c, after_frame, d):
    """(frame, t, what) for side d after after_frame: alert records, FIN, RST."""
    alerts = {r['frame']: r for r in c.records if r['dir'] == d and r['what'] == 'alert' and r['frame'] > after_frame}
    sig = []
    for fr, t, dd, flags, ln in c.packets:
        if dd != d or fr <= after_frame:
            continue
        if fr in alerts:
            sig.append((fr, t, 'alert ' + ','.join(alerts[fr]['alerts'])))
        if flags & 0x01:
            sig.append((fr, t, 'fin'))
        if flags & 0x04:
            sig.append((fr, t, 'rst'))
    return sig


def run(a):
    keys = os.path.join(a.work, 'keys-all.txt')
    conns, times = x32.read_capture(a.capture, keys)
    reqs, _, _ = x32.load_logs(a.work)
    s1 = read_jsonl(os.path.join(a.work, 'server1.log'))
    s2 = read_jsonl(os.path.join(a.work, 'server2.log'))
    ss = read_ss(os.path.join(a.work, 'ss-before-kill.txt'))
    t_kill = fnum(os.path.join(a.work, 'kill-time.txt'))
    t_restart = fnum(os.path.join(a.work, 'restart-time.txt'))
    killed_pid = int(open(os.path.join(a.work, 'killed-pid.txt')).read())
    problems = []

    pids1 = {m['pid'] for m in s1 if m['event'] == 'listening'}
    if pids1 != {killed_pid}:
        problems.append(f'the killed PID {killed_pid} is not the first server process ({pids1})')
    if any(m['event'] == 'max-seconds' for m in s1):
        problems.append('the first server ended by itself')
    s1_req_ids = {m['id'] for m in s1 if m['event'] == 'request'}
    s1_sleeps = {m['peer']: m for m in s1 if m['event'] == 'sleep'}
    s1_hs = {m['peer']: m for m in s1 if m['event'] == 'handshake'}
    s2_answered = {m['peer'] for m in s2 if m['event'] == 'answered'}

    def conn_for(q):
        host = re.match(r'https://([^/]+)', q['url']).group(1)
        cands = [c for c in conns.values() if c.client == f"127.0.0.1:{q['port']}" and c.server == host]
        return cands[0] if len(cands) == 1 else None

    used = set()
    expect = []
    resets = []
    retries = []
    by_lane = {}
    for q in reqs:
        c = conn_for(q)
        if c is None:
            problems.append(f"{q['id']}: no single connection from port {q['port']} to {q['url']} in the capture")
            continue
        used.add(c.stream)
        by_lane.setdefault(q['lane'], {}).setdefault(c.stream, (c, []))[1].append(q)

    # ------------------------------------------------------------------ the connections the kill reset
    lane_facts = {}
    for lane, spec in LANES.items():
        items = list(by_lane.get(lane, {}).values())
        want = 2 if lane in ('curl', 'fresh') else 3
        if len(items) != want:
            problems.append(f'lane {lane}: {len(items)} connections, expected {want}')
        LF = lane_facts[lane] = {'connections': len(items), 'resets': 0, 'tls': set(), 'alpnOffered': set(), 'errors': set(),
                                 'serverFin': 0, 'serverAlert': 0, 'ticketLengths': set(), 'ticketsAfterRequest': []}
        for c, qs in items:
            qs.sort(key=lambda q: q['raw'].get('tStart', 0) if isinstance(q['raw'], dict) else 0)
            hung = [q for q in qs if q['path'].startswith('/next') or lane == 'fresh']
            first = [q for q in qs if q['path'].startswith('/ok?then=hang')]
            if len(hung) != 1 or c.server != spec['server']:
                problems.append(f'{c.client}: lane {lane}: requests {[q["id"] for q in qs]} to {c.server}')
                continue
            q = hung[0]
            tls = c.hello.get('tlsVersion')
            LF['tls'].add(tls)
            alpn_off = c.hello.get('alpnOffered', [])
            LF['alpnOffered'].add(','.join(alpn_off) or '(none)')
            rec = x32.find_request_record(c, q['id'])
            if rec is None:
                problems.append(f"{q['id']}: no request record on {c.client}")
                continue
            if q['id'] in s1_req_ids:
                problems.append(f"{q['id']}: the server read it (its log has the request)")
                continue
            prev_ans = None
            if spec['exchange'] == 2:
                if len(first) != 1 or not first[0]['ok'] or first[0]['id'] not in s1_req_ids:
                    problems.append(f'{c.client}: the first /ok was not answered: {[(x["id"], x["ok"], x["error"]) for x in first]}')
                    continue
                frec = x32.find_request_record(c, first[0]['id'])
                ans = [r for r in c.records if r['dir'] == 's' and r['what'] == 'app-data' and frec and frec['frame'] < r['frame'] < rec['frame']]
                if not frec or not ans:
                    problems.append(f'{c.client}: no answer record for {first[0]["id"]} before the next request')
                    continue
                prev_ans = ans[0]
            sl = s1_sleeps.get(c.client)
            if not sl or sl.get('pending') != 0:
                problems.append(f'{c.client}: the server log has no sleep with pending 0: {sl}')
                continue
            if q['ok'] or not spec['error'](q):
                problems.append(f"{q['id']}: the client did not report a reset: {q['error']}")
                continue
            sig = close_signals(c, 0, 's')
            rst = next((s for s in sig if s[2] == 'rst'), None)
            if rst is None:
                problems.append(f'{c.client}: no server RST')
                continue
            before = [s for s in sig if s[0] < rst[0] or (s[0] == rst[0] and s[2] != 'rst')]
            fins = [s for s in sig if s[2] == 'fin']
            alerts = [s for s in sig if s[2].startswith('alert')]
            if before or fins or alerts:
                LF['serverFin'] += bool(fins)
                LF['serverAlert'] += bool(alerts)
                problems.append(f'{c.client}: server close signals other than the RST: {sig}')
                continue
            if rec['frame'] >= rst[0]:
                problems.append(f'{c.client}: the request record (frame {rec["frame"]}) is not before the RST (frame {rst[0]})')
                continue
            after = [r for r in c.records if r['dir'] == 's' and r['frame'] > rec['frame']]
            bad = [r for r in after if r['what'] != 'ticket']
            if bad:
                problems.append(f'{c.client}: server records after the request: {[(r["frame"], r["what"]) for r in bad]}')
                continue
            if not (t_kill - 0.01 <= rst[1] <= t_kill + 0.5):
                problems.append(f'{c.client}: RST at {rst[1]:.6f}, the kill at {t_kill:.6f}')
                continue
            if ss.get(c.client, (0,))[0] <= 0:
                problems.append(f'{c.client}: ss shows no unread bytes before the kill: {ss.get(c.client)}')
                continue
            if ss[c.client][0] != rec['length'] + 5:
                problems.append(f"{c.client}: ss Recv-Q {ss[c.client][0]} is not the request record's {rec['length'] + 5} bytes")
                continue
            cl_after = [p for p in c.packets if p[2] == 'c' and p[0] > rst[0]]
            if cl_after:
                problems.append(f'{c.client}: client packets after the RST: {cl_after}')
                continue
            tks = x32.tickets(c)
            tks_after = [r for r in tks if r['frame'] > rec['frame']]
            LF['resets'] += 1
            LF['errors'].add(q['error'])
            LF['ticketLengths'].add(tuple(r['length'] for r in tks))
            if tks_after:
                LF['ticketsAfterRequest'].append(len(tks_after))
            resets.append(rst[1])
            unread = ss[c.client][0]
            alpn_text = f"ALPN offered {', '.join(alpn_off)}" if alpn_off else 'no ALPN offered'
            chosen = c.hello.get('alpnChosenClear')
            if chosen:
                alpn_text += f', {chosen} chosen in the clear ServerHello'
            elif tls == '1.3' and alpn_off:
                alpn_text += f", the choice encrypted (the server logged {s1_hs.get(c.client, {}).get('alpn')})"
            if spec['exchange'] == 2:
                pos = (f"the connection's second request, sent {r4(rec['t'] - prev_ans['t'])} s after the answer to {first[0]['id']} "
                       f"(GET {first[0]['path']}, request record frame {frec['frame']}, answer frame {prev_ans['frame']}); after that answer "
                       f"the server's thread slept instead of reading")
            else:
                pos = ("the connection's first request: the server completed the TLS handshake and its thread slept instead of "
                       "reading")
            if tls == '1.3':
                tk_text = (f" The server's {len(tks)} TLS 1.3 NewSessionTicket records ({', '.join(str(r['length']) for r in tks)} bytes, "
                           f"outer type application data, frames {', '.join(str(r['frame']) for r in tks)}) "
                           + (f"straddle the request record: {len(tks) - len(tks_after)} before it, {len(tks_after)} after it (frames "
                              f"{', '.join(str(r['frame']) for r in tks_after)}): server application data after the request that is not an "
                              "answer." if tks_after else "came before the request record, right after the handshake."))
            else:
                tk_text = ''
            notes = (f"lane {lane} ({spec['how']}), id {q['id']}, GET {q['path']}: {pos}. TLS {tls}, {alpn_text}. The request record "
                     f"(frame {rec['frame']}, {rec['length']} bytes) sat unread in the server socket's receive queue (ss Recv-Q {unread} "
                     f"bytes just before the kill); the server process was killed (SIGKILL) {r4(rst[1] - t_kill) * 1000:.1f} ms before "
                     f"this RST (frame {rst[0]}), {r4(rst[1] - rec['t'])} s after the request record: no FIN, no close_notify, no answer. "
                     f"The client logged \"{q['error']}\".{tk_text}")
            ev = {'requestFrame': rec['frame'], 'rstFrame': rst[0], 'exchangeIndex': spec['exchange'], 'tlsVersion': tls,
                  'alpnOffered': alpn_off, 'clientError': q['error'], 'requestToRst': r4(rst[1] - rec['t']),
                  'requestRecordLength': rec['length'], 'unreadBytesBeforeKill': unread}
            if prev_ans:
                ev['previousResponseFrame'] = prev_ans['frame']
            if tls == '1.3':
                ev['ticketRecordLengths'] = [r['length'] for r in tks]
                ev['ticketFrames'] = [r['frame'] for r in tks]
                if tks_after:
                    ev['ticketsAfterRequest'] = len(tks_after)
            expect.append({'kind': 'reset-before-response', 'client': c.client, 'server': c.server, 'notes': notes, 'evidence': ev})
            if lane == 'curl':
                retries.append((c, q, rst, expect[-1]))

    # ------------------------------------------------------------------ curl's retries: a fresh connect, refused
    refused = [c for c in conns.values() if c.stream not in used and len(c.packets) == 2
               and c.packets[0][2] == 'c' and c.packets[0][3] & 0x12 == 0x02
               and c.packets[1][2] == 's' and c.packets[1][3] & 0x14 == 0x14]
    for c, q, rst, entry in retries:
        n = q['id'][1]
        vb = read_verbose(os.path.join(a.work, f'curl-c{n}.verbose'))
        died = [x for x in vb if 'Connection died, retrying a fresh connect' in x[1]]
        trying = [x for x in vb if died and x[0] >= died[0][0] and 'Trying 127.0.0.2:8443' in x[1]]
        failed = [x for x in vb if 'connect to 127.0.0.2 port 8443 failed: Connection refused' in x[1]]
        if not died or not trying or not failed:
            problems.append(f"{q['id']}: curl's verbose output shows no refused retry")
            continue
        # curl 7.88's --trace-time clock is the monotonic clock plus an offset taken once from time(NULL) (whole
        # seconds): off the wall clock by up to a second, constant within the process. Calibrated on the first
        # connection's 'Trying' line and its SYN in the capture.
        first_try = next((x for x in vb if 'Trying 127.0.0.2:8443' in x[1]), None)
        offset = first_try[0] - day_seconds(c.packets[0][1])
        want = trying[0][0] - offset
        best = min(refused, key=lambda r: abs(day_seconds(r.packets[0][1]) - want), default=None)
        if best is None or abs(day_seconds(best.packets[0][1]) - want) > 0.003 or best.packets[0][1] < rst[1]:
            problems.append(f"{q['id']}: no refused connection matches curl's retry at {trying[0][0]}")
            continue
        refused.remove(best)
        used.add(best.stream)
        syn, rr = best.packets
        gap = r4(syn[1] - rst[1])
        entry['notes'] += (f" curl then retried the request once on a fresh connect ('Connection died, retrying a fresh connect'): its SYN "
                           f"from {best.client} (frame {syn[0]}, {gap * 1000:.1f} ms after the RST) was refused (RST, frame {rr[0]}): "
                           "nothing listened any more, so curl ended with exit 7 (couldn't connect) and the first failure's message.")
        entry['evidence']['retryRefused'] = best.client
        expect.append({'kind': 'connection-refused', 'client': best.client, 'server': best.server,
                       'notes': (f"curl's automatic retry of GET {q['path']} ('Connection died, retrying a fresh connect', retry count 1) "
                                 f"after the RST on {c.client} (frame {rst[0]}): SYN frame {syn[0]}, {gap * 1000:.1f} ms later, answered by "
                                 f"RST,ACK (frame {rr[0]}): the killed server's listener was gone (\"connect to 127.0.0.2 port 8443 failed: "
                                 "Connection refused\"); the request was never sent again."),
                       'evidence': {'synFrame': syn[0], 'rstFrame': rr[0], 'retryOf': c.client, 'afterRstMs': r4(gap * 1000)}})
        lane_facts['curl'].setdefault('retriesRefused', 0)
        lane_facts['curl']['retriesRefused'] += 1

    spread = (max(resets) - min(resets)) if resets else None
    if len(resets) != 10:
        problems.append(f'{len(resets)} reset connections, expected 10')
    if spread is not None and spread > 0.02:
        problems.append(f'the RSTs are spread over {spread * 1000:.1f} ms')

    # ------------------------------------------------------------------ healthy, before the kill and after the restart
    for lane, when in (('healthy', 'before'), ('restart', 'after')):
        items = list(by_lane.get(lane, {}).values())
        if len(items) != (3 if lane == 'healthy' else 2):
            problems.append(f'lane {lane}: {len(items)} connections')
        for c, qs in items:
            q = qs[0]
            rec = x32.find_request_record(c, q['id'])
            ans = [r for r in c.records if r['dir'] == 's' and r['what'] == 'app-data' and rec and r['frame'] > rec['frame']]
            if len(qs) != 1 or not q['ok'] or not rec or not ans:
                problems.append(f"{q['id']}: not answered ({q['error']})")
                continue
            rsts = [p for p in c.packets if p[3] & 0x04]
            if rsts:
                problems.append(f"{q['id']}: RST on a healthy connection: {rsts}")
                continue
            t0, t1 = c.packets[0][1], c.packets[-1][1]
            if when == 'before' and t1 >= t_kill:
                problems.append(f"{q['id']}: the healthy connection was not over before the kill")
                continue
            if when == 'after' and (t0 < t_restart or c.client not in s2_answered):
                problems.append(f"{q['id']}: not answered by the new server process")
                continue
            seq = x32.close_sequence(c, ans[-1]['frame'])
            what = ('before the kill, closed by the client' if when == 'before' else
                    f'by the new server process started {r4(t0 - t_kill)} s after the kill, on the same port (the listener taken over)')
            expect.append({'kind': None, 'client': c.client, 'server': c.server,
                           'notes': (f"lane {lane}, id {q['id']}: GET {q['path']} answered (request record frame {rec['frame']}, "
                                     f"answer frame {ans[0]['frame']}), {what}; TLS {c.hello.get('tlsVersion')}; "
                                     f"close: {'; '.join(seq[:4]) or 'none'}. Healthy."),
                           'evidence': {'requestFrame': rec['frame'], 'responseFrame': ans[0]['frame'],
                                        'tlsVersion': c.hello.get('tlsVersion'), 'alpnOffered': c.hello.get('alpnOffered', [])}})
            lane_facts.setdefault(lane, {'connections': 0})
            lane_facts[lane]['connections'] += 1

    unused = [c.client + '->' + c.server for c in conns.values() if c.stream not in used]
    if unused:
        problems.append(f'connections in the capture no log accounts for: {unused}')
    if problems:
        raise Refuse('; '.join(problems))

    for LF in lane_facts.values():
        for k, v in list(LF.items()):
            if isinstance(v, set):
                LF[k] = sorted(v)
    rst_t = sorted(resets)
    first_rst, last_rst = rst_t[0], rst_t[-1]
    t13 = sorted({tuple(t) for L in lane_facts.values() for t in L.get('ticketLengths', []) if t})
    desc = (
        "An HTTPS server process killed (SIGKILL) while it held requests it had not read, on one network namespace's loopback. "
        "programs/x33-tls-server.py, a Python 3.11 stdlib server (ssl + socket, a thread per connection, OpenSSL 3.0, a throwaway "
        "self-signed ECDSA certificate, session tickets at OpenSSL's default), listens on 127.0.0.2:8443 (TLS 1.3) and 127.0.0.2:9443 "
        "(TLS 1.2 only) in one process and answers /ok at once (HTTP/1.1 keep-alive); after a request with then=hang, the connection's "
        "thread sleeps 30 s instead of reading the next request, and on fresh connections from local ports 20001-20009 it sleeps "
        "right after the handshake. From 127.0.0.1: three healthy connections first (curl, requests, Node; /ok, closed by the client); then "
        "ten connections each left with one unread request in the server socket's receive queue: Python requests 2.28 Sessions to 8443 "
        "(TLS 1.3, ALPN http/1.1) x3 and Node 20 keep-alive agents to 9443 (TLS 1.2, no ALPN) x3, each GET /ok?then=hang (answered) then "
        "the next GET on the same connection; curl 7.88 --http1.1 with two URLs to 8443 x2 (the second URL unread); curl --http1.1 to 8443 "
        "on fresh connections x2 (the first request unread; the server's two TLS 1.3 NewSessionTicket records follow the handshake). "
        f"About 1.5 s after the last of them was sent the server process got SIGKILL; its kernel closed every socket holding unread data "
        f"with a RST: 10 RSTs within {spread * 1000:.2f} ms, {r4(first_rst - t_kill) * 1000:.1f}-{r4(last_rst - t_kill) * 1000:.1f} ms after "
        "the kill, with no FIN and no TLS close_notify; no answer to any of the ten requests. The clients logged: "
        f"{'; '.join(f'{k}: ' + ' / '.join(lane_facts[k]['errors']) for k in LANES)}. requests shows the reset as an EOF "
        "(Python 3.11's ssl with OpenSSL 3.0 turns ECONNRESET into SSLEOFError, which suppress_ragged_eofs makes an empty read: "
        "http.client's RemoteDisconnected); curl, whose request died on a reused connection, retried it once on a fresh connect, "
        "refused (SYN answered by RST: the listener died with the process), hence exit 7 with the reset's message. "
        f"{r4(t_restart - t_kill)} s after the kill a new server process took over both ports and answered one /ok on each (curl): the "
        f"listener went on answering. TLS 1.3 NewSessionTicket record lengths per connection: {', '.join(str(list(t)) for t in t13)}.")
    meta = {
        'scenario': a.scenario,
        'software': a.software,
        'description': desc,
        'silent': False,
        'expect': expect,
        'notes': (
            "The resets are the kernel's: a process that dies has its sockets closed, and a socket closed with unread bytes in its "
            "receive queue is aborted with a RST instead of a FIN (so no TLS close_notify either: the process never ran again). The "
            "unread request is a TLS application-data record the client sent after the previous answer (or, on the fresh connections, "
            "right after its Finished); OpenSSL reads only the records it is asked for (no read-ahead), so the record stayed in the kernel "
            "(ss Recv-Q before the kill equals the record's bytes). On TLS 1.3 the server's NewSessionTicket records are encrypted "
            "application data: on the fresh curl connections they can come after the client's request record (the server sends them "
            "once it has read the client's Finished, while curl sends its request with or right after the Finished), so 'server data "
            "after the request' there is tickets, not an answer. Frame numbers are those of this capture (1-based); records were "
            "identified by decrypting with the key logs at record time (not committed)."),
        'facts': {'killTime': t_kill, 'restartTime': t_restart, 'rstSpreadMs': r4(spread * 1000), 'lanes': lane_facts},
    }
    with open(a.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(json.dumps(meta['facts'], indent=1, default=list))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--software', nargs='+', default=[])
    a = ap.parse_args()
    try:
        run(a)
    except Refuse as e:
        print(f'x33-meta: {a.scenario}: refused: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
