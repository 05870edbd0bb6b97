#!/usr/bin/env bash
# Shared by the database / cache connection-pool recorders (keepalive-race-redis.sh,
# keepalive-race-postgres.sh, keepalive-race-mariadb.sh, keepalive-race-pgbouncer.sh, healthy-redis.sh).
# Source after lib.sh (it sources lib-b.sh when that is not loaded yet).
#   x19d_require PROTO         cc_require of the tools the recorders and these helpers run
#   x19d_redis NS HOST PORT TIMEOUT LOG    redis-server (Debian redis-server) in namespace NS, no
#       persistence, `timeout TIMEOUT` (its idle client timeout), hz 100, loglevel verbose (it logs
#       "Closing idle client"); ended by PID (X19D_SERVER_PID)
#   x19d_postgres NS HOST PORT IDLE LOG    a private PostgreSQL 15 cluster (initdb in CCB_WORK, run as
#       the postgres user with setpriv, the postmaster itself in the background) listening on HOST,
#       idle_session_timeout IDLE, connections and disconnections logged with the client's port;
#       ended by PID (x19d_postgres_stop: SIGINT, fast shutdown)
#   x19d_mariadb NS HOST PORT WAIT LOG    a private MariaDB server (Debian mariadb-server: mariadb-install-db
#       into CCB_WORK, mariadbd --no-defaults run as the mysql user) listening on HOST, wait_timeout WAIT,
#       skip-name-resolve, log_warnings 3 (it logs "Aborted connection N ... (Got timeout reading
#       communication packets)"), a user x19m/x19m made by an init file; ended by PID (SIGTERM)
#   x19d_pgbouncer NS HOST PORT IDLE LOG  PgBouncer (Debian pgbouncer, run as the postgres user) on HOST,
#       pool_mode transaction, client_idle_timeout IDLE, auth trust, in front of x19d_postgres on
#       127.0.0.1:5432 of the same namespace (idle_session_timeout 0); ended by PID (PgBouncer SIGTERM,
#       then the postmaster SIGINT)
#   x19d_client NS ARGS...     programs/x19d-pool-client.py (Debian python3), bounded by timeout 60
#   x19d_software PROTO        one line per piece of software
#   x19d_record SCENARIO PROTO META_ARGS...   the attempt loop shared by the recorders: start the
#       server (X19D_SERVER_CMD), capture, run the client (X19D_CLIENT_ARGS), stop, and write the
#       meta with x19d-meta.py (at most 3 attempts; the meta writer refuses a recording that does
#       not show what is asked; X19D_ATTEMPTS sets another bound)

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X19D_PROGRAMS="$CC_RECORD_DIR/programs"
X19D_PY=/usr/bin/python3
X19D_PG_BIN=/usr/lib/postgresql/15/bin
# namespaces NS_PREFIX-s (server) and NS_PREFIX-c (client); a recorder may set another prefix
X19D_NS_PREFIX="${X19D_NS_PREFIX:-ccx19d}"

x19d_require() {
  cc_require tcpdump tshark ip python3 setpriv "$X19D_PY"
  case "$1" in
    redis) cc_require /usr/bin/redis-server
      "$X19D_PY" -c 'import redis' 2>/dev/null || { echo "record: apt-get install python3-redis" >&2; exit 2; } ;;
    postgres) cc_require "$X19D_PG_BIN/initdb" "$X19D_PG_BIN/postgres"
      "$X19D_PY" -c 'import psycopg2' 2>/dev/null || { echo "record: apt-get install python3-psycopg2" >&2; exit 2; } ;;
    pgbouncer) cc_require "$X19D_PG_BIN/initdb" "$X19D_PG_BIN/postgres" /usr/sbin/pgbouncer
      "$X19D_PY" -c 'import psycopg2' 2>/dev/null || { echo "record: apt-get install python3-psycopg2" >&2; exit 2; } ;;
    mysql) cc_require /usr/sbin/mariadbd /usr/bin/mariadb-install-db
      "$X19D_PY" -c 'import pymysql' 2>/dev/null || { echo "record: apt-get install python3-pymysql" >&2; exit 2; } ;;
  esac
}

x19d_redis() {
  local ns="$1" host="$2" port="$3" timeout="$4" log="$5"
  ccb_bg "$ns" /usr/bin/redis-server --bind "$host" --port "$port" --timeout "$timeout" --hz 100 \
    --save '' --appendonly no --protected-mode no --daemonize no --dir "$CCB_WORK" \
    --loglevel verbose --logfile "$log"
  X19D_SERVER_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "$port"
}

