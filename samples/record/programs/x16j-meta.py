#!/usr/bin/env python3
"""Check an x16j capture (Eclipse Jetty 9.4, python requests and java.net.http clients) against
the programs' own logs and write its meta.json. The numbers come from the capture (tshark, taken
on the server side); the logs say what the programs saw: the clients' logs (x16j-pool-client.py,
x16j-java-pool-client.java: every request's outcome, errors with their exception) and Jetty's log
(x16j-jetty-server.java: connections opened/closed, requests that reached the application). Any
check that fails prints why and exits 1 without writing the meta (the recorder then records again).

Usage: x16j-meta.py healthy|keepalive-race --capture F --meta OUT --server-log F --client-log F...
                    --server-port P [--set KEY=NUMBER ...] [--description TEXT] [--software NAME ...]
"""
import argparse
import json
import os
import subprocess
import sys

FIN, SYN, RST = 0x01, 0x02, 0x04
FIELDS = ['frame.number', 'frame.time_epoch', 'tcp.stream', 'ip.src', 'tcp.srcport', 'ip.dst', 'tcp.dstport',
          'tcp.flags', 'tcp.seq', 'tcp.ack', 'tcp.len', 'http.request.method', 'http.request.uri', 'http.response.code']

# Shared with x19t-meta.py (Tornado / Mojolicious with OkHttp and HttpClient 5), which reads its
# captures and checks its logs with the pieces below.


def add_arguments(ap, several_servers=False):
    """The options of both meta writers (x16j-meta.py; x19t-meta.py: SEVERAL_SERVERS, its server
    logs and ports one or more)."""
    many = {'nargs': '+'} if several_servers else {}
    ap.add_argument('kind', choices=['healthy', 'keepalive-race'])
    ap.add_argument('--capture', required=True)
    ap.add_argument('--meta', required=True)
    ap.add_argument('--server-log', required=True, **many)
    ap.add_argument('--client-log', nargs='+', required=True)
    ap.add_argument('--server-port', type=int, required=True, **many)
    ap.add_argument('--set', action='append', default=[])
    ap.add_argument('--description', default='')
    ap.add_argument('--software', nargs='*', default=[])
    ap.add_argument('--capture-side', default='server')


def failer(prog, scenario):
    """fail(why): print why and exit 1 (no meta)."""
    def fail(why):
        print(f'{prog}: {scenario}: {why}', file=sys.stderr)
        sys.exit(1)
    return fail


def jsonl(path):
    return [json.loads(l) for l in open(path) if l.strip().startswith('{')] if os.path.exists(path) else []


def http_connections(capture, server_ports):
    """The capture's TCP connections (tshark, HTTP decoded on SERVER_PORTS) by stream: packets, client
    and server addresses, client port, requests, responses, each side's first FIN and RST, SYN seen."""
    decode = sum([['-d', f'tcp.port=={p},http'] for p in server_ports], [])
    out = subprocess.run(['tshark', '-r', capture, '-n', '-o', 'tcp.relative_sequence_numbers:TRUE'] + decode +
                         ['-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f'] + sum([['-e', f] for f in FIELDS], []),
                         check=True, capture_output=True, text=True).stdout
    conns = {}
    for line in out.splitlines():
        v = line.split('\t')
        p = {'frame': int(v[0]), 't': float(v[1]), 'flags': int(v[7], 16), 'seq': int(v[8]), 'ack': int(v[9] or 0),
             'len': int(v[10] or 0), 'method': v[11], 'uri': v[12], 'status': v[13]}
        p['fromClient'] = int(v[6]) in server_ports
        c = conns.setdefault(int(v[2]), {'packets': []})
        c['client'], c['server'] = (f'{v[3]}:{v[4]}', f'{v[5]}:{v[6]}') if p['fromClient'] else (f'{v[5]}:{v[6]}', f'{v[3]}:{v[4]}')
        c['packets'].append(p)
    for c in conns.values():
        pk = c['packets']
        c['port'] = int(c['client'].rsplit(':', 1)[1])
        c['requests'] = [p for p in pk if p['method']]
        c['responses'] = [p for p in pk if p['status']]
        c['sfin'] = next((p for p in pk if not p['fromClient'] and p['flags'] & FIN), None)
        c['cfin'] = next((p for p in pk if p['fromClient'] and p['flags'] & FIN), None)
        c['srst'] = next((p for p in pk if not p['fromClient'] and p['flags'] & RST), None)
        c['crst'] = next((p for p in pk if p['fromClient'] and p['flags'] & RST), None)
        c['syn'] = any(p['flags'] & SYN for p in pk)
    return conns


