#!/usr/bin/python3
"""Pooled database / cache client for the x19d samples (keepalive-race-redis, keepalive-race-postgres,
keepalive-race-mariadb, keepalive-race-pgbouncer, healthy-redis): LANES threads, each with its own pool of one connection, each sending ROUNDS commands
and pausing between them, so that a pooled connection is reused after the pause. Run with Debian's
/usr/bin/python3 (python3-redis, python3-psycopg2, python3-pymysql).

  --proto redis     redis-py (redis.ConnectionPool + redis.Redis, defaults: no retry, no health check);
                    commands alternate between a short INCR (< 64 bytes on the wire) and a SET with a
                    100-byte value.
  --proto postgres  psycopg2 (psycopg2.pool.SimpleConnectionPool(1, 1), autocommit; a pool keeps at most
                    minconn idle connections and closes the others when they are put back); queries alternate
                    between a short "SELECT 1" and a longer SELECT with a 60-character literal.
  --proto pgbouncer the same psycopg2 lanes, to PgBouncer (user and database postgres).
  --proto mysql     PyMySQL (no pool of its own: each lane holds one connection, autocommit, and reuses
                    it unchecked; after an error it closes it and connects anew); the same two queries
                    ("SELECT 1": a 13-byte COM_QUERY packet; the longer one > 64 bytes). Logs the
                    server's connection id (threadId: MariaDB's "Aborted connection N" log lines).

Pauses (--gaps, seconds, comma separated) are dealt round-robin to the lanes' reuses. With
--align-redis-timeout T a value is not a pause but the reuse's send time relative to the instant
Redis is expected to close the idle connection: Redis checks idleness in whole seconds
(now - lastinteraction > timeout, both unix seconds, in clientsCron), so a connection whose last
command reached Redis at time t is closed at floor(t) + T + 1 s (+ up to one cron tick): the pause
is computed from that (the one-way delay --owd-ms added to the send time to get t).
With --align-janitor T (PgBouncer's client_idle_timeout) a value is likewise the send time relative to
the instant PgBouncer is expected to close the idle client: its janitor runs every 1/3 s
(full_maint_period, src/janitor.c) and closes a client when now - request_time > T, request_time being
when PgBouncer read the client's last query, so the close comes at the first janitor tick more than T
after it. A probe thread learns the ticks: it opens a connection, sends "SELECT 1" (logged as lane
"probe"), waits until PgBouncer's close notice arrives (tick = arrival - one-way delay), lets libpq read
it (conn.poll()) so that closing sends nothing, and starts over; the lanes wait for its first tick.

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
    ap.add_argument('--proto', choices=('redis', 'postgres', 'pgbouncer', 'mysql'), required=True)
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--lanes', type=int, default=4)
    ap.add_argument('--rounds', type=int, default=6)
    ap.add_argument('--gaps', required=True)
    ap.add_argument('--align-redis-timeout', type=int, default=None)
    ap.add_argument('--align-janitor', type=float, default=None)
    ap.add_argument('--janitor-period', type=float, default=1 / 3)
    ap.add_argument('--owd-ms', type=float, default=5.0)
    ap.add_argument('--stagger', type=float, default=0.05)
    ap.add_argument('--linger', type=float, default=0.0, help='seconds to keep the pools open after the last command')
    ap.add_argument('--max-seconds', type=float, default=40)
    ap.add_argument('--log', required=True)
    a = ap.parse_args()
    gaps = [float(x) for x in a.gaps.split(',')]
    log = json_lines(a.log)
    deadline = time.time() + a.max_seconds

    versions = {'python': sys.version.split()[0]}
    if a.proto == 'redis':
        import redis
        versions['redis-py'] = redis.__version__
    elif a.proto == 'mysql':
        import pymysql
        versions['PyMySQL'] = pymysql.__version__
    else:
        import psycopg2
        versions['psycopg2'] = psycopg2.__version__
    log({'event': 'start', 'proto': a.proto, 'versions': versions, 'lanes': a.lanes, 'rounds': a.rounds,
         'alignRedisTimeout': a.align_redis_timeout, 'alignJanitor': a.align_janitor, 'owdMs': a.owd_ms, 'at': time.time()})

    janitor = Janitor(a, log) if a.align_janitor is not None else None
    lanes_done = threading.Event()

    def lane(k):
        time.sleep(k * a.stagger)
        my_gaps = gaps[k::a.lanes]
        if a.proto == 'redis':
            run = redis_lane(a, k, log)
        elif a.proto == 'mysql':
            run = mysql_lane(a, k, log)
        else:
            run = postgres_lane(a, k, log, janitor)
        run(my_gaps, deadline)

    probe = None
    if janitor is not None:
        probe = threading.Thread(target=janitor.probe, args=(deadline, lanes_done))
        probe.start()
        janitor.first.wait(timeout=8)
    run_lanes(a.lanes, lane)
    lanes_done.set()
    if probe is not None:
        probe.join()
    log({'event': 'end', 'at': time.time()})


def json_lines(path):
    """log(event): one JSON line per event in PATH (truncated first), whole lines from any thread."""
    f = open(path, 'w')

    def log(ev):
        with LOCK:
            f.write(json.dumps(ev) + '\n')
            f.flush()

    return log


def run_lanes(n, lane):
    """lane(k) for k = 0 .. N-1, each in a thread of its own, all at once; returns when all have ended."""
    th = [threading.Thread(target=lane, args=(k,)) for k in range(n)]
    for t in th:
        t.start()
    for t in th:
        t.join()


def log_outcome(a, ev, log, state, last_reply, last_read, t0, t1):
    """After a lane's call (sent at T0, ended at T1): on success, when the answer on ev['port'] came
    (LAST_REPLY: the next reuse's idle time) and when the server read the command (LAST_READ[0]: T0 plus
    one one-way delay, what the next send is aimed from); after an error no aim. Logs EV; a failed
    call makes the lane's next round start at once (state['failed'])."""
    ok = ev['outcome'] == 'ok'
    if ok:
        last_reply[ev['port']] = t1
        last_read[0] = t0 + a.owd_ms / 1000
    else:
        last_read[0] = None
    log(ev)
    state['failed'] = not ok


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
        last_reply = {}     # port -> reply time
        last_read = [None]  # estimated time Redis read the last command

        def send_at(gap):
            if a.align_redis_timeout is not None and last_read[0] is not None:
                return math.floor(last_read[0]) + a.align_redis_timeout + 1 + gap
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
            log_outcome(a, ev, log, state, last_reply, last_read, t0, t1)
        if a.linger:
            time.sleep(a.linger)
        pool.disconnect()

    return run


