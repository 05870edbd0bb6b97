#!/usr/bin/env python3
"""Check a round-9 capture (gunicorn, Tomcat, Python requests/urllib3) against the programs' own
logs and write its meta.json. The numbers come from the capture (tshark); the logs say what the
programs saw: the client's exceptions and urllib3's own log lines (x9-pool-client.py,
x9-timeout-client.py), the application's log (x9-wsgi-app.py: which requests reached a handler),
gunicorn's error log (WORKER TIMEOUT) and Tomcat's access log. Any check that fails prints why and
exits 1 without writing the meta (the recorder then records again).

Usage: x9-meta.py SCENARIO-KIND --capture F --meta OUT [--client-log F] [--app-log F]
                  [--access-log F] [--error-log F] [--server-port P] [--set KEY=SECONDS ...]
                  [--software NAME ...]
SCENARIO-KIND: keepalive-race | worker-timeout | healthy
"""
import argparse
import json
import os
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument('kind', choices=['keepalive-race', 'worker-timeout', 'healthy'])
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--client-log')
ap.add_argument('--app-log')
ap.add_argument('--access-log')
ap.add_argument('--error-log')
ap.add_argument('--server-port', type=int, default=8080)
ap.add_argument('--proxy-port', type=int, default=0)
ap.add_argument('--proxy-error-log')
ap.add_argument('--proxy-access-log')
ap.add_argument('--set', action='append', default=[])
ap.add_argument('--software', nargs='*', default=[])
ap.add_argument('--description', default='')
ap.add_argument('--server-name', default='gunicorn')
ap.add_argument('--kill-lag-max', type=float, default=1.2, help='worker-timeout: the kill comes at most this long after the timeout')
ap.add_argument('--require-retry', action='store_true', help='keepalive-race: urllib3 must have retried a request')
ap.add_argument('--max-keepalive', type=int, default=0, help='healthy: the server closes after this many requests per connection')
ap.add_argument('--close-every-response', action='store_true', help='healthy: one request per connection, Connection: close')
ap.add_argument('--expect-idle-closes', type=int, default=0, help='healthy: at least this many server idle closes')
args = ap.parse_args()

FIN, SYN, RST = 0x01, 0x02, 0x04


def fail(why):
    print(f'x9-meta: {os.path.basename(args.meta)}: {why}', file=sys.stderr)
    sys.exit(1)


def jsonl(path):
    if not path or not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip().startswith('{')]


FIELDS = ['frame.number', 'frame.time_relative', 'frame.time_epoch', 'tcp.stream', 'ip.src', 'tcp.srcport',
          'ip.dst', 'tcp.dstport', 'tcp.flags', 'tcp.seq', 'tcp.ack', 'tcp.len', 'http.request.method',
          'http.request.uri', 'http.response.code', 'http.connection']
out = subprocess.run(['tshark', '-r', args.capture, '-n', '-o', 'tcp.relative_sequence_numbers:TRUE',
                      '-d', f'tcp.port=={args.server_port},http'] + (['-d', f'tcp.port=={args.proxy_port},http'] if args.proxy_port else []) + [ '-T', 'fields', '-E', 'separator=\t',
                      '-E', 'occurrence=f'] + sum([['-e', f] for f in FIELDS], []),
                     check=True, capture_output=True, text=True).stdout
conns = {}
for line in out.splitlines():
    v = line.split('\t')
    p = {'frame': int(v[0]), 't': float(v[1]), 'epoch': float(v[2]), 'stream': int(v[3]),
         'src': f'{v[4]}:{v[5]}', 'dst': f'{v[6]}:{v[7]}', 'flags': int(v[8], 16), 'seq': int(v[9]),
         'ack': int(v[10] or 0), 'len': int(v[11] or 0), 'method': v[12], 'uri': v[13], 'status': v[14],
         'connection': v[15].lower()}
    p['fromClient'] = int(v[7]) in (args.server_port, args.proxy_port)
    c = conns.setdefault(p['stream'], {'packets': []})
    if p['fromClient']:
        c['client'], c['server'] = p['src'], p['dst']
    else:
        c['client'], c['server'] = p['dst'], p['src']
    c['packets'].append(p)
