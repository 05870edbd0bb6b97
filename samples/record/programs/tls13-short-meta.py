#!/usr/bin/env python3
"""Writes samples/keepalive-race-tls13-short-requests.meta.json from the capture (tshark: TCP flags,
payload lengths and TLS record lengths per packet), the client's log (one JSON line per
connection: role, ports, outcome) and the servers' logs (Node's opens and closes, nginx's access
log). Ground truth per connection: the server's idle close (from the end of its last application
data to its close_notify or FIN), what the client sent after the FIN (its record lengths), whether
that ACKed the FIN, the RST."""
import argparse, json, re, subprocess
from collections import defaultdict

ap = argparse.ArgumentParser()
for name in ('capture', 'meta', 'client-log', 'node-log', 'nginx-access-log', 'nginx-version', 'node-version', 'python-version'):
    ap.add_argument('--' + name)
ap.add_argument('--node-port', type=int); ap.add_argument('--nginx-port', type=int)
ap.add_argument('--node-keepalive-ms', type=int); ap.add_argument('--nginx-keepalive-s', type=float)
ap.add_argument('--stale-delay', type=float)
a = ap.parse_args()
ports = {a.node_port: 'Node', a.nginx_port: 'nginx'}
# Node 20's http server arms the socket's timer at keepAliveTimeout + 1000 ms (HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER in lib/_http_server.js).
effective = {a.node_port: a.node_keepalive_ms / 1000 + 1.0, a.nginx_port: a.nginx_keepalive_s}