class Janitor:
    """PgBouncer's janitor ticks as a probe connection sees them (see --align-janitor)."""

    def __init__(self, a, log):
        self.a, self.log = a, log
        self.ticks = []
        self.lock = threading.Lock()
        self.first = threading.Event()

    def probe(self, deadline, lanes_done, max_probes=40):
        import select
        import psycopg2
        a = self.a
        for n in range(max_probes):
            if lanes_done.is_set() or time.time() > deadline:
                break
            conn = psycopg2.connect(host=a.host, port=a.port, user='postgres', dbname='postgres', application_name='x19d-probe')
            conn.autocommit = True
            port = local_port_of_fd(conn.fileno())
            ev = {'event': 'command', 'lane': 'probe', 'round': n, 'pooledPort': None, 'port': port, 'connects': [port],
                  'command': 'SELECT 1', 'requestBytes': 14, 'gapAsked': None}
            t0 = time.time()
            cur = conn.cursor()
            cur.execute('SELECT 1')
            cur.fetchone()
            cur.close()
            t1 = time.time()
            ev.update(outcome='ok', reply='1', sentAt=t0, elapsedMs=round((t1 - t0) * 1000, 2), idleMeasured=None)
            self.log(ev)
            # the close notice: readable within T + a tick (+ slack); bounded
            r, _, _ = select.select([conn], [], [], a.align_janitor + 2)
            seen = time.time()
            notice = None
            if r:
                try:
                    conn.poll()
                except Exception as e:
                    notice = f'{type(e).__name__}: {str(e).strip()}'
                tick = seen - a.owd_ms / 1000
                with self.lock:
                    self.ticks.append(tick)
                self.first.set()
            self.log({'event': 'probe-close', 'port': port, 'queryAt': t0, 'closeSeenAt': seen if r else None,
                      'tickEstimate': tick if r else None, 'idleAtClose': round(seen - t1, 4) if r else None,
                      'notice': notice, 'closed': conn.closed})
            conn.close()
            if not r:
                break

    def period(self):
        with self.lock:
            t = list(self.ticks)
        p0 = self.a.janitor_period
        est = [(t[i + 1] - t[i]) / round((t[i + 1] - t[i]) / p0) for i in range(len(t) - 1) if round((t[i + 1] - t[i]) / p0) > 0]
        return (sorted(est)[len(est) // 2] if est else p0), (t[-1] if t else None)

    def close_at(self, request_at):
        """The first janitor tick more than align_janitor after request_at (PgBouncer's read of the query)."""
        p, last = self.period()
        if last is None:
            return None
        k = math.floor((request_at + self.a.align_janitor - last) / p) + 1
        return last + k * p


def mysql_lane(a, k, log):
    import pymysql

    def connect():
        return pymysql.connect(host=a.host, port=a.port, user='x19m', password='x19m', database='mysql', autocommit=True)

    def run(my_gaps, deadline):
        last_reply = {}
        state = {'failed': False}
        conn = None
        for rnd, gap in lane_rounds(a, my_gaps, deadline, state):
            pooled = conn._sock.getsockname()[1] if conn is not None and conn._sock is not None else None
            connects = []
            if conn is None:
                conn = connect()
                connects.append(conn._sock.getsockname()[1])
            port = conn._sock.getsockname()[1]
            if rnd % 2 == 0:
                sql, params = 'SELECT 1', None
            else:
                sql, params = 'SELECT %s AS payload, 1 AS lane', (f'x19d-lane{k}-round{rnd}-' + 'p' * 40,)
            cur = conn.cursor()
            text = sql if params is None else cur.mogrify(sql, params)
            ev = {'event': 'command', 'lane': k, 'round': rnd, 'pooledPort': pooled, 'port': port, 'connects': connects,
                  'threadId': conn.thread_id(), 'command': text, 'requestBytes': 4 + 1 + len(text.encode()), 'gapAsked': gap}
            t0 = time.time()
            ok = True
            try:
                cur.execute(sql, params)
                ev.update(outcome='ok', reply=str(cur.fetchone()[0]))
                cur.close()
            except Exception as e:
                ok = False
                ev.update(outcome='error', error=type(e).__name__, module=type(e).__module__, message=str(e),
                          errno=e.args[0] if e.args and isinstance(e.args[0], int) else None, connOpen=conn.open)
            t1 = time.time()
            ev.update(sentAt=t0, elapsedMs=round((t1 - t0) * 1000, 2),
                      idleMeasured=round(t0 - last_reply[port], 4) if port in last_reply else None)
            if ok:
                last_reply[port] = t1
            log(ev)
            state['failed'] = not ok
            if not ok:
                # PyMySQL has already closed the socket (its _force_close) on a connection error
                try:
                    conn.close()
                except Exception:
                    pass
                conn = None
        if a.linger:
            time.sleep(a.linger)
        if conn is not None:
            conn.close()   # COM_QUIT, then the client's FIN

    return run


def postgres_lane(a, k, log, janitor=None):
    import psycopg2
    import psycopg2.pool

    pool = psycopg2.pool.SimpleConnectionPool(1, 1, host=a.host, port=a.port, user='postgres', dbname='postgres',
                                              application_name=f'x19d-lane{k}')

    def run(my_gaps, deadline):
        last_reply = {}
        state = {'failed': False}
        last_read = [None]   # estimated time the server read the last query

        def send_at(gap):
            t = janitor.close_at(last_read[0]) if last_read[0] is not None else None
            # no tick known yet: the timeout and half a period after now
            return t + gap if t is not None else time.time() + max(0.0, a.align_janitor + a.janitor_period / 2 + gap)

        for rnd, gap in lane_rounds(a, my_gaps, deadline, state, send_at if janitor is not None else None):
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
            log_outcome(a, ev, log, state, last_reply, last_read, t0, t1)
            # psycopg2's pool does not check a connection it hands out; a broken one is discarded here
            pool.putconn(conn, close=not ok or bool(conn.closed))
        if a.linger:
            time.sleep(a.linger)
        pool.closeall()

    return run


if __name__ == '__main__':
    main()
