"""Meta for port-reuse-time-wait-ack, from the capture (tshark) and the programs' own logs. Fails
when the kernel did not do what the scenario needs (the reuse on 40000 not answered by an ACK of
the old connection, or 40001's reuse not accepted at once): then the recording shows nothing."""
import json, subprocess, sys

pcap, server_log, client_log, out = sys.argv[1:5]
rows = subprocess.run(
    ['tshark', '-r', pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.number', '-e', 'frame.time_epoch',
     '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags', '-e', 'tcp.seq_raw', '-e', 'tcp.ack_raw', '-e', 'tcp.len'],
    capture_output=True, text=True, check=True).stdout.split('\n')
pkts = []
for r in rows:
    if not r:
        continue
    f, t, sp, dp, fl, seq, ack, ln = r.split('|')
    pkts.append(dict(frame=int(f), ts=float(t), sport=int(sp), dport=int(dp), flags=int(fl, 16), seq=int(seq), ack=int(ack or 0), len=int(ln)))
t0 = pkts[0]['ts']
SYN, RST, ACK, FIN = 0x02, 0x04, 0x10, 0x01
FIXED = (40000, 40001, 40002, 40003)

def rel(t):
    return round(t - t0, 4)

def of_port(p):
    return [x for x in pkts if p in (x['sport'], x['dport'])]

def from_client(x):
    return x['dport'] == 8080

clients = {}
for line in open(client_log):
    kv = dict(w.split('=', 1) for w in line.split()[1:])
    clients.setdefault(int(kv['port']), []).append(kv)
served = [dict(w.split('=', 1) for w in line.split()[2:]) for line in open(server_log) if ' served ' in line]

def collision(p):
    """The second SYN's fate on port p: the server's bare ACK, the client's RST, the retry and its answer."""
    ps = of_port(p)
    syns = [x for x in ps if from_client(x) and x['flags'] & SYN]
    isns = []
    for s in syns:
        if s['seq'] not in isns:
            isns.append(s['seq'])
    if len(isns) < 2:
        return None
    second = next(s for s in syns if s['seq'] == isns[1])
    after = [x for x in ps if x['frame'] > second['frame']]
    ans = after[0]
    if from_client(ans) or ans['flags'] & (SYN | RST) or not ans['flags'] & ACK or ans['ack'] == (second['seq'] + 1) % 2**32:
        return {'synAt': rel(second['ts']), 'answer': 'syn-ack' if ans['flags'] & SYN else 'other', 'answerAfterMs': round((ans['ts'] - second['ts']) * 1000, 3)}
    rst = next(x for x in after if from_client(x) and x['flags'] & RST)
    retry = next((x for x in after if from_client(x) and x['flags'] & SYN and x['seq'] == second['seq']), None)
    out = {
        'synAt': rel(second['ts']), 'newIsn': second['seq'], 'serverAckFrame': ans['frame'], 'serverAckNumber': ans['ack'],
        'oldConnectionNextSeq': ans['ack'], 'clientRstFrame': rst['frame'], 'clientRstSeq': rst['seq'],
    }
    if retry is not None:
        reply = next(x for x in ps if x['frame'] > retry['frame'] and not from_client(x))
        out.update({
            'retryFrame': retry['frame'], 'retryAfterMs': round((retry['ts'] - second['ts']) * 1000, 3),
            'retryAnswer': 'syn-ack' if reply['flags'] & SYN else 'refused' if reply['flags'] & RST else 'other',
            'connectDelayMs': round((reply['ts'] - second['ts']) * 1000, 3),
        })
    return out

c40000, c40001, c40002, c40003 = collision(40000), collision(40001), collision(40002), collision(40003)
if c40000 is None or 'serverAckFrame' not in c40000 or c40000.get('retryAnswer') != 'syn-ack':
    sys.exit(f'record: the reuse of 40000 was not answered by an ACK of the old connection and then served: {c40000}')
if c40001 is None or c40001.get('answer') != 'syn-ack':
    sys.exit(f'record: the reuse of 40001 was not accepted at once: {c40001}')
for p, c in ((40002, c40002), (40003, c40003)):
    if c is None or c.get('retryAnswer') != 'refused':
        sys.exit(f'record: the reuse of {p} after the listener closed was not ACKed then refused: {c}')
upload = int(clients[40000][0]['body'])
# The old connection's sequence space ran this far past the new ISN (mod 2^32).
ahead = (c40000['oldConnectionNextSeq'] - c40000['newIsn']) % 2**32