x19d_postgres() {
  local ns="$1" host="$2" port="$3" idle="$4" log="$5"
  local d="$CCB_WORK/pg"
  if [ ! -d "$d/data" ]; then
    chmod 711 "$CCB_WORK"
    mkdir -p "$d"
    chown postgres: "$d"
    setpriv --reuid=postgres --regid=postgres --init-groups "$X19D_PG_BIN/initdb" -D "$d/data" -U postgres \
      --auth=trust -E UTF8 --no-locale --no-sync >"$CCB_WORK/initdb.log" 2>&1 \
      || { cat "$CCB_WORK/initdb.log" >&2; echo "record: initdb failed" >&2; exit 1; }
    echo "host all all $CCB_CLIENT_IP/32 trust" >>"$d/data/pg_hba.conf"
  fi
  : >"$log"
  chown postgres: "$log"
  ccb_bg "$ns" setpriv --reuid=postgres --regid=postgres --init-groups "$X19D_PG_BIN/postgres" -D "$d/data" \
    -c listen_addresses="$host" -c port="$port" -c unix_socket_directories="$d" \
    -c idle_session_timeout="$idle" -c log_connections=on -c log_disconnections=on \
    -c "log_line_prefix=%m [%p] %r %a " -c log_destination=stderr -c logging_collector=off \
    -c fsync=off -c synchronous_commit=off -c shared_buffers=16MB -c max_connections=20 -c autovacuum=off \
    -c max_wal_senders=0 -c wal_level=minimal -c jit=off 2>"$log"
  X19D_SERVER_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "$port"
}

x19d_postgres_stop() {
  ccb_stop "$X19D_SERVER_PID" INT
}

x19d_mariadb() {
  local ns="$1" host="$2" port="$3" wait="$4" log="$5"
  local d="$CCB_WORK/my"
  if [ ! -d "$d/data" ]; then
    chmod 711 "$CCB_WORK"
    mkdir -p "$d"
    chown mysql: "$d"
    /usr/bin/mariadb-install-db --no-defaults --user=mysql --datadir="$d/data" --skip-test-db \
      --auth-root-authentication-method=socket >"$CCB_WORK/install-db.log" 2>&1 \
      || { cat "$CCB_WORK/install-db.log" >&2; echo "record: mariadb-install-db failed" >&2; exit 1; }
    printf '%s\n' "CREATE USER IF NOT EXISTS 'x19m'@'%' IDENTIFIED BY 'x19m';" "GRANT ALL PRIVILEGES ON *.* TO 'x19m'@'%';" >"$d/init.sql"
    chown mysql: "$d/init.sql"
  fi
  : >"$log"
  chown mysql: "$log"
  ccb_bg "$ns" /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$d/data" --socket="$d/mysqld.sock" \
    --pid-file="$d/mariadbd.pid" --port="$port" --bind-address="$host" --skip-name-resolve \
    --wait-timeout="$wait" --log-warnings=3 --log-error="$log" --init-file="$d/init.sql" \
    --innodb-buffer-pool-size=16M --performance-schema=OFF --skip-log-bin --max-connections=30
  X19D_SERVER_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "$port"
}

x19d_pgbouncer() {
  local ns="$1" host="$2" port="$3" idle="$4" log="$5"
  local b="$CCB_WORK/bouncer"
  x19d_postgres "$ns" 127.0.0.1 5432 0 "$CCB_WORK/postgres.log"
  X19D_PG_PID="$X19D_SERVER_PID"
  mkdir -p "$b"
  echo '"postgres" ""' >"$b/userlist.txt"
  cat >"$b/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=5432 dbname=postgres user=postgres
[pgbouncer]
listen_addr = $host
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $b/userlist.txt
pool_mode = transaction
client_idle_timeout = $idle
logfile = $log
pidfile = $b/pgbouncer.pid
log_connections = 1
log_disconnections = 1
INI
  chown -R postgres: "$b"
  : >"$log"
  chown postgres: "$log"
  ccb_bg "$ns" setpriv --reuid=postgres --regid=postgres --init-groups /usr/sbin/pgbouncer -q "$b/pgbouncer.ini"
  X19D_SERVER_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "$port"
}

x19d_pgbouncer_stop() {
  ccb_stop "$X19D_SERVER_PID"
  ccb_stop "$X19D_PG_PID" INT
}

x19d_client() {
  local ns="$1"; shift
  ip netns exec "$ns" timeout 60 "$X19D_PY" "$X19D_PROGRAMS/x19d-pool-client.py" "$@"
}

