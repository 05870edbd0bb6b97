#!/usr/bin/env python3
"""Checks a lost-response-client-timeout run against the client's and server's logs and the
router's counters, then writes the metas of both captures (client side, server side)."""
import json
import re
import sys

client_log, server_log, nft_txt, samples, scenario = sys.argv[1:6]
clients = [l.split() for l in open(client_log) if l.strip()]
servers = [l.split() for l in open(server_log) if l.strip()]
counters = [int(m) for m in re.findall(r'counter packets (\d+)', open(nft_txt).read())]


def fail(why):
    sys.exit(f'lostresp-meta: {why}')


paths = [c[2] for c in clients]
if paths != ['/small', '/small', '/near', '/small', '/lost', '/small']:
    fail(f'requests {paths}')
outcome = {i: c[3] for i, c in enumerate(clients)}
if outcome[4] != 'TimeoutError':
    fail(f'/lost ended {outcome[4]}, not TimeoutError')
if any(outcome[i] != '200' for i in (0, 1, 2, 3, 5)):
    fail(f'outcomes {outcome}')
near_time = float(clients[2][5])
lost_time = float(clients[4][5])
if not 0.15 <= near_time < 1.0:
    fail(f'/near took {near_time} s: not one retransmission')
if not 0.95 <= lost_time <= 1.2:
    fail(f'/lost gave up after {lost_time} s')
served = [s for s in servers if s[2] == '/lost']
if len(served) != 1 or served[0][3] != '200':
    fail(f'server log for /lost: {served}')
if len(servers) != 6:
    fail(f'server answered {len(servers)} requests')
if len(counters) != 2 or counters[0] < 2 or counters[1] != 1:
    fail(f'router counters {counters}')
port = clients[4][1]
if clients[2][1] != port or clients[5][1] == port:
    fail('connections are not as planned')

common = {
    'software': ['python3 http.server (ThreadingHTTPServer, HTTP/1.1) programs/lostresp-server.py', 'python3 http.client (timeout 1 s) programs/lostresp-client.py', 'nftables in a router namespace'],
    'configured': {
        'clientTimeoutSeconds': 1,
        'routerDrops': {
            'ipLength1000to1100FromServerPort': 'every copy (the answer to /lost, 900 B body)',
            'ipLength1150to1300FromServerPort': 'the first copy only (the answer to /near, 1100 B body)',
        },
    },
    'observed': {
        'client': [{'start': float(c[0]), 'localPort': int(c[1]), 'path': c[2], 'outcome': c[3], 'bytes': int(c[4]), 'seconds': float(c[5])} for c in clients],
        'server': [{'ts': float(s[0]), 'peerPort': int(s[1]), 'path': s[2], 'status': int(s[3]), 'bytes': int(s[4])} for s in servers],
        'routerDropped': {'lostAnswerCopies': counters[0], 'nearAnswerCopies': counters[1]},
    },
    'facts': {
        'lostRequest': {'localPort': int(port), 'servedByServer': True, 'clientGaveUpAfterSeconds': lost_time, 'clientError': 'TimeoutError'},
        'nearMiss': {'path': '/near', 'answeredAfterSeconds': near_time, 'firstCopyDropped': True},
    },
}
for side, name in (('client', scenario), ('server', f'{scenario}-server-side')):
    meta = {
        'scenario': name,
        'description': (
            f'Captured next to the {side}. python http.client (timeout 1 s) on one keep-alive connection to a python HTTP/1.1 server through a router namespace. '
            f'The router drops every copy of the answer to GET /lost (the server answered it: its log says 200, 900 B) and the first copy of the answer to GET /near '
            f'(its retransmission, by the server\'s 200 ms RTO, got through: answered after {near_time:.3f} s, the near miss). The client gave up on /lost after '
            f'{lost_time:.3f} s (TimeoutError), closed the connection (FIN) and sent its next request on a new one. The path lost the answer, not the server.'
        ),
        **common,
        'expect': [{'kind': 'unanswered-request', 'server': '10.78.1.2:8080', 'notes': 'GET /lost: answered by the server, the answer lost on the path, the client gave up at 1 s'}],
    }
    with open(f'{samples}/{name}.meta.json', 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
print(f'lostresp-meta: /near {near_time:.3f} s, /lost gave up {lost_time:.3f} s, router dropped {counters}')
