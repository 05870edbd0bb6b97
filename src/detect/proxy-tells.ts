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

/** The tells (TELL_*) of one request on `conn`; 0 for none. */
export function proxyTellsOf(ex: Pick<HttpExchange, 'requestVersion' | 'requestConnection'>, conn: AnalyzedConnection): number {
  let tells = conn.app?.session?.clientForwarded === true ? TELL_FORWARDED : 0;
  if (ex.requestVersion === 'HTTP/1.0' && hasToken(ex.requestConnection, 'close')) tells |= TELL_NGINX_HTTP10;
  return tells;
}

/** The tells in words, for an explanation ('' for none). */
export function proxyTellsText(tells: number): string {
  const parts: string[] = [];
  if ((tells & TELL_NGINX_HTTP10) !== 0) parts.push("nginx-like: HTTP/1.0 requests with Connection: close, nginx's default upstream request (proxy_http_version 1.0)");
  if ((tells & TELL_FORWARDED) !== 0) parts.push('requests carrying Via, Forwarded, X-Forwarded-For or X-Real-IP, which a proxy adds');
  return parts.join('; ');
}
