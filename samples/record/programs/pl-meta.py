#!/usr/bin/env python3
# Writes path-loss-short-timeouts' meta from the client's and the server's logs (pl-client.py,
# pl-server.py) and the nftables counters: what failed and how, what the server answered, what
# the path dropped. The expectations follow from the failures the client logged: connect timeouts
# are syn-unanswered (SYNs or SYN-ACKs lost), read timeouts before any byte unanswered-request.
# Never accept-queue-overflow: the server was idle and answered every request it got at once.
import argparse, json, re, subprocess

ap = argparse.ArgumentParser()
ap.add_argument('--capture', required=True)
ap.add_argument('--meta', required=True)
ap.add_argument('--client-log', required=True)
ap.add_argument('--server-log', required=True)
ap.add_argument('--nft', required=True)
ap.add_argument('--software', nargs='*', default=[])
a = ap.parse_args()

outcomes = {}
for line in open(a.client_log):
    _, _, _, what = line.split()
    outcomes[what] = outcomes.get(what, 0) + 1
answered = sum(1 for _ in open(a.server_log))
drops = [int(m) for m in re.findall(r'counter packets (\d+)', open(a.nft).read())]
connects = int(subprocess.run(['tcpdump', '-nn', '-r', a.capture, 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'],
                              capture_output=True, text=True).stdout.count('\n'))
server = '10.89.1.2:8080'
expect = []
if outcomes.get('ConnectTimeout', 0) > 0:
    expect.append({'kind': 'syn-unanswered', 'server': server,
                   'notes': 'connect timeouts (0.5 s, before the 1 s SYN RTO): SYNs or SYN-ACKs lost on the path; the diagnosis must name path loss, not a full backlog, and infer no connect timeout longer than 0.5 s'})
if any(k.startswith('ReadTimeout') or k.endswith(':read-timeout') for k in outcomes):
    expect.append({'kind': 'unanswered-request', 'server': server,
                   'notes': 'read timeouts (0.5 s): the request or the response lost and resent past the client\'s patience; the server answered each request it received at once'})
if any(k.endswith(':read-timeout') for k in outcomes):
    expect.append({'kind': 'response-abandoned', 'server': server,
                   'notes': 'read timeouts after the body began (requests: ConnectionError "Read timed out."): the rest of the response lost and resent past the 0.5 s read timeout'})
meta = {
    'scenario': 'path-loss-short-timeouts',
    'description': 'A path that loses 40 % of packets both ways (nftables numgen random drop in the server namespace\'s input and output for port 8080: netem is not in every kernel) between a python requests Session (timeout=0.5 s, 25 GETs 0.3 s apart, no retries) on 10.89.1.1 and an idle Python ThreadingHTTPServer on 10.89.1.2:8080 answering GET /l?n=12000 at once. Captured on the client\'s veth. Connect timeouts come from lost SYNs or SYN-ACKs (the 1 s SYN RTO is past the 0.5 s timeout), read timeouts from a lost request or response. Nothing is wrong with the server: no full accept queue, no hung application.',
    'software': a.software,
    'configured': {'lossPercentEachWay': 40, 'clientConnectTimeout': 0.5, 'clientReadTimeoutSeconds': 0.5, 'requests': 25, 'pauseSeconds': 0.3},
    'observed': {'clientOutcomes': outcomes, 'serverAnswered': answered, 'nftDropsInOut': drops, 'synsInCapture': connects},
    'facts': {'connectTimeouts': outcomes.get('ConnectTimeout', 0), 'serverAnswered': answered},
    'expect': expect,
}
json.dump(meta, open(a.meta, 'w'), indent=2)
open(a.meta, 'a').write('\n')
print(json.dumps(meta['observed']))
