import type { HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';
import { answeredAfterClientClosed } from './facts';
import { isGatewayStatus, type PairedFailure, type ProxyLegs } from './proxy-legs';

/** Gateway errors remembered as sent after their client had closed (flow id → exchange indexes). */
const MAX_ANSWERED_AFTER_CLIENT_CLOSED = 20_000;

/**
 * The proxy read timeouts gateway-timeout owns, shared with unanswered-request (which runs first)
 * so that one failure gets one diagnosis: a proxy that gave up on a forwarded request (it closed
 * the upstream connection, unanswered) and answered its client 502/503/504 is one failure seen on
 * two legs (nginx's proxy_read_timeout on a long-poll backend). gateway-timeout's diagnosis, on
 * the client's leg, names the timer and lists the upstream leg's unanswered-request finding
 * (ProxyWaitsLeft); unanswered-request leaves that leg's wait to it instead of inferring the same
 * timer a second time at the backend.
 *
 * `active` is set by gateway-timeout's create: a run without it claims nothing, and
 * unanswered-request diagnoses every wait itself.
 */
export class GatewayClaims {
  active = false;
  /**
   * 5xx the proxy sent only after its client had closed the connection (answeredAfterClientClosed):
   * the client gave up first, and the proxy followed; gateway-timeout leaves those out.
   */
  private readonly afterClientClosed = new Map<number, Set<number>>();
  private remembered = 0;

  noteExchange(ex: HttpExchange, conn: AnalyzedConnection): void {
    if (!isGatewayStatus(ex.status) || !answeredAfterClientClosed(ex, conn) || this.remembered >= MAX_ANSWERED_AFTER_CLIENT_CLOSED) return;
    let indexes = this.afterClientClosed.get(conn.id);
    if (indexes === undefined) this.afterClientClosed.set(conn.id, (indexes = new Set()));
    indexes.add(ex.index);
    this.remembered++;
  }

  answeredAfterClientClosed(f: { flowId: number; index: number }): boolean {
    return this.afterClientClosed.get(f.flowId)?.has(f.index) === true;
  }

  /**
   * Whether gateway-timeout takes `p` as a proxy's own read timeout (see its onFinish): a 5xx after
   * a real wait (more than `minDelay`), the client still there, the forwarded request unanswered on
   * an upstream connection the proxy closed itself (a backend's close is relayed, not timed), in one
   * attempt. A proxy that tried again upstream (Traffic Server) is left to both: the upstream legs'
   * waits tell its per-attempt timer (a tick, two values for two URIs) better than its clients' sums.
   */
  ownsRead(p: Pick<PairedFailure, 'failure' | 'leg' | 'retries'> & { phase: string }, minDelay: number): boolean {
    const leg = p.leg;
    return (
      this.active && p.failure.how === 'status' && isGatewayStatus(p.failure.status) && p.phase === 'read' && leg !== null &&
      leg.closedBy === 'proxy' && p.retries.length === 0 && p.failure.delay > minDelay && !this.answeredAfterClientClosed(p.failure)
    );
  }

  /**
   * Whether gateway-timeout reports `p` as a proxy's connect timeout (see its onFinish): a 5xx after
   * a real wait, its client still there, while the proxy's connection to its backend never completed
   * its handshake (phase `connect`; a backend's RST is connection-refused's). The unanswered SYNs of
   * that connection (syn-unanswered, which runs first) are the same failure seen upstream: the 504's
   * diagnosis lists them, and they make no diagnosis of their own (blind round 16 chains S17).
   */
  ownsConnect(p: Pick<PairedFailure, 'failure' | 'leg'> & { phase: string }, minDelay: number): boolean {
    const leg = p.leg;
    return (
      this.active && p.failure.how === 'status' && isGatewayStatus(p.failure.status) && p.phase === 'connect' && leg !== null &&
      !(leg.closedBy === 'backend' && leg.closeTs <= p.failure.failTs) && p.failure.delay > minDelay && !this.answeredAfterClientClosed(p.failure)
    );
  }

  /** The connections (flow ids) the proxy's connect attempts of `p` went on: the first and each retry that never carried the request. */
  static connectFlows(p: Pick<PairedFailure, 'leg' | 'retries'>): number[] {
    const flows = p.leg !== null ? [p.leg.flowId] : [];
    for (const retry of p.retries) if (retry.request === null) flows.push(retry.leg.flowId);
    return flows;
  }

  /** The upstream connections (flow ids) of the failures gateway-timeout owns as connect timeouts (ownsConnect). */
  ownedConnectFlows(legs: ProxyLegs, minDelay: number): Set<number> {
    const flows = new Set<number>();
    if (!this.active) return flows;
    for (const p of legs.pair()) if (this.ownsConnect(p, minDelay)) for (const f of GatewayClaims.connectFlows(p)) flows.add(f);
    return flows;
  }

  /** The upstream connections (flow ids) of the failures gateway-timeout owns as read timeouts (ownsRead). */
  ownedUpstreamFlows(legs: ProxyLegs, minDelay: number): Set<number> {
    const flows = new Set<number>();
    if (!this.active) return flows;
    for (const p of legs.pair()) {
      if (!this.ownsRead(p, minDelay) || p.leg === null) continue;
      flows.add(p.leg.flowId);
    }
    return flows;
  }
}

export const GATEWAY_CLAIMS = 'gateway-claims';

export function sharedGatewayClaims(ctx: { shared<T>(name: string, make: () => T): T }): GatewayClaims {
  return ctx.shared(GATEWAY_CLAIMS, () => new GatewayClaims());
}
