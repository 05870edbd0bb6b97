import { requestLineKey, sameRequestLine } from './request-target';

/** Keys (request lines) and legs per key kept at most: a failure storm must not grow memory without bound. */
const MAX_KEYS = 10_000;
const MAX_PER_KEY = 10_000;

/**
 * A proxy's two legs of one exchange (or tunnel) closed within this long of each other (seconds)
 * were closed together: a proxy whose timer fires closes its upstream leg and its client leg in the
 * same instant, one that relays a backend's close closes its client leg right after. nginx closed
 * its upstream leg 0.1-3 ms before its client leg at `proxy_read_timeout`, HAProxy its client leg
 * 0.3-1 ms before it reset its server leg at `timeout tunnel` (websocket-idle-proxy-timeout).
 */
export const LEGS_TOGETHER = 0.1;

/** What pairing needs of a connection's leg: its flow and when its request began (its close: LegsByRequest's closeOf). */
export interface RequestLeg {
  flowId: number;
  /** The connection's server (ip:port). */
  server: string;
  requestStart: number;
}

/** The other leg `of` looks for: its own flow, its request's start and when its client got the answer (or the tunnel). */
export interface LegOf {
  flowId: number;
  /**
   * Its server: a proxy forwards to another endpoint than its own, so a connection to the same
   * server is another client's, even one whose same request began a moment later (two downloads
   * started together and cut together by the server's kill are no proxy's two legs).
   */
  server: string;
  requestStart: number;
  /** The moment the proxy's answer to its client began: a copy of the request forwarded later is another one's. */
  answeredAt: number;
  closeTs: number;
}

/**
 * Connections remembered by their request line, to pair a proxy's two legs of one exchange: the
 * copy of a client's request the proxy forwarded while the client waited (at or after the client's
 * request, before the proxy's answer began), on another connection closed at about the same moment.
 * Shared by the detectors that tell a proxy's close from its backend's (tunnel-idle-timeout,
 * response-truncated, response-abandoned). A proxy that strips or adds a path prefix still pairs
 * (request-target.ts); one that rewrites the target otherwise does not.
 */
export class LegsByRequest<L extends RequestLeg> {
  /** Legs by requestLineKey, each with its own request line. */
  private readonly byRequest = new Map<string, { request: string; leg: L }[]>();

  constructor(private readonly closeOf: (leg: L) => number) {}

  add(request: string, leg: L): void {
    const key = requestLineKey(request);
    let list = this.byRequest.get(key);
    if (list === undefined) {
      if (this.byRequest.size >= MAX_KEYS) return;
      this.byRequest.set(key, (list = []));
    }
    if (list.length < MAX_PER_KEY) list.push({ request, leg });
  }

  /**
   * The leg of `request` paired with `of` (see the class comment) closed within `within` s of it,
   * among those `accept` takes, the nearest; null when none.
   */
  nearest(request: string, of: LegOf, within: number, accept: (leg: L) => boolean = () => true): L | null {
    let best: L | null = null;
    let bestApart = Infinity;
    for (const { request: line, leg } of this.byRequest.get(requestLineKey(request)) ?? []) {
      const apart = Math.abs(this.closeOf(leg) - of.closeTs);
      if (apart > within || leg.flowId === of.flowId || leg.server === of.server || leg.requestStart < of.requestStart || leg.requestStart > of.answeredAt) continue;
      if (!sameRequestLine(line, request) || !accept(leg)) continue;
      if (apart < bestApart) {
        best = leg;
        bestApart = apart;
      }
    }
    return best;
  }
}
