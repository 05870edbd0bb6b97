#!/usr/bin/env python3
"""Writes samples/keepalive-race-tls-nginx.meta.json from the capture (tshark: TCP flags and TLS
record types per packet) and the client's log. Ground truth per connection: when nginx's
close_notify and FIN came after the last response record (its idle close), when the stale
request left, whether it ACKed the FIN, the RST; the well-behaved connections' own close_notify."""
import argparse, json, re, statistics, subprocess
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument('--capture'); ap.add_argument('--meta'); ap.add_argument('--client-log')
ap.add_argument('--keepalive-timeout', type=float); ap.add_argument('--stale-delays'); ap.add_argument('--cipher')
ap.add_argument('--nginx-version'); ap.add_argument('--node-version')
a = ap.parse_args()

fields = ['frame.number', 'frame.time_epoch', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.syn', 'tcp.flags.fin',
          'tcp.flags.reset', 'tcp.flags.ack', 'tcp.len', 'tcp.ack', 'tcp.seq', 'tls.record.content_type', 'tls.record.length']
out = subprocess.run(['tshark', '-r', a.capture, '-o', 'tcp.relative_sequence_numbers:TRUE', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=/']
                     + sum([['-e', f] for f in fields], []), capture_output=True, text=True, check=True).stdout
conns = defaultdict(list)
t0 = None
for line in out.splitlines():
    v = line.split('\t')
    p = dict(zip(fields, v))
    ts = float(p['frame.time_epoch']); t0 = ts if t0 is None else t0
    sport, dport = int(p['tcp.srcport']), int(p['tcp.dstport'])
    client = sport if dport == 8443 else dport
    conns[client].append({'frame': int(p['frame.number']), 't': ts, 'fromClient': dport == 8443, 'syn': p['tcp.flags.syn'] == '1',
        'fin': p['tcp.flags.fin'] == '1', 'rst': p['tcp.flags.reset'] == '1', 'ackFlag': p['tcp.flags.ack'] == '1',
        'len': int(p['tcp.len'] or 0), 'ack': int(p['tcp.ack'] or 0), 'seq': int(p['tcp.seq'] or 0),
        'types': [int(x) for x in re.findall(r'\d+', p['tls.record.content_type'])]})
log = [json.loads(l) for l in open(a.client_log)]

def facts(port):
    pk = conns[port]
    sfin = next(p for p in pk if not p['fromClient'] and p['fin'])
    salert = [p for p in pk if not p['fromClient'] and p['len'] > 0 and p['types'] == [21] and p['t'] <= sfin['t']]
    last_app = [p for p in pk if not p['fromClient'] and p['len'] > 0 and 23 in p['types'] and p['t'] < sfin['t']][-1]
    after = next((p for p in pk if p['fromClient'] and p['len'] > 0 and p['t'] > sfin['t']), None)
    rst = next((p for p in pk if not p['fromClient'] and p['rst']), None)
    f = {'idleCloseSeconds': round((salert[0]['t'] if salert else sfin['t']) - last_app['t'], 3),
         'serverAlertBytes': salert[0]['len'] if salert else None, 'finAt': round(sfin['t'] - t0, 3),
         'clientBytesAfterFin': after['len'] if after else None, 'clientRecordTypesAfterFin': after['types'] if after else None,
         'afterFinAcksFin': bool(after and after['ack'] > sfin['seq']), 'deltaMs': round((after['t'] - sfin['t']) * 1000, 1) if after else None,
         'rstAfterMs': round((rst['t'] - after['t']) * 1000, 3) if rst and after else None, 'rstHasAck': bool(rst and rst['ackFlag'])}
    return f

expect, observed = [], {'serverIdleCloseSeconds': [], 'staleDeltaMs': [], 'clientCloseNotifyBytes': []}
for r in log:
    port = r['port']
    f = facts(port)
    observed['serverIdleCloseSeconds'].append(f['idleCloseSeconds'])
    if r['role'] == 'stale':
        observed['staleDeltaMs'].append(f['deltaMs'])
        expect.append({'kind': 'keepalive-race', 'client': f'127.0.0.1:{port}', 'server': '127.0.0.1:8443',
            'notes': f"stale reuse over TLS: the {r['method']} request ({f['clientBytesAfterFin']} bytes, TLS application data) ACKs nginx's FIN and left {f['deltaMs']} ms after it; nginx's kernel answered RST; the client retried on 127.0.0.1:{r.get('retryPort')} (same request; not matchable in TLS).",
            'evidence': {'form': 'stale-reuse', 'method': r['method'], 'requestBytes': f['clientBytesAfterFin'], 'requestAcksFin': f['afterFinAcksFin'],
                         'deltaMs': f['deltaMs'], 'idleCloseSeconds': f['idleCloseSeconds'], 'retryClient': f"127.0.0.1:{r.get('retryPort')}"}})
        expect.append({'kind': None, 'client': f"127.0.0.1:{r.get('retryPort')}", 'notes': 'the retry: a new connection, answered, closed by the client'})
    elif r['role'] == 'answers-close':
        observed['clientCloseNotifyBytes'].append(f['clientBytesAfterFin'])
        expect.append({'kind': None, 'client': f'127.0.0.1:{port}', 'notes': f"healthy: the client answered nginx's close with its own close_notify ({f['clientBytesAfterFin']} bytes, record type {f['clientRecordTypesAfterFin']}) {f['deltaMs']} ms after the FIN, and nginx's kernel answered RST. Not a request."})
stale = [r for r in log if r['role'] == 'stale']
if stale:
    # The pool reused connections idle longer than nginx keeps them: the mismatch, read from the TLS record turns.
    expect.append({'kind': 'idle-timeout-mismatch', 'client': None, 'server': '127.0.0.1:8443',
        'notes': f"nginx closes idle connections after keepalive_timeout {a.keepalive_timeout:g}s ({len(observed['serverIdleCloseSeconds'])} idle closes after "
                 f"{min(observed['serverIdleCloseSeconds'])}-{max(observed['serverIdleCloseSeconds'])} s, record headers), while the pool reused {len(stale)} connection(s) "
                 "after idling longer than that (the stale reuses above): clients reuse connections about as long idle as the server keeps them.",
        'evidence': {'inferredServerIdleTimeoutSeconds': statistics.median(observed['serverIdleCloseSeconds']), 'staleReuses': len(stale)}})
meta = {
  'scenario': 'keepalive-race-tls-nginx',
  'description': f"Keep-alive race over TLS, stale-reuse form, against nginx ssl on loopback. nginx (keepalive_timeout {a.keepalive_timeout:g}s, TLS 1.2, suite {a.cipher}, self-signed certificate made at record time) closes each idle keep-alive connection {a.keepalive_timeout:g} s after its response with a TLS close_notify alert and a FIN. A raw tls client acting as a pool that ignores 'end' hands the dead connection out anyway {a.stale_delays} ms after the close arrived (GET, then POST): nginx's kernel answers RST and the client retries on a new connection. A third connection behaves well: it answers nginx's close with its own close_notify (85 bytes with this CBC suite) and FIN, which nginx's kernel also answers with RST — not a race. conncheck sees only TLS records: no request line; the idle gap and the server's idle timeout come from the record headers (the end of nginx's last application data to its close_notify).",
  'software': [f'nginx/{a.nginx_version}', f'node {a.node_version}', 'nginx ssl static file server', 'node tls (raw client acting as a buggy pool: tls-race-client.js --mode stale --answer-close 1)'],
  'configured': {'serverIdleTimeout': a.keepalive_timeout},
  'configuredNotes': "Inferred from TLS record headers (the end of the server's last application data to its close_notify), checked against this value by the sample test.",
  'observed': observed,
  'notes': "nginx sends its close_notify (an alert record, type 21) and then close()s: FIN. The well-behaved client's close_notify after that FIN is one alert record too; with AES-GCM it would be 31 bytes, with this SHA-384 CBC suite it is 85, above the size floor the opaque race used to rely on.",
  'expect': expect,
}
json.dump(meta, open(a.meta, 'w'), indent=2); open(a.meta, 'a').write('\n')
print(json.dumps(observed))
