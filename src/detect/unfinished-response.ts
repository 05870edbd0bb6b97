import type { HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';

/**
 * What a connection that ended in the middle of a response body shows, for the detectors that
 * judge who ended it: the server (response-truncated) or the client (response-abandoned).
 */

/** The exchange whose response was still unfinished when the connection ended (the last such one). */
export function unfinishedResponse(conn: AnalyzedConnection): HttpExchange | null {
  const recent = conn.app?.recent ?? [];
  for (let i = recent.length - 1; i >= 0; i--) {
    const ex = recent[i];
    if (ex.state === 'response-incomplete') return ex;
  }
  return null;
}

/** A span of time during which the client's receive window was closed. */
export interface ClosedWindow {
  startTs: number;
  endTs: number;
}

/**
 * The client's zero-window episodes that overlap [from, to] (one still open lasting to `to`), or
 * null when the endpoint kept fewer episodes than it had (then any may have).
 */
export function closedWindows(conn: AnalyzedConnection, from: number, to: number): ClosedWindow[] | null {
  const c = conn.client;
  if (c.zeroWindowCount === 0) return [];
  if (c.zeroWindowCount > c.zeroWindowEpisodes.length) return null;
  const out: ClosedWindow[] = [];
  for (const ep of c.zeroWindowEpisodes) {
    const endTs = ep.endTs < 0 ? to : ep.endTs;
    if (ep.startTs <= to && endTs >= from) out.push({ startTs: ep.startTs, endTs });
  }
  return out;
}
