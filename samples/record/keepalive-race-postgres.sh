#!/usr/bin/env bash
# The keep-alive race on a PostgreSQL connection: PostgreSQL 15 (Debian postgresql-15, a private
# cluster made with initdb in a temporary directory, run as the postgres user) with
# idle_session_timeout = 2s, behind a 5 ms one-way-latency link; psycopg2 2.9 (Debian
# python3-psycopg2, libpq 15) in 4 threads, each with a psycopg2.pool.SimpleConnectionPool of one
# autocommit connection, "SELECT 1" (14-byte Query message) and a SELECT with a 60-character literal
# (> 64 bytes) alternating after pauses swept from 1.9 to 2.2 s (dense 1.984-2.004 s). When the
# timer fires the backend sends an ErrorResponse (FATAL 57P05 "terminating connection due to
# idle-session timeout") and exits: FIN. A query sent after that (crossing it, or after the FIN
# arrived: psycopg2's pool does not check) meets a closed socket: RST. Every query is logged with its
# local port, outcome and exception; PostgreSQL logs the FATAL with the client's port (ground truth).
# Server-side capture. Bounded: one attempt takes ~20 s; redone (at most 3 attempts) until one has at
# least 3 races, both forms and one query under 64 bytes. The postmaster is stopped by its PID
# (SIGINT: fast shutdown). Writes samples/keepalive-race-postgres.pcap and .meta.json (x19d-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19d-lib.sh"
x19d_require postgres

SCENARIO=keepalive-race-postgres
X19D_PORT=5432
X19D_DELAY_MS=5
X19D_IDLE=2
GAPS=$(x19d_gaps_fixed)
X19D_CLIENT_ARGS=(--lanes 4 --rounds 6 --stagger 0.07 "--gaps=$GAPS" --max-seconds 40)
X19D_META_ARGS=(--need-races 3 --need-forms crossing stale-reuse --need-short-races 1
  --configured-notes "serverIdleSetting is PostgreSQL's idle_session_timeout (2s, passed with -c; postgresql.conf / ALTER ROLE ... SET in production; default 0, off). The backend arms the timer when it sends ReadyForQuery outside a transaction (src/backend/tcop/postgres.c); on expiry it reports FATAL 57P05 'terminating connection due to idle-session timeout' to the client and exits."
  --description "The keep-alive race on a PostgreSQL connection. PostgreSQL 15 (Debian postgresql-15, private cluster) with idle_session_timeout = 2s: 2 s after a session goes idle the backend sends an ErrorResponse (FATAL 57P05, 'terminating connection due to idle-session timeout') and closes: FIN. psycopg2 2.9 (Debian python3-psycopg2) runs 4 threads, each with a psycopg2.pool.SimpleConnectionPool of one autocommit connection, reusing it for 'SELECT 1' (a 14-byte Query message) and a longer SELECT (> 64 bytes) after pauses swept from 1.9 to 2.2 s. 5 ms one-way latency; captured on the server side. A query sent after the backend's timer fired gets RST from the kernel, whether it crossed the FIN or was sent after it arrived (psycopg2's pool does not check a connection before handing it out); psycopg2 raises OperationalError, not retried.")
x19d_record "$SCENARIO" postgres