for c in conns.values():
    pk = c['packets']
    c['port'] = int(c['client'].rsplit(':', 1)[1])
    c['requests'] = [p for p in pk if p['fromClient'] and p['method']]
    c['responses'] = [p for p in pk if not p['fromClient'] and p['status']]
    c['serverFin'] = next((p for p in pk if not p['fromClient'] and p['flags'] & FIN), None)
    c['clientFin'] = next((p for p in pk if p['fromClient'] and p['flags'] & FIN), None)
    c['serverRst'] = next((p for p in pk if not p['fromClient'] and p['flags'] & RST), None)
    c['clientRst'] = next((p for p in pk if p['fromClient'] and p['flags'] & RST), None)
    data = [p for p in pk if not p['fromClient'] and p['len'] > 0]
    c['lastServerData'] = data[-1] if data else None
by_port = {c['port']: c for c in conns.values()}
if not conns:
    fail('empty capture')
server = next(c['server'] for c in conns.values() if c['server'].endswith(f':{args.server_port}'))

configured = {}
for kv in args.set:
    k, val = kv.split('=', 1)
    configured[k] = float(val)


def ms(x):
    return round(x * 1000, 1)


def idle_closes():
    """Idle gaps after which the server closed (FIN after its last response, nothing asked since)."""
    gaps = []
    for c in conns.values():
        fin, last = c['serverFin'], c['lastServerData']
        if not fin or not last or not c['responses']:
            continue
        if c['clientFin'] and c['clientFin']['frame'] < fin['frame']:
            continue   # the client closed first
        if any(r['frame'] > last['frame'] and r['frame'] < fin['frame'] for r in c['requests']):
            continue
        if c['responses'][-1]['connection'] == 'close':
            continue
        gaps.append(round(fin['t'] - last['t'], 3))
    return sorted(gaps)


def write(description, expect, silent, observed, facts):
    meta = {'scenario': os.path.basename(args.meta).replace('.meta.json', ''), 'description': description,
            'software': args.software, 'configured': configured, 'expect': expect, 'silent': silent,
            'captureSide': 'server (tun ccbs in the server namespace)' if '10.99.0.' in server else 'loopback',
            'observed': observed, 'facts': facts}
    with open(args.meta, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'x9-meta: wrote {args.meta}')


def facts_common():
    states = {}
    for c in conns.values():
        s = 'RST' if (c['serverRst'] or c['clientRst']) else ('FIN-both' if c['serverFin'] and c['clientFin'] else 'other')
        states[s] = states.get(s, 0) + 1
    return {'connections': len(conns), 'requests': sum(len(c['requests']) for c in conns.values()),
            'responses': sum(len(c['responses']) for c in conns.values()), 'closeStates': states,
            'captureFile': os.path.basename(args.capture)}


