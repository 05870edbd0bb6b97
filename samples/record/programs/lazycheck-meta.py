#!/usr/bin/python3
"""meta.json of keepalive-race-waitress-lazy-check.sh from the server's and the client's logs.

  lazycheck-meta.py --scenario S --pcap FILE --server-log FILE --client-log FILE
                    --channel-timeout N --cleanup-interval N --out FILE

Exits 1 (and writes nothing) when the recording does not show what the scenario claims: S closed
by the same kind of pass at least 0.1 s less idle than G and R, G and R within 30 ms of each other,
R's POST failed (RST or EOF) and K's reuse answered.
"""
import argparse
import json
import subprocess
import sys


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def version(pkg):
    try:
        return subprocess.run(['dpkg-query', '-W', '-f=${Version}', pkg], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return '?'


def main():
    ap = argparse.ArgumentParser()
    for name in ('--scenario', '--pcap', '--server-log', '--client-log', '--out'):
        ap.add_argument(name, required=True)
    ap.add_argument('--channel-timeout', type=int, required=True)
    ap.add_argument('--cleanup-interval', type=int, required=True)
    a = ap.parse_args()
    server = read_lines(a.server_log)
    client = read_lines(a.client_log)

    ports = {}
    for ev in client:
        if ev.get('event') == 'connect':
            ports[ev['name']] = ev['port']
    idle = {}
    ticks = {}
    for ev in server:
        if ev.get('event') == 'idle-close':
            for name, port in ports.items():
                if port == ev['port'] and name not in idle:
                    idle[name] = ev['idle']
                    ticks[name] = ev['tick']
    errors = [ev for ev in client if ev.get('event') == 'error' and ev.get('name') == 'R']
    k_answers = [ev for ev in client if ev.get('name') == 'K' and ev.get('event') == 'response' and ev.get('status', '').startswith('HTTP/1.1 200')]

    problems = []
    if not all(n in idle for n in ('G', 'R', 'S')):
        problems.append(f'idle closes logged for {sorted(idle)} only')
    else:
        if abs(idle['G'] - idle['R']) > 0.03:
            problems.append(f'G and R closed {idle["G"]:.4f} and {idle["R"]:.4f} s idle: not alike')
        if idle['S'] > min(idle['G'], idle['R']) - 0.1:
            problems.append(f'S closed {idle["S"]:.4f} s idle, not 0.1 s below G and R')
    if len(errors) != 1:
        problems.append(f'R\'s POST: {len(errors)} errors')
    if len(k_answers) != 3:
        problems.append(f'K got {len(k_answers)} answers of 3')
    if 'K' in idle:
        problems.append('K was idle-closed')
    if problems:
        print('lazycheck-meta: ' + '; '.join(problems), file=sys.stderr)
        return 1

    cp = lambda n: f'127.0.0.1:{ports[n]}'  # noqa: E731
    srv = '127.0.0.1:8087'
    r_fin = next(ev['t'] for ev in client if ev.get('name') == 'R' and ev.get('event') == 'server-fin')
    r_post = errors[0]
    meta = {
        'scenario': a.scenario,
        'description': (
            f'waitress\'s lazy idle check: waitress (channel_timeout {a.channel_timeout} s, cleanup_interval {a.cleanup_interval} s) closes idle '
            'connections only from its maintenance pass, which runs on the asyncore loop at most every cleanup_interval, so one pass closes '
            'connections of different idle ages. Two connections (G, R) used at once and a third (S) 0.45 s later were closed by one pass: '
            f'G and R after {idle["G"]:.3f} and {idle["R"]:.3f} s idle, S after {idle["S"]:.3f} s. The timer is at most the shortest close; '
            'a client tuned below the two that agree would still race. R was reused 0.9 s after its FIN had arrived (a pool that does not '
            'watch its sockets) with a POST, which met the server\'s RST: a stale-reuse keep-alive race. Near miss: K, reused after 1.5 s '
            'idle (below the timeout), answered, then closed by the client. Loopback, one namespace.'
        ),
        'software': [
            f'waitress {version("python3-waitress")} (Debian python3-waitress), Python {sys.version.split()[0]}',
            'raw-socket HTTP/1.1 client (samples/record/programs/lazycheck-client.py)',
        ],
        'configured': {'channelTimeout': a.channel_timeout, 'cleanupInterval': a.cleanup_interval, 'asyncoreLoopTimeout': 1},
        'configuredNotes': (
            'waitress\'s channel_timeout and cleanup_interval (waitress/adjustments.py). HTTPServer.readable() runs maintenance(now) '
            'when cleanup_interval has passed since its last run, on a pass of the asyncore loop (any socket event, or at the latest '
            'asyncore_loop_timeout = 1 s after the last); maintenance closes every channel with no request in progress whose '
            'last_activity < now - channel_timeout. So an idle connection is closed between channel_timeout and channel_timeout + '
            'cleanup_interval (+ a loop pass) after its last activity: the setting is at most the shortest idle close.'
        ),
        'observed': {
            'serverIdleCloseSeconds': {n: round(idle[n], 4) for n in ('G', 'R', 'S')},
            'serverIdleCloseTicks': {n: ticks[n] for n in ('G', 'R', 'S')},
            'shortestIdleCloseSeconds': round(min(idle.values()), 4),
            'raceReuseAfterFinSeconds': round(r_post['t'] - r_fin, 3),
            'raceClientError': r_post['error'],
        },
        'expect': [
            {
                'kind': 'keepalive-race',
                'client': cp('R'),
                'server': srv,
                'notes': (
                    f'POST /r2 sent {r_post["t"] - r_fin:.3f} s after the client read waitress\'s idle FIN (closed after {idle["R"]:.3f} s idle): '
                    f'stale reuse; the server\'s kernel answered RST; the client got {r_post["error"]}. The diagnosis\'s idle timeout must be '
                    f'at most the shortest idle close, S\'s {idle["S"]:.3f} s, not the {(idle["G"] + idle["R"]) / 2:.3f} s G and R agree on.'
                ),
            },
            {'kind': None, 'client': cp('K'), 'server': srv, 'notes': 'near miss: reused after 1.5 s idle, answered 200, closed by the client'},
            {'kind': None, 'client': cp('G'), 'server': srv, 'notes': 'idle-closed by waitress, the client closed on its FIN: no request after it'},
            {'kind': None, 'client': cp('S'), 'server': srv, 'notes': 'idle-closed by waitress at the same pass as G and R, idle 0.45 s less; the client closed on its FIN'},
            {'kind': None, 'client': cp('H'), 'server': srv, 'notes': 'Connection: close request, answered and closed by the server'},
        ],
        'silent': False,
        'captureSide': 'loopback (client and server in one namespace)',
        'facts': {
            'connections': len(ports),
            'races': 1,
            'serverIdleCloses': len(idle),
            'captureFile': a.pcap.rsplit('/', 1)[-1],
        },
        'groundTruth': {'serverLog': server, 'clientLog': client},
    }
    with open(a.out, 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
