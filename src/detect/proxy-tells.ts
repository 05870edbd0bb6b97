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
