#!/usr/bin/env python3
"""Check an x19t capture (Tornado 6.2 or Mojolicious 9.31 servers; OkHttp 3.13 and Apache
HttpClient 5.2 clients) against the programs' own logs and write its meta.json. The numbers come
from the capture (tshark, taken on the server side); the logs say what the programs saw: the
clients' log (x19t-java-clients.java: every request's outcome, the connections it used, each failed
attempt with its exception, retries) and the servers' logs (x19t-tornado-server.py,
x19t-mojo-server.pl: requests that reached the application, idle closes, closes). Any check that
fails prints why and exits 1 without writing the meta (the recorder then records again).

Usage: x19t-meta.py healthy|keepalive-race --capture F --meta OUT --server-log F... --client-log F...
                    --server-port P... [--set KEY=NUMBER ...] [--description TEXT] [--software NAME ...]
                    [--want-lib LIB ...] [--mismatch-note TEXT]
"""
import argparse
import importlib.util
import os
import subprocess

_spec = importlib.util.spec_from_file_location('x16jmeta', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'x16j-meta.py'))
x16j = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(x16j)

ap = argparse.ArgumentParser()
x16j.add_arguments(ap, several_servers=True)
ap.add_argument('--want-lib', nargs='*', default=[])
ap.add_argument('--mismatch-note', default='')
args = ap.parse_args()

scenario = os.path.basename(args.meta).replace('.meta.json', '')
LIBS = {'okhttp': 'OkHttp 3.13', 'hc5': 'Apache HttpClient 5.2'}
SERVERS = {'tornado': 'Tornado', 'mojolicious': 'Mojolicious'}
fail = x16j.failer('x19t-meta', scenario)
jsonl = x16j.jsonl

conns = x16j.http_connections(args.capture, args.server_port)
if not conns:
    fail('an empty capture')
# Segments the capture missed (tcpdump under load): the logs could not be checked against it.
lost = subprocess.run(['tshark', '-r', args.capture, '-n', '-Y', 'tcp.analysis.lost_segment or tcp.analysis.ack_lost_segment',
                       '-T', 'fields', '-e', 'frame.number'], check=True, capture_output=True, text=True).stdout.split()
if lost:
    fail(f'the capture missed segments (frames {", ".join(lost[:8])} follow a gap)')
by_port = {c['port']: c for c in conns.values()}

server_log = [e for f in args.server_log for e in jsonl(f)]
started = [e for e in server_log if e['event'] == 'started']
if not started:
    fail('no server logged "started"')
server_name = {}
for e in started:
    server_name[e['lib']] = SERVERS[e['lib']]
app_requests = {(e['remote'], e['uri'].split('?')[0]) for e in server_log if e['event'] == 'request'}
idle_close_log = {e['remote']: e for e in server_log if e['event'] == 'idle-close'}
client_events = [e for f in args.client_log for e in jsonl(f)]
by_uri = {}
for e in client_events:
    if 'uri' in e and e['event'] in ('send', 'response', 'error'):
        by_uri.setdefault(e['uri'], []).append(e)
errors = [e for e in client_events if e['event'] == 'error']
failed_attempts = [e for e in client_events if e['event'] == 'attempt-failed']

configured = x16j.checked_configured(conns, args.set, fail)


def srv_of(c):
    """The server software that answered on c (from the server logs' connection lists)."""
    for e in server_log:
        if e.get('remote') == c['client'] and e['lib'] in SERVERS:
            return SERVERS[e['lib']]
    return '/'.join(server_name.values())


# The servers' idle closes, each logged by the server as one.
idle_closes = x16j.find_idle_closes(conns)
for c in conns.values():
    if 'idleClose' in c and c['client'] not in idle_close_log:
        fail(f'{c["client"]}: an idle close in the capture that the server did not log as one')

