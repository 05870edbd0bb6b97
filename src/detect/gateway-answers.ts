import { exactStatus, type HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';
import type { EventFollower } from './detector';

/** 5xx answers remembered: the seconds a held refusal looks back over (SCAN_WINDOW and more) at a few hundred 502s a second. */
const CAPACITY = 1 << 12;

/**
 * The latest 5xx answers (gateway errors, and a proxy's 500 for a connect it could not make) servers answered, in the order their exchanges were
 * decided: when the answer started, when its request did, which host answered. A ring of typed
 * arrays (nothing allocated per answer; only 5xx are offered). Asked, as a refusal is
 * released, whether the refused client's host answered one of its own clients a 5xx for
 * that connect (connection-refused: a proxy that failed its client's request because its backend
 * refused). Each answer is taken by one refusal at most, so N refusals never count one 502 N times.
 */
export class GatewayAnswers implements EventFollower {
  readonly followsEvents = true;
  private readonly ts = new Float64Array(CAPACITY);
  private readonly requestTs = new Float64Array(CAPACITY);
  private readonly status = new Int16Array(CAPACITY);
  private readonly frame = new Int32Array(CAPACITY);
  private readonly taken = new Uint8Array(CAPACITY);
  private readonly host: string[] = new Array<string>(CAPACITY).fill('');
  private readonly server: string[] = new Array<string>(CAPACITY).fill('');
  private written = 0;

  /** Any 5xx a server answered (the engine hands every exchange to the analysis's one instance: DetectContext.shared). */
  onExchange(ex: HttpExchange, conn: AnalyzedConnection): void {
    if (ex.responseStart === null || ex.requestStart === null) return;
    const status = exactStatus(ex);
    // Any 5xx: tinyproxy answers a refused CONNECT 500 "Unable to connect", an API its failed call 500.
    if (status === null || status < 500 || status > 599) return;
    this.add(ex.responseStart, ex.requestStart, conn.serverHost, conn.serverName, status, ex.responseFrame ?? 0);
  }

  /**
   * Whether some server answered a gateway error (502/503/504) within `within` of `ts`: a proxy that
   * gave up on a forwarded request answers its client one as it closes the upstream connection
   * (unanswered-request holds such an upstream close for gateway-timeout's pairing, GatewayClaims).
   */
  gatewayErrorNear(ts: number, within: number): boolean {
    const oldest = Math.max(0, this.written - CAPACITY);
    for (let n = this.written - 1; n >= oldest; n--) {
      const slot = n & (CAPACITY - 1);
      // Decided in about the order they came: one a minute older is past any that could be near.
      if (this.ts[slot] < ts - within - 60) break;
      const status = this.status[slot];
      if ((status === 502 || status === 503 || status === 504) && Math.abs(this.ts[slot] - ts) <= within) return true;
    }
    return false;
  }

  /** Records `server`'s (on `host`) 5xx `status` answered at `ts` (frame `frame`) to a request that began at `requestTs`. */
  add(ts: number, requestTs: number, host: string, server: string, status: number, frame: number): void {
    const slot = this.written++ & (CAPACITY - 1);
    this.ts[slot] = ts;
    this.requestTs[slot] = requestTs;
    this.status[slot] = status;
    this.frame[slot] = frame;
    this.taken[slot] = 0;
    this.host[slot] = host;
    this.server[slot] = server;
  }

  /**
   * Takes the earliest 5xx not taken yet that a server on `hosts` answered during
   * [from, to] to a request that began by `requestBy` (the proxy held it when its connect failed),
   * and returns it; null when none.
   */
  take(hosts: readonly string[], from: number, to: number, requestBy: number): { status: number; server: string; frame: number; ts: number } | null {
    const best = this.find(hosts, from, to, requestBy);
    if (best < 0) return null;
    this.taken[best] = 1;
    return { status: this.status[best], server: this.server[best], frame: this.frame[best], ts: this.ts[best] };
  }

  /** Whether take(…) would find one from any host: asked before a costlier question about which hosts to give it. */
  anyFree(from: number, to: number, requestBy: number): boolean {
    return this.find(null, from, to, requestBy) >= 0;
  }

  /** The slot take(…) takes (hosts null: any), or -1. */
  private find(hosts: readonly string[] | null, from: number, to: number, requestBy: number): number {
    const oldest = Math.max(0, this.written - CAPACITY);
    let best = -1;
    for (let n = this.written - 1; n >= oldest; n--) {
      const slot = n & (CAPACITY - 1);
      const t = this.ts[slot];
      // Decided in about the order they came: one a minute older than the window is past any in it.
      if (t < from - 60) break;
      if (this.taken[slot] !== 0 || t < from || t > to || this.requestTs[slot] > requestBy || (hosts !== null && !hosts.includes(this.host[slot]))) continue;
      if (best < 0 || t < this.ts[best]) best = slot;
    }
    return best;
  }
}

/** The analysis's one GatewayAnswers (DetectContext.shared). */
export const GATEWAY_ANSWERS = 'gateway-answers';

export function sharedGatewayAnswers(ctx: { shared<T>(name: string, make: () => T): T }): GatewayAnswers {
  return ctx.shared(GATEWAY_ANSWERS, () => new GatewayAnswers());
}
