import { hasToken } from '../http/header-fields';
import type { HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';

/**
 * What in a request says that a proxy sent it, whatever its `User-Agent` (a proxy passes its
 * client's on, so `curl/7.88.1` on a backend connection may be nginx's request):
 *
 * - FORWARDED: a `Via`, `Forwarded`, `X-Forwarded-For` or `X-Real-IP` field on the connection's
 *   first request (HttpSession.clientForwarded), which proxies add and clients do not;
 * - NGINX_HTTP10: the request is HTTP/1.0 and still says `Connection: close`, which HTTP/1.0
 *   implies: nginx's upstream request as it sends it by default (`proxy_http_version 1.0` and its
 *   own `Connection: close`). curl, browsers and the usual libraries speak HTTP/1.1, and an
 *   HTTP/1.0 client (ab, an old wget) does not spell the close out.
 *
 * A bit set, so that a per-request flag costs one small integer.
 */
export const TELL_FORWARDED = 1;
export const TELL_NGINX_HTTP10 = 2;
/**
 * TELL_HEADER_CASE: the `User-Agent` names a client that writes its field names capitalized
 * (curl, Wget, Go's net/http, Python requests, a browser) and came as `user-agent`: something
 * rewrote the head on the way, as HAProxy 2.x (HTX) and Envoy write every field name in lower case.
 */
export const TELL_HEADER_CASE = 4;
/**
 * TELL_NGINX_CLOSE: an HTTP/1.1 request that says `Connection: close` though its `User-Agent` names
 * a client that does not (curl sends no Connection field, Wget, Python requests and browsers ask
 * for keep-alive): nginx's upstream request with `proxy_http_version 1.1` and no `proxy_set_header
 * Connection` (it sends `Connection: close` whatever the version; blind round 14, S3c). Go's
 * net/http is left out: it says close itself when its transport disables keep-alives.
 */
export const TELL_NGINX_CLOSE = 8;
/** Agents that never ask for `Connection: close` on their own over HTTP/1.1. */
const KEEPALIVE_AGENT = /^(curl|Wget|python-requests|Mozilla)\//;
/** Agents whose own software sends `User-Agent` capitalized over HTTP/1.x. */
const CAPITALIZING_AGENT = /^(curl|Wget|Go-http-client|python-requests|python-urllib3|Java-http-client|Mozilla)\//;

/**
 * Whether the connection's first request came from a proxy, as far as the request tells: a `Via`,
 * `Forwarded`, `X-Forwarded-For` or `X-Real-IP` (HttpSession.clientForwarded), or its `User-Agent`
 * field name in lower case where the client it names writes `User-Agent` (TELL_HEADER_CASE): the
 * agent is the proxy's client's, and the connection's pool is the proxy's (blind round 16, pools
 * S16: HAProxy's `http-reuse always` pool was blamed on curl, whose User-Agent it passed on).
 * Null until a first request head was read.
 */
export function forwardedByProxy(session: { clientForwarded: boolean | null; clientAgentNameLower: boolean; clientSoftware: string | null } | null | undefined): boolean | null {
  if (session === null || session === undefined || session.clientForwarded === null) return null;
  return session.clientForwarded || (session.clientAgentNameLower && session.clientSoftware !== null && CAPITALIZING_AGENT.test(session.clientSoftware));
}

/** The tells (TELL_*) of one request on `conn`; 0 for none. */
export function proxyTellsOf(ex: Pick<HttpExchange, 'requestVersion' | 'requestConnection'>, conn: AnalyzedConnection): number {
  let tells = conn.app?.session?.clientForwarded === true ? TELL_FORWARDED : 0;
  if (ex.requestVersion === 'HTTP/1.0' && hasToken(ex.requestConnection, 'close')) tells |= TELL_NGINX_HTTP10;
  const session = conn.app?.session;
  if (
    ex.requestVersion === 'HTTP/1.1' && hasToken(ex.requestConnection, 'close') &&
    session !== undefined && session !== null && session.clientSoftware !== null && KEEPALIVE_AGENT.test(session.clientSoftware)
  ) {
    tells |= TELL_NGINX_CLOSE;
  }
  if (session !== undefined && session !== null && session.clientAgentNameLower && session.clientSoftware !== null && CAPITALIZING_AGENT.test(session.clientSoftware)) {
    tells |= TELL_HEADER_CASE;
  }
  return tells;
}

/** The tells in words, for an explanation ('' for none). */
export function proxyTellsText(tells: number): string {
  const parts: string[] = [];
  if ((tells & TELL_NGINX_HTTP10) !== 0) parts.push("nginx-like: HTTP/1.0 requests with Connection: close, nginx's default upstream request (proxy_http_version 1.0)");
  if ((tells & TELL_NGINX_CLOSE) !== 0) parts.push("nginx-like: HTTP/1.1 requests with Connection: close from a client that does not ask for it (curl, Wget, a browser), nginx's upstream request with proxy_http_version 1.1");
  if ((tells & TELL_FORWARDED) !== 0) parts.push('requests carrying Via, Forwarded, X-Forwarded-For or X-Real-IP, which a proxy adds');
  if ((tells & TELL_HEADER_CASE) !== 0) parts.push("HAProxy-like: field names in lower case (`user-agent`) where the User-Agent's own client writes `User-Agent`, as HAProxy 2.x and Envoy send them on");
  return parts.join('; ');
}

/**
 * A proxy's request perhaps, not proof (so no TELL_* bit, which makes the client a proxy): an
 * HTTP/1.x request whose `Host` names no port though it went to a port other than 80, returned
 * as that Host (null otherwise). Clients write the port they connect to into Host (curl, Wget,
 * browsers, Go, Python, Node, ab: `Host: 127.0.0.1:8000`); nginx's upstream request to an
 * `upstream` group names the group (`proxy_pass http://app` sends `Host: app`, whatever the
 * group's port), and a proxy that passes its client's Host on names its own front (blind round
 * 16: chains S5 and load S13, nginx → app legs alone, their 2 s and 1 s closes told flatly as the
 * client's request timeout, the first HAProxy's abort passed on, the second proxy_read_timeout).
 * A port forward does the same to a direct client (Docker's -p 80:8000, a Kubernetes Service's
 * port 80 on a pod's 8080): it only hedges what the leg alone says of its closer.
 */
export function hostWithoutPortOf(ex: Pick<HttpExchange, 'requestVersion' | 'host'>, conn: Pick<AnalyzedConnection, 'sPort' | 'serverHost'>): string | null {
  if (conn.sPort === 80 || (ex.requestVersion !== 'HTTP/1.1' && ex.requestVersion !== 'HTTP/1.0')) return null;
  const host = ex.host;
  if (host === null || host === '') return null;
  // `[::1]:8000` carries its port after the bracket; a bare IPv6 literal is no Host a client writes.
  const close = host.lastIndexOf(']');
  if (host.indexOf(':', close + 1) >= 0) return null;
  // The server's own address (or localhost on loopback): a request written by hand to the address
  // the client connected to (a script's `Host: 127.0.0.1`), not a name a proxy put there; a proxy
  // addressing its backend by address writes the port too (nginx `proxy_pass http://127.0.0.1:8000`).
  const bare = close > 0 && host.startsWith('[') ? host.slice(1, close) : host;
  const server = conn.serverHost;
  if (bare === server || (bare.toLowerCase() === 'localhost' && (server.startsWith('127.') || server === '::1'))) return null;
  return host;
}

/**
 * Another tell that only hedges: the request's connection carried requests with different
 * `User-Agent`s (HttpSession.clientAgentsVary), as a proxy's pooled upstream connection does; a
 * client program sends its own on each (a scraper that rotates its User-Agent on one connection
 * would too).
 */
export function agentsVaryOn(conn: AnalyzedConnection): boolean {
  return conn.app?.session?.clientAgentsVary === true;
}
