import type { AnalyzedConnection } from './analyzed-connection';
import type { EventFollower } from './detector';

/**
 * An idle close followed this soon by its server's port refusing a connection was the server
 * stopping (its process exiting closes every connection it held, and its listener with them), not
 * its idle timer: such a close infers no idle timeout (keepalive-race, idle-timeout-mismatch).
 */
export const STOPPED_WITHIN = 5;
/** Refusals kept per server port (the latest). */
const REFUSALS_KEPT = 256;
/** Server ports followed. */
const MAX_SERVERS = 10_000;

/**
 * When each server port refused connections (a SYN answered by RST), noted as connections end. It
 * follows connection events itself (EventFollower): each end is noted once, whichever detectors share it.
 */
export class ServerStops implements EventFollower {
  readonly followsEvents = true;
  private readonly refusals = new Map<string, number[]>();

  /** Notes `conn` if it was a refused connection attempt. */
  onConnectionEnd(conn: AnalyzedConnection): void {
    const s = conn.server;
    if (s.synAckCount !== 0 || s.rstTs < 0 || conn.client.synCount === 0 || s.payloadBytes !== 0) return;
    let refused = this.refusals.get(conn.serverName);
    if (refused === undefined) {
      if (this.refusals.size >= MAX_SERVERS) return;
      this.refusals.set(conn.serverName, (refused = []));
    }
    if (refused.length >= REFUSALS_KEPT) refused.shift();
    refused.push(s.rstTs);
  }

  /** The first refusal by `server` within STOPPED_WITHIN after `ts` (ask at the end), or null. */
  firstRefusalAfter(server: string, ts: number): number | null {
    const refused = this.refusals.get(server);
    if (refused === undefined) return null;
    let first: number | null = null;
    for (const r of refused) if (r > ts && r - ts <= STOPPED_WITHIN && (first === null || r < first)) first = r;
    return first;
  }

  /** Whether `server` refused a connection within STOPPED_WITHIN after `ts` (ask at the end). */
  stoppedAfter(server: string, ts: number): boolean {
    const refused = this.refusals.get(server);
    return refused !== undefined && refused.some((r) => r > ts && r - ts <= STOPPED_WITHIN);
  }
}

/** The analysis's one ServerStops (DetectContext.shared). */
export const SERVER_STOPS = 'server-stops';