x19d_software() {
  case "$1" in
    redis)
      echo "Redis $(/usr/bin/redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') (Debian redis-server $(dpkg-query -W -f='${Version}' redis-server)), timeout set, hz 100, no persistence"
      echo "redis-py $("$X19D_PY" -c 'import redis; print(redis.__version__)') (Debian python3-redis $(dpkg-query -W -f='${Version}' python3-redis)) on Python $("$X19D_PY" -c 'import platform; print(platform.python_version())'), its PythonParser (no hiredis)" ;;
    postgres)
      echo "PostgreSQL $("$X19D_PG_BIN/postgres" --version | awk '{print $3}') (Debian postgresql-15 $(dpkg-query -W -f='${Version}' postgresql-15)), private cluster (initdb), idle_session_timeout set"
      echo "psycopg2 $("$X19D_PY" -c 'import psycopg2; print(psycopg2.__version__.split()[0])') (Debian python3-psycopg2 $(dpkg-query -W -f='${Version}' python3-psycopg2)) with libpq $("$X19D_PY" -c 'import psycopg2.extensions as e; print(e.libpq_version())') on Python $("$X19D_PY" -c 'import platform; print(platform.python_version())'), psycopg2.pool.SimpleConnectionPool" ;;
    pgbouncer)
      echo "PgBouncer $(/usr/sbin/pgbouncer --version | sed -n '1s/PgBouncer //p') (Debian pgbouncer $(dpkg-query -W -f='${Version}' pgbouncer)), pool_mode transaction, client_idle_timeout set"
      echo "PostgreSQL $("$X19D_PG_BIN/postgres" --version | awk '{print $3}') (Debian postgresql-15 $(dpkg-query -W -f='${Version}' postgresql-15)) behind it, private cluster (initdb), on 127.0.0.1:5432"
      echo "psycopg2 $("$X19D_PY" -c 'import psycopg2; print(psycopg2.__version__.split()[0])') (Debian python3-psycopg2 $(dpkg-query -W -f='${Version}' python3-psycopg2)) with libpq $("$X19D_PY" -c 'import psycopg2.extensions as e; print(e.libpq_version())') on Python $("$X19D_PY" -c 'import platform; print(platform.python_version())'), psycopg2.pool.SimpleConnectionPool" ;;
    mysql)
      echo "MariaDB $(/usr/sbin/mariadbd --version | awk '{print $3}') (Debian mariadb-server $(dpkg-query -W -f='${Version}' mariadb-server)), private datadir (mariadb-install-db), wait_timeout set, one-thread-per-connection"
      echo "PyMySQL $("$X19D_PY" -c 'import pymysql; print(pymysql.__version__)') (Debian python3-pymysql $(dpkg-query -W -f='${Version}' python3-pymysql)) on Python $("$X19D_PY" -c 'import platform; print(platform.python_version())'), one connection held per thread (PyMySQL has no pool)" ;;
  esac
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}