def in_order(conns):
    """The connections in the order of their first packet."""
    return [conns[s] for s in sorted(conns, key=lambda s: conns[s]['packets'][0]['frame'])]


def checked_configured(conns, settings, fail):
    """Fails on a connection without its handshake; returns the --set KEY=NUMBER settings."""
    if not all(c['syn'] for c in conns.values()):
        fail('a connection without its handshake in the capture')
    configured = {}
    for kv in settings:
        k, val = kv.split('=', 1)
        configured[k] = float(val)
    return configured


def find_idle_closes(conns):
    """The server's idle closes: a FIN from the server with no client data between its last response
    and it. Sets each such connection's idleClose (seconds from the last server data); returns them."""
    idle_closes = []
    for c in conns.values():
        f = c['sfin']
        if f is None or not c['responses'] or (c['cfin'] is not None and c['cfin']['frame'] < f['frame']):
            continue
        before = [p for p in c['packets'] if p['frame'] < f['frame']]
        last_out = max((p for p in before if not p['fromClient'] and p['len'] > 0), key=lambda p: p['frame'], default=None)
        last_in = max((p for p in before if p['fromClient'] and p['len'] > 0), key=lambda p: p['frame'], default=None)
        if last_out and (last_in is None or last_in['frame'] < last_out['frame']) and not c['responses'][-1]['frame'] > f['frame']:
            c['idleClose'] = round(f['t'] - last_out['t'], 3)
            idle_closes.append(c['idleClose'])
    return idle_closes


def unanswered_request(c, fail):
    """The request of c left unanswered, or None; fails on more than one, or on a connection without requests."""
    unanswered = c['requests'][len(c['responses']):]
    if len(unanswered) > 1:
        fail(f'{c["client"]}: {len(unanswered)} unanswered requests')
    if not unanswered and not c['requests']:
        fail(f'{c["client"]}: a connection without requests')
    return unanswered[0] if unanswered else None


def client_outcome(by_uri, uri, fail):
    """The client's error and response events for URI (either may be None, not both)."""
    ev = by_uri.get(uri, [])
    err = next((e for e in ev if e['event'] == 'error'), None)
    resp = next((e for e in ev if e['event'] == 'response'), None)
    if err is None and resp is None:
        fail(f'{uri}: no outcome in the client logs')
    return err, resp


def other_connections(conns, c, uri):
    """The connections other than c that carried a request for URI (a retry)."""
    return [o for o in conns.values() if o is not c and any(q['uri'] == uri for q in o['requests'])]


def race_expect(c, r, form, idle, delta, retry, text):
    """The expected keepalive-race finding of connection c, its request r raced (FORM)."""
    return {'kind': 'keepalive-race', 'client': c['client'], 'server': c['server'], 'notes': text,
            'evidence': {'form': form, 'method': r['method'], 'uri': r['uri'], 'idleGapSeconds': idle,
                         'deltaMs': round(delta, 1), 'retried': retry is not None}}


def clean_expect(c, how):
    """A connection with every request answered: no finding."""
    n = len(c['requests'])
    return {'kind': None, 'client': c['client'], 'server': c['server'],
            'notes': f'{n} request{"s" if n != 1 else ""} answered 2xx; {how}.'}


def check_errors_raced(errors, races, fail):
    for e in errors:
        if not any(r['uri'] == e['uri'] for r in races):
            fail(f'client error on {e["uri"]} without a race in the capture')


def meta_head(args, scenario, configured, expect):
    """The meta up to its observed part (the caller fills observed, then adds facts and groundTruth)."""
    return {'scenario': scenario, 'description': args.description, 'software': args.software, 'configured': configured,
            'expect': expect, 'silent': args.kind == 'healthy', 'captureSide': args.capture_side, 'observed': {}}


def facts(conns, capture):
    return {
        'connections': len(conns),
        'requests': sum(len(c['requests']) for c in conns.values()),
        'responses': sum(len(c['responses']) for c in conns.values()),
        'closeStates': {k: v for k, v in {
            'FIN-both': sum(1 for c in conns.values() if c['sfin'] and c['cfin'] and not (c['srst'] or c['crst'])),
            'RST': sum(1 for c in conns.values() if c['srst'] or c['crst'])}.items() if v},
        'captureFile': os.path.basename(capture),
    }


