#!/usr/bin/env python3
"""Client lanes of keepalive-race-webfs-curl: one curl command line process per lane, each fetching
--transfers URLs one after the other over its one reused connection, curl's own --rate spacing the
transfer starts (N/h: 3600/N s apart). Lanes come in groups, one group per --rates value: the lanes
of a group share their rate and start --stagger-ms apart, so that their requests reach the server
in a burst a few ms long each round (webfsd only looks at its idle connections when something wakes
its select loop; the burst's first request does, and closes the group's other idle connections just
before their own requests arrive). Every transfer is a GET of a static file
(/item.txt?lane=L&n=K) except one POST per lane (--next -d, to /orders?lane=L&n=K; webfsd answers
501 and closes).

curl runs with -v --trace-time (TZ=UTC) and, after each transfer, -w '%{stderr}x24w-transfer
%{json}' writes curl's own summary of it (local_port, num_connects, http_code, method, url,
exitcode, errormsg, times) into the same stream: its stderr, one file per lane (--out-dir). These
traces are the ground truth (programs/x24w-meta.py reads them). --log gets one JSON line per lane
(its command, rate, start time, trace file, exit status).

Bounded: every transfer has --max-time 10; a lane still running after --max-seconds is ended (by
its PID).

Usage: x24w-curl-lanes.py --base URL --out-dir DIR --log FILE --rates N,N,... [--lanes-per-group 3]
         [--stagger-ms 6] [--group-offset 0.41] [--transfers 8] [--max-seconds 60] [--curl /usr/bin/curl]
"""
import argparse
import json
import os
import subprocess
import time

FMT = '%{stderr}x24w-transfer %{json}\n'


def lane_args(a, lane, rate, post_at):
    args = [a.curl, '-s', '-v', '--trace-time', '--rate', f'{rate}/h']
    for k in range(a.transfers):
        if k:
            args.append('--next')
        args += ['-o', '/dev/null', '--max-time', '10', '-w', FMT]
        if k == post_at:
            args += ['-d', f'order={lane}-{k}&qty=1', f'{a.base}/orders?lane={lane}&n={k}']
        else:
            args.append(f'{a.base}/item.txt?lane={lane}&n={k}')
    return args


def main():
    ap = argparse.ArgumentParser(prog='x24w-curl-lanes.py')
    ap.add_argument('--base', required=True)
    ap.add_argument('--out-dir', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--rates', required=True, help='transfers per hour, one lane group each')
    ap.add_argument('--lanes-per-group', type=int, default=3)
    ap.add_argument('--stagger-ms', type=float, default=6)
    ap.add_argument('--group-offset', type=float, default=0.41)
    ap.add_argument('--transfers', type=int, default=8)
    ap.add_argument('--max-seconds', type=float, default=60)
    ap.add_argument('--curl', default='/usr/bin/curl')
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    env = dict(os.environ, TZ='UTC')
    rates = [int(r) for r in a.rates.split(',')]
    t0 = time.time() + 0.3
    plan = []
    for g, rate in enumerate(rates):
        for l in range(a.lanes_per_group):
            lane = f'g{g}l{l}'
            post_at = 2 + (g + 2 * l) % max(1, a.transfers - 3)
            plan.append((t0 + g * a.group_offset + l * a.stagger_ms / 1000, lane, g, rate, post_at))
    plan.sort()
    procs = []
    for at, lane, g, rate, post_at in plan:
        delay = at - time.time()
        if delay > 0:
            time.sleep(delay)
        trace = os.path.join(a.out_dir, f'{lane}.trace')
        args = lane_args(a, lane, rate, post_at)
        f = open(trace, 'w')
        started = time.time()
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=f, env=env)
        procs.append((p, f, {'event': 'lane', 'lane': lane, 'group': g, 'ratePerHour': rate, 'gapSeconds': round(3600 / rate, 4),
                             'postAt': post_at, 'startAt': started, 'plannedAt': at, 'trace': trace, 'pid': p.pid, 'cmd': args}))
    deadline = t0 + a.max_seconds
    with open(a.log, 'a') as log:
        for p, f, rec in procs:
            try:
                rec['exit'] = p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.terminate()
                rec['exit'] = p.wait()
                rec['endedAfterMaxSeconds'] = True
            f.close()
            log.write(json.dumps(rec) + '\n')


if __name__ == '__main__':
    main()
