#!/usr/bin/env bash
# The keep-alive race on a Redis connection pool: Redis 7.0 (Debian redis-server) with `timeout 2`
# (its idle client timeout) and hz 100, behind a 5 ms one-way-latency link; redis-py 4.3 (Debian
# python3-redis) in 4 threads, each with its own ConnectionPool of one connection (defaults: no
# retry, no health check), INCR (short, < 64 bytes) and SET of a 100-byte value alternating. Redis
# checks idleness in whole seconds (now - lastinteraction > timeout, unix seconds, in clientsCron), so
# it closes a connection whose last command it read at time t at floor(t) + 3 s (+ up to a 10 ms cron
# tick): 2.0-3.0 s of idle, silently (close(), no message: FIN). Each lane reuses its connection at
# a time swept around that instant (-12 to +80 ms, dense -9..+6 ms), so that some commands cross
# Redis's FIN. Every command is logged with its local port, outcome and exception (ground truth);
# Redis logs "Closing idle client" (loglevel verbose). Server-side capture. Bounded: one attempt
# takes ~20 s; redone (at most 3 attempts) until one has at least 2 races, one with a command under
# 64 bytes. Writes samples/keepalive-race-redis.pcap and .meta.json (x19d-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19d-lib.sh"
x19d_require redis

SCENARIO=keepalive-race-redis
X19D_PORT=6379
X19D_DELAY_MS=5
X19D_IDLE=2
# 24 send times relative to the expected close (s), shuffled, dealt round-robin to 4 lanes of 6 reuses.
GAPS=$(x19d_gaps_aligned)
X19D_CLIENT_ARGS=(--lanes 4 --rounds 6 --stagger 0.07 --align-redis-timeout "$X19D_IDLE" "--gaps=$GAPS" --max-seconds 40)
X19D_META_ARGS=(--need-races 2 --need-short-races 1
  --configured-notes "serverIdleSetting is redis.conf 'timeout 2' (passed as --timeout 2). Redis 7.0 closes a client when server.unixtime - c->lastinteraction > timeout, both whole unix seconds (src/timeout.c clientsCronHandleTimeout, from clientsCron in serverCron, run hz times a second: hz 100 here, default 10), so the actual idle time before the close is 2.0-3.0 s (+ one cron tick), not 2 s; the close is silent (freeClient: close(), no message). The client's pauses are aligned on that instant (--align-redis-timeout)."
  --description "The keep-alive race on a Redis connection pool. Redis 7.0 (Debian redis-server) with timeout 2 closes an idle client connection silently (FIN, no data before it) once the whole-second clock has advanced more than 2 s past its last command: 2.0-3.0 s idle. redis-py 4.3 (Debian python3-redis) runs 4 threads, each with a ConnectionPool of one connection (no retry, no health check), reusing it for INCR (a 24-byte command, under the 64 bytes conncheck's opaque path needs) and SET with a 100-byte value (131 bytes) at times swept around Redis's close. 5 ms one-way latency; captured on the server side. A command sent in the last 5 ms before Redis's FIN reached the client crosses it: it arrives at a closed socket and the kernel answers RST; redis-py reads the FIN (EOF) and raises ConnectionError('Connection closed by server.'), not retried. A reuse after the FIN reached the client is safe: redis-py's pool checks can_read() before handing out a connection, sees EOF, reconnects.")
x19d_record "$SCENARIO" redis
