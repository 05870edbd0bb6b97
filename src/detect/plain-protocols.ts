/**
 * Protocols conncheck does not parse whose connections are pooled as HTTP's are, and race as
 * HTTP's do when the server closes an idle one (databases and caches). Known by the server's port
 * and, where it tells, the first byte of a client's request: words for a finding and the settings
 * for its remedy. A hint, as the port is: a server on another port is described as data neither
 * HTTP nor TLS.
 *
 * Recorded: keepalive-race-redis (Redis 7.0 `timeout 2`, redis-py 4.3), keepalive-race-postgres
 * (PostgreSQL 15 `idle_session_timeout = 2s`, psycopg2 2.9), keepalive-race-pgbouncer (PgBouncer 1.18
 * `client_idle_timeout = 2`, psycopg2), keepalive-race-mariadb (MariaDB 10.11 `wait_timeout = 2`,
 * PyMySQL 1.0), keepalive-race-memcached (memcached 1.6 `-o idle_timeout=2`, pymemcache 3.5) and
 * keepalive-race-ldap (OpenLDAP slapd 2.5 `idletimeout 2`, ldap3 2.9).
 */
export interface PlainProtocol {
  name: string;
  /** What one request of it is, for a finding ("a Redis command"). */
  request: string;
  ports: readonly number[];
  /** The bytes a client's request may start with (RESP arrays, PostgreSQL frontend message types); null: any. */
  firstBytes: string | null;
  /** The server setting that closes idle client connections, with its default. */
  idleSetting: string;
  /** The pool settings of common clients that drop or check idle connections first. */
  clientSettings: string;
  /** What those clients report when the server's close meets a request. */
  clientErrors: string;
  /**
   * The message a client sends to close (first byte and length), which is no request when it comes
   * after the server's close: PostgreSQL's Terminate (`X`, 5 bytes), MySQL's COM_QUIT (5 bytes).
   */
  goodbye: { firstByte: number; lengths: readonly number[] } | null;
}

