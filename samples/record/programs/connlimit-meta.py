#!/usr/bin/env python3
"""Meta for connection-limit-node-maxconnections, from the programs' own logs checked against the
capture: every connection the server logged as dropped (Node's 'drop' event, maxConnections) must be
one the client saw fail, and on the wire one the server closed (FIN or RST) without sending a byte,
within 0.1 s of its handshake; every request the server logged as served must be the client's 200.
Refuses (exit 1) when the logs and the capture disagree, so the recording is repeated."""
import argparse, json, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument('--scenario', required=True)
ap.add_argument('--capture', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--addr', required=True)
ap.add_argument('--configured', required=True)
ap.add_argument('--software', nargs='+', required=True)
a = ap.parse_args()

def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]

server = lines(f'{a.work}/server.log')
client = lines(f'{a.work}/client.log')
dropped = sorted(e['port'] for e in server if e['event'] == 'drop')
served = sorted(e['port'] for e in server if e['event'] == 'served')
failed = sorted(c['port'] for c in client if 'error' in c and c['port'] is not None)
ok = sorted(c['port'] for c in client if c.get('status') == 200)
def refuse(why):
    print(f'connlimit-meta: {why}', file=sys.stderr)
    sys.exit(1)
if not dropped:
    refuse('the server dropped no connection')
if sorted(set(dropped)) != sorted(set(failed)):
    refuse(f'dropped {dropped} but the client failed on {failed}')
if sorted(set(served)) != sorted(set(ok)):
    refuse(f'served {served} but the client got 200 on {ok}')

out = subprocess.run(
    ['tshark', '-r', a.capture, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.number', '-e', 'frame.time_relative',
     '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.flags.fin',
     '-e', 'tcp.flags.reset', '-e', 'tcp.len'],
    check=True, capture_output=True, text=True).stdout
conns = {}
for row in out.splitlines():
    frame, t, sport, dport, syn, ack, fin, rst, length = row.split(',')
    t = float(t); sport = int(sport); dport = int(dport); length = int(length or 0)
    yes = lambda v: v in ('1', 'True')
    from_server = sport == a.port
    cport = dport if from_server else sport
    c = conns.setdefault(cport, {'handshake': None, 'synack': None, 'serverBytes': 0, 'close': None, 'closeBy': None, 'closeFrame': None, 'request': None})
    if from_server and yes(syn):
        c['synack'] = t
    elif not from_server and not yes(syn) and yes(ack) and c['synack'] is not None and c['handshake'] is None:
        c['handshake'] = t
    if from_server:
        c['serverBytes'] += length
        if (yes(fin) or yes(rst)) and c['close'] is None:
            c['close'] = t; c['closeBy'] = 'FIN' if yes(fin) else 'RST'; c['closeFrame'] = int(frame)
    elif length > 0 and c['request'] is None:
        c['request'] = t
t0 = min(c['synack'] for c in conns.values() if c['synack'] is not None)
expect = []
facts = {'dropped': len(dropped), 'served': len(served), 'connections': {}}
for port in dropped:
    c = conns.get(port)
    if c is None or c['handshake'] is None or c['close'] is None:
        refuse(f'dropped connection {port} not whole in the capture')
    after = c['close'] - c['handshake']
    if c['serverBytes'] != 0 or after >= 0.1:
        refuse(f'dropped connection {port}: server bytes {c["serverBytes"]}, closed {after:.6f} s after the handshake')
    shape = 'FIN before the request, which then met a RST' if c['closeBy'] == 'FIN' else 'RST with the request unread'
    expect.append({'kind': 'accept-queue-overflow', 'client': f'{a.addr}:{port}', 'server': f'{a.addr}:{a.port}',
                   'notes': f'Node dropped it (maxConnections): closed by {shape} {after * 1000:.3f} ms after its handshake (frame {c["closeFrame"]}); the client saw {next(x["error"] for x in client if x["port"] == port)}'})
    facts['connections'][str(port)] = {'dropped': True, 'closeBy': c['closeBy'], 'closeAfterHandshake': round(after, 6), 'closeAt': round(c['close'] - t0, 6)}
for port in served:
    c = conns[port]
    expect.append({'kind': None, 'client': f'{a.addr}:{port}', 'server': f'{a.addr}:{a.port}',
                   'notes': 'served: one of the connections within the limit, answered 200 after the handler\'s delay'})
    facts['connections'][str(port)] = {'dropped': False, 'served': True}
forms = sorted({facts['connections'][str(p)]['closeBy'] for p in dropped})
meta = {
    'scenario': a.scenario,
    'description': (f'A Node http server on {a.addr}:{a.port} with server.maxConnections = 2 and a 200 ms handler; a Node keep-alive '
                    f'http.Agent fires 18 GETs at once. Node accepts every connection over the limit and destroys it at once: '
                    f'{len(dropped)} brand-new connections closed by the server within 0.1 s of their handshake, having sent nothing '
                    f'(by FIN before the request arrived, the request then reset, or by RST with the request unread: {", ".join(forms)}), '
                    f'while it served the {len(served)} it held. No restart, no idle reuse: a connection limit (blind round 16, load S11).'),
    'software': a.software,
    'configured': json.loads(a.configured),
    'facts': facts,
    'expect': expect,
}
with open(a.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
