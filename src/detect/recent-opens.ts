import type { DetectContext } from './detector';
import type { EndpointWords } from './request-index';

const SLOT_BITS = 12;
const SLOTS = 1 << SLOT_BITS;
/** Opens remembered per (client host, server) pair. */
const PER_PAIR = 8;

/**
 * When each client host last opened connections to each server (their SYNs): the last PER_PAIR
 * opens of a pair, in a direct-mapped table of typed arrays keyed by a hash of the client's
 * address and the server's address and port. No key string is built and nothing is allocated per
 * connection (every connection of a capture is offered). Bounded: a pair whose slot another pair
 * takes is forgotten, and a pair that opened more than PER_PAIR connections since the moment asked
 * about may have forgotten it: `openedNear` then answers false, which costs at worst a close taken
 * for an idle timeout's, as before this existed.
 */
export class RecentOpens {
  private readonly keys = new Int32Array(SLOTS);
  private readonly times = new Float64Array(SLOTS * PER_PAIR).fill(NaN);
  private readonly next = new Uint8Array(SLOTS);
  /** The open recorded last: each detector sharing the table records every open. */
  private lastKey = 0;
  private lastTs = NaN;

  /** Records that `conn`'s client host opened a connection to its server at `ts` (once, however many detectors record it). */
  add(conn: EndpointWords, ts: number): void {
    const key = pairKey(conn);
    if (key === this.lastKey && ts === this.lastTs) return;
    this.lastKey = key;
    this.lastTs = ts;
    const slot = key & (SLOTS - 1);
    if (this.keys[slot] !== key) {
      this.keys[slot] = key;
      this.times.fill(NaN, slot * PER_PAIR, slot * PER_PAIR + PER_PAIR);
      this.next[slot] = 0;
    }
    this.times[slot * PER_PAIR + this.next[slot]] = ts;
    this.next[slot] = (this.next[slot] + 1) % PER_PAIR;
  }

  /** Whether `conn`'s client host opened a connection to its server within `window` of `ts`. */
  openedNear(conn: EndpointWords, ts: number, window: number): boolean {
    const key = pairKey(conn);
    const slot = key & (SLOTS - 1);
    if (this.keys[slot] !== key) return false;
    for (let i = slot * PER_PAIR; i < slot * PER_PAIR + PER_PAIR; i++) {
      const t = this.times[i];
      if (t >= ts - window && t <= ts + window) return true; // NaN (empty) compares false
    }
    return false;
  }
  /**
   * Whether `conn`'s client host opened a connection to its server after `from` and before `to`
   * (both excluded). False when the pair's slot was taken by another pair, or it opened more than
   * PER_PAIR connections since.
   */
  openedBetween(conn: EndpointWords, from: number, to: number): boolean {
    const key = pairKey(conn);
    const slot = key & (SLOTS - 1);
    if (this.keys[slot] !== key) return false;
    for (let i = slot * PER_PAIR; i < slot * PER_PAIR + PER_PAIR; i++) {
      const t = this.times[i];
      if (t > from && t < to) return true; // NaN (empty) compares false
    }
    return false;
  }
}

/** FNV-1a over the client's address words and the server's words and port; never 0 (an empty slot). */
function pairKey(c: EndpointWords): number {
  let h = 0x811c9dc5 | 0;
  h = Math.imul(h ^ c.c0, 16777619);
  h = Math.imul(h ^ c.c1, 16777619);
  h = Math.imul(h ^ c.c2, 16777619);
  h = Math.imul(h ^ c.c3, 16777619);
  h = Math.imul(h ^ c.s0, 16777619);
  h = Math.imul(h ^ c.s1, 16777619);
  h = Math.imul(h ^ c.s2, 16777619);
  h = Math.imul(h ^ c.s3, 16777619);
  h = Math.imul(h ^ c.sPort, 16777619);
  return (h ^ (h >>> 15)) | 1;
}

/** The name under which detectors share one RecentOpens per analysis (`ctx.shared`). */
export const RECENT_OPENS = 'recent-opens';

/** The analysis's RecentOpens (idle-timeout-mismatch and retried-request each record every open in it). */
export function sharedRecentOpens(ctx: Pick<DetectContext, 'shared'>): RecentOpens {
  return ctx.shared(RECENT_OPENS, () => new RecentOpens());
}