def keepalive_race():
    events = jsonl(args.client_log)
    handled = {}
    if args.app_log:
        for e in jsonl(args.app_log):
            if e['event'] == 'start':
                handled[e['uri']] = handled.get(e['uri'], 0) + 1
    else:   # the server's access log ("METHOD URI HTTP/1.1" on each line: Tomcat's %r)
        for m in re.finditer(r'"[A-Z]+ (\S+) HTTP/1\.[01]"', open(args.access_log).read()):
            handled[m.group(1)] = handled.get(m.group(1), 0) + 1
    sends = [e for e in events if e['event'] == 'send' and 'probe' not in e['uri'] and not e['uri'].endswith('-warm')]
    errors = {e['uri']: e for e in events if e['event'] == 'error'}
    retry_lines = [e['text'] for e in events if e['event'] == 'urllib3' and e['text'].startswith('Retrying')]
    dropped = [e for e in events if e['event'] == 'urllib3' and 'dropped connection' in e['text']]
    expect, races, retried_ok, stale_detected = [], [], [], []
    for s in sends:
        uri = s['uri']
        on = [c for c in conns.values() if any(r['uri'] == uri for r in c['requests'])]
        answered = [c for c in on if any(r['uri'] == uri for r in c['requests']) and c['responses']
                    and c['responses'][-1]['frame'] > next(r for r in c['requests'] if r['uri'] == uri)['frame']]
        failed = [c for c in on if c not in answered]
        if not failed:
            if s.get('reusePort') and not any(c['port'] == s['reusePort'] for c in on):
                stale_detected.append(uri)   # the pool saw the FIN, closed, and opened a new connection
            continue
        if len(failed) != 1:
            fail(f'{uri}: failed on {len(failed)} connections')
        c = failed[0]
        if c['port'] != s.get('reusePort'):
            fail(f'{uri}: failed on {c["client"]}, not on the reused connection {s.get("reusePort")}')
        fin, rst = c['serverFin'], c['serverRst']
        if not fin:
            fail(f'{uri}: no server FIN')
        # The request's first segment (tshark names the request on its last one).
        req = next((p for p in c['packets'] if p['fromClient'] and p['len'] > 0 and p['frame'] > fin['frame']), None)
        if req is None or not any(r['uri'] == uri and r['frame'] >= req['frame'] for r in c['requests']):
            fail(f'{uri}: the request did not come after the server FIN')
        req = dict(req, method=s['method'])
        if c['responses'] and c['responses'][-1]['frame'] > req['frame']:
            fail(f'{uri}: answered on {c["client"]}')
        # The server's kernel answers a request on a closed socket with RST; a server that has only
        # shut down its sending side (or not yet closed the socket) ACKs it and drops it.
        reaction = 'RST' if rst and rst['frame'] > req['frame'] else 'ACK, no RST'
        retried_on = [a for a in answered]
        if handled.get(uri, 0) != len(retried_on):
            fail(f'{uri}: the application handled it {handled.get(uri, 0)} times, answered on {len(retried_on)} other connections')
        form = 'stale-reuse' if req['ack'] > fin['seq'] else 'crossing'
        idle = fin['t'] - c['lastServerData']['t']
        client_saw = errors.get(uri)
        if client_saw is None and not retried_on:
            fail(f'{uri}: neither an error nor a retry')
        if retried_on and not any(uri in l for l in retry_lines):
            fail(f'{uri}: sent again but urllib3 logged no retry')
        note = (f'{req["method"]} {uri} on a connection {args.server_name} closed after {idle:.3f} s idle ({form}: the request '
                f'reached the server {ms(req["t"] - fin["t"])} ms after its FIN left); {args.server_name} had closed the connection: '
                + ('its kernel answered RST' if reaction == 'RST' else 'its kernel ACKed the request and no response or RST followed (the socket was still open for reading and the request was dropped)')
                + '; the application never saw the request.')
        if client_saw:
            note += f' The client ({s["lib"]}) raised {client_saw["error"]}: {client_saw["text"]}'
        if retried_on:
            note += f' urllib3 retried it on a new connection ({retried_on[0]["client"]}), answered {retried_on[0]["responses"][-1]["status"]}; the application saw no error.'
        races.append({'client': c['client'], 'form': form, 'deltaMs': ms(req['t'] - fin['t']), 'method': req['method'], 'serverReaction': reaction,
                      'uri': uri, 'lib': s['lib'], 'clientError': client_saw['text'] if client_saw else None,
                      'retriedBy': 'urllib3' if retried_on else None})
        expect.append({'kind': 'keepalive-race', 'client': c['client'], 'server': c['server'], 'notes': note,
                       'evidence': {'form': form, 'method': req['method'], 'uri': uri,
                                    'idleGapSeconds': round(idle, 3), 'deltaMs': ms(req['t'] - fin['t'])}})
        for a in retried_on:
            retried_ok.append(uri)
            expect.append({'kind': 'retried-request', 'client': a['client'], 'server': a['server'],
                           'notes': f'urllib3 (Retry, default 3 for PoolManager) sent {req["method"]} {uri} again on a new '
                                    f'connection after the race on {c["client"]}; answered {a["responses"][-1]["status"]}.'})
    if not any(r['form'] == 'crossing' for r in races):
        fail('no crossing')
    if not any(r['method'] == 'POST' and r['clientError'] for r in races):
        fail('no failed POST')
    if args.require_retry and not any(r['retriedBy'] for r in races):
        fail('no urllib3 retry')
    gaps = idle_closes()
    if len(gaps) < 3:
        fail(f'only {len(gaps)} idle closes')
    failed_clients = {e['client'] for e in expect}
    for c in conns.values():
        if c['client'] not in failed_clients:
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'],
                           'notes': 'answered; then idle-closed by the server or closed by the client after the server\'s FIN.'})
    expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': server,
                   'notes': f'{args.server_name} closes idle connections after {min(gaps)}-{max(gaps)} s (configured: '
                            f'{configured.get("serverIdleTimeout")} s); the clients reuse connections after about as '
                            f'long: every race above is the consequence.'})
    desc = args.description or (
        'The keep-alive race against gunicorn gthread workers (--keep-alive 2: an idle keep-alive connection is closed 2 s '
        'after its last response; the worker closes it, FIN) and Python pools without an idle timeout of their own: '
        'requests.Session (no retries by default: the application gets ConnectionError "Connection aborted.", '
        'RemoteDisconnected) and urllib3.PoolManager (Retry(3): a GET that met the race is sent again on a new '
        'connection, a POST raises ProtocolError). 5 ms one-way latency, captured on the server side. GETs and POSTs '
        'are sent a few ms before the server\'s FIN reaches the client (they cross it: gunicorn\'s kernel answers RST); '
        'one GET is sent 20 ms after the FIN arrived: urllib3 finds the connection dropped before sending, opens a new '
        'one, no error.')
    write(desc, expect, False,
          {'serverIdleCloseSeconds': gaps, 'races': races, 'staleDetectedByPool': stale_detected,
           'urllib3DroppedConnectionLines': len(dropped), 'urllib3RetryLines': retry_lines}, facts_common())


