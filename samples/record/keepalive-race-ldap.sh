#!/usr/bin/env bash
# The keep-alive race on kept LDAP connections: OpenLDAP slapd 2.5 (Debian slapd; a private
# slapd.conf and back_mdb database in a temporary directory, a tiny directory loaded with slapadd, run
# as the openldap user in the foreground with -d stats) with `idletimeout 2` (olcIdleTimeout in
# cn=config), behind a 5 ms one-way-latency link; python3-ldap3 2.9 (Debian python3-ldap3) in 4
# threads, each keeping one bound Connection (SYNC strategy, get_info NONE, simple bind as the
# rootdn; no check before reuse, no retry), a short search (59 bytes on the wire, under the 64 bytes
# conncheck's opaque path needs) and a modify (125 bytes) alternating. slapd checks idleness from its
# listener thread at the top of its event loop (daemon.c slapd_daemon_task), at most once per whole
# second of time() (every idletimeout/4 whole seconds: 0 for 2), and closes a connection with no
# operation running when now - c_activitytime > idletimeout, whole seconds (connection.c
# connections_timeout_idle): a connection last used at t is closed at the first loop turn at or after
# floor(t) + 3 s, i.e. after 2-3.5 s idle; the loop waits for events at most idletimeout/4 s (0.5 s).
# The close is a FIN with no data before it (no Notice of Disconnection); slapd logs "conn=N fd=F
# closed (idletimeout)". A metronome (programs/x21l-ldap-client.py metronome: one connection on
# slapd's second listener, 127.0.0.1:3890, not on the captured link, searching once a second 0.1 s
# after each whole second; the stand-in for a busy directory's other clients) makes the loop turn,
# and so the idle check run, 0.1 s after each whole second. Each lane reuses its connection at a
# time aimed at such a check (--align-idle-check: K + OFF, sent OFF s from the check K whole seconds
# after slapd read the lane's previous operation): K = 2 is answered, K = 3 dense within +-7 ms
# crosses slapd's FIN (or meets the check on arrival: closed unread, FIN + RST), K = 3 + 0.03 and K =
# 4 reuse a connection whose FIN the client already has (stale reuse: ldap3 does not look at the
# socket). After the last operation and 4 s, each lane calls unbind() (an UnbindRequest on a
# connection slapd has closed meanwhile: RST, a goodbye, not a race). Every operation is logged with
# its local port, outcome and exception (ground truth); slapd's own log gives each connection's
# client port, every operation it executed and each idletimeout close, stamped by slapd to the
# nanosecond. Server-side capture. Bounded: one attempt takes ~25 s; redone (at most 3 attempts)
# until one has at least 3 races, crossings and stale reuses, and a race under 64 bytes. Writes
# samples/keepalive-race-ldap.pcap and .meta.json (programs/x21l-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x21l-lib.sh"
x21l_require

SCENARIO=keepalive-race-ldap
X21L_PORT=389
X21L_DELAY_MS=5
X21L_IDLE=2
X21L_PHASE=0.1
# 28 values K + OFF (see x21l-ldap-client.py), shuffled, dealt round-robin to 4 lanes of 7 reuses:
# 12 K = 3 within -7..+6 ms of the check, 10 answered (K = 1, 1.5, 2, 2.2, 2.94, 2.95: before the
# check), 3 stale (3.03, 4.0, 4.002) and 3 more K = 2 near the check instant.
GAPS=$(python3 -c "
import random
v = [1.0, 2.0, 2.003, 1.997, 2.0, 2.2, 2.0, 1.5]
v += [round(3 + o, 4) for o in (-0.007, -0.005, -0.004, -0.003, -0.002, -0.001, 0.0, 0.001, 0.002, 0.003, 0.004, 0.006)]
v += [2.94, 2.95, 3.03, 4.0, 4.002, 2.0, 1.0, 2.0]
random.Random(21).shuffle(v)
print(','.join(map(str, v)))")
X21L_CLIENT_ARGS=(--lanes 4 --rounds 7 --stagger 0.07 --align-idle-check "--gaps=$GAPS" --linger 4 --unbind-at-end --max-seconds 80)
X21L_META_ARGS=(--need-races 3 --need-forms crossing stale-reuse --need-short-races 1
  --configured-notes "serverIdleSetting is slapd.conf 'idletimeout 2' (olcIdleTimeout: 2 in cn=config; default 0: no idle timeout; slapd.conf(5): 'the number of seconds to wait before forcibly closing an idle client connection'). slapd 2.5 runs the check from its listener thread at the top of its event loop (servers/slapd/daemon.c slapd_daemon_task): when now (time(), whole seconds) - the last check > idletimeout/4 (integer: 0 here, so at the first loop turn of every new second) it calls connections_timeout_idle(now) (servers/slapd/connection.c), which closes every connection that has no operation executing and c_activitytime + idletimeout < now, both whole seconds: connection_closing(c, 'idletimeout'), connection_close; the socket is shut down and closed: a FIN, no Notice of Disconnection (and when an operation has arrived unread, the kernel's RST after the FIN). The loop waits for events at most idletimeout/4 s (0.5 s here), so on a quiet server the check runs up to 0.5 s into a second; a metronome connection on another listener (127.0.0.1:3890, not captured) searches 0.1 s after each whole second, making the check run at that phase. So idletimeout 2 closes a connection last used at t at floor(t) + 3 + 0.1 s: 2.1-3.1 s idle, never at 2 s. ldap3 has no idle limit of its own for a kept SYNC connection.")
X21L_META_ARGS+=(--description "The keep-alive race on kept LDAP connections. OpenLDAP slapd 2.5 (Debian slapd) with idletimeout 2 closes an idle client connection with a FIN and nothing before it (no Notice of Disconnection) from its idle check, which runs at the first event-loop turn of each whole second and compares whole seconds (now - last activity > 2): here 0.1 s after each whole second, driven by a metronome client on another listener, so the idle closes come 2.1-3.1 s after the last operation. python3-ldap3 2.9 (Debian python3-ldap3) runs 4 threads, each keeping one bound Connection (SYNC strategy: no check of the socket before reuse, no retry), reusing it for a base search (59 bytes, under the 64 bytes conncheck's opaque path needs) and a modify (125 bytes) at times aimed at slapd's idle checks. 5 ms one-way latency; captured on the server side. An operation sent in the last 5 ms before slapd's FIN reached the client crosses it; one sent after the FIN arrived is a stale reuse; one that reached slapd as its check ran was closed unread (closed on arrival: FIN acknowledging it, then RST); the kernel answers RST. ldap3 reads the FIN as end of stream and raises LDAPSessionTerminatedByServerError('session terminated by server'), not retried; the lane opens and binds a new connection for its next operation. At the end each lane calls unbind(): on a connection slapd had closed, the 7-byte UnbindRequest is answered by RST (a goodbye, not a race).")
x21l_record "$SCENARIO"
