import type { Endpoint } from '../flow/endpoint';
import { ownTtlWhereReset, resetFromOtherHost } from '../flow/reset-origin';
import type { AnalyzedConnection } from './analyzed-connection';
import type { DetectContext, EventFollower } from './detector';

/** Hosts whose TTLs are kept: past this, hosts not yet seen are not learned (a judgement falls back to the connection's own packets). */
const MAX_HOSTS = 4096;
/** Translated views' path resets kept (TwinPathReset): past this, later ones are not told. */
const MAX_TWIN_RESETS = 4096;

/**
 * A RST in the client's name that the path sent, seen on a connection's second view past an
 * address translation (a capture holding both sides of a NAT: the client's and the server's legs
 * merged): on the analyzed view the client just stalls, and only this view shows the path reset the
 * server's side.
 */
export interface TwinPathReset {
  rstTs: number;
  rstFrame: number;
  rstTtl: number;
  /** The client's own packets' TTL on that view. */
  ownTtl: number;
}

/**
 * The IP TTL an endpoint's own packets (not its RST) have at the capture point, lowest and highest
 * (-1: none). Its handshake's and its data's (a SYN proxy answers the handshake from another hop
 * than the server's data: both count as the host's). A RST that is its first packet gives none:
 * that RST is what is being judged. A capture holding two points (Endpoint.ttlFar) gives none:
 * there one host's packets have two TTLs, and reset-origin.ts places its RSTs itself.
 */
function ownTtls(ep: Endpoint): [number, number] {
  if (ep.ttlFar >= 0) return [-1, -1];
  const rstFirst = ep.rstTs >= 0 && ep.firstTs === ep.rstTs;
  const a = rstFirst ? -1 : ep.firstTtl;
  const b = ep.firstDataTtl;
  if (a < 0) return [b, b];
  if (b < 0) return [a, a];
  return [Math.min(a, b), Math.max(a, b)];
}

/** Where a reset in an endpoint's name came from, as its TTL tells (resetSender). */
export interface ResetSender {
  /** The RST did not come from the endpoint's host: a firewall, IPS, NAT gateway or load balancer on the path sent it. */
  fromPath: boolean;
  rstTtl: number;
  /** The TTL(s) of the endpoint's own packets it was compared with, in words ("63", "63-64"); '' when none. */
  ownTtl: string;
  /** What gave them: the same connection, or the host's packets on its other connections. */
  basis: 'connection' | 'host' | 'none';
}

/**
 * The IP TTLs each host's own packets reach the capture point with, across connections (a shared
 * fact, fed by every exchange and connection end). Each router on the path takes one off, so one
 * host's packets all arrive with one TTL (a host behind a NAT that is also a client itself, or
 * several paths, give a range); a RST in its name with a TTL outside that range was sent by
 * another hop. It judges a RST whose connection has nothing else from its sender (a stray
 * retransmission's reset, a refusal): the connection's own packets judge the others
 * (reset-origin.ts), and equal TTLs (a capture on that host, loopback) never make a reset the
 * path's. Bounded by MAX_HOSTS; a host's range is two numbers.
 */
export class HostTtls implements EventFollower {
  readonly followsEvents = true;
  private readonly ranges = new Map<string, [number, number]>();
  /** By the analyzed view's flow id. */
  private readonly twinResets = new Map<number, TwinPathReset>();
  /**
   * The connection noted last, once both its endpoints' own TTLs were known: they never change
   * after (first packet, first data), so its later exchanges are not noted again.
   */
  private doneId = -1;

  onExchange(_ex: unknown, conn: AnalyzedConnection): void {
    this.noteConnection(conn);
  }

  onConnectionEnd(conn: AnalyzedConnection): void {
    this.noteConnection(conn);
  }

  /**
   * A translated view whose first close is a RST in the client's name from another hop (judged on
   * that view's own packets): kept for the analyzed view `firstId` (twinPathReset).
   */
  onTranslatedViewEnd(view: AnalyzedConnection, firstId: number): void {
    const c = view.client;
    if (c.rstTs < 0 || (c.finTs >= 0 && c.finTs < c.rstTs) || this.twinResets.size >= MAX_TWIN_RESETS) return;
    if (view.server.rstTs >= 0 && view.server.rstTs < c.rstTs) return;
    if (!resetFromOtherHost(c)) return;
    this.twinResets.set(firstId, { rstTs: c.rstTs, rstFrame: c.rstFrame, rstTtl: c.rstTtl, ownTtl: ownTtlWhereReset(c) });
  }

  /** The path's reset in the client's name on flow `flowId`'s translated view, if any (onTranslatedViewEnd). */
  twinPathReset(flowId: number): TwinPathReset | undefined {
    return this.twinResets.get(flowId);
  }

  private noteConnection(conn: AnalyzedConnection): void {
    if (conn.id === this.doneId) return;
    // The connection's cached host texts (hostOf's, made once per connection): this runs per exchange.
    this.note(conn.clientHost, conn.client);
    this.note(conn.serverHost, conn.server);
    if (conn.client.firstDataTtl >= 0 && conn.server.firstDataTtl >= 0) this.doneId = conn.id;
  }

  private note(host: string, ep: Endpoint): void {
    const [low, high] = ownTtls(ep);
    if (low < 0) return;
    const known = this.ranges.get(host);
    if (known !== undefined) {
      if (low < known[0]) known[0] = low;
      if (high > known[1]) known[1] = high;
    } else if (this.ranges.size < MAX_HOSTS) this.ranges.set(host, [low, high]);
  }

  /** The TTL range of `host`'s own packets seen so far, or undefined. */
  rangeOf(host: string): readonly [number, number] | undefined {
    return this.ranges.get(host);
  }

  /**
   * Who sent the RST in `ep`'s name (ep is `host`'s endpoint of a connection): judged by its TTL
   * against ep's own packets on the connection (resetFromOtherHost), and, when the connection has
   * none but the RST, against the host's packets on its other connections seen so far.
   */
  resetSender(ep: Endpoint, host: string): ResetSender {
    const rstTtl = ep.rstTtl;
    if (ep.rstTs < 0 || rstTtl < 0) return { fromPath: false, rstTtl, ownTtl: '', basis: 'none' };
    const [low] = ownTtls(ep);
    if (low >= 0 || ep.ttlFar >= 0) {
      const own = ownTtlWhereReset(ep);
      return { fromPath: resetFromOtherHost(ep), rstTtl, ownTtl: own >= 0 ? String(own) : '', basis: own >= 0 ? 'connection' : 'none' };
    }
    return this.judgeByHost(rstTtl, host);
  }

  /** A RST with `rstTtl` in `host`'s name, judged by the host's packets on other connections only. */
  judgeByHost(rstTtl: number, host: string): ResetSender {
    const range = this.ranges.get(host);
    if (rstTtl < 0 || range === undefined) return { fromPath: false, rstTtl, ownTtl: '', basis: 'none' };
    const ownTtl = range[0] === range[1] ? String(range[0]) : `${range[0]}-${range[1]}`;
    return { fromPath: rstTtl < range[0] || rstTtl > range[1], rstTtl, ownTtl, basis: 'host' };
  }
}

export const HOST_TTLS = 'host-ttls';

/** The analysis's one HostTtls (it follows events from the first detector that asks for it). */
export function sharedHostTtls(ctx: DetectContext): HostTtls {
  return ctx.shared(HOST_TTLS, () => new HostTtls());
}