fields = ['frame.number', 'frame.time_epoch', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.len', 'tcp.ack', 'tcp.seq', 'tls.record.length']
out = subprocess.run(['tshark', '-r', a.capture, '-o', 'tcp.relative_sequence_numbers:TRUE', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=/']
                     + sum([['-e', f] for f in fields], []), capture_output=True, text=True, check=True).stdout
conns = defaultdict(list)
for line in out.splitlines():
    p = dict(zip(fields, line.split('\t')))
    sport, dport = int(p['tcp.srcport']), int(p['tcp.dstport'])
    from_client = dport in ports
    conns[sport if from_client else dport].append({'t': float(p['frame.time_epoch']), 'fromClient': from_client,
        'fin': p['tcp.flags.fin'] == '1', 'rst': p['tcp.flags.reset'] == '1', 'len': int(p['tcp.len'] or 0),
        'ack': int(p['tcp.ack'] or 0), 'seq': int(p['tcp.seq'] or 0), 'records': [int(x) for x in re.findall(r'\d+', p['tls.record.length'])]})
log = [json.loads(l) for l in open(a.client_log)]
node_log = [json.loads(l) for l in open(a.node_log)]
access = open(a.nginx_access_log).read().splitlines()


def facts(port):
    pk = conns[port]
    sfin = next((p for p in pk if not p['fromClient'] and p['fin']), None)
    # The server's close: its close_notify (a 19-byte record) when it sent one, else its FIN.
    alert = next((p for p in pk if not p['fromClient'] and p['records'] == [19]), None)
    closing = alert or sfin
    if closing is None:
        return None
    last = [p for p in pk if not p['fromClient'] and p['len'] > 0 and p['t'] < closing['t']][-1]
    after = next((p for p in pk if p['fromClient'] and p['len'] > 0 and p['t'] > closing['t']), None)
    rst = next((p for p in pk if not p['fromClient'] and p['rst']), None)
    return {'idleCloseSeconds': round(closing['t'] - last['t'], 3), 'serverCloseNotify': alert is not None, 'serverFin': sfin is not None,
            'bytesAfterClose': after['len'] if after else None, 'recordsAfterClose': after['records'] if after else None,
            'acksFin': bool(after and sfin and after['ack'] > sfin['seq']),
            'deltaMs': round((after['t'] - (sfin or closing)['t']) * 1000, 1) if after else None,
            'rstAfterMs': round((rst['t'] - after['t']) * 1000, 3) if rst and after else None}


expect, observed = [], {'serverIdleCloseSeconds': {}, 'staleRequestBytesOnWire': [], 'staleDeltaMs': [], 'clientCloseNotifyBytes': []}
failed, answered, requests = 0, 0, 0
for r in log:
    port, sp = r['port'], r['serverPort']
    server, name = f'127.0.0.1:{sp}', ports[sp]
    f = facts(port)
    answered += (r.get('first') is not None) + (r.get('second') is not None)
    requests += 1 if r['role'] == 'answer' else 2
    # The server's idle closes: on the connections it closed first (the healthy ones the client closed).
    if f is not None and r['role'] != 'reuse':
        observed['serverIdleCloseSeconds'].setdefault(server, []).append(f['idleCloseSeconds'])
    close = ('close_notify (a 24-byte record)' + (' and FIN' if f['serverFin'] else " (no FIN: the client's close_notify came first)")) if f and f['serverCloseNotify'] else 'a bare FIN'
    # The capture must show what each connection was for, or the meta would be wrong.
    assert f is not None, f'{port}: no server close in the capture'
    if r['role'] == 'stale':
        assert f['acksFin'] and f['rstAfterMs'] is not None and r.get('second') is None, f'{port}: not a stale reuse met by RST: {f} {r}'
        assert len(f['recordsAfterClose']) == 1 and f['recordsAfterClose'][0] > 22, f'{port}: the request is not one record: {f}'
    if r['role'] == 'answer':
        assert f['recordsAfterClose'] == [19], f'{port}: the client did not answer with a close_notify alone: {f}'
    if r['role'] == 'stale':
        failed += r.get('second') is None
        observed['staleRequestBytesOnWire'].append(f['bytesAfterClose'])
        observed['staleDeltaMs'].append(f['deltaMs'])
        expect.append({'kind': 'keepalive-race', 'client': f'127.0.0.1:{port}', 'server': server,
            'notes': f"stale reuse over TLS 1.3 with a short request: {name} closed the connection after {f['idleCloseSeconds']} s idle with {close}; "
                     f"the client's {r['requestBytes']}-byte GET went {f['deltaMs']} ms after the FIN as one {'+'.join(map(str, f['recordsAfterClose']))}-byte record "
                     f"({f['bytesAfterClose']} bytes on the wire, ACKing the FIN), {name}'s kernel answered RST {f['rstAfterMs']} ms later; the client read {r.get('secondError')}.",
            'evidence': {'form': 'stale-reuse', 'requestAcksFin': f['acksFin']}})
    elif r['role'] == 'answer':
        observed['clientCloseNotifyBytes'].append(f['bytesAfterClose'])
        expect.append({'kind': None, 'client': f'127.0.0.1:{port}',
            'notes': f"near miss: {name} closed after {f['idleCloseSeconds']} s idle with {close}; the client answered with its own close_notify "
                     f"(a {'+'.join(map(str, f['recordsAfterClose']))}-byte record, {f['bytesAfterClose']} bytes) {f['deltaMs']} ms after {'the FIN' if f['serverFin'] else 'it'}"
                     + (f", which {name}'s kernel answered with RST" if f['rstAfterMs'] is not None else '') + ': no request.'})
    else:
        expect.append({'kind': None, 'client': f'127.0.0.1:{port}',
            'notes': f"healthy reuse: the second GET after 0.3 s idle was answered ({r.get('second')}); the client closed."})

node_closes = [e for e in node_log if e['event'] == 'close']
meta = {
  'scenario': 'keepalive-race-tls13-short-requests',
  'description': "Keep-alive stale reuse over TLS 1.3 with short requests (blind round 14 variants S8/S9, where conncheck had said nothing). "
                 f"A Node https server (TLS 1.3 only, keepAliveTimeout {a.node_keepalive_ms} ms: its socket timer fires {effective[a.node_port]:g} s after the response; it closes with a bare FIN) "
                 f"and nginx (ssl_protocols TLSv1.3, keepalive_timeout {a.nginx_keepalive_s:g}s: close_notify, then FIN), both on loopback with a self-signed certificate made at record time. "
                 f"A Python ssl client (TLS 1.3, no ALPN) sends 35- and 36-byte GETs (52/53-byte records, 57/58 bytes on the wire). Per server: one connection is reused {a.stale_delay:g} ms "
                 "after the server's close arrived (stale reuse: the server's kernel answers RST, the client reads EOF); one answers the close with the client's own close_notify "
                 "(24 bytes on the wire: no request, must stay silent); one is reused after 0.3 s idle and answered (healthy).",
  'software': [f'node {a.node_version} (https server)', f'nginx/{a.nginx_version}', f'Python {a.python_version} (ssl client)'],
  'configured': {'serverIdleTimeout': [{'value': effective[p], 'server': f'127.0.0.1:{p}'} for p in (a.node_port, a.nginx_port)]},
  'configuredNotes': f"Node: keepAliveTimeout {a.node_keepalive_ms} ms plus the 1000 ms Node 20 adds to the socket's timer (HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER); nginx: keepalive_timeout {a.nginx_keepalive_s:g}s. "
                     "Inferred from TLS record headers (the end of the server's last application data to its close_notify or FIN).",
  'observed': observed,
  'clientLog': log,
  'serverLog': {'nodeCloses': len(node_closes), 'nodeRequests': sum(e['event'] == 'request' for e in node_log), 'nginxAccessLogLines': len(access)},
  'facts': {'connections': len(log), 'requests': requests, 'answered': answered, 'failedRequests': failed,
            'clientErrors': sorted({r['secondError'] for r in log if r['role'] == 'stale' and r.get('secondError')})},
  'notes': "A TLS 1.3 close_notify is a 19-byte application-data record (24 bytes on the wire); these requests are 52-53-byte records, "
           "which no alert or post-handshake message has. conncheck had dropped them under a 64-byte segment floor meant for close_notify.",
  'expect': expect,
}
json.dump(meta, open(a.meta, 'w'), indent=2); open(a.meta, 'a').write('\n')
print(json.dumps(observed))