expect, races, retries, arrival_closes = [], [], [], []
for c in x16j.in_order(conns):
    r = x16j.unanswered_request(c, fail)
    if r is None:
        continue
    resps = c['responses']
    f = c['sfin']
    uri = r['uri']
    closed_with = 'FIN'
    if f is None and c['srst'] is not None and c['srst']['frame'] > r['frame'] and c['client'] in idle_close_log:
        # The idle timer fired with the request unread in the socket buffer: closing a socket with
        # unread data sends RST, not FIN (the server logged the close as its idle close).
        f, closed_with = c['srst'], 'RST'
    if f is None or not resps:
        fail(f'{c["client"]}: {r["method"]} {uri} unanswered, but not after an idle close of a reused connection')
    if f['frame'] < r['frame']:
        # The request ACKs the server's FIN: the client had it before sending (stale reuse).
        form = 'stale-reuse' if r['ack'] >= f['seq'] + 1 else 'crossing'
    else:
        form = 'closed-on-arrival'
    delta = (r['t'] - f['t']) * 1000
    after = [p for p in c['packets'] if p['frame'] > r['frame'] and not p['fromClient']]
    if closed_with == 'RST':
        reaction = 'RST on arrival'
    else:
        reaction = 'RST' if c['srst'] else ('ACK, no RST' if any(p['ack'] > r['seq'] for p in after) else 'no answer')
    reached_app = (c['client'], uri.split('?')[0]) in app_requests
    err, resp = x16j.client_outcome(by_uri, uri, fail)
    lib = (err or resp)['lib']
    attempt = next((e for e in failed_attempts if e['uri'] == uri and e['port'] == c['port']), None)
    if attempt is None:
        fail(f'{uri}: the client logged no failed attempt on {c["client"]}')
    retry = None
    if resp is not None:
        other = x16j.other_connections(conns, c, uri)
        if len(other) != 1 or resp.get('port') != other[0]['port'] or not resp.get('retriedOnNewConnection'):
            fail(f'{uri}: answered on port {resp.get("port")} but the capture shows it on {[o["client"] for o in other]}')
        retry = other[0]
    elif err.get('port') != c['port']:
        fail(f'{uri}: the client logged its error on port {err.get("port")}, the capture shows the request on {c["client"]}')
    srv = srv_of(c)
    idle = c.get('idleClose') or round(f['t'] - resps[-1]['t'], 3)
    if closed_with == 'RST':
        arrival_closes.append(idle)
    where = {'crossing': f'crossing: the request left the client before the FIN reached it, and reached the server {delta:.1f} ms after its FIN left',
             'stale-reuse': f'stale reuse: the request acknowledges the FIN (the client had it) and reached the server {delta:.1f} ms after it left',
             'closed-on-arrival': f'closed on arrival: the request reached the server {-delta:.1f} ms before its idle close ({closed_with}), unanswered'}[form]
    text = (f'{r["method"]} {uri} ({LIBS[lib]}) on a connection {srv} closed ({closed_with}) after {idle:.3f} s idle ({where}); '
            + {'RST': f'{srv} had closed the socket: its kernel answered the request with RST. ',
               'RST on arrival': f'{srv}\'s idle timer fired with the request unread in its socket buffer: closing a socket with unread '
                                 'data sends RST (acknowledging the request), no FIN. ',
               'ACK, no RST': 'the server ACKed the request and never answered it. ',
               'no answer': 'nothing answered it. '}[reaction]
            + ('The application never saw the request. ' if not reached_app else 'The application logged it, yet no response. ')
            + f'The first attempt failed with {attempt["text"]}'
            + (f'; {LIBS[lib]} sent it again on a new connection ({retry["client"]}), answered {resp["status"]}: the application saw no error.'
               if retry else f'; not retried: the application got {err["error"]}: {err["text"]}'))
    races.append({'client': c['client'], 'form': form, 'deltaMs': round(delta, 1), 'method': r['method'], 'uri': uri,
                  'idleGapSeconds': idle, 'serverReaction': reaction, 'lib': LIBS[lib], 'server': srv, 'reachedApplication': reached_app,
                  'closedWith': closed_with,
                  'frames': {'request': r['frame'], 'serverFin': f['frame'] if closed_with == 'FIN' else None,
                             'serverRst': c['srst']['frame'] if c['srst'] else None},
                  'firstAttemptError': attempt['text'],
                  'clientError': (err['error'] + ': ' + err['text']) if err else None,
                  'retriedOn': retry['client'] if retry else None,
                  'serverIdleCloseLog': idle_close_log.get(c['client'])})
    expect.append(x16j.race_expect(c, r, form, idle, delta, retry, text))
    if retry is not None:
        retries.append((retry, r, c, resp, lib))

retry_ids = set()
for retry, r, c, resp, lib in retries:
    retry_ids.add(id(retry))
    expect.append({'kind': 'retried-request', 'client': retry['client'], 'server': retry['server'],
                   'notes': f'{LIBS[lib]} sent {r["method"]} {r["uri"]} again on a new connection after the race on '
                            f'{c["client"]} (its first attempt failed: {resp.get("firstError", "").split(" ", 1)[-1]}); answered {resp["status"]}.'})
