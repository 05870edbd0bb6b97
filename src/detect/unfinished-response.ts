import type { HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';
import { requestLine } from './facts';

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

/**
 * A FIN within this long (seconds) after a zero window reopened, on a message cut short, was
 * queued behind the window: the sender had closed during the stall (its kernel flushes what the
 * socket held, then the FIN). zero-window-stall reports such a cut; response-truncated leaves it.
 */
export const FLUSH_AFTER_REOPEN = 1;

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

/** An unfinished response whose request and head were seen whole (no capture loss): what a cut is judged on. */
export type StartedResponse = HttpExchange & { status: number; requestStart: number; responseStart: number };

/** The connection's unfinished response (unfinishedResponse) when its request and head were seen and nothing was lost; else null. */
export function startedResponse(conn: AnalyzedConnection): StartedResponse | null {
  const ex = unfinishedResponse(conn);
  if (ex === null || ex.uncertain || ex.status === null || ex.responseStart === null || ex.requestStart === null) return null;
  return ex as StartedResponse;
}

/** A response cut by a close, by either side: its request, how far its body had come, and the close. */
export interface CutResponse {
  flowId: number;
  client: string;
  server: string;
  request: string;
  status: number;
  /** HttpExchange.statusClass: the snaplen cut the status line (`status` is its class's lowest code). */
  statusClass?: string;
  /** The Content-Length declared, or -1 when none (chunked, or a body the server's close ends). */
  declared: number;
  received: number;
  requestStart: number;
  requestFrame: number;
  responseStart: number;
  responseFrame: number;
  /** The server's last byte before the close (the response's start when none came after its head). */
  lastByteTs: number;
  lastByteFrame: number;
  closeTs: number;
  closeFrame: number;
  /** Seconds from the server's last byte to the close: a read or inactivity timeout shows here. */
  silence: number;
  /** Seconds from the request's first byte to the close: a limit on the whole exchange shows here. */
  sinceRequest: number;
}

/** The CutResponse of `ex` on `conn`, cut by `close` after the server's last byte at `lastByteTs` (frame `lastByteFrame`). */
export function cutResponse(
  conn: AnalyzedConnection, ex: StartedResponse, close: { ts: number; frame: number }, lastByteTs: number, lastByteFrame: number,
): CutResponse {
  return {
    flowId: conn.id,
    client: conn.clientName,
    server: conn.serverName,
    request: requestLine(ex) ?? '?',
    status: ex.status,
    statusClass: ex.statusClass,
    declared: ex.responseFraming === 'length' ? (ex.responseLength ?? -1) : -1,
    received: ex.responseBodyBytes,
    requestStart: ex.requestStart,
    requestFrame: ex.requestFrame ?? 0,
    responseStart: ex.responseStart,
    responseFrame: ex.responseFrame ?? 0,
    lastByteTs,
    lastByteFrame,
    closeTs: close.ts,
    closeFrame: close.frame,
    silence: close.ts - lastByteTs,
    sinceRequest: close.ts - ex.requestStart,
  };
}
