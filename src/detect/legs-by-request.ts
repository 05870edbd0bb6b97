/** Keys (request lines) and legs per key kept at most: a failure storm must not grow memory without bound. */
const MAX_KEYS = 10_000;
const MAX_PER_KEY = 10_000;

/** What pairing needs of a connection's leg: its flow and when its request began (its close: LegsByRequest's closeOf). */
export interface RequestLeg {
  flowId: number;
  requestStart: number;
}

/** The other leg `of` looks for: its own flow, its request's start and when its client got the answer (or the tunnel). */
export interface LegOf {
  flowId: number;
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
 * response-truncated). Keys are whole request lines: a proxy that rewrites the URI is not paired.
 */
export class LegsByRequest<L extends RequestLeg> {
  private readonly byRequest = new Map<string, L[]>();

  constructor(private readonly closeOf: (leg: L) => number) {}

  add(request: string, leg: L): void {
    let list = this.byRequest.get(request);
    if (list === undefined) {
      if (this.byRequest.size >= MAX_KEYS) return;
      this.byRequest.set(request, (list = []));
    }
    if (list.length < MAX_PER_KEY) list.push(leg);
  }

  /** The leg of `request` paired with `of` (see the class comment) closed within `within` s of it, the nearest; null when none. */
  nearest(request: string, of: LegOf, within: number): L | null {
    let best: L | null = null;
    let bestApart = Infinity;
    for (const leg of this.byRequest.get(request) ?? []) {
      const apart = Math.abs(this.closeOf(leg) - of.closeTs);
      if (apart > within || leg.flowId === of.flowId || leg.requestStart < of.requestStart || leg.requestStart > of.answeredAt) continue;
      if (apart < bestApart) {
        best = leg;
        bestApart = apart;
      }
    }
    return best;
  }
}
