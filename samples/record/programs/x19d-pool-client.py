#!/usr/bin/python3
"""Pooled database / cache client for the x19d samples (keepalive-race-redis, keepalive-race-postgres,
healthy-redis): LANES threads, each with its own pool of one connection, each sending ROUNDS commands
and pausing between them, so that a pooled connection is reused after the pause. Run with Debian's
/usr/bin/python3 (python3-redis, python3-psycopg2).

  --proto redis     redis-py (redis.ConnectionPool + redis.Redis, defaults: no retry, no health check);
                    commands alternate between a short INCR (< 64 bytes on the wire) and a SET with a
                    100-byte value.
  --proto postgres  psycopg2 (psycopg2.pool.SimpleConnectionPool(1, 1), autocommit; a pool keeps at most
                    minconn idle connections and closes the others when they are put back); queries alternate
                    between a short "SELECT 1" and a longer SELECT with a 60-character literal.

Pauses (--gaps, seconds, comma separated) are dealt round-robin to the lanes' reuses. With
--align-redis-timeout T a value is not a pause but the reuse's send time relative to the instant
Redis is expected to close the idle connection: Redis checks idleness in whole seconds
(now - lastinteraction > timeout, both unix seconds, in clientsCron), so a connection whose last
command reached Redis at time t is closed at floor(t) + T + 1 s (+ up to one cron tick): the pause
is computed from that (the one-way delay --owd-ms added to the send time to get t).

Each command is logged as one JSON line: lane, round, the pooled connection's local port before the
call (pooledPort), the port it was sent on (port), the ports of connections opened during the call
(connects; redis-py's pool opens one when its can_read() check finds the pooled socket at EOF),
the command, its wire size, sent time (unix epoch), idle since the previous reply on that connection,
the asked gap, and the outcome: ok (reply) or error (exception class, module, message, pgcode).
No retries: redis-py 4.3's default Retry(NoBackoff(), 0); psycopg2 has none.
"""
import argparse
import json
import math
import socket
import sys
import threading
import time