C = '127.0.0.1:{}'.format
S = '127.0.0.1:8080'
meta = {
    'scenario': 'port-reuse-time-wait-ack',
    'description': (
        'SYNs that meet the server\'s TIME_WAIT and get an ACK of the old connection instead of a SYN-ACK. A python server closes each '
        'connection first (Connection: close), keeping the 4-tuple in TIME_WAIT; a python client reconnects at once from the same local port. '
        f'On 40000 the old connection carried a {upload // 1_000_000} MB upload, so its sequence space ran past the new ISN, and with TCP '
        'timestamps off the TIME_WAIT rejected the SYN: ACK, the client\'s RST, its SYN again '
        f'{c40000["retryAfterMs"]} ms later, served. 40001 (near miss): the reuse after a small request is accepted at once. On 40002 and 40003 '
        'the server had closed its listener (as a killed server\'s goes): the TIME_WAIT ACKed each SYN, each retry was refused. Two such SYNs '
        'in a row with no SYN-ACK between them read as an outage (syn-unanswered) before the fix.'
    ),
    'software': ['python3 socket server (Connection: close, closes first)', 'python3 socket client (bind to a fixed local port)', 'Linux ' + subprocess.run(['uname', '-r'], capture_output=True, text=True).stdout.strip()],
    'configured': {'tcpTimestamps': 0, 'uploadBytes': upload, 'localPorts': list(FIXED)},
    'observed': {
        'reuse40000': c40000,
        'oldSequenceAheadOfNewIsn': ahead,
        'reuse40001': c40001,
        'reuse40002': c40002,
        'reuse40003': c40003,
        'clientLog': {str(p): v for p, v in clients.items()},
        'serverServed': len(served),
    },
    'expect': [
        {'kind': 'port-reuse', 'client': C(40000), 'server': S,
         'notes': f'the reuse (info: the server closed first and holds TIME_WAIT) and the collision (warning): SYN at {c40000["synAt"]} s answered by the '
                  f'server\'s ACK (frame {c40000["serverAckFrame"]}, ack {c40000["serverAckNumber"]}: the old connection\'s), the client\'s RST '
                  f'(frame {c40000["clientRstFrame"]}), the SYN again {c40000["retryAfterMs"]} ms later (frame {c40000["retryFrame"]}), '
                  f'answered by a SYN-ACK {c40000["connectDelayMs"]} ms after the first SYN; the client logged connect() taking {clients[40000][1]["connect_took"]} s',
         'evidence': {'retryAnswer': 'syn-ack', 'retryAfterMs': c40000['retryAfterMs'], 'connectDelayMs': c40000['connectDelayMs']}},
        {'kind': 'port-reuse', 'client': C(40001), 'server': S,
         'notes': f'near miss: the reuse\'s SYN accepted by the TIME_WAIT, SYN-ACK {c40001["answerAfterMs"]} ms later: info only, no collision'},
        {'kind': 'port-reuse', 'client': C(40002), 'server': S,
         'notes': f'the reuse (info) and the collision (warning): the listener gone, the TIME_WAIT ACKed the SYN (frame {c40002["serverAckFrame"]}), '
                  f'the client reset it and sent its SYN again {c40002["retryAfterMs"]} ms later, refused; the client logged {clients[40002][1].get("error")}',
         'evidence': {'retryAnswer': 'refused', 'retryAfterMs': c40002['retryAfterMs']}},
        {'kind': 'connection-refused', 'client': C(40002), 'server': S,
         'notes': 'the retried SYN refused (RST): nothing listened on 8080 any more'},
        {'kind': 'port-reuse', 'client': C(40003), 'server': S,
         'notes': f'as 40002: the TIME_WAIT ACKed the SYN (frame {c40003["serverAckFrame"]}), the client reset it and sent its SYN again '
                  f'{c40003["retryAfterMs"]} ms later, refused; the client logged {clients[40003][1].get("error")}',
         'evidence': {'retryAnswer': 'refused', 'retryAfterMs': c40003['retryAfterMs']}},
        {'kind': 'connection-refused', 'client': C(40003), 'server': S,
         'notes': 'the retried SYN refused (RST)'},
        {'kind': 'connection-refused', 'server': S,
         'notes': 'the two later connects from ephemeral ports ' + ', '.join(sorted(str(p) for p in clients if p not in FIXED)) + ', refused'},
    ],
    'silent': False,
    'facts': {
        # As the analysis counts them: each served one, each SYN the TIME_WAIT ACKed (a connection of
        # its own, reset), each refused retry, each refused ephemeral connect.
        'connections': len(served) + 3 + 2 + len([p for p in clients if p not in FIXED]),
        'served': len(served),
        'synsAnsweredByAck': 3,
        'captureFile': 'port-reuse-time-wait-ack.pcap',
        'snaplen': 200,
    },
}
json.dump(meta, open(out, 'w'), indent=2)
open(out, 'a').write('\n')
print(json.dumps(meta['observed'], indent=1))
