#!/usr/bin/env python3
"""Checks response-abandoned-stream-go-timeout's capture against the programs' own logs and writes its
meta.json (only when they agree; exit 1 otherwise, naming what disagreed).

The client (scc-sse-client.go) logs, per run (its label: `cut` or `ended`), the request, the status,
each event and how the stream ended; the server (scc-sse-server.go) logs, per request id, the events it
wrote and why it stopped. From the capture (tshark): each connection by the id in its request's URI,
the request's time, the response head's, the server's data segments (the pace: the longest pause
between two of them before the client's close), whether the last chunk (0 CRLF CRLF) came, who sent
the first FIN and when.

Checked: `cut` logged Go's "Client.Timeout … while reading body" error about TIMEOUT s after its
request, its FIN is the first and comes TIMEOUT s (±50 ms) after the request with no last chunk before
it, the server still sending at its pace (its last data less than one period EVERY before the FIN) and
its log shows it stopped because the client went away; `ended` read every event the server logged as
done, the last chunk came, and the client's FIN came at least 0.4 s after it (an idle keep-alive close).

Usage: scc-meta.py --capture PCAP --meta OUT --scenario NAME --client-log F --server-log F --timeout S
         --every MS --server ADDR:PORT --software S..."""
import argparse, json, re, subprocess, sys

ap = argparse.ArgumentParser()
for k in ('capture', 'meta', 'scenario', 'client-log', 'server-log', 'server'):
    ap.add_argument('--' + k, required=True)
ap.add_argument('--timeout', type=float, required=True)
ap.add_argument('--every', type=float, required=True)
ap.add_argument('--software', nargs='+', required=True)
a = ap.parse_args()
every = a.every / 1000.0

out = subprocess.run(['tshark', '-r', a.capture, '-T', 'fields', '-E', 'separator=\t', '-e', 'frame.number', '-e', 'frame.time_epoch',
                      '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack',
                      '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset', '-e', 'tcp.len', '-e', 'tcp.payload'],
                     capture_output=True, text=True, check=True).stdout
flag = lambda v: v in ('1', 'True')
packets = []
for line in out.splitlines():
    f = line.split('\t')
    payload = bytes.fromhex(f[11].replace(':', '')) if len(f) > 11 and f[11] else b''
    packets.append({'frame': int(f[0]), 'ts': float(f[1]), 'src': f'{f[2]}:{f[3]}', 'dst': f'{f[4]}:{f[5]}', 'syn': flag(f[6]),
                    'ack': flag(f[7]), 'fin': flag(f[8]), 'rst': flag(f[9]), 'len': int(f[10] or 0), 'payload': payload})

conns = {}
for p in packets:
    if p['dst'] == a.server:
        conns.setdefault(p['src'], []).append(p)
    elif p['src'] == a.server:
        conns.setdefault(p['dst'], []).append(p)

problems = []
clientlog = open(a.client_log).read().splitlines()
serverlog = open(a.server_log).read().splitlines()
observed = {'client': clientlog, 'server': serverlog}
rows = {}
for client, pkts in sorted(conns.items(), key=lambda kv: kv[1][0]['ts']):
    creq = [p for p in pkts if p['src'] == client and p['len'] > 0]
    if not creq:
        problems.append(f'{client}: no request')
        continue
    m = re.search(rb'GET (\S*id=(\w+)\S*) HTTP/1\.1', creq[0]['payload'])
    if m is None:
        problems.append(f'{client}: no GET /sse in its first data')
        continue
    label = m.group(2).decode()
    sdata = [p for p in pkts if p['src'] == a.server and p['len'] > 0]
    fin = next((p for p in pkts if p['fin']), None)
    if fin is None or not sdata:
        problems.append(f'{label}: no FIN or no server data')
        continue
    before = [p for p in sdata if p['ts'] <= fin['ts']]
    gaps = [round(y['ts'] - x['ts'], 6) for x, y in zip(before, before[1:])]
    last_chunk = next((p for p in before if p['payload'].endswith(b'0\r\n\r\n')), None)
    rows[label] = {
        'client': client, 'server': a.server, 'uri': m.group(1).decode(), 'packets': len(pkts),
        'synFrame': pkts[0]['frame'], 'requestFrame': creq[0]['frame'], 'responseHeadFrame': before[0]['frame'],
        'serverDataSegmentsBeforeClose': len(before), 'lastServerDataFrame': before[-1]['frame'],
        'lastChunkFrame': last_chunk and last_chunk['frame'],
        'firstFinBy': 'client' if fin['src'] == client else 'server', 'firstFinFrame': fin['frame'],
        'firstFinWithRst': fin['rst'],
        'requestToClose': round(fin['ts'] - creq[0]['ts'], 6), 'synToClose': round(fin['ts'] - pkts[0]['ts'], 6),
        'lastServerDataToClose': round(fin['ts'] - before[-1]['ts'], 6),
        'longestPauseBetweenServerData': max(gaps) if gaps else None,
        'clientRst': next((p['frame'] for p in pkts if p['rst'] and p['src'] == client), None),
        'serverRst': next((p['frame'] for p in pkts if p['rst'] and p['src'] == a.server), None),
    }


def logged(lines, label, word):
    return [ln for ln in lines if f' {label} {word}' in ln]


def server_line(label):
    return next((ln for ln in serverlog if f' id={label} ' in ln), None)


