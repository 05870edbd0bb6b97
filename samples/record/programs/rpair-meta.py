#!/usr/bin/env python3
"""Checks a retried-request-common-schedule recording against the clients' log; writes its meta.

Refuses (exit 1, nothing written) a run where the capture does not show what the sample claims:
A's second GET reset on a connection the server had closed idle; B's scheduled GET on its open
connection leaving after that reset and within 5 ms of it, answered; P's GET /r reset on p1 and
sent again on p2 (opened before, idle) within 5 ms, answered; no other failure.
"""
import argparse
import json
import subprocess
import sys

p = argparse.ArgumentParser()
p.add_argument('--capture', required=True)
p.add_argument('--client-log', required=True)
p.add_argument('--meta', required=True)
p.add_argument('--idle', type=float, required=True)
p.add_argument('--software', action='append', default=[])
args = p.parse_args()


def refuse(why):
    print(f'rpair-meta: {why}', file=sys.stderr)
    sys.exit(1)


lines = [json.loads(x) for x in open(args.client_log) if x.strip()]
sends = [x for x in lines if 'sent' in x]
fails = [x for x in sends if x['error'] is not None]

out = subprocess.run(
    ['tshark', '-r', args.capture, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'tcp.srcport',
     '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset',
     '-e', 'tcp.len', '-e', 'http.request.uri', '-e', 'http.response.code'],
    capture_output=True, text=True, check=True).stdout
SERVER = 8080
conns = {}
first_ts = None
for row in out.splitlines():
    ts, sp, dp, syn, ack, fin, rst, ln, uri, code = row.split('|')
    ts = float(ts)
    first_ts = ts if first_ts is None else first_ts
    from_client = int(dp) == SERVER
    cport = int(sp) if from_client else int(dp)
    c = conns.setdefault(cport, {'syn': None, 'requests': [], 'responses': [], 'serverFin': None, 'serverRst': None, 'clientFin': None})
    if syn == '1' and ack == '0' and from_client:
        c['syn'] = ts
    if uri and from_client:
        c['requests'].append((ts, uri))
    if code and not from_client:
        c['responses'].append((ts, int(code)))
    if not from_client and fin == '1' and c['serverFin'] is None:
        c['serverFin'] = ts
    if from_client and fin == '1' and c['clientFin'] is None:
        c['clientFin'] = ts
    if not from_client and rst == '1' and c['serverRst'] is None:
        c['serverRst'] = ts


def by(name, **kw):
    return [x for x in sends if x['name'] == name and all(x.get(k) == v for k, v in kw.items())]


if sorted((x['name'], x['path']) for x in fails) != [('A', '/a'), ('P', '/r')]:
    refuse(f'failures {[(x["name"], x["conn"], x["error"]) for x in fails]}: want exactly A /a and P /r')
a_fail = by('A', offset=4.8)[0]
ca = conns.get(a_fail['conn'])
if ca is None or ca['serverRst'] is None or ca['serverFin'] is None or not ca['serverFin'] < a_fail['sent'] <= ca['serverRst']:
    refuse(f'A on {a_fail["conn"]}: no idle FIN before its GET and RST after it in the capture')
reset_a = ca['serverRst']
b_next = [x for x in by('B') if abs(x['offset'] - 4.802) < 1e-6][0]
cb = conns[b_next['conn']]
b_ts = [t for t, u in cb['requests'] if t >= reset_a - 0.05][0]
if not 0 < b_ts - reset_a < 0.005 or b_next['status'] != 200:
    refuse(f"B's scheduled GET {1000 * (b_ts - reset_a):.3f} ms after A's reset (want 0-5 ms), status {b_next['status']}")
b_previous = max(t for t, _u in cb['requests'] if t < b_ts)
p_fail = [x for x in by('P') if x['error'] is not None][0]
p_retry = [x for x in by('P') if x.get('retryOf') == p_fail['conn']]
if len(p_retry) != 1 or p_retry[0]['status'] != 200:
    refuse("P's retry missing or not answered")
p_retry = p_retry[0]
c1 = conns[p_fail['conn']]
c2 = conns[p_retry['conn']]
reset_p = c1['serverRst']
retry_ts = [t for t, _u in c2['requests'] if t >= reset_p][0]
if reset_p is None or not 0 < retry_ts - reset_p < 0.005 or c2['syn'] is None or c2['syn'] > reset_p:
    refuse(f"P's retry {retry_ts - reset_p:.4f} s after the reset on a connection opened before it: want 0-5 ms")