LOCK = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--proto', choices=('redis', 'postgres'), required=True)
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--lanes', type=int, default=4)
    ap.add_argument('--rounds', type=int, default=6)
    ap.add_argument('--gaps', required=True)
    ap.add_argument('--align-redis-timeout', type=int, default=None)
    ap.add_argument('--owd-ms', type=float, default=5.0)
    ap.add_argument('--stagger', type=float, default=0.05)
    ap.add_argument('--linger', type=float, default=0.0, help='seconds to keep the pools open after the last command')
    ap.add_argument('--max-seconds', type=float, default=40)
    ap.add_argument('--log', required=True)
    a = ap.parse_args()
    gaps = [float(x) for x in a.gaps.split(',')]
    logf = open(a.log, 'w')
    deadline = time.time() + a.max_seconds

    def log(ev):
        with LOCK:
            logf.write(json.dumps(ev) + '\n')
            logf.flush()

    versions = {'python': sys.version.split()[0]}
    if a.proto == 'redis':
        import redis
        versions['redis-py'] = redis.__version__
    else:
        import psycopg2
        versions['psycopg2'] = psycopg2.__version__
    log({'event': 'start', 'proto': a.proto, 'versions': versions, 'lanes': a.lanes, 'rounds': a.rounds,
         'alignRedisTimeout': a.align_redis_timeout, 'owdMs': a.owd_ms, 'at': time.time()})

    def lane(k):
        time.sleep(k * a.stagger)
        my_gaps = gaps[k::a.lanes]
        if a.proto == 'redis':
            run = redis_lane(a, k, log)
        else:
            run = postgres_lane(a, k, log)
        run(my_gaps, deadline)

    th = [threading.Thread(target=lane, args=(k,)) for k in range(a.lanes)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    log({'event': 'end', 'at': time.time()})


def local_port_of_fd(fd):
    s = socket.socket(fileno=socket.dup(fd))
    try:
        return s.getsockname()[1]
    finally:
        s.close()


def lane_rounds(a, my_gaps, deadline, state, send_at=None):
    """A lane's rounds: yields (round, the pause before it). At most 2 * ROUNDS + 1 rounds and ROUNDS
    pauses, none begun after the deadline; no pause before the first round, nor after a failed one
    (state['failed']: a new connection at once). send_at(gap): the time to send at instead of
    pausing gap seconds (None: pause)."""
    gi = 0
    for rnd in range(2 * a.rounds + 1):
        if time.time() > deadline or gi >= a.rounds:
            break
        gap = None
        if rnd > 0 and not state['failed']:   # after a failure: a new connection at once, no pause
            gap = my_gaps[gi % len(my_gaps)]
            gi += 1
            at = send_at(gap) if send_at is not None else None
            time.sleep(gap if at is None else max(0.0, at - time.time()))
        yield rnd, gap


def redis_lane(a, k, log):
    import redis

    state = {'connects': [], 'sentPort': None, 'failed': False}

    class LoggingConnection(redis.Connection):
        def connect(self):
            had = self._sock is not None
            super().connect()
            if not had and self._sock is not None:
                state['connects'].append(self._sock.getsockname()[1])

        def send_packed_command(self, command, check_health=True):
            if not self._sock:
                self.connect()
            state['sentPort'] = self._sock.getsockname()[1]
            state['bytes'] = sum(len(c) for c in ([command] if isinstance(command, (bytes, str)) else command))
            return super().send_packed_command(command, check_health)

    pool = redis.ConnectionPool(host=a.host, port=a.port, connection_class=LoggingConnection, max_connections=1)
    r = redis.Redis(connection_pool=pool)

    def run(my_gaps, deadline):
        last_reply = {}   # port -> reply time
        last_read = None  # estimated time Redis read the last command

        def send_at(gap):
            if a.align_redis_timeout is not None and last_read is not None:
                return math.floor(last_read) + a.align_redis_timeout + 1 + gap
            return None

        for rnd, gap in lane_rounds(a, my_gaps, deadline, state, send_at):
            avail = list(pool._available_connections)
            pooled = avail[0]._sock.getsockname()[1] if avail and avail[0]._sock is not None else None
            state['connects'] = []
            state['sentPort'] = None
            if rnd % 2 == 0:
                cmd, args = 'INCR', (f'l{k}:n',)
            else:
                cmd, args = 'SET', (f'l{k}:v', 'v' * 100)
            ev = {'event': 'command', 'lane': k, 'round': rnd, 'pooledPort': pooled, 'command': cmd, 'gapAsked': gap}
            t0 = time.time()
            try:
                res = r.execute_command(cmd, *args)
                ev.update(outcome='ok', reply=res.decode() if isinstance(res, bytes) else res)
            except Exception as e:
                ev.update(outcome='error', error=type(e).__name__, module=type(e).__module__, message=str(e))
            t1 = time.time()
            port = state['sentPort']
            ev.update(port=port, connects=list(state['connects']), sentAt=t0, elapsedMs=round((t1 - t0) * 1000, 2),
                      requestBytes=state.get('bytes'),
                      idleMeasured=round(t0 - last_reply[port], 4) if port in last_reply else None)
            if ev['outcome'] == 'ok':
                last_reply[port] = t1
                last_read = t0 + a.owd_ms / 1000
            else:
                last_read = None
            log(ev)
            state['failed'] = ev['outcome'] == 'error'
        if a.linger:
            time.sleep(a.linger)
        pool.disconnect()

    return run


def postgres_lane(a, k, log):
    import psycopg2
    import psycopg2.pool

    pool = psycopg2.pool.SimpleConnectionPool(1, 1, host=a.host, port=a.port, user='postgres', dbname='postgres',
                                              application_name=f'x19d-lane{k}')

    def run(my_gaps, deadline):
        last_reply = {}
        state = {'failed': False}
        for rnd, gap in lane_rounds(a, my_gaps, deadline, state):
            had = bool(pool._pool)
            pooled = local_port_of_fd(pool._pool[0].fileno()) if had else None
            conn = pool.getconn()
            connects = []
            if not had:
                connects.append(local_port_of_fd(conn.fileno()))
            if not conn.autocommit:
                conn.autocommit = True
            port = local_port_of_fd(conn.fileno())
            if rnd % 2 == 0:
                sql, params = 'SELECT 1', None
            else:
                sql, params = 'SELECT %s::text AS payload, 1 AS lane', (f'x19d-lane{k}-round{rnd}-' + 'p' * 40,)
            text = sql if params is None else conn.cursor().mogrify(sql, params).decode()
            ev = {'event': 'command', 'lane': k, 'round': rnd, 'pooledPort': pooled, 'port': port, 'connects': connects,
                  'command': text, 'requestBytes': 1 + 4 + len(text.encode()) + 1, 'gapAsked': gap}
            t0 = time.time()
            ok = True
            try:
                cur = conn.cursor()
                cur.execute(sql, params)
                ev.update(outcome='ok', reply=str(cur.fetchone()[0]))
                cur.close()
            except Exception as e:
                ok = False
                ev.update(outcome='error', error=type(e).__name__, module=type(e).__module__, message=str(e),
                          pgcode=getattr(e, 'pgcode', None), connClosed=conn.closed)
            t1 = time.time()
            ev.update(sentAt=t0, elapsedMs=round((t1 - t0) * 1000, 2),
                      idleMeasured=round(t0 - last_reply[port], 4) if port in last_reply else None)
            if ok:
                last_reply[port] = t1
            log(ev)
            state['failed'] = not ok
            # psycopg2's pool does not check a connection it hands out; a broken one is discarded here
            pool.putconn(conn, close=not ok or bool(conn.closed))
        if a.linger:
            time.sleep(a.linger)
        pool.closeall()

    return run


if __name__ == '__main__':
    main()
