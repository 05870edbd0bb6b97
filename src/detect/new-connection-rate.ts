import type { AnalyzedConnection } from './analyzed-connection';
import { float64Column, grownColumn } from './grown-column';
import { closedAt } from './held-connections';
import { firstAtOrAfter } from './sorted-search';

const time = (t: number): number => t;

/** Connections kept in all (four numbers each); past it, new ones are not kept and no rate is told. */
const MAX_KEPT = 100_000;
/** Numbers kept per connection. */
const ROW = 4;
/**
 * A response this soon (seconds) after the request is an application that had the connection
 * already: a connection waiting in a full accept queue gets its answer only once the application
 * accepts it, after the ones queued before it.
 */
export const SERVED_AT_ONCE = 0.1;
/** Handshakes answered between the first and the last dropped SYN, at least, for a pace to be read. */
const MIN_PACED = 3;
/** Gaps between those handshakes within this fraction of their median: a steady pace. */
const PACE_TOLERANCE = 0.25;

/** What the handshakes a server answered tell of a rate limit on new connections (RateLimitedSyns.of). */
export interface NewConnectionRate {
  /** Seconds between handshakes answered while SYNs were being dropped (the shortest gap), and how many gaps. */
  interval: number;
  gaps: number;
  /** Handshakes answered in that span, and just before the first dropped SYN (within one interval: the burst). */
  paced: number;
  burst: number;
  /** The slowest answer (seconds from request to first response byte) among connections answered in the span. */
  slowestService: number;
}

/**
 * The handshakes a server answered, with when the request and the response came, for one
 * judgement at the end: whether SYNs dropped meanwhile met a rate limit on new connections (a
 * firewall's `limit rate`, hashlimit, a load balancer's connection rate) rather than a full
 * accept queue. A rate limit lets handshakes through at a steady pace (after a burst) whatever the
 * server is doing, and the server, idle, serves each at once; a full accept queue drops SYNs only
 * while connections wait in it unserved (blind round 11, S5a against S5b: listen(1) with an
 * accept every 2 s also answers handshakes at a steady pace, but its connections wait 0.6-2.6 s).
 */
export class RateLimitedSyns {
  /** Per server: flat [synAck, request, response, closed] per answered connection (-1: none). */
  /** By server: ROW numbers per connection (its SYN-ACK, request, response, close), in a typed array grown by doubling, outside the heap the garbage collector sizes itself by. */
  private readonly rows = new Map<string, { values: Float64Array; length: number }>();
  private kept = 0;

  note(conn: AnalyzedConnection): void {
    const s = conn.server;
    const c = conn.client;
    if (s.synAckTimes.length === 0 || this.kept >= MAX_KEPT) return;
    let rows = this.rows.get(conn.serverName);
    if (rows === undefined) this.rows.set(conn.serverName, (rows = { values: new Float64Array(16 * ROW), length: 0 }));
    if (rows.length + ROW > rows.values.length) rows.values = grownColumn(rows.values, rows.values.length * 2, float64Column);
    const at = rows.length;
    rows.values[at] = s.synAckTimes[0];
    rows.values[at + 1] = c.payloadBytes > 0 ? c.firstDataTs : -1;
    rows.values[at + 2] = s.payloadBytes > 0 ? s.firstDataTs : -1;
    rows.values[at + 3] = closedAt(conn);
    rows.length += ROW;
    this.kept++;
  }

  /**
   * The pace at which `server` answered handshakes while the SYNs at `dropped` (times, sorted) went
   * unanswered, when it fits a rate limit: at least MIN_PACED answered between the first and the
   * last drop at a steady pace, every connection answered then (and before) served at once, and
   * none waiting for the application at any drop. Null otherwise, or when rows were not all kept.
   */
  of(server: string, dropped: readonly number[]): NewConnectionRate | null {
    if (this.kept >= MAX_KEPT || dropped.length < 2) return null;
    const rows = this.rows.get(server);
    if (rows === undefined) return null;
    const list = rows.values.subarray(0, rows.length);
    const from = dropped[0];
    const to = dropped[dropped.length - 1];
    const paced: number[] = [];
    let slowest = 0;
    for (let i = 0; i < list.length; i += 4) {
      const synAck = list[i];
      const request = list[i + 1];
      const response = list[i + 2];
      const closed = list[i + 3];
      if (synAck > from && synAck <= to) paced.push(synAck);
      // Only connections open while SYNs were dropped tell what the listener was doing then.
      if (request < 0 || synAck > to || closed < from) continue;
      // Served at once, or never asked: a request left unanswered (or answered late) is a server
      // that did not keep up, whatever dropped the SYNs.
      if (response < 0 || response - request > SERVED_AT_ONCE) return null;
      slowest = Math.max(slowest, response - request);
      // Waiting for the application at a dropped SYN (the request in, no answer yet): a full accept
      // queue's mark. The first drop at or after the request is the one to look at (a flood's
      // thousands of drops: a binary search, not a scan).
      const next = firstAtOrAfter(dropped, request, time);
      if (next < dropped.length && dropped[next] < response && dropped[next] < closed) return null;
    }
    if (paced.length < MIN_PACED) return null;
    paced.sort((a, b) => a - b);
    const gaps: number[] = [];
    for (let i = 1; i < paced.length; i++) gaps.push(paced[i] - paced[i - 1]);
    const sorted = [...gaps].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1];
    if (median <= 0 || gaps.some((g) => Math.abs(g - median) > PACE_TOLERANCE * median)) return null;
    let burst = 0;
    for (let i = 0; i < list.length; i += 4) if (list[i] <= from && list[i] > from - median) burst++;
    // The shortest gap: a limit opens again every interval, and lets the next SYN in at the first
    // retransmission to come after that, so the gaps are the interval or a little more.
    return { interval: sorted[0], gaps: gaps.length, paced: paced.length, burst, slowestService: slowest };
  }
}