def worker_timeout():
    timeout = configured.get('gunicornTimeout', configured.get('harakiri'))
    events = jsonl(args.client_log)
    app = jsonl(args.app_log)
    # gunicorn: "[CRITICAL] WORKER TIMEOUT (pid:N)"; uWSGI: "*** HARAKIRI ON WORKER 1 (pid: N, try: 1) ***"
    log_text = open(args.error_log).read()
    kills = [int(m.group(1)) for m in re.finditer(r'\[CRITICAL\] WORKER TIMEOUT \(pid:(\d+)\)', log_text)]
    kills += [int(m.group(1)) for m in re.finditer(r'HARAKIRI ON WORKER \d+ \(pid: (\d+)', log_text)]
    started = {e['uri']: e for e in app if e['event'] == 'start'}
    ended = {e['uri'] for e in app if e['event'] == 'end'}
    slow = [u for u in started if u not in ended]
    if len(kills) != len(slow) or sorted(kills) != sorted(started[u]['pid'] for u in slow):
        fail(f'WORKER TIMEOUT pids {kills} do not match the unfinished requests {slow}')
    backend = [c for c in conns.values() if c['server'].endswith(f':{args.server_port}')]
    front = [c for c in conns.values() if args.proxy_port and c['server'].endswith(f':{args.proxy_port}')]
    expect, waits, client_saw = [], [], {}
    for e in events:
        if e['event'] in ('error', 'response') and e['uri'] in slow:
            client_saw[e['uri']] = e
    nginx_err = open(args.proxy_error_log).read() if args.proxy_error_log else ''
    for uri in slow:
        on = [c for c in backend if any(r['uri'] == uri for r in c['requests'])]
        if len(on) != 1:
            fail(f'{uri}: on {len(on)} backend connections')
        c = on[0]
        req = next(p for p in c['packets'] if p['fromClient'] and p['len'] > 0)
        fin = c['serverFin']
        if c['responses'] or not fin or c['serverRst']:
            fail(f'{uri}: expected no response and a server FIN without RST on {c["client"]}')
        acked = any(not p['fromClient'] and p['ack'] >= max(q['seq'] + q['len'] for q in c['packets'] if q['fromClient'] and q['len'] > 0)
                    and p['frame'] < fin['frame'] for p in c['packets'])
        wait = fin['t'] - req['t']
        if not (timeout - 0.05 <= wait <= timeout + args.kill_lag_max):
            fail(f'{uri}: the worker was killed {wait:.3f} s after the request, not within [{timeout}, {timeout} + {args.kill_lag_max}] s')
        waits.append(round(wait, 3))
        saw = client_saw.get(uri) or fail(f'{uri}: nothing in the client log')
        text = saw.get('text') or f'HTTP {saw.get("status")}'
        method = next(r['method'] for r in c['requests'] if r['uri'] == uri)
        killed = (f'gunicorn\'s arbiter logged WORKER TIMEOUT (pid:{started[uri]["pid"]}) and the worker exited' if args.server_name == 'gunicorn'
                  else f'{args.server_name} logged HARAKIRI ON WORKER (pid: {started[uri]["pid"]}) and SIGKILLed the worker')
        note = (f'{method} {uri}: the handler slept 6 s; {killed}: FIN without a response {wait:.3f} s after the request '
                f'(the request was ACKed: {acked}). The client saw: {text}.')
        expect.append({'kind': 'unanswered-request', 'client': c['client'], 'server': c['server'], 'notes': note,
                       'evidence': {'closedBy': 'server', 'closedWith': 'FIN', 'waitSeconds': round(wait, 3), 'serverAcked': acked}})
        if front:
            if 'upstream prematurely closed connection' not in nginx_err:
                fail('nginx did not log "upstream prematurely closed connection"')
            fc = next((f for f in front if any(r['uri'] == uri for r in f['requests'])), None) or fail(f'{uri}: no client leg')
            if [r['status'] for r in fc['responses']] != ['502']:
                fail(f'{uri}: nginx answered {[r["status"] for r in fc["responses"]]}, not 502')
            delay = fc['responses'][0]['t'] - fc['requests'][0]['t']
            expect.append({'kind': None, 'client': fc['client'], 'server': fc['server'],
                           'notes': f'nginx answered 502 {delay:.3f} s after the request, right after the upstream FIN '
                                    f'(error log: upstream prematurely closed connection while reading response header from upstream): '
                                    f'it relays the backend\'s failure; no timeout of nginx is at work (the finding is on the upstream connection).'})
    slow_clients = {e['client'] for e in expect}
    for c in conns.values():
        if c['client'] not in slow_clients:
            if len(c['responses']) != len(c['requests']) or any(r['status'] != '200' for r in c['responses']):
                fail(f'{c["client"]}: not every request answered 200')
            who = 'nginx' if args.proxy_port and c['server'].endswith(f':{args.proxy_port}') else (
                'gunicorn (sync worker: Connection: close)' if args.server_name == 'gunicorn' else f'{args.server_name} (closes after each response)')
            expect.append({'kind': None, 'client': c['client'], 'server': c['server'], 'notes': f'answered 200 by {who}.'})
    desc = args.description or (
        'gunicorn\'s worker timeout: one sync worker (--timeout 2); three requests (GET, POST, GET) reach a handler that sleeps 6 s. '
        'gunicorn\'s arbiter checks its workers\' heartbeats on its 1 s loop; the sync worker\'s last heartbeat is taken as it accepts '
        'the connection, so 2-3 s after the request the arbiter logs "[CRITICAL] WORKER TIMEOUT (pid:N)", sends SIGABRT, the worker '
        'exits and its connection is closed with FIN, no response (the request had been ACKed); a new worker boots and answers the '
        'next requests. The fast requests between them are answered 200 with Connection: close.' +
        (' Behind nginx (default proxy settings: proxy_read_timeout 60 s): nginx logs "upstream prematurely closed connection while '
         'reading response header from upstream" and answers 502 to its client right after the upstream FIN.' if front else
         ' Loopback; the client (requests, one Session per request) gets ConnectionError ("Connection aborted.", RemoteDisconnected).'))
    write(desc, expect, False, {'workerKilledAfterSeconds': waits, 'workerTimeoutLogLines': len(kills)}, facts_common())


