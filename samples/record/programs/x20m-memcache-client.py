#!/usr/bin/python3
"""Pooled memcached client for keepalive-race-memcached (round 20m): LANES threads, each with its own
pymemcache PooledClient (Debian python3-pymemcache) holding at most one connection, sending ROUNDS
commands and pausing between them, so that the pooled connection is reused after the pause. Run with
Debian's /usr/bin/python3.

PooledClient(max_pool_size=1, default_noreply=False): pymemcache hands out a pooled connection
unchecked (no liveness test before reuse, no retry); on an error it destroys that client (closes
its socket) and the next command connects anew (destroy_on_fail). default_noreply=False makes
`set` wait for memcached's STORED (PooledClient's default, noreply, would not read any answer and
so never see a failure). Commands alternate between a short `get x20m:lK:v` (< 64 bytes on the
wire) and `set x20m:lK:v 0 0 100` with a 100-byte value.

Aiming (--align-idle-pass): memcached 1.6 closes idle connections from one thread
(conn_timeout_thread) whose passes start on whole seconds of the wall clock and reach the
connections' file descriptors (< 100) one timeslice later (--pass-phase, 0.1 s with the default -c
1024: timeslice = 1 s / (max_fds / 100)); a connection is closed at a pass when memcached's
whole-second clock has advanced more than idle_timeout since its last command. Each value of
--gaps is K + OFF: the reuse is sent at W + pass-phase + OFF, where W is the first whole second with
W + pass-phase at least K seconds after memcached read the previous command (the reply's send time
less one one-way delay, --owd-ms, estimated as the call's start plus that delay). OFF within one
one-way delay of 0 crosses the FIN when a pass closes the connection at W; when an earlier pass had
closed it, the command is a stale reuse; when none, it is answered.

Each command is logged as one JSON line: lane, round, the pooled connection's local port before the
call (pooledPort), the port it was sent on (port), the ports of connections opened during the call
(connects), the command, its wire size (requestBytes), sent time (unix epoch), idle since the
previous reply on that port (idleMeasured), the asked gap and the aimed send time, and the outcome:
ok (reply) or error (exception class, module, message, errno).
"""
import argparse
import math
import sys
import time

import sibling

x19dpool = sibling.load('x19dpool', 'x19d-pool-client.py')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, default=11211)
    ap.add_argument('--lanes', type=int, default=6)
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--gaps', required=True)
    ap.add_argument('--align-idle-pass', action='store_true', help='gaps are K + OFF (see above), not pauses')
    ap.add_argument('--pass-phase', type=float, default=0.1)
    ap.add_argument('--owd-ms', type=float, default=5.0)
    ap.add_argument('--stagger', type=float, default=0.05)
    ap.add_argument('--linger', type=float, default=0.0)
    ap.add_argument('--max-seconds', type=float, default=60)
    ap.add_argument('--log', required=True)
    a = ap.parse_args()
    gaps = [float(x) for x in a.gaps.split(',')]
    log = x19dpool.json_lines(a.log)
    deadline = time.time() + a.max_seconds

    import pymemcache
    log({'event': 'start', 'proto': 'memcached', 'versions': {'python': sys.version.split()[0], 'pymemcache': pymemcache.__version__},
         'lanes': a.lanes, 'rounds': a.rounds, 'alignIdlePass': a.align_idle_pass, 'passPhase': a.pass_phase, 'owdMs': a.owd_ms,
         'at': time.time()})

    def lane(k):
        time.sleep(k * a.stagger)
        memcache_lane(a, k, log)(gaps[k::a.lanes], deadline)

    x19dpool.run_lanes(a.lanes, lane)
    log({'event': 'end', 'at': time.time()})


def memcache_lane(a, k, log):
    from pymemcache.client.base import Client, PooledClient

    state = {'connects': [], 'sentPort': None, 'failed': False}

    class LoggingClient(Client):
        def _connect(self):
            super()._connect()
            state['connects'].append(self.sock.getsockname()[1])

        def _note(self):
            if self.sock is None:
                self._connect()
            state['sentPort'] = self.sock.getsockname()[1]

        def _fetch_cmd(self, name, keys, expect_cas):
            self._note()
            return super()._fetch_cmd(name, keys, expect_cas)

        def _store_cmd(self, name, values, expire, noreply, flags=None, cas=None):
            self._note()
            return super()._store_cmd(name, values, expire, noreply, flags=flags, cas=cas)

    class LoggingPooledClient(PooledClient):
        client_class = LoggingClient

    mc = LoggingPooledClient((a.host, a.port), max_pool_size=1, default_noreply=False, connect_timeout=3, timeout=5)
    key = f'x20m:l{k}:v'
    value = ('v' * 100).encode()

    def run(my_gaps, deadline):
        last_reply = {}    # port -> time the reply was read
        last_read = [None]  # estimated time memcached read the last command

        def send_at(gap):
            if not a.align_idle_pass or last_read[0] is None:
                return None
            whole = round(gap)
            off = gap - whole
            w = math.ceil(last_read[0] + whole - a.pass_phase)
            return w + a.pass_phase + off

        for rnd, gap in x19dpool.lane_rounds(a, my_gaps, deadline, state, send_at):
            free = list(mc.client_pool._free_objs)
            pooled = free[0].sock.getsockname()[1] if free and free[0].sock is not None else None
            state['connects'] = []
            state['sentPort'] = None
            if rnd % 2 == 0:
                cmd, wire = f'get {key}', len(f'get {key}\r\n')
            else:
                cmd, wire = f'set {key} 0 0 {len(value)}', len(f'set {key} 0 0 {len(value)}\r\n') + len(value) + 2
            ev = {'event': 'command', 'lane': k, 'round': rnd, 'pooledPort': pooled, 'command': cmd, 'requestBytes': wire, 'gapAsked': gap}
            t0 = time.time()
            try:
                if rnd % 2 == 0:
                    res = mc.get(key)
                    ev.update(outcome='ok', reply='miss' if res is None else f'hit {len(res)} bytes')
                else:
                    res = mc.set(key, value)
                    ev.update(outcome='ok', reply='STORED' if res else repr(res))
            except Exception as e:
                ev.update(outcome='error', error=type(e).__name__, module=type(e).__module__, message=str(e),
                          errno=getattr(e, 'errno', None))
            t1 = time.time()
            port = state['sentPort']
            ev.update(port=port, connects=list(state['connects']), sentAt=t0, elapsedMs=round((t1 - t0) * 1000, 2),
                      idleMeasured=round(t0 - last_reply[port], 4) if port in last_reply else None)
            x19dpool.log_outcome(a, ev, log, state, last_reply, last_read, t0, t1)
        if a.linger:
            time.sleep(a.linger)
        mc.close()

    return run


if __name__ == '__main__':
    main()