export const PLAIN_PROTOCOLS: readonly PlainProtocol[] = [
  {
    name: 'Redis',
    request: 'a Redis command',
    ports: [6379, 6380],
    firstBytes: '*',
    // redis.conf: "Close the connection after a client is idle for N seconds (0 to disable)";
    // checked in whole seconds: keepalive-race-redis's closes for timeout 2 came 2.004-3.005 s idle.
    idleSetting: 'Redis `timeout` (0, never, by default; counted in whole seconds, so it closes between N and N + 1 s idle)',
    clientSettings:
      'redis-py: its pool has no idle limit: `health_check_interval` (a PING before reusing a connection idle that long) or ' +
      '`retry_on_error=[ConnectionError]` for idempotent commands; go-redis: `ConnMaxIdleTime` (`IdleTimeout` before v9); ' +
      'Jedis: the pool\'s `testOnBorrow`, or `minEvictableIdleTime` with `timeBetweenEvictionRuns`',
    clientErrors: 'redis-py: ConnectionError "Connection closed by server."; go-redis: EOF or "connection reset by peer"; Jedis: JedisConnectionException "Unexpected end of stream"',
    goodbye: null,
  },
  {
    name: 'PgBouncer',
    request: 'a PostgreSQL message to PgBouncer',
    ports: [6432],
    firstBytes: 'QPBEDSXFCHdcfp',
    // PgBouncer 1.18 (keepalive-race-pgbouncer): its janitor, every 1/3 s, closes a client idle beyond
    // client_idle_timeout with "FATAL 08P01 client_idle_timeout", in transaction or statement mode.
    idleSetting:
      'PgBouncer `client_idle_timeout` (0, off, by default; its manual: larger than the clients\' connection lifetimes, for network problems only; ' +
      'checked every 1/3 s, in transaction and statement pooling), not `server_idle_timeout`, which closes its own connections to the database',
    clientSettings:
      'HikariCP: `idleTimeout` and `maxLifetime`, some seconds below `client_idle_timeout`; SQLAlchemy: `pool_recycle` or `pool_pre_ping`; ' +
      'Go database/sql: `SetConnMaxIdleTime`; node-postgres Pool: `idleTimeoutMillis` (10 s by default); psycopg2\'s pool: none (it hands a connection out unchecked)',
    clientErrors:
      'psycopg2: OperationalError "server closed the connection unexpectedly"; JDBC: PSQLException "An I/O error occurred while sending to the backend"; ' +
      'Go database/sql: driver.ErrBadConn, which it retries on another connection when nothing was sent',
    goodbye: { firstByte: 0x58, lengths: [5] },
  },
  {
    name: 'PostgreSQL',
    request: 'a PostgreSQL message',
    ports: [5432],
    firstBytes: 'QPBEDSXFCHdcfp',
    // idle_session_timeout (PostgreSQL 14+): the backend sends FATAL 57P05 and exits.
    idleSetting:
      'PostgreSQL `idle_session_timeout` (0, off, by default: its documentation warns against it for connections that pooling software holds; ' +
      'per role: `ALTER ROLE … SET idle_session_timeout = 0`); in front of it, PgBouncer\'s `server_idle_timeout` (600 s by default) closes its connections to the database',
    clientSettings:
      'HikariCP: `idleTimeout` and `maxLifetime`, some seconds below every database and network idle limit; SQLAlchemy: `pool_recycle` or `pool_pre_ping`; ' +
      'Go database/sql: `SetConnMaxIdleTime`; node-postgres Pool: `idleTimeoutMillis` (10 s by default); psycopg2\'s pool: none (it hands a connection out unchecked)',
    clientErrors:
      'psycopg2: OperationalError "server closed the connection unexpectedly"; JDBC: PSQLException "An I/O error occurred while sending to the backend"; ' +
      'Go database/sql: driver.ErrBadConn, which it retries on another connection when nothing was sent',
    goodbye: { firstByte: 0x58, lengths: [5] },
  },
  {
    name: 'MySQL',
    request: 'a MySQL packet',
    ports: [3306],
    firstBytes: null,
    // MariaDB 10.11 (keepalive-race-mariadb) closes an idle connection at wait_timeout with SO_LINGER 0: a RST, no FIN.
    idleSetting:
      'MySQL and MariaDB `wait_timeout` (28 800 s by default; `interactive_timeout` for interactive clients; MariaDB closes with a RST, MySQL 8.0.24 and later send an error first)',
    clientSettings:
      'HikariCP: `maxLifetime` and `idleTimeout`, some seconds below `wait_timeout`; Go database/sql: `SetConnMaxLifetime` and `SetConnMaxIdleTime`; SQLAlchemy: `pool_recycle` or `pool_pre_ping`',
    clientErrors:
      'MySQL clients: "Lost connection to MySQL server during query" (2013), or "MySQL server has gone away" (2006) when the reset had arrived before the query was written ' +
      '(PyMySQL: OperationalError with ConnectionResetError); Go: "invalid connection" or driver.ErrBadConn',
    goodbye: { firstByte: 0x01, lengths: [5] },
  },
  {
    name: 'memcached',
    request: 'a memcached command',
    ports: [11211],
    firstBytes: null,
    // memcached 1.6.18 (keepalive-race-memcached, `-o idle_timeout=2`): a thread checks the
    // connections on whole seconds, passes 2-4 s apart, and closes those idle beyond the setting by
    // its whole-second clock: the closes came 2.98-3.98 s idle, 2.8-4.8 s in a trial run.
    idleSetting:
      'memcached `-o idle_timeout` (0, off, by default; in whole seconds, checked by a thread whose passes come seconds apart, so it closes from N to some N + 3 s idle)',
    clientSettings:
      'pymemcache: `PooledClient(pool_idle_timeout=…)` (0, never, by default); gomemcache: `MaxIdleConns` (idle connections are kept until they fail); ' +
      'spymemcached and Xmemcached: none (reconnect on failure); libmemcached: `MEMCACHED_BEHAVIOR_RETRY_TIMEOUT` only after a failure',
    clientErrors:
      'pymemcache: MemcacheUnexpectedCloseError (no message) or ConnectionResetError; gomemcache: EOF or "connection reset by peer"; pylibmc: "CONNECTION FAILURE" or "UNKNOWN READ FAILURE"',
    goodbye: null,
  },
  {
    name: 'LDAP',
    request: 'an LDAP operation',
    ports: [389, 3268],
    // Every LDAPMessage is a BER SEQUENCE.
    firstBytes: '0',
    // OpenLDAP 2.5 (keepalive-race-ldap, `idletimeout 2`): checked at most once a second of its
    // clock, against whole seconds: closes came 2.45-3.0 s idle, a FIN and no Notice of Disconnection.
    idleSetting:
      'OpenLDAP slapd `idletimeout` (`olcIdleTimeout` under cn=config; 0, off, by default; checked once a second against whole seconds, so it closes up to 1.5 s late); ' +
      'Active Directory `MaxConnIdleTime` (900 s by default)',
    clientSettings:
      'ldap3: none for a SYNC connection (reused unchecked; the RESTARTABLE strategy opens a new one after a failure); ' +
      'JNDI\'s pool: `com.sun.jndi.ldap.connect.pool.timeout` (idle ms before a pooled connection is closed; none by default); ' +
      'UnboundID LDAPConnectionPool: `setMaxConnectionAgeMillis`, or a health check on checkout',
    clientErrors:
      'ldap3: LDAPSessionTerminatedByServerError "session terminated by server"; python-ldap: SERVER_DOWN "Can\'t contact LDAP server"; JNDI: CommunicationException',
    // UnbindRequest: SEQUENCE { messageID, [APPLICATION 2] NULL }, 7 bytes with a one-byte message
    // id, 8 with two; sent on close, answered by nothing (ldap3's unbind() after slapd's FIN).
    goodbye: { firstByte: 0x30, lengths: [7, 8] },
  },
];

/** The protocol a request to `serverPort` starting with `firstByte` (-1: unknown) is taken for, or null. */
export function plainProtocolOf(serverPort: number, firstByte: number): PlainProtocol | null {
  for (const p of PLAIN_PROTOCOLS) {
    if (!p.ports.includes(serverPort)) continue;
    if (p.firstBytes === null || firstByte < 0 || p.firstBytes.includes(String.fromCharCode(firstByte))) return p;
  }
  return null;
}