def healthy():
    events = jsonl(args.client_log)
    errors = [e for e in events if e['event'] == 'error']
    if errors:
        fail(f'the client saw errors: {errors}')
    sent = [e for e in events if e['event'] == 'send']
    answered = [e for e in events if e['event'] == 'response' and e.get('lib') != 'curl']
    if len(sent) != len(answered):
        fail(f'{len(sent)} requests sent, {len(answered)} answered')
    notes_by_client = {}
    closing = 0
    for c in conns.values():
        statuses = [r['status'] for r in c['responses']]
        if len(statuses) != len(c['requests']) or any(not st.startswith('2') for st in statuses):
            fail(f'{c["client"]}: requests {len(c["requests"])}, responses {statuses}')
        close_at = [i for i, r in enumerate(c['responses']) if r['connection'] == 'close']
        if args.max_keepalive:
            if len(c['requests']) > args.max_keepalive:
                fail(f'{c["client"]}: {len(c["requests"])} requests, more than maxKeepAliveRequests')
            if len(c['requests']) == args.max_keepalive:
                if close_at != [args.max_keepalive - 1]:
                    fail(f'{c["client"]}: the {args.max_keepalive}th response does not say Connection: close')
                closing += 1
                notes_by_client[c['client']] = (f'{args.max_keepalive} requests, the last response with Connection: close '
                                                f'(maxKeepAliveRequests); the connection closed after it.')
        if args.close_every_response:
            if len(c['requests']) != 1 or close_at != [0]:
                fail(f'{c["client"]}: not one request answered with Connection: close')
            notes_by_client[c['client']] = 'one request, answered with Connection: close; the server closed.'
        first_fin = min((p for p in (c['serverFin'], c['clientFin']) if p), key=lambda p: p['frame'], default=None)
        if c['client'] not in notes_by_client:
            who = 'the server (idle)' if first_fin and first_fin is c['serverFin'] else 'the client'
            notes_by_client[c['client']] = f'{len(c["requests"])} requests answered 2xx; closed first by {who}.'
    gaps = idle_closes()
    if len(gaps) < args.expect_idle_closes:
        fail(f'{len(gaps)} idle closes, expected {args.expect_idle_closes}')
    observed = {'serverIdleCloseSeconds': gaps, 'connectionsClosedAtMaxKeepAlive': closing,
                'urllib3DroppedConnectionResets': sum(1 for e in events if e['event'] == 'urllib3' and 'dropped connection' in e['text'])}
    if args.access_log and args.max_keepalive:
        status = [l.rsplit(' ', 1)[-1].strip() for l in open(args.access_log) if l.strip()]
        observed['tomcatAccessLogConnectionStatus'] = {k: status.count(k) for k in sorted(set(status))}
        if status.count('-') != closing:
            fail(f'Tomcat logged {status.count("-")} closing responses (%X -), the capture shows {closing}')
    expect = [{'kind': None, 'client': c, 'server': server, 'notes': n} for c, n in notes_by_client.items()]
    write(args.description, expect, True, observed, facts_common())


if args.kind == 'keepalive-race':
    keepalive_race()
elif args.kind == 'healthy':
    healthy()
elif args.kind == 'worker-timeout':
    worker_timeout()
