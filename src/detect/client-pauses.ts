import { float64Column, grownColumn, int32Column } from './grown-column';
import { firstAfter } from './sorted-search';

/**
 * Client-server pairs followed, and the latest opens and closes kept for each (a ring of 16): a pause is
 * a steady delay, which a few of the latest samples show as well as all of them. A capture of
 * thousands of client hosts must not keep a number per connection seen (round 34's bench: 48 056
 * connections kept 10 MB of them to its end).
 */
const MAX_PAIRS = 2048;
const PER_PAIR = 16;

const time = (t: number): number => t;

/**
 * When each client host began connections to a server endpoint (its first SYN) and when it closed
 * them (its FIN), for the pause a client takes between an attempt's end and its next one.
 *
 * A connect given up in SYN-SENT sends nothing, so the next attempt's first SYN bounds the give-up
 * from above only: a client that waits P seconds after each attempt before the next (a loop's
 * sleep, a caller's think time) starts the next one the connect timeout plus P after the first
 * SYN. Its closes that the wire does show (a FIN after a read timeout or a response) followed by
 * its next SYN at one steady delay measure P (blind round 11, S4c40: requests with timeout 0.5 s and
 * 0.3 s between them gave 0.802 s between failed connects, and FIN to next SYN 0.302 s).
 */
export class ClientPauses {
  /**
   * Slots by server, then client host: both texts the connection already has, hashed once each.
   * A key made of the two for every connection (`${clientHost}>${server}`) was a string built,
   * flattened and hashed per connection: 1 % of the analysis's time with every detector.
   */
  private readonly slotOf = new Map<string, Map<string, number>>();
  private pairs = 0;
  private capacity = 0;
  /** By slot: PER_PAIR first-SYN times and PER_PAIR FIN times, each a ring; and how many of each were noted. */
  private starts: Float64Array = new Float64Array(0);
  private closes: Float64Array = new Float64Array(0);
  private startCount: Int32Array = new Int32Array(0);
  private closeCount: Int32Array = new Int32Array(0);

  /** A connection from `clientHost` to `server` began at `start` and its client sent FIN at `fin` (-1: none). */
  note(clientHost: string, server: string, start: number, fin: number): void {
    let ofServer = this.slotOf.get(server);
    let slot = ofServer?.get(clientHost);
    if (slot === undefined) {
      if (this.pairs >= MAX_PAIRS) return;
      slot = this.pairs++;
      if (slot >= this.capacity) this.grow();
      if (ofServer === undefined) this.slotOf.set(server, (ofServer = new Map()));
      ofServer.set(clientHost, slot);
    }
    this.starts[slot * PER_PAIR + (this.startCount[slot] % PER_PAIR)] = start;
    this.startCount[slot]++;
    if (fin >= 0) {
      this.closes[slot * PER_PAIR + (this.closeCount[slot] % PER_PAIR)] = fin;
      this.closeCount[slot]++;
    }
  }

  /**
   * The steady delay from the client's closes to its next first SYN to the server, shorter than
   * `below` (an attempt's replacement gap: a longer delay is no pause within it), when at least two
   * agree (cluster); null otherwise.
   */
  pauseBefore(clientHost: string, server: string, below: number, cluster: (samples: number[]) => { value: number; samples: number; spread: number } | null): { value: number; samples: number; spread: number } | null {
    const slot = this.slotOf.get(server)?.get(clientHost);
    if (slot === undefined) return null;
    const closes = this.kept(this.closes, this.closeCount[slot], slot);
    if (closes.length < 2) return null;
    const sorted = this.kept(this.starts, this.startCount[slot], slot).sort((a, b) => a - b);
    const gaps: number[] = [];
    for (const t of closes) {
      const next = firstAfter(sorted, t, time);
      if (next < sorted.length && sorted[next] - t < below) gaps.push(sorted[next] - t);
    }
    return gaps.length >= 2 ? cluster(gaps) : null;
  }

  /** The samples a slot's ring holds. */
  private kept(ring: Float64Array, count: number, slot: number): number[] {
    const n = Math.min(count, PER_PAIR);
    return Array.from(ring.subarray(slot * PER_PAIR, slot * PER_PAIR + n));
  }

  private grow(): void {
    const capacity = Math.min(MAX_PAIRS, Math.max(16, this.capacity * 2));
    this.starts = grownColumn(this.starts, capacity * PER_PAIR, float64Column);
    this.closes = grownColumn(this.closes, capacity * PER_PAIR, float64Column);
    this.startCount = grownColumn(this.startCount, capacity, int32Column);
    this.closeCount = grownColumn(this.closeCount, capacity, int32Column);
    this.capacity = capacity;
  }
}
