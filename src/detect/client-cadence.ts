import type { HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';

/**
 * How each client host talks to each server: whether it ever had two requests in flight at once
 * (a pool, several threads or processes), and when it sent its recent requests.
 *
 * The retry detectors need it to tell a retry from the client's next piece of work. A client that
 * sends one request at a time and, after a failure, sent another request before sending the
 * failed one again had moved on: the later copy is its next round (a periodic job), not a retry.
 * A client seen with requests in flight together proves nothing that way (another thread may have
 * sent the request in between), so it is never judged by this.
 */

/** Requests remembered per client host and server. */
const KEPT_PER_PAIR = 16;
/** Client host and server pairs remembered; past it the memory starts again (judging less, never wrongly). */
const MAX_PAIRS = 4096;

interface Pair {
  /** Ring of the last requests: start, end of the exchange (its response, else its connection's last packet), connection. */
  starts: Float64Array;
  ends: Float64Array;
  flows: Float64Array;
  count: number;
  /** Two requests of this pair were in flight at once, on different connections. */
  concurrent: boolean;
}

/** The name under which detectors share one ClientCadence per analysis (`ctx.shared`). */
export const CLIENT_CADENCE = 'client-cadence';

export class ClientCadence {
  private readonly pairs = new Map<string, Pair>();
  private lastExchange: HttpExchange | null = null;

  /** Remembers an exchange's request (once: every detector that uses this hands it every exchange). */
  note(ex: HttpExchange, conn: AnalyzedConnection): void {
    if (ex === this.lastExchange) return;
    this.lastExchange = ex;
    const start = ex.requestStart;
    if (start === null) return;
    // An exchange without a response is emitted when its connection ends: it was in flight until then.
    const end = ex.responseEnd ?? Math.max(conn.lastTs, start);
    const key = pairKey(conn.clientHost, conn.serverName);
    let pair = this.pairs.get(key);
    if (pair === undefined) {
      if (this.pairs.size >= MAX_PAIRS) this.pairs.clear();
      pair = { starts: new Float64Array(KEPT_PER_PAIR), ends: new Float64Array(KEPT_PER_PAIR), flows: new Float64Array(KEPT_PER_PAIR), count: 0, concurrent: false };
      this.pairs.set(key, pair);
    }
    const kept = Math.min(pair.count, KEPT_PER_PAIR);
    for (let i = 0; i < kept && !pair.concurrent; i++) {
      if (pair.flows[i] !== conn.id && start < pair.ends[i] && pair.starts[i] < end) pair.concurrent = true;
    }
    const slot = pair.count % KEPT_PER_PAIR;
    pair.starts[slot] = start;
    pair.ends[slot] = end;
    pair.flows[slot] = conn.id;
    pair.count++;
  }

  /**
   * Whether the client host, known to send one request at a time to `server`, started another
   * request to it after `from` and before `to`: it had moved on from what failed at `from`.
   */
  movedOnBetween(clientHost: string, server: string, from: number, to: number): boolean {
    const pair = this.pairs.get(pairKey(clientHost, server));
    if (pair === undefined || pair.concurrent) return false;
    const kept = Math.min(pair.count, KEPT_PER_PAIR);
    for (let i = 0; i < kept; i++) {
      if (pair.starts[i] > from && pair.starts[i] < to) return true;
    }
    return false;
  }
}

function pairKey(clientHost: string, server: string): string {
  return `${clientHost} ${server}`;
}
