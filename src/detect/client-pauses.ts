import { firstAfter } from './sorted-search';

/** Opens and closes kept in all (two numbers each); past it, new ones are not kept. */
const MAX_KEPT = 100_000;

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
  private readonly starts = new Map<string, number[]>();
  private readonly closes = new Map<string, number[]>();
  private kept = 0;

  /** A connection from `clientHost` to `server` began at `start` and its client sent FIN at `fin` (-1: none). */
  note(clientHost: string, server: string, start: number, fin: number): void {
    if (this.kept >= MAX_KEPT) return;
    const key = `${clientHost}>${server}`;
    push(this.starts, key, start);
    this.kept++;
    if (fin >= 0) {
      push(this.closes, key, fin);
      this.kept++;
    }
  }

  /**
   * The steady delay from the client's closes to its next first SYN to the server, shorter than
   * `below` (an attempt's replacement gap: a longer delay is no pause within it), when at least two
   * agree (cluster); null otherwise.
   */
  pauseBefore(clientHost: string, server: string, below: number, cluster: (samples: number[]) => { value: number; samples: number; spread: number } | null): { value: number; samples: number; spread: number } | null {
    const key = `${clientHost}>${server}`;
    const closes = this.closes.get(key);
    const starts = this.starts.get(key);
    if (closes === undefined || starts === undefined || closes.length < 2) return null;
    const sorted = [...starts].sort((a, b) => a - b);
    const gaps: number[] = [];
    for (const t of closes) {
      const next = firstAfter(sorted, t, time);
      if (next < sorted.length && sorted[next] - t < below) gaps.push(sorted[next] - t);
    }
    return gaps.length >= 2 ? cluster(gaps) : null;
  }
}

function push(map: Map<string, number[]>, key: string, t: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [t]);
  else list.push(t);
}