# Requests the client library sent on a new connection by itself, with no error (its own check
# of the pooled connection saw the close): not races.
fresh = [e for e in client_events if e.get('newConnectionWithoutError')]
fresh_ports = {e['firstPort']: e for e in fresh}
stale_resets = 0
for c in x16j.in_order(conns):
    if len(c['requests']) > len(c['responses']) or id(c) in retry_ids:
        continue
    idle_fin = c['sfin'] and (c['cfin'] is None or c['sfin']['frame'] < c['cfin']['frame'])
    if c['srst'] or c['crst']:
        # HttpClient 5 discards a pooled connection its stale check found closed with
        # CloseMode.IMMEDIATE (SO_LINGER 0): a RST after the server's idle FIN.
        e = fresh_ports.get(c['port'])
        if not (idle_fin and c['crst'] and not c['srst'] and c['crst']['frame'] > c['sfin']['frame'] and e and e['lib'] == 'hc5'):
            fail(f'{c["client"]}: a reset on a connection with every request answered')
        stale_resets += 1
        how = (f'idle-closed by {srv_of(c)} (FIN {c.get("idleClose", 0):.3f} s after the last response); when HttpClient 5 next leased it '
               f'(for {e["method"]} {e["uri"]}) its stale check (validateAfterInactivity) found the FIN and discarded the connection with '
               'CloseMode.IMMEDIATE: a RST from the client, not an error; the request went on a new connection')
    elif idle_fin:
        how = f'idle-closed by {srv_of(c)} (FIN {c.get("idleClose", 0):.3f} s after the last response), the client closed its side; not reused after it'
    else:
        how = 'closed first by the client'
    expect.append(x16j.clean_expect(c, how))

for e in fresh:
    c = by_port.get(e['firstPort'])
    if c is None or any(q['uri'] == e['uri'] for q in c['requests']):
        fail(f'{e["uri"]}: logged as sent on a new connection, but the capture shows it on the old one')

if args.kind == 'keepalive-race':
    if not races:
        fail('no race in this recording')
    if not any(r['method'] == 'POST' for r in races) or not any(r['method'] == 'GET' for r in races):
        fail(f'races only of {sorted({r["method"] for r in races})}')
    x16j.check_errors_raced(errors, races, fail)
    expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': next(iter(conns.values()))['server'],
                   'notes': f'{"/".join(server_name.values())} closes idle connections after {min(idle_closes):.3f}-{max(idle_closes):.3f} s '
                            f'(configured: {configured.get("serverIdleTimeout")} s); {args.mismatch_note} Every race above is the consequence.'})
else:
    if errors or failed_attempts:
        fail(f'client errors in a healthy recording: {errors + failed_attempts}')
    if any(e['kind'] for e in expect):
        fail('a failure in a healthy recording')
    if fresh:
        fail(f'{len(fresh)} requests went on new connections: the pauses were not well inside the idle timeout')

meta = x16j.meta_head(args, scenario, configured, expect)
meta.update({
    'observed': {
        'serverIdleCloseSeconds': sorted(idle_closes),
        'serverIdleCloseOnArrivalSeconds': sorted(arrival_closes),
        'races': races,
        'clientErrors': [{'lib': LIBS[e['lib']], 'uri': e['uri'], 'port': e.get('port'), 'error': e['error'], 'text': e['text']} for e in errors],
        'retriedOnNewConnection': [{'lib': LIBS[e['lib']], 'uri': e['uri'], 'firstPort': e['firstPort'], 'port': e['port'], 'firstError': e['firstError']}
                                   for e in client_events if e.get('retriedOnNewConnection')],
        'newConnectionWithoutError': [{'lib': LIBS[e['lib']], 'uri': e['uri'], 'method': e['method'], 'firstPort': e['firstPort'], 'port': e['port']} for e in fresh],
        'serverLoggedIdleCloses': len(idle_close_log),
        'clientResetsAfterStaleCheck': stale_resets,
    },
    'facts': x16j.facts(conns, args.capture),
    'groundTruth': {
        'clientLogs': 'x19t-java-clients.java logs every request: send, the connections it used (OkHttp EventListener.connectionAcquired; '
                      'HttpClient 5: its connection socket factory), each failed attempt (OkHttp: a network interceptor; HttpClient 5: its '
                      'retry strategy, with its decision), response (with the client port the server saw), error',
        'serverLog': 'x19t-tornado-server.py / x19t-mojo-server.pl log every request that reached the application, every idle close '
                     '(Tornado: HTTP1Connection.close from its header wait; Mojolicious: the stream\'s timeout event) and every close',
        'clientErrors': len(errors),
        'clientErrorLines': errors,
        'failedAttemptLines': failed_attempts,
        'requestsReachingApplication': len(app_requests),
    },
})
x16j.write_meta(args.meta, meta)
print(f'x19t-meta: {scenario}: {len(conns)} connections, {len(races)} races '
      f'({", ".join(sorted({r["form"] for r in races}))}), {len(retries)} retries, {len(fresh)} new connections without error, '
      f'idle closes {min(idle_closes, default=0):.3f}-{max(idle_closes, default=0):.3f} s')