p2_previous = max(t for t, _u in c2['requests'] if t < retry_ts)
a_new = [x['reconnected'] for x in lines if x.get('name') == 'A' and 'reconnected' in x][0]
ca_new = conns[a_new]


def rel(t):
    return round(t - first_ts, 6)


def client(port):
    return f'127.0.0.1:{port}'


# The server's own closes (its FIN first): how long after its last response each came.
idle_closes = sorted(round(c['serverFin'] - max(t for t, _ in c['responses'] if t < c['serverFin']), 4)
                     for c in conns.values()
                     if c['serverFin'] is not None and (c['clientFin'] is None or c['serverFin'] < c['clientFin'])
                     and any(t < c['serverFin'] for t, _ in c['responses']))
meta = {
    'scenario': 'retried-request-common-schedule',
    'description': (
        'Clients of one host (127.0.0.1) on a common schedule against nginx (keepalive_timeout '
        f'{args.idle:g}s): four Python http.client threads A-D, one kept-alive connection each, no retry, send GET /a at '
        'fixed offsets from one start (B, C, D every 1.5 s; B 2 ms behind the tick, C and D 1 and 0.5 ms ahead). A idles 4.5 s: its '
        'second GET meets the server\'s idle close and is reset; A reconnects at once and sends its next call 0.3 s later. B\'s '
        'scheduled GET on its own open connection leaves '
        f'{1000 * (b_ts - reset_a):.1f} ms after that reset: a coincidence of the schedule, not a retry (blind round 14 scene 9: '
        'retried-request named it before). A pool client P (two connections) has GET /r reset on p1 (idle 5 s) and resends it at '
        f'once on p2, idle {retry_ts - p2_previous:.2f} s and alive: a real retry on an idle pooled connection, reported. '
        'Loopback in a namespace.'),
    'software': args.software,
    'configured': {'serverIdleTimeout': args.idle, 'fleetPeriod': 1.5, 'bBehindTickMs': 2, 'aIdleBeforeFailure': 4.5, 'pIdleBeforeFailure': 5.0},
    'observed': {
        'serverIdleCloseSeconds': idle_closes,
        'aFailure': {'client': client(a_fail['conn']), 'serverFinAt': rel(ca['serverFin']), 'requestAt': rel(ca['requests'][-1][0]),
                     'rstAt': rel(reset_a), 'clientError': a_fail['error'], 'reconnectedOn': client(a_new),
                     'reconnectSynAfterResetMs': round(1000 * (ca_new['syn'] - reset_a), 3),
                     'nextRequestAfterResetS': round(ca_new['requests'][0][0] - reset_a, 4)},
        'bScheduled': {'client': client(b_next['conn']), 'requestAt': rel(b_ts), 'afterAResetMs': round(1000 * (b_ts - reset_a), 3),
                       'idleBefore': round(b_ts - b_previous, 4), 'status': b_next['status']},
        'pFailure': {'client': client(p_fail['conn']), 'rstAt': rel(reset_p), 'clientError': p_fail['error']},
        'pRetry': {'client': client(p_retry['conn']), 'afterResetMs': round(1000 * (retry_ts - reset_p), 3),
                   'idleBefore': round(retry_ts - p2_previous, 4), 'status': p_retry['status']},
    },
    'facts': {
        'fleetRetries': 0,
        'retries': 1,
        'note': 'http.client never retries; only P resends, and only once (its log line carries retryOf)',
    },
    'expect': [
        {'kind': 'keepalive-race', 'client': client(a_fail['conn']), 'server': f'127.0.0.1:{SERVER}',
         'notes': "A's GET /a after 4.5 s idle, on a connection nginx closed at 3 s: reset"},
        {'kind': 'keepalive-race', 'client': client(p_fail['conn']), 'server': f'127.0.0.1:{SERVER}',
         'notes': "P's GET /r on p1 after 5 s idle: reset"},
        {'kind': 'retried-request', 'client': client(p_retry['conn']), 'server': f'127.0.0.1:{SERVER}',
         'notes': "P's own resend of GET /r at once on its idle pooled connection p2, answered 200"},
        {'kind': None, 'client': client(b_next['conn']),
         'notes': "B's scheduled GET on its open connection just after A's reset: no retry (B never failed, and the host's GETs come together every tick)"},
        {'kind': None, 'client': client(a_new),
         'notes': "A's new connection, its next call 0.3 s after the reset: no retry"},
    ],
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
print(json.dumps(meta['observed'], indent=1))
