#!/usr/bin/env bash
# The keep-alive race on a PgBouncer client connection: PgBouncer 1.18 (Debian pgbouncer, run as the
# postgres user) with pool_mode = transaction and client_idle_timeout = 2, in front of a private
# PostgreSQL 15 (x19d_postgres on 127.0.0.1:5432 in the server namespace, idle_session_timeout off),
# behind a 5 ms one-way-latency link; psycopg2 2.9 (Debian python3-psycopg2) in 4 threads, each with
# a psycopg2.pool.SimpleConnectionPool of one autocommit connection to PgBouncer's port 6432, "SELECT
# 1" (14-byte Query message) and a SELECT with a 60-character literal (> 64 bytes) alternating.
# PgBouncer's janitor runs every 1/3 s (src/janitor.c full_maint_period) and disconnects a client not
# linked to a server whose last query it read more than client_idle_timeout ago (in session mode a
# client stays linked and is never idle-closed: hence transaction mode); a probe connection learns the
# janitor's ticks and each reuse is sent at a time swept around the expected close (-0.4 to +0.08 s,
# dense -9..+6 ms; --align-janitor). Every query is logged with its local port, outcome and exception;
# PgBouncer logs "closing because: client_idle_timeout" with the client's port (ground truth). The
# client leg captured on the server side (tun ccbs; a capture of both legs with -i any lost segments
# of the tun's, so PgBouncer <-> PostgreSQL is not recorded). The probe's connections end with libpq's
# Terminate sent after PgBouncer's FIN (RST): a goodbye, not a race. Bounded: one attempt takes ~25 s; redone (at most 3 attempts) until one has at
# least 3 races, both forms and one query under 64 bytes. PgBouncer and the postmaster are stopped by
# their PIDs. Writes samples/keepalive-race-pgbouncer.pcap and .meta.json (x19d-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19d-lib.sh"
x19d_require pgbouncer

SCENARIO=keepalive-race-pgbouncer
X19D_NS_PREFIX=ccx19m
X19D_PORT=6432
X19D_DELAY_MS=5
X19D_IDLE=2
GAPS=$(x19d_gaps_aligned)
X19D_CLIENT_ARGS=(--lanes 4 --rounds 6 --stagger 0.07 --align-janitor "$X19D_IDLE" "--gaps=$GAPS" --max-seconds 45)
X19D_META_ARGS=(--need-races 3 --need-forms crossing stale-reuse --need-short-races 1
  --configured-notes "serverIdleSetting is PgBouncer's client_idle_timeout (2; pgbouncer.ini [pgbouncer] section; default 0, disabled; its documentation: 'This should be larger than the client-side connection lifetime settings, and only used for network problems'). The janitor (src/janitor.c pool_client_maint, full_maint_period 1/3 s) disconnects a client with no server linked when now - request_time > client_idle_timeout, so the idle time before the close is 2.0-2.33 s; disconnect_client(client, true, 'client_idle_timeout') sends the client an ErrorResponse first. pool_mode transaction: in session mode the client stays linked to its server connection and is never idle-closed. server_idle_timeout (600 s by default) closes PgBouncer's idle server connections, not clients'."
  --description "The keep-alive race on a PgBouncer client connection. PgBouncer 1.18 (Debian pgbouncer) in transaction pooling mode with client_idle_timeout = 2 in front of PostgreSQL 15: its janitor, every 1/3 s, disconnects a client idle more than 2 s, sending an ErrorResponse (FATAL 08P01 'client_idle_timeout') just before its FIN. psycopg2 2.9 (Debian python3-psycopg2) runs 4 threads, each with a psycopg2.pool.SimpleConnectionPool of one autocommit connection to PgBouncer, reusing it for 'SELECT 1' (a 14-byte Query message) and a longer SELECT (> 64 bytes) at times swept around the janitor tick that closes it (a probe connection learns the ticks). 5 ms one-way latency; the client leg captured on the server side. The probe connections end with libpq's Terminate message (5 bytes) sent after PgBouncer's close, which the kernel resets: a goodbye, not a request. A query sent after the janitor closed the client gets RST from the kernel, whether it crossed the FIN or was sent after it arrived (psycopg2's pool does not check); psycopg2 raises OperationalError, not retried. PgBouncer's server connections to PostgreSQL stay open.")
x19d_record "$SCENARIO" pgbouncer
