import type { AnalyzedConnection } from './analyzed-connection';
import type { EventFollower } from './detector';

/**
 * An idle close followed this soon by its server's port refusing a connection was the server
 * stopping (its process exiting closes every connection it held, and its listener with them), not
 * its idle timer: such a close infers no idle timeout (keepalive-race, idle-timeout-mismatch).
 */
export const STOPPED_WITHIN = 5;
/**
 * Refusals kept per server port: its first ones and its latest ones. A flood of refusals (45 000 in
 * blind round 13b, S5a: ab against a restarting gunicorn) kept only as the latest lost when the
 * outage began, and a stop's first refusal read as 1.282 s after the resets it followed at once.
 */
const REFUSALS_KEPT = 256;
/** Server ports followed. */
const MAX_SERVERS = 10_000;

/**
 * When each server port refused connections (a SYN answered by RST), noted as connections end. It
 * follows connection events itself (EventFollower): each end is noted once, whichever detectors share it.
 */
export class ServerStops implements EventFollower {
  readonly followsEvents = true;
  /** Each server port's first REFUSALS_KEPT refusals, then its latest REFUSALS_KEPT in a ring. */
  private readonly refusals = new Map<string, { first: number[]; latest: number[]; next: number }>();

  /** Notes `conn` if it was a refused connection attempt. */
  onConnectionEnd(conn: AnalyzedConnection): void {
    const s = conn.server;
    if (s.synAckCount !== 0 || s.rstTs < 0 || conn.client.synCount === 0 || s.payloadBytes !== 0) return;
    let refused = this.refusals.get(conn.serverName);
    if (refused === undefined) {
      if (this.refusals.size >= MAX_SERVERS) return;
      this.refusals.set(conn.serverName, (refused = { first: [], latest: [], next: 0 }));
    }
    if (refused.first.length < REFUSALS_KEPT) {
      refused.first.push(s.rstTs);
    } else if (refused.latest.length < REFUSALS_KEPT) {
      refused.latest.push(s.rstTs);
    } else {
      refused.latest[refused.next] = s.rstTs;
      refused.next = (refused.next + 1) % REFUSALS_KEPT;
    }
  }

  /** The first refusal by `server` within STOPPED_WITHIN after `ts` (ask at the end), or null. */
  firstRefusalAfter(server: string, ts: number): number | null {
    const refused = this.refusals.get(server);
    if (refused === undefined) return null;
    let first: number | null = null;
    for (const list of [refused.first, refused.latest]) for (const r of list) if (r > ts && r - ts <= STOPPED_WITHIN && (first === null || r < first)) first = r;
    return first;
  }

  /** Whether `server` refused a connection within STOPPED_WITHIN after `ts` (ask at the end). */
  stoppedAfter(server: string, ts: number): boolean {
    return this.firstRefusalAfter(server, ts) !== null;
  }
}

/** The analysis's one ServerStops (DetectContext.shared). */
export const SERVER_STOPS = 'server-stops';