def write_meta(path, meta):
    with open(path, 'w') as fh:
        json.dump(meta, fh, indent=2)
        fh.write('\n')


def who(e):
    return 'requests' if e['lib'] == 'requests' else 'java.net.http.HttpClient'


def main():
    ap = argparse.ArgumentParser()
    add_arguments(ap)
    args = ap.parse_args()
    scenario = os.path.basename(args.meta).replace('.meta.json', '')
    fail = failer('x16j-meta', scenario)

    conns = http_connections(args.capture, [args.server_port])
    server_log = jsonl(args.server_log)
    next((e for e in server_log if e['event'] == 'started'), None) or fail('Jetty never logged "started"')
    app_requests = {(e['remote'], e['uri'].split('?')[0]) for e in server_log if e['event'] == 'request'}
    client_events = [e for f in args.client_log for e in jsonl(f)]
    by_uri = {}
    for e in client_events:
        if 'uri' in e:
            by_uri.setdefault(e['uri'], []).append(e)
    errors = [e for e in client_events if e['event'] == 'error']

    configured = checked_configured(conns, args.set, fail)
    # Jetty's idle closes
    idle_closes = find_idle_closes(conns)

    expect, races, retries = [], [], []
    for c in in_order(conns):
        r = unanswered_request(c, fail)
        if r is None:
            continue
        resps = c['responses']
        f = c['sfin']
        uri = r['uri']
        if f is None or not resps:
            fail(f'{c["client"]}: {r["method"]} {uri} unanswered, but not after an idle close of a reused connection')
        form = 'crossing' if f['frame'] < r['frame'] else 'arrival'
        delta = (r['t'] - f['t']) * 1000
        after = [p for p in c['packets'] if p['frame'] > r['frame'] and not p['fromClient']]
        if c['srst']:
            reaction = 'RST'
        elif any(p['ack'] > r['seq'] for p in after):
            reaction = 'ACK, no RST'
        else:
            reaction = 'no answer'
        reached_app = (c['client'], uri.split('?')[0]) in app_requests
        err, resp = client_outcome(by_uri, uri, fail)
        lib = who((err or resp))
        if err is not None and err.get('port') not in (None, c['port']):
            fail(f'{uri}: the client logged its error on port {err.get("port")}, the capture shows the request on {c["client"]}')
        retry = None
        if resp is not None:
            other = other_connections(conns, c, uri)
            if len(other) != 1 or resp.get('port') != other[0]['port']:
                fail(f'{uri}: answered on port {resp.get("port")} but the capture shows it on {[o["client"] for o in other]}')
            retry = other[0]
        idle = c.get('idleClose') or round(f['t'] - resps[-1]['t'], 3)
        text = (f'{r["method"]} {uri.split("?")[0]} ({lib}) on a connection Jetty closed (FIN) after {idle:.3f} s idle '
                + (f'(crossing: the request reached the server {delta:.1f} ms after its FIN left); ' if form == 'crossing'
                   else f'(the request reached the server {-delta:.1f} ms before its FIN left, unanswered); ')
                + {'ACK, no RST': 'Jetty had only shut its output: its kernel ACKed the request, Jetty read and dropped it, '
                                  'no response and no RST; the connection ended when the client closed its side. ',
                   'RST': 'the server answered RST. ', 'no answer': 'nothing answered it. '}[reaction]
                + ('The application (Jetty handler) never saw the request. ' if not reached_app else 'Jetty\'s handler logged it, yet no response. ')
                + (f'The client raised {err["error"]}: {err["text"]}' if err else
                   f'{lib} sent it again on a new connection ({retry["client"]}), answered {resp["status"]}: the application saw no error.'))
        jclose = next((e for e in server_log if e['event'] == 'close' and e['remote'] == c['client']), None)
        cfin = c['cfin']
        races.append({'client': c['client'], 'form': form, 'deltaMs': round(delta, 1), 'method': r['method'], 'uri': uri,
                      'idleGapSeconds': idle, 'serverReaction': reaction, 'lib': lib, 'reachedApplication': reached_app,
                      'frames': {'request': r['frame'], 'serverFin': f['frame']},
                      'clientError': (err['error'] + ': ' + err['text']) if err else None,
                      'retriedOn': retry['client'] if retry else None,
                      'jettyCloseLoggedMsAfterClientFin': round((jclose['t'] - cfin['t']) * 1000, 1) if jclose and cfin else None,
                      'jettyCloseLog': jclose})
        expect.append(race_expect(c, r, form, idle, delta, retry, text))
        if retry is not None:
            retries.append((retry, r, c, resp))
    # Retries: the connection that carried the repeated request.
    retry_ids = set()
    for retry, r, c, resp in retries:
        retry_ids.add(id(retry))
        expect.append({'kind': 'retried-request', 'client': retry['client'], 'server': retry['server'],
                       'notes': f'java.net.http.HttpClient sent {r["method"]} {r["uri"]} again on a new connection after the race on '
                                f'{c["client"]} (EOF on the reused connection before any response byte); answered {resp["status"]}.'})
    for c in in_order(conns):
        if len(c['requests']) > len(c['responses']) or id(c) in retry_ids:
            continue
        if c['srst'] or c['crst']:
            fail(f'{c["client"]}: a reset on a connection with every request answered')
        if c['sfin'] and (c['cfin'] is None or c['sfin']['frame'] < c['cfin']['frame']):
            how = f'idle-closed by Jetty (FIN {c.get("idleClose", 0):.3f} s after the last response), the client closed its side; not reused after it'
        else:
            how = 'closed first by the client'
        expect.append(clean_expect(c, how))

    if args.kind == 'keepalive-race':
        libs = {r['lib'] for r in races}
        if not races:
            fail('no race in this recording')
        if 'requests' not in libs or 'java.net.http.HttpClient' not in libs:
            fail(f'races only from {sorted(libs)}')
        if not any(r['method'] == 'POST' for r in races):
            fail('no POST raced')
        check_errors_raced(errors, races, fail)
        timeout = configured.get('serverIdleTimeout')
        expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': next(iter(conns.values()))['server'],
                       'notes': f'Jetty closes idle connections after {min(idle_closes):.3f}-{max(idle_closes):.3f} s (configured: '
                                f'{timeout} s); the clients (pools with no idle timeout: urllib3; java.net.http keeps idle '
                                f'connections 1200 s by default) reuse connections after about as long: every race above is the consequence.'})
    else:
        if errors:
            fail(f'client errors in a healthy recording: {errors}')
        if any(e['kind'] for e in expect):
            fail('a failure in a healthy recording')
        if idle_closes:
            fail(f'Jetty idle-closed {len(idle_closes)} connections: the pauses were not well inside its idle timeout')

    ulines = [e['text'] for e in client_events if e['event'] == 'urllib3']
    meta = meta_head(args, scenario, configured, expect)
    meta['observed'] = {
        'serverIdleCloseSeconds': sorted(idle_closes),
        'races': races,
        'clientErrors': [{'lib': e['lib'], 'uri': e['uri'], 'port': e.get('port'), 'error': e['error'], 'text': e['text']} for e in errors],
        'javaRetriedOnNewConnection': [{'uri': e['uri'], 'firstPort': e['firstPort'], 'port': e['port']}
                                       for e in client_events if e.get('retriedOnNewConnection')],
        'urllib3DroppedConnectionLines': sum('Resetting dropped connection' in t for t in ulines),
        'urllib3RetryLines': [t for t in ulines if 'Retry' in t or 'retry' in t],
        'jettyLogCloses': sum(e['event'] == 'close' for e in server_log),
    }
    meta['facts'] = facts(conns, args.capture)
    meta['groundTruth'] = {
        'clientLogs': 'x16j-pool-client.py (python requests) and x16j-java-pool-client.java (java.net.http) log every '
                      'request: send, response (with the client port Jetty saw), error (exception and text)',
        'serverLog': 'x16j-jetty-server.java logs every connection open/close (Jetty Connection.Listener) and every '
                     'request that reached the handler',
        'clientErrors': len(errors),
        'clientErrorLines': errors,
        'javaRetryLines': [e for e in client_events if e.get('retriedOnNewConnection')],
        'requestsReachingJetty': len(app_requests),
    }
    write_meta(args.meta, meta)
    print(f'x16j-meta: {scenario}: {len(conns)} connections, {len(races)} races, {len(retries)} retries, '
          f'idle closes {sorted(set(idle_closes))}')


if __name__ == '__main__':
    main()
