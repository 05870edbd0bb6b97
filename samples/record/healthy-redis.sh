#!/usr/bin/env bash
# Healthy pooled reuse of Redis connections: the same Redis 7.0 (timeout 2, hz 100) and redis-py 4.3
# pool lanes as keepalive-race-redis.sh, behind the same 5 ms link, but each lane reuses its
# connection after pauses of 0.2-1.6 s, always inside Redis's idle timeout; at the end the lanes
# keep their pools 3.5 s so Redis closes each idle connection (a server idle close with no reuse
# after it), then disconnect. Every command answered, no race, no reset: conncheck must stay silent.
# Bounded: ~15 s, at most 3 attempts. Writes samples/healthy-redis.pcap and .meta.json (x19d-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19d-lib.sh"
x19d_require redis

SCENARIO=healthy-redis
X19D_PORT=6379
X19D_DELAY_MS=5
X19D_IDLE=2
GAPS=0.2,0.6,1.1,1.6,0.4,0.9,1.4,0.3,1.2,0.5,1.5,0.8,0.25,1.0,0.7,1.3
X19D_CLIENT_ARGS=(--lanes 4 --rounds 4 --stagger 0.07 "--gaps=$GAPS" --linger 3.5 --max-seconds 40)
X19D_META_ARGS=(--healthy
  --configured-notes "serverIdleSetting is redis.conf 'timeout 2' (passed as --timeout 2): with whole-second idle checks Redis closes after 2.0-3.0 s idle; every reuse here comes after at most 1.6 s."
  --description "Healthy pooled reuse of Redis connections. Redis 7.0 (Debian redis-server, timeout 2, hz 100); redis-py 4.3 (Debian python3-redis), 4 threads each with a ConnectionPool of one connection, INCR and SET (100-byte value) alternating after pauses of 0.2-1.6 s (inside Redis's idle timeout), then 3.5 s idle: Redis closes each connection silently (FIN), the client disconnects later. 5 ms one-way latency; captured on the server side. No race, no error, no reset.")
x19d_record "$SCENARIO" redis
