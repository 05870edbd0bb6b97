import type { AnalyzedConnection } from './analyzed-connection';
import { hostOf } from './facts';
import { CAPITALIZED_SERVER_FIELD, NO_SERVER_HEADER, ServerIdentity } from './known-timeouts';

/** An IPv4 or IPv6 address, with a port or not. */
const ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|\[?[0-9a-f]*:[0-9a-f:.]*\]?)(:\d+)?$/i;

/** Server endpoints whose software is remembered (one each; more are not named). */
const SERVERS_KEPT = 4096;
/** Servers remembered per client host (viaOwner): a proxy's backends, the first met. */
const BACKENDS_KEPT = 4;

/**
 * What software answered on each server endpoint, from its responses (HttpSession.serverSoftware
 * and serverVia), so that a diagnosis names that server's own setting rather than every server's.
 * A response that came through a proxy names the proxy by its `Via` entry: the `Server` header a
 * proxy passes on is its backend's (Varnish, Squid and Traffic Server add a `Via` entry; HAProxy
 * adds none, see known-timeouts.ts's caveat). Noted at each connection's end, while its HTTP
 * session is still there. One per analysis (ctx.shared); several detectors note the same
 * connection: the second is a no-op.
 */
export class ServerSoftware {
  private readonly byServer = new Map<string, ServerIdentity>();
  /** What each server's first gateway error (502, 503, 504) that named software named. */
  private readonly byServerErrors = new Map<string, ServerIdentity>();
  /** Servers that answered without naming any software (no `Server`, no `Via`), until one names some. */
  private readonly unnamed = new Set<string>();
  /** Servers with connections whose answers named no software, whatever others named (ServerIdentity.passedOn). */
  private readonly answeredUnnamed = new Set<string>();
  /** The `Server` value that came with a `Via` entry, by server (its identity the `Via`): what the hop says it is when the `Via` was its backend's. */
  private readonly besideVia = new Map<string, string>();
  /** The servers each host connected to as a client (a few each): a proxy's backends, whose answers it relays. */
  private readonly serversOfHost = new Map<string, string[]>();
  /** Servers whose first named answer wrote `server` in lower case for software that writes `Server` (ServerIdentity.rewrittenBy). */
  private readonly rewritten = new Set<string>();
  private lastNoted = -1;

  note(conn: AnalyzedConnection): void {
    if (conn.id === this.lastNoted) return;
    this.lastNoted = conn.id;
    const session = conn.app?.session ?? null;
    if (session !== null) this.noteClientOf(hostOf(conn.clientName), conn.serverName);
    if (session !== null && answeredUnnamed(conn) && this.answeredUnnamed.size < SERVERS_KEPT) this.answeredUnnamed.add(conn.serverName);
    if (session !== null && this.byServerErrors.size < SERVERS_KEPT && !this.byServerErrors.has(conn.serverName)) {
      const named = identityOf(session.gatewayErrorSoftware, session.gatewayErrorVia);
      if (named !== null) this.byServerErrors.set(conn.serverName, named);
    }
    if (session === null || this.byServer.size >= SERVERS_KEPT || this.byServer.has(conn.serverName)) return;
    const named = identityOf(session.serverSoftware, session.serverVia);
    if (named !== null) {
      this.byServer.set(conn.serverName, named);
      // A `Via` names a proxy on the way; the `Server` beside it is what this hop says if the `Via` came from behind it (viaOwner).
      const beside = named.fromVia ? identityOf(session.serverSoftware, null) : null;
      if (beside !== null && beside.software !== null) this.besideVia.set(conn.serverName, beside.software);
      if (!named.fromVia && session.serverNameLower && CAPITALIZED_SERVER_FIELD.test(named.software ?? '')) this.rewritten.add(conn.serverName);
    } else if (session.serverSoftware === null && session.answered && this.unnamed.size < SERVERS_KEPT) this.unnamed.add(conn.serverName);
  }

  /**
   * What `server` ("ip:port") said it was in its first final response that said anything, or null;
   * `passedOn` when other connections of it answered naming nothing (a `Server` a proxy passes on).
   */
  of(server: string): ServerIdentity | null {
    const identity = this.ownIdentity(server);
    if (identity === undefined) return null;
    // A lower-case `server` naming software that writes `Server`: a proxy rewrote the head (HAProxy 2.x, Envoy).
    if (!identity.fromVia && this.rewritten.has(server) && identity === this.byServer.get(server)) {
      return { ...identity, says: `server: ${identity.software ?? ''}`, passedOn: true, rewrittenBy: 'case' };
    }
    return !identity.fromVia && this.answeredUnnamed.has(server) ? { ...identity, passedOn: true } : identity;
  }