# x19d_record SCENARIO PROTO: namespaces, the delay link, then up to 3 attempts. The recorder sets
# X19D_PORT, X19D_DELAY_MS, X19D_IDLE (the server's idle setting), X19D_CLIENT_ARGS (array) and
# X19D_META_ARGS (array: x19d-meta.py's scenario-specific options).
x19d_record() {
  local scenario="$1" proto="$2" attempt
  local out="$CC_SAMPLES_DIR/$scenario.pcap"
  local nss="$X19D_NS_PREFIX-s" nsc="$X19D_NS_PREFIX-c"
  # X19D_CAPTURE_IFACE / X19D_CAPTURE_FILTER / X19D_CAPTURE_SIDE: where and what to capture (default: the
  # server's tun, the server port)
  local iface="${X19D_CAPTURE_IFACE:-ccbs}" filter="${X19D_CAPTURE_FILTER:-tcp port $X19D_PORT}"
  local side="${X19D_CAPTURE_SIDE:-server (tun ccbs in the server namespace)}"
  mapfile -t X19D_SOFTWARE < <(x19d_software "$proto")
  # X19D_META_ONLY=DIR: record nothing; write the meta again from an attempt X19D_LOG_DIR kept (its
  # capture is copied to samples/, its logs read)
  if [ -n "${X19D_META_ONLY:-}" ]; then
    [ "$X19D_META_ONLY/$scenario.pcap" -ef "$out" ] || cp "$X19D_META_ONLY/$scenario.pcap" "$out"
    "$X19D_PY" "$X19D_PROGRAMS/x19d-meta.py" "$scenario" --proto "$proto" --capture "$out" \
      --meta "$CC_SAMPLES_DIR/$scenario.meta.json" --server-port "$X19D_PORT" \
      --client-log "$X19D_META_ONLY/client.log" --server-log "$X19D_META_ONLY/server.log" \
      --server-idle-setting "$X19D_IDLE" --one-way-delay-ms "$X19D_DELAY_MS" \
      --capture-side "$side" \
      --software "${X19D_SOFTWARE[@]}" "${X19D_META_ARGS[@]}"
    return
  fi
  ccb_delay_namespaces "$nss" "$nsc" "$X19D_DELAY_MS"
  for attempt in $(seq 1 "${X19D_ATTEMPTS:-3}"); do
    rm -f "$CCB_WORK/client.log" "$CCB_WORK/server.log"
    case "$proto" in
      redis) x19d_redis "$nss" "$CCB_SERVER_IP" "$X19D_PORT" "$X19D_IDLE" "$CCB_WORK/server.log" ;;
      postgres) x19d_postgres "$nss" "$CCB_SERVER_IP" "$X19D_PORT" "${X19D_IDLE}s" "$CCB_WORK/server.log" ;;
      pgbouncer) x19d_pgbouncer "$nss" "$CCB_SERVER_IP" "$X19D_PORT" "$X19D_IDLE" "$CCB_WORK/server.log" ;;
      mysql) x19d_mariadb "$nss" "$CCB_SERVER_IP" "$X19D_PORT" "$X19D_IDLE" "$CCB_WORK/server.log" ;;
    esac
    ccb_capture_start "$nss" "$iface" "$out" "$filter"
    x19d_client "$nsc" --proto "$proto" --host "$CCB_SERVER_IP" --port "$X19D_PORT" --owd-ms "$X19D_DELAY_MS" \
      --log "$CCB_WORK/client.log" "${X19D_CLIENT_ARGS[@]}" || true
    cc_capture_stop
    case "$proto" in
      postgres) x19d_postgres_stop ;;
      pgbouncer) x19d_pgbouncer_stop ;;
      *) ccb_stop "$X19D_SERVER_PID" ;;
    esac
    if "$X19D_PY" "$X19D_PROGRAMS/x19d-meta.py" "$scenario" --proto "$proto" --capture "$out" \
        --meta "$CC_SAMPLES_DIR/$scenario.meta.json" --server-port "$X19D_PORT" \
        --client-log "$CCB_WORK/client.log" --server-log "$CCB_WORK/server.log" \
        --server-idle-setting "$X19D_IDLE" --one-way-delay-ms "$X19D_DELAY_MS" \
        --capture-side "$side" \
        --software "${X19D_SOFTWARE[@]}" "${X19D_META_ARGS[@]}"; then break; fi
    # X19D_LOG_DIR=DIR also keeps each refused attempt's logs and capture (to run the meta writer again)
    if [ -n "${X19D_LOG_DIR:-}" ]; then mkdir -p "$X19D_LOG_DIR/attempt$attempt"; cp "$CCB_WORK"/*.log "$out" "$X19D_LOG_DIR/attempt$attempt/"; fi
    [ "$attempt" = "${X19D_ATTEMPTS:-3}" ] && { echo "record: $scenario: no usable recording in ${X19D_ATTEMPTS:-3} attempts" >&2; exit 1; }
  done
  grep -h '"error"' "$CCB_WORK/client.log" || true
  # X19D_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X19D_LOG_DIR:-}" ]; then mkdir -p "$X19D_LOG_DIR"; cp "$CCB_WORK"/*.log "$X19D_LOG_DIR/"; fi
  return 0
}

# x19d_gaps_fixed: the pauses (s) of the recorders whose server closes at a fixed idle time (PostgreSQL,
# MariaDB): 3 outside the race window and 21 from 1.984 to 2.004 s, in a fixed shuffled order.
x19d_gaps_fixed() {
  python3 -c "
import random
v = [1.9, 2.05, 2.2] + [round(1.984 + 0.001 * k, 3) for k in range(21)]
random.Random(19).shuffle(v)
print(','.join(map(str, v)))"
}

# x19d_gaps_aligned: offsets (s) from each connection's predicted close, for servers whose idle check
# runs on a tick (Redis in whole seconds, PgBouncer's janitor every 1/3 s): 8 away from it and 16 from
# -9 to +6 ms, in a fixed shuffled order.
x19d_gaps_aligned() {
  python3 -c "
import random
v = [-0.4, -0.2, -0.012, 0.012, 0.03, 0.05, 0.08, -0.15] + [round(-0.009 + 0.001 * k, 3) for k in range(16)]
random.Random(19).shuffle(v)
print(','.join(map(str, v)))"
}
