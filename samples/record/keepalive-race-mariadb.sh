#!/usr/bin/env bash
# The keep-alive race on a MariaDB connection: MariaDB 10.11 (Debian mariadb-server; a private datadir
# made with mariadb-install-db in a temporary directory, mariadbd --no-defaults run as the mysql user)
# with wait_timeout = 2, behind a 5 ms one-way-latency link; PyMySQL 1.0 (Debian python3-pymysql) in
# 4 threads, each holding one autocommit connection (PyMySQL has no pool) and reusing it unchecked for
# "SELECT 1" (a 13-byte COM_QUERY packet) and a SELECT with a 60-character literal (> 64 bytes)
# alternating, after pauses swept from 1.9 to 2.2 s (dense 1.984-2.004 s). A connection thread waits
# for the next command with a read timeout of wait_timeout (one-thread-per-connection); when it
# expires MariaDB sets SO_LINGER {on, 0} on the socket and closes it (vio/viosocket.c: a read that
# timed out calls vio_set_linger(fd, 0); seen with strace): the idle close is a RST, with no data and
# no FIN before it, and it logs "Aborted connection N ... (Got timeout reading communication
# packets)" (log_warnings 3). A query sent before that RST reached the client crosses it and is
# answered by another RST (PyMySQL: 2013 'Lost connection to MySQL server during query' with
# ECONNRESET); one the server's read timeout met on arrival is closed unread (a RST whose ACK covers
# it); after the RST arrived the write fails locally (2006 'MySQL server has gone away') and nothing
# is sent. Every query is logged with its local port, the server's connection id, outcome and
# exception (ground truth). Server-side capture. Bounded: one attempt takes ~20 s; redone (at most 3
# attempts) until one has at least 3 races, a crossing and one query under 64 bytes. mariadbd is
# stopped by its PID (SIGTERM). Writes samples/keepalive-race-mariadb.pcap and .meta.json
# (x19d-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19d-lib.sh"
x19d_require mysql

SCENARIO=keepalive-race-mariadb
X19D_NS_PREFIX=ccx19m
X19D_PORT=3306
X19D_DELAY_MS=5
X19D_IDLE=2
GAPS=$(x19d_gaps_fixed)
X19D_CLIENT_ARGS=(--lanes 4 --rounds 6 --stagger 0.07 "--gaps=$GAPS" --max-seconds 40)
X19D_META_ARGS=(--need-races 3 --need-forms crossing --need-short-races 1
  --configured-notes "serverIdleSetting is MariaDB's wait_timeout (2, passed as --wait-timeout 2; my.cnf [mysqld] wait_timeout in production; default 28800 s; interactive_timeout, also 28800, for clients that connect with CLIENT_INTERACTIVE). A connection thread (thread_handling one-thread-per-connection, the default) reads the next command with net_read's timeout set to wait_timeout (sql/sql_parse.cc do_command: my_net_set_read_timeout(net, thd->variables.net_wait_timeout)); on expiry it sets SO_LINGER {on, 0} and closes the socket (vio/viosocket.c: vio_set_linger(fd, 0) on a read timeout), a RST, and logs 'Aborted connection ... (Got timeout reading communication packets)' (log_warnings >= 2)."
  --description "The keep-alive race on a MariaDB connection. MariaDB 10.11 (Debian mariadb-server, private datadir) with wait_timeout = 2 closes a connection idle 2 s with a RST (SO_LINGER 0 after its read timed out: no data, no FIN before it). PyMySQL 1.0 (Debian python3-pymysql) runs 4 threads, each holding one autocommit connection (PyMySQL has no pool and does not check a connection before a query; no ping), reusing it for 'SELECT 1' (a 13-byte COM_QUERY packet) and a longer SELECT (> 64 bytes) after pauses swept from 1.9 to 2.2 s. 5 ms one-way latency; captured on the server side. A query that left the client before the server's idle RST reached it crosses it and gets another RST (PyMySQL: OperationalError 2013 'Lost connection to MySQL server during query', ECONNRESET); one that reached the server as its read timeout expired is closed unread (closed on arrival, a RST acknowledging it); once the RST has arrived the write fails locally (OperationalError 2006 'MySQL server has gone away', ConnectionResetError) and nothing is sent. None is retried.")
x19d_record "$SCENARIO" mysql
