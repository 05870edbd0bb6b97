#!/usr/bin/python3
"""LDAP clients of the round-21l samples (keepalive-race-ldap, healthy-ldap): python3-ldap3 (Debian
python3-ldap3) against OpenLDAP slapd (programs/x21l-lib.sh). Run with Debian's /usr/bin/python3.

  x21l-ldap-client.py lanes --host H --port P --log F --gaps G ...
      LANES threads, each keeping one ldap3 Connection (its own Server object; client_strategy
      SYNC, get_info NONE, simple bind as the directory's rootdn, no TLS, raise_exceptions False,
      receive_timeout 5): the way an application keeps one bound connection per worker and reuses
      it. ldap3's SYNC strategy sends on a kept connection without looking at the socket first and
      never retries. ROUNDS operations per lane, alternating a short search (base
      dc=x21l,dc=test, scope base, (objectClass=*), attribute 1.1: < 64 bytes on the wire) and a
      modify (replace the lane entry's description: > 64 bytes), with a pause before each reuse.
      After an error the lane drops that connection (ldap3 has closed its socket) and at once opens
      and binds a new one for its next operation (no pause, the failed operation is not sent
      again). With --unbind-at-end, after the last operation and --linger seconds, each lane calls
      unbind() on its connection, as an application does at shutdown (an UnbindRequest is sent even
      when the server has closed the connection meanwhile).

      Aiming (--align-idle-check): slapd checks idle connections from its listener thread at the top
      of its event loop, at most once per whole second of time(), closing a connection when now -
      c_activitytime > idletimeout (whole seconds); the metronome below makes that check run
      --phase s after each whole second. Each value of --gaps is K + OFF: the reuse is sent at
      floor(R) + K + phase + OFF, R the time slapd read the lane's previous operation (the call's
      start plus one one-way delay, --owd-ms). With idletimeout 2, K = 3 and OFF within one one-way
      delay of 0 crosses slapd's close, K = 2 is answered, K = 4 reuses a connection closed a
      second earlier (stale reuse). Without --align-idle-check a value is a plain pause (seconds).

  x21l-ldap-client.py metronome --host 127.0.0.1 --port 3890 --log F --phase S
      one ldap3 connection (anonymous) on slapd's second listener (not on the captured link) that
      searches the root DSE once a second, S s after each whole second of the wall clock: the
      stand-in for a busy directory's other clients, whose traffic makes slapd run its idle check
      right after each whole second (a quiet slapd wakes every idletimeout/4 s, at least 0.5 s, of
      its own). Bounded by --max-seconds; ends on SIGTERM.

Each operation is logged as one JSON line: lane, round, the kept connection's local port before the
call (pooledPort), the port it was sent on (port), connections opened during the call (connects:
open + bind), the operation, its LDAP messageID and size on the wire (requestBytes), sent time (unix
epoch), idle since the previous answer on that port (idleMeasured), the asked gap and aimed send
time, and the outcome: ok (result code) or error (exception class, module, message, errno).
"""
import argparse
import math
import signal
import sys
import time

import sibling

x19dpool = sibling.load('x19dpool', 'x19d-pool-client.py')

SUFFIX = 'dc=x21l,dc=test'
ROOTDN = 'cn=admin,dc=x21l,dc=test'
ROOTPW = 'x21l'


def connect(a, state, user=ROOTDN, password=ROOTPW):
    """A new bound connection (open + simple bind): ldap3 Connection with auto_bind."""
    import ldap3
    from ldap3.utils.asn1 import encode
    server = ldap3.Server(a.host, a.port, get_info=ldap3.NONE, connect_timeout=3)
    conn = ldap3.Connection(server, user=user, password=password, client_strategy=ldap3.SYNC, auto_bind=ldap3.AUTO_BIND_NO_TLS,
                            receive_timeout=5, raise_exceptions=False, auto_referrals=False)
    port = conn.socket.getsockname()[1]
    state['connects'].append(port)
    strategy = conn.strategy
    orig = strategy.sending

    def sending(ldap_message):
        # what is about to be written: the socket's port, the message's id and size
        state['sentPort'] = conn.socket.getsockname()[1]
        state['bytes'] = len(encode(ldap_message))
        state['messageId'] = int(ldap_message['messageID'])
        return orig(ldap_message)

    strategy.sending = sending
    return conn


def lanes(a):
    import ldap3
    gaps = [float(x) for x in a.gaps.split(',')]
    log = x19dpool.json_lines(a.log)
    deadline = time.time() + a.max_seconds
    log({'event': 'start', 'proto': 'ldap', 'versions': {'python': sys.version.split()[0], 'ldap3': ldap3.__version__,
                                                          'pyasn1': __import__('pyasn1').__version__},
         'lanes': a.lanes, 'rounds': a.rounds, 'alignIdleCheck': a.align_idle_check, 'phase': a.phase, 'owdMs': a.owd_ms,
         'at': time.time()})
    x19dpool.run_lanes(a.lanes, lambda k: lane(a, k, gaps[k::a.lanes], deadline, log))
    log({'event': 'end', 'at': time.time()})


