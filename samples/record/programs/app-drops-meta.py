#!/usr/bin/env python3
"""Meta for unanswered-request-app-drops-reused: the capture (tshark) against the server's log, curl's
-v output and requests' outcomes. Each dropped request was the second on its connection, came after
an idle gap far below the server's 30 s idle timeout, and was closed by the server's FIN acknowledging
it whole (no RST, no response byte); the server closed no idle connection."""
import argparse, collections, json, subprocess

ap = argparse.ArgumentParser()
for a in ('--capture', '--meta', '--server-log', '--curl-log', '--requests-log'): ap.add_argument(a)
ap.add_argument('--software', nargs='*', default=[])
args = ap.parse_args()
SERVER_PORT = 8080

fields = ['frame.time_epoch', 'tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags.syn']
out = subprocess.run(['tshark', '-r', args.capture, '-T', 'fields', *sum([['-e', f] for f in fields], [])], capture_output=True, text=True, check=True).stdout
streams = collections.defaultdict(lambda: {'client': None, 'clientData': [], 'serverData': [], 'serverFin': None, 'serverRst': False, 'clientEnd': 0, 'clientFin': None})
for line in out.splitlines():
    t, stream, sport, dport, length, fin, rst, seq, ack, syn = line.split('\t')
    s = streams[stream]
    t, length, seq, ack = float(t), int(length), int(seq), int(ack)
    if int(dport) == SERVER_PORT:
        s['client'] = int(sport)
        if fin == '1' and s['clientFin'] is None: s['clientFin'] = t
        if length > 0:
            s['clientData'].append((t, length))
            s['clientEnd'] = (seq + length) % 2**32
    else:
        if length > 0: s['serverData'].append(t)
        if fin == '1' and s['serverFin'] is None: s['serverFin'] = (t, ack)
        if rst == '1': s['serverRst'] = True
byPort = {s['client']: s for s in streams.values()}

served = [json.loads(l) for l in open(args.server_log)]
assert not any('error' in e for e in served), served
drops = [e for e in served if e['action'] == 'drop']
answers = [e for e in served if e['action'] == 'answer']
assert len(drops) == 4 and all(e['n'] == 2 for e in drops), drops
observed_drops = []
for e in drops:
    s = byPort[e['port']]
    # The server's FIN came after the request, acknowledging all of it; no RST, no response byte after the first.
    fin_ts, fin_ack = s['serverFin']
    assert fin_ack == s['clientEnd'], (e, fin_ack, s['clientEnd'])
    assert not s['serverRst'] and len(s['serverData']) == 1, e
    req_start = [t for t, _ in s['clientData'] if t > s['serverData'][0]][0]
    observed_drops.append({'client': f"127.0.0.1:{e['port']}", 'request': e['line'].rsplit(' ', 1)[0],
                           'idleBeforeRequestSeconds': round(req_start - s['serverData'][0], 4), 'finAfterRequestMs': round((fin_ts - req_start) * 1000, 3)})
# Every server FIN that closed first came right after a request it dropped: no idle close.
for port, s in byPort.items():
    if s['serverFin'] is not None and (s['clientFin'] is None or s['serverFin'][0] < s['clientFin']): assert port in {e['port'] for e in drops}, port
# curl sent each dropped request again on a new connection, answered there.
curl_log = open(args.curl_log).read()
assert curl_log.count('Connection died, retrying a fresh connect') == 2, curl_log
retries = []
for e in drops:
    again = [a for a in answers if a['line'] == e['line'] and a['n'] == 1 and a['port'] != e['port']]
    if again: retries.append({'client': f"127.0.0.1:{again[0]['port']}", 'request': e['line'].rsplit(' ', 1)[0], 'after': f"127.0.0.1:{e['port']}"})
assert len(retries) == 2, retries
outcomes = [json.loads(l) for l in open(args.requests_log)]
assert [o.get('status', o.get('error')) for o in outcomes] == [200, 'ConnectionError', 200, 'ConnectionError'], outcomes
assert all('RemoteDisconnected' in o['cause'] for o in outcomes if 'error' in o), outcomes

expect = [{'kind': 'unanswered-request', 'client': d['client'], 'server': '127.0.0.2:8080',
           'notes': f"{d['request']} read whole by the application and dropped: the server's FIN acknowledging it {d['finAfterRequestMs']} ms after it came, "
                    f"after {d['idleBeforeRequestSeconds']} s idle (its idle timeout 30 s); not a keepalive-race"} for d in observed_drops]
expect += [{'kind': 'retried-request', 'client': r['client'], 'server': '127.0.0.2:8080',
            'notes': f"curl sent {r['request']} again by itself on a new connection after {r['after']} died; the application had read the first copy"} for r in retries]
meta = {
    'scenario': 'unanswered-request-app-drops-reused',
    'description': 'A server application (app-drops-server.py, Python sockets, 127.0.0.2:8080, idle timeout 30 s, Server: dropserver) answers the first request '
                   'of each connection and reads the second whole, a POST\'s body included, then closes without answering: a clean FIN that acknowledges the '
                   'request, no RST (blind round 12, S8). curl --next pairs reuse the connection after 0.3 ms and send the dropped request again on a new '
                   'connection by themselves (a POST\'s body too, which the application then reads twice); a python-requests Session reuses it after 0.4 s and '
                   'raises ConnectionError (RemoteDisconnected). The server closes no idle connection: no idle timer is involved, however fast the close '
                   'came after the request and however long the connection had been idle.',
    'software': args.software,
    'configured': {'serverIdleTimeout': 30.0, 'dropsRequestNumberOnConnection': 2},
    'configuredNotes': 'serverIdleTimeout is the socket timeout of app-drops-server.py: no capture of seconds shows it, and no diagnosis may infer another.',
    'observed': {'dropped': observed_drops, 'curlRetries': retries, 'requests': outcomes, 'answered': len(answers)},
    'silent': False,
    'facts': {'droppedRequests': 4, 'serverIdleCloses': 0},
    'expect': expect,
}
with open(args.meta, 'w') as f:
    json.dump(meta, f, indent=2); f.write('\n')
print(json.dumps(meta['observed'], indent=1))