expect = []
cut, ended = rows.get('cut'), rows.get('ended')
if cut is None or ended is None:
    problems.append(f'connections found: {sorted(rows)}; want cut and ended')
else:
    err = logged(clientlog, 'cut', 'stream error')
    if not err or 'Client.Timeout' not in err[0] or 'while reading body' not in err[0]:
        problems.append(f'cut: the client did not log a Client.Timeout while reading the body: {err}')
    cut['clientLogged'] = err[0].split(' ', 1)[1] if err else None
    cut['clientEvents'] = len(logged(clientlog, 'cut', 'event'))
    if cut['firstFinBy'] != 'client' or cut['lastChunkFrame'] is not None:
        problems.append(f'cut: first FIN by {cut["firstFinBy"]}, last chunk frame {cut["lastChunkFrame"]}: not a client cut mid-stream')
    if abs(cut['requestToClose'] - a.timeout) > 0.05:
        problems.append(f'cut: the FIN came {cut["requestToClose"]} s after the request, not {a.timeout} s')
    if cut['lastServerDataToClose'] >= every:
        problems.append(f'cut: the server had been silent {cut["lastServerDataToClose"]} s, a period is {every} s: not still sending')
    sl = server_line('cut')
    cut['serverLogged'] = sl and sl.split(' ', 1)[1]
    if sl is None or 'end="done"' in sl:
        problems.append(f'cut: the server did not log the client going away: {sl}')
    ok = logged(clientlog, 'ended', 'stream ended')
    ended['clientLogged'] = ok[0].split(' ', 1)[1] if ok else None
    ended['clientEvents'] = len(logged(clientlog, 'ended', 'event'))
    sl = server_line('ended')
    ended['serverLogged'] = sl and sl.split(' ', 1)[1]
    if not ok or sl is None or 'end="done"' not in sl or f'events={ended["clientEvents"]}' not in sl:
        problems.append(f'ended: client {ok}, server {sl}: not a stream read to its end')
    if ended['lastChunkFrame'] is None or ended['firstFinBy'] != 'client' or ended['lastServerDataToClose'] < 0.4:
        problems.append(f'ended: last chunk {ended["lastChunkFrame"]}, first FIN by {ended["firstFinBy"]} '
                        f'{ended["lastServerDataToClose"]} s after the server\'s last data: not an idle keep-alive close')
    expect = [
        {'kind': 'response-abandoned', 'client': cut['client'], 'server': a.server,
         'notes': f'Go http.Client{{Timeout: {a.timeout:g}s}} ("{cut["clientLogged"]}") closed (FIN) a text/event-stream the server still '
                  f'sent at its pace ({cut["lastServerDataToClose"]} s after its last event, events {every:g} s apart), '
                  f'{cut["requestToClose"]} s after the request: one stream cut, a deliberate close or a total timeout: info, no timeout value'},
        {'kind': None, 'client': ended['client'], 'server': a.server,
         'notes': f'the same client read a {ended["clientEvents"]}-event stream to its last chunk and closed the idle keep-alive '
                  f'connection {ended["lastServerDataToClose"]} s later: no finding'},
    ]

if problems:
    for p in problems:
        print(f'scc-meta: {p}', file=sys.stderr)
    sys.exit(1)

n = lambda pred: sum(1 for p in packets if pred(p))
meta = {
    'scenario': a.scenario,
    'description': (
        f'A Go http.Client with Timeout {a.timeout:g} s cuts a healthy server-sent events stream mid-body (blind round 15 '
        f'longlived, s18: Client.Timeout 10 s on an SSE stream with an event every second, and conncheck said nothing). A Go '
        f'net/http server streams text/event-stream (chunked, no end declared) with an event every {every:g} s; the Go '
        f'client asks for 100 events and logs "{cut["clientLogged"].split(": ", 1)[-1]}": its FIN comes {cut["requestToClose"]} s '
        f'after the request, {cut["lastServerDataToClose"]} s after the server\'s last event, the server still sending at its pace '
        f'(it logs the client gone). One such close cannot tell a total timeout from a deliberate close (a caller that stopped, '
        f'a process killed): reported as info, no timeout value inferred. Near miss, silent: the same client reads a '
        f'{ended["clientEvents"]}-event stream to its last chunk and closes its idle keep-alive connection '
        f'{ended["lastServerDataToClose"]} s later.'),
    'software': a.software,
    'configured': {'goClientTimeout': a.timeout, 'eventEvery': every, 'cutEventsAsked': 100, 'endedEventsAsked': ended['clientEvents']},
    'configuredNotes': 'goClientTimeout is http.Client.Timeout of both client runs; no diagnosis infers it from one cut (a timer needs 3 agreeing cuts).',
    'captureSide': 'one namespace\'s loopback: client 127.0.0.1 -> server ' + a.server,
    'expect': expect,
    'silent': False,
    'facts': {
        'packets': len(packets), 'connections': len(conns), 'syn': n(lambda p: p['syn'] and not p['ack']),
        'synAck': n(lambda p: p['syn'] and p['ack']), 'fin': n(lambda p: p['fin']), 'rst': n(lambda p: p['rst']),
        'httpRequests': 2, 'statuses': {'200': 2},
    },
    'measured': {'cut': cut, 'ended': ended},
    'observed': observed,
}
with open(a.meta, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
print(f'scc-meta: {a.scenario}: {len(conns)} connections, {len(packets)} packets: ok')
