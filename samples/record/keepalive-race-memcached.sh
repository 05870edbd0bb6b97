#!/usr/bin/env bash
# The keep-alive race on a memcached connection pool: memcached 1.6 (Debian memcached, run as the
# memcache user) with -o idle_timeout=2 and every other option at its default, behind a 5 ms
# one-way-latency link; pymemcache 3.5 (Debian python3-pymemcache) in 4 threads, each with its own
# PooledClient of at most one connection (max_pool_size=1; default_noreply=False so that `set` reads
# STORED; no retry, no check of a pooled connection before reuse), `get` (a 15-byte command, under the
# 64 bytes conncheck's opaque path needs) and `set` of a 100-byte value (125 bytes) alternating.
# memcached closes idle connections from one thread (memcached.c conn_timeout_thread): a pass starts
# on a whole second of the wall clock, sleeps one timeslice (1 s / (max_fds / 100): 0.1 s with the
# default -c 1024) before each 100 fds, and closes a connection whose last command is more than
# idle_timeout whole seconds (current_time, memcached's own 1-s clock) old; a pass over the 1024 fds
# takes ~1.1 s and the next starts on the whole second floor(its end) + idle_timeout - (current_time -
# oldest last command) + 1 (at least + 1), as -vvv shows: passes every 2-4 s, each ~0.1 s into its
# second, and idle closes spread over a second or more, from just over idle_timeout to ~idle_timeout
# + 3 s (2.8-4.8 s for idle_timeout=2 in trial runs). The close is silent (close(): FIN). Each lane
# reuses its connection at a time aimed at such a pass instant (x20m-memcache-client.py
# --align-idle-pass), 1-4 s after its last command, dense within +-6 ms of it, so that some commands
# cross memcached's FIN; a command sent after the FIN arrived is a stale reuse (pymemcache does not
# look at the socket first). Every
# command is logged with its local port, outcome and exception (ground truth); memcached's -vv
# stderr is timestamped line by line ("<fd get ...", "Closing idle fd N") and a `watch connevents`
# connection on 127.0.0.1:11212 (not on the captured link) logs each close's client port and reason
# (idle_timeout). Server-side capture. Bounded: one attempt takes ~30 s; redone (at most 3 attempts)
# until one has at least 3 races, a crossing and a command under 64 bytes. Writes
# samples/keepalive-race-memcached.pcap and .meta.json (programs/x20m-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x20m-lib.sh"
x20m_require_memcached

SCENARIO=keepalive-race-memcached
X20M_PORT=11211
X20M_DELAY_MS=5
X20M_IDLE=2
# 28 values K + OFF (see x20m-memcache-client.py): the reuse is sent OFF s from the first idle-timeout
# pass instant (a whole second + 0.1 s) at least K s after memcached read the previous command.
# 3 with K = 1 (answered), 12 with K = 2 and 10 with K = 3 (dense within +-6 ms), 3 with K = 4;
# shuffled, dealt round-robin to 4 lanes of 7 reuses.
GAPS=$(python3 -c "
import random
v = [1.0, 1.3, 1.0015]
v += [round(2 + o, 4) for o in (-0.2, -0.006, -0.004, -0.003, -0.002, -0.001, 0.0, 0.001, 0.002, 0.004, 0.006, 0.2)]
v += [round(3 + o, 4) for o in (-0.005, -0.003, -0.002, -0.001, 0.0, 0.001, 0.002, 0.003, 0.005, 0.03)]
v += [4.0, 4.002, 3.8]
random.Random(20).shuffle(v)
print(','.join(map(str, v)))")
X20M_CLIENT_ARGS=(--lanes 4 --rounds 7 --stagger 0.07 --align-idle-pass --pass-phase 0.1 "--gaps=$GAPS" --linger 5 --max-seconds 70)
X20M_META_ARGS=(--need-races 3 --need-forms crossing --need-short-races 1
  --configured-notes "serverIdleSetting is memcached's -o idle_timeout=2 (default 0: off; memcached -h: 'timeout for idle connections'). Every other option is at its default (-c 1024, -t 4). memcached 1.6 checks idleness from one thread (memcached.c conn_timeout_thread): a pass starts on a whole second of the wall clock (seen at -vvv: 'idle timeout thread at top of connection list' within 0.3 ms after a whole second; its wait between passes runs to a whole second), sleeps a timeslice of 1 s / (max_fds / 100) (0.1 s here) before each 100 fds, and for each TCP connection waiting for a command with current_time - last_cmd_time > idle_timeout (memcached's whole-second clock, ticking once a second from its start) tells its worker thread, which closes it (conn_close_idle: close(), a FIN; 'Closing idle fd N' at -vv; idle_kicks in stats). A pass over 1024 fds takes ~1.1 s; the next starts on the whole second floor(its end) + idle_timeout - (current_time - oldest last command) + 1 (at least + 1): passes every 2 s or more, each ~0.1 s into its second. So idle_timeout=2 closes a connection more than 2 s after its last command, and up to ~5 s after it (2.8-4.8 s in trial runs; this recording's closes: see observed), never at 2 s. A command that reaches memcached in the same millisecond as a pass may be closed unread (a RST that ACKs it: closed on arrival). The client aims its reuses at pass instants (--align-idle-pass). pymemcache's PooledClient has an idle limit of its own, pool_idle_timeout (0 by default: pooled connections are never discarded), left at its default here.")
X20M_META_ARGS+=(--description "The keep-alive race on a memcached connection pool. memcached 1.6 (Debian memcached) with -o idle_timeout=2 closes an idle client connection silently (FIN, no data before it) from its idle-timeout thread, whose passes run on whole wall-clock seconds (~0.1 s into the second, every 2-4 s) and compare whole seconds: the idle closes come more than 2 s, up to ~5 s, after the last command. pymemcache 3.5 (Debian python3-pymemcache) runs 4 threads, each with a PooledClient of one connection (no retry; a pooled connection is handed out unchecked), reusing it for get (15 bytes, under the 64 bytes conncheck's opaque path needs) and set with a 100-byte value (125 bytes) at times aimed at memcached's pass instants. 5 ms one-way latency; captured on the server side. A command sent in the last 5 ms before memcached's FIN reached the client crosses it; one sent after the FIN arrived is a stale reuse (pymemcache does not check the socket); either reaches a closed socket and the kernel answers RST: pymemcache raises MemcacheUnexpectedCloseError (it read EOF) or ConnectionResetError, not retried, and the next command connects anew.")
x20m_memcached_record "$SCENARIO"