  /**
   * What `server`'s answers named, except where its gateway errors named other software by `Server`
   * than its other answers did: a proxy that passes its backend's `Server` on (Apache mod_proxy
   * does) writes its own 502s, 503s and 504s, so those name the proxy, which is what answers on
   * that endpoint, and the others its backend (blind round 15, stacks S5: Apache's 502s said
   * `Server: Apache/2.4.71`, its proxied 200s gunicorn's, and the proxy was named gunicorn). A
   * `Via` already names the proxy.
   */
  private ownIdentity(server: string): ServerIdentity | undefined {
    const identity = this.byServer.get(server);
    if (identity !== undefined && identity.fromVia) return this.viaOwner(server, identity);
    if (identity === undefined) return identity;
    const errors = this.byServerErrors.get(server);
    return errors !== undefined && errors.says !== identity.says ? errors : identity;
  }

  /**
   * What names `server` when its answers carried a `Via` entry (`identity`). A `Via` names the
   * proxies a response passed through on its way, each adding its entry, and the proxies in front
   * of them pass it on: it names this hop only when this hop added it. Where this server's host is
   * itself a client of a server whose answers carried the same entry (the proxy's backend, in the
   * same capture), the entry was added there or behind it, and what this hop says of itself is its
   * `Server` header (nginx replaces its upstream's with its own and passes `Via` on: blind round 16
   * chains S19, `Server: nginx/1.22.1` with `Via: 1.1 varnish (Varnish/7.1)` from the Varnish
   * behind it, and nginx's keepalive_timeout was named Varnish's); unless that header is the
   * backend's too, passed on with it (HAProxy passes both): then neither names it (undefined).
   * Varnish that answers its clients itself adds the entry, and its backends' answers carry none:
   * it stays named by it.
   */
  private viaOwner(server: string, identity: ServerIdentity): ServerIdentity | undefined {
    const backends = this.serversOfHost.get(hostOf(server));
    if (backends === undefined) return identity;
    let passedOnServer = false;
    let behind = false;
    const own = this.besideVia.get(server);
    for (const b of backends) {
      if (b === server || this.byServer.get(b)?.says !== identity.says) continue;
      behind = true;
      if (own !== undefined && this.besideVia.get(b) === own) passedOnServer = true;
    }
    if (!behind) return identity;
    if (own === undefined || passedOnServer) return undefined;
    return { says: `Server: ${own}`, software: own, fromVia: false };
  }

  /** Notes that `host` connected to `server` as a client, for viaOwner (a few servers per host, a bounded number of hosts). */
  private noteClientOf(host: string, server: string): void {
    const list = this.serversOfHost.get(host);
    if (list === undefined) {
      if (this.serversOfHost.size < SERVERS_KEPT) this.serversOfHost.set(host, [server]);
    } else if (list.length < BACKENDS_KEPT && !list.includes(server)) list.push(server);
  }

  /**
   * What names the software of `server` for matchKnown: the `Server` value (or `Via` comment) its
   * responses gave, NO_SERVER_HEADER when it answered and never named any, null when unknown (no
   * HTTP response seen: TLS, another protocol).
   */
  softwareOf(server: string): string | null {
    const identity = this.ownIdentity(server);
    if (identity !== undefined) return identity.software;
    return this.unnamed.has(server) ? NO_SERVER_HEADER : null;
  }
}

/** What a response's `Server` value and last `Via` entry name, or null when neither names software. */
function identityOf(server: string | null, via: string | null): ServerIdentity | null {
  if (via !== null) return { says: `Via: ${via}`, software: viaComment(via), fromVia: true };
  // An address is no software: a WSGI app under CherryPy answers `Server: <its socket_host>`.
  if (server !== null && !ADDRESS.test(server)) return { says: `Server: ${server}`, software: server, fromVia: false };
  return null;
}

/**
 * The connection was answered (a final response) and its answers named no software: no `Server`,
 * no `Via` (the session keeps the first final response's that named one). On a connection whose
 * one answer is an error, that error's own head.
 */
export function answeredUnnamed(conn: AnalyzedConnection): boolean {
  const session = conn.app?.session ?? null;
  return session !== null && session.answered && session.serverSoftware === null && session.serverVia === null;
}

/** The comment of a `Via` entry (`1.1 varnish (Varnish/7.1)` → `Varnish/7.1`), which names the proxy's software; null without one. */
export function viaComment(entry: string): string | null {
  const open = entry.indexOf('(');
  const close = entry.lastIndexOf(')');
  return open >= 0 && close > open + 1 ? entry.slice(open + 1, close).trim() : null;
}

export const SERVER_SOFTWARE = 'server-software';