def lane(a, k, my_gaps, deadline, log):
    import ldap3
    time.sleep(k * a.stagger)
    state = {'connects': [], 'sentPort': None, 'failed': False}
    conn = [None]
    dn = f'uid=lane{k},ou=people,{SUFFIX}'
    last_answer = {}   # port -> time the answer was read
    last_read = [None]

    def send_at(gap):
        if not a.align_idle_check or last_read[0] is None:
            return None
        whole = round(gap)
        return math.floor(last_read[0]) + whole + a.phase + (gap - whole)

    for rnd, gap in x19dpool.lane_rounds(a, my_gaps, deadline, state, send_at):
        c = conn[0]
        pooled = c.socket.getsockname()[1] if c is not None and not c.closed else None
        state.update(connects=[], sentPort=None, bytes=None, messageId=None)
        if rnd % 2 == 0:
            op = f'search base={SUFFIX} scope=base filter=(objectClass=*) attrs=1.1'
        else:
            value = f'lane {k} round {rnd} ' + 'x' * 40
            op = f'modify {dn} replace description'
        aimed = None
        ev = {'event': 'command', 'lane': k, 'round': rnd, 'pooledPort': pooled, 'command': op, 'gapAsked': gap}
        t0 = time.time()
        try:
            if c is None or c.closed:
                c = conn[0] = connect(a, state)
            if rnd % 2 == 0:
                ok = c.search(SUFFIX, '(objectClass=*)', search_scope=ldap3.BASE, attributes=['1.1'])
                ev.update(outcome='ok', result=c.result.get('description'), entries=len(c.response or []), found=bool(ok))
            else:
                ok = c.modify(dn, {'description': [(ldap3.MODIFY_REPLACE, [value])]})
                ev.update(outcome='ok', result=c.result.get('description'), found=bool(ok))
        except Exception as e:
            ev.update(outcome='error', error=type(e).__name__, module=type(e).__module__, message=str(e),
                      errno=getattr(e, 'errno', None))
            try:
                c.strategy.close()
            except Exception:
                pass
            conn[0] = None
        t1 = time.time()
        port = state['sentPort']
        ev.update(port=port, connects=list(state['connects']), requestBytes=state.get('bytes'), messageId=state.get('messageId'),
                  sentAt=t0, elapsedMs=round((t1 - t0) * 1000, 2),
                  idleMeasured=round(t0 - last_answer[port], 4) if port in last_answer else None)
        x19dpool.log_outcome(a, ev, log, state, last_answer, last_read, t0, t1)
    if a.linger:
        time.sleep(a.linger)
    c = conn[0]
    if a.unbind_at_end and c is not None and not c.closed:
        port = c.socket.getsockname()[1]
        t0 = time.time()
        try:
            c.unbind()
            log({'event': 'unbind', 'lane': k, 'port': port, 'at': t0, 'outcome': 'ok'})
        except Exception as e:
            log({'event': 'unbind', 'lane': k, 'port': port, 'at': t0, 'outcome': 'error', 'error': type(e).__name__, 'message': str(e)})
    elif c is not None:
        c.strategy.close()


def metronome(a):
    import ldap3
    log = x19dpool.json_lines(a.log)
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    deadline = time.time() + a.max_seconds
    state = {'connects': []}
    c = None
    for _ in range(50):   # bounded: slapd may still be starting
        try:
            c = connect(a, state, user=None, password=None)
            break
        except Exception:
            time.sleep(0.1)
    if c is None:
        sys.exit('x21l-ldap-client: metronome: cannot connect')
    log({'event': 'metronome-start', 'port': c.socket.getsockname()[1], 'phase': a.phase, 'at': time.time()})
    while not stop[0] and time.time() < deadline:
        now = time.time()
        at = math.floor(now) + 1 + a.phase if now - math.floor(now) >= a.phase else math.floor(now) + a.phase
        time.sleep(max(0.0, at - time.time()))
        if stop[0]:
            break
        t0 = time.time()
        c.search('', '(objectClass=*)', search_scope=ldap3.BASE, attributes=['1.1'])
        log({'event': 'tick', 'at': t0, 'elapsedMs': round((time.time() - t0) * 1000, 3)})
    c.unbind()
    log({'event': 'metronome-end', 'at': time.time()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=('lanes', 'metronome'))
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, default=389)
    ap.add_argument('--log', required=True)
    ap.add_argument('--lanes', type=int, default=4)
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--gaps', default='2')
    ap.add_argument('--align-idle-check', action='store_true', help='gaps are K + OFF (see above), not pauses')
    ap.add_argument('--phase', type=float, default=0.1)
    ap.add_argument('--owd-ms', type=float, default=5.0)
    ap.add_argument('--stagger', type=float, default=0.05)
    ap.add_argument('--linger', type=float, default=0.0)
    ap.add_argument('--unbind-at-end', action='store_true')
    ap.add_argument('--max-seconds', type=float, default=60)
    a = ap.parse_args()
    (lanes if a.mode == 'lanes' else metronome)(a)


if __name__ == '__main__':
    main()
