import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectorDefinition } from '../detector';
import { at, hostOf, isIdempotent, ms } from '../facts';
import type { Finding } from '../finding';
import type { HttpExchange } from '../../http/exchange';

/**
 * retried-request: the same request (method, URI, body length) from the same client host to the
 * same server, sent again on another connection shortly after it failed on one (no response:
 * reset, closed, keep-alive race). A retry is how clients hide the failures above; for a
 * non-idempotent method it is also a risk of doing the thing twice.
 *
 * Exchanges that failed are only emitted when their connection is released (a reset connection
 * lingers in the flow table), usually after the retry has completed; a retry that itself fails
 * is emitted late too. So both sides are remembered, in bounded indexes: recent requests by
 * signature, and failures still waiting for their retry.
 */

/** One request as remembered for retry matching. */
export interface RememberedRequest {
  flowId: number;
  client: string;
  server: string;
  method: string;
  uri: string;
  bodyBytes: number;
  /** Capture time of the request's first byte, and its frame. */
  ts: number;
  frame: number;
  /** Position on its connection (1: the connection's first request). */
  index: number;
  /** When its connection opened (SYN, or first packet mid-stream). */
  connectionStart: number;
  status: number | null;
  /** Already reported as the retry of a failure (a request retries at most one failure). */
  claimed: boolean;
}

/** Requests that could be retries of each other share this key. */
export function retryKey(client: string, server: string, method: string, uri: string, bodyBytes: number): string {
  return `${hostOf(client)} ${server} ${method} ${bodyBytes} ${uri}`;
}

/**
 * Recent requests by retry key: a few per key, a bounded number of keys. Two generations instead
 * of a least-recently-used Map: when the young one is full it becomes the old one and the previous
 * old one is dropped whole, so remembering costs O(1) with no per-entry eviction (deleting from
 * the front of a large Map made V8 rescan its holes on every insert).
 */
export class RecentRequests {
  private young = new Map<string, RememberedRequest[]>();
  private old = new Map<string, RememberedRequest[]>();

  constructor(
    private readonly perKey = 8,
    private readonly maxKeys = 20_000,
  ) {}

  remember(key: string, request: RememberedRequest): void {
    let list = this.young.get(key);
    if (list === undefined) {
      if (this.young.size >= this.maxKeys / 2) {
        this.old = this.young;
        this.young = new Map();
      }
      list = this.old.get(key) ?? [];
      this.young.set(key, list);
    }
    list.push(request);
    if (list.length > this.perKey) list.shift();
  }

  private listOf(key: string): RememberedRequest[] | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  /** The earliest request with this key on another connection that started within [from, to]. */
  firstBetween(key: string, otherThanFlow: number, from: number, to: number, unclaimedOnly: boolean): RememberedRequest | null {
    const list = this.listOf(key);
    if (list === undefined) return null;
    let best: RememberedRequest | null = null;
    for (const r of list) {
      if (r.flowId === otherThanFlow || r.ts < from || r.ts > to || (unclaimedOnly && r.claimed)) continue;
      if (best === null || r.ts < best.ts) best = r;
    }
    return best;
  }
}

/** How a request failed: the moment its client could tell, and what it saw. */
export interface RequestFailure {
  /** First close (RST or FIN, either side) at or after the request; the last packet when there was none. */
  at: number;
  frame: number;
  how: 'server-reset' | 'server-closed' | 'client-reset' | 'client-closed' | 'connection-died';
}

/**
 * Whether `ex` is a request that failed on its connection (no complete response, and the connection
 * ended or was closed after it), and how. Null for a request still open at capture end.
 */
export function failureOf(ex: HttpExchange, conn: AnalyzedConnection): RequestFailure | null {
  if (ex.requestStart === null || ex.uncertain) return null;
  if (ex.state !== 'no-response' && ex.state !== 'response-incomplete') return null;
  const t = ex.requestStart;
  let best: RequestFailure | null = null;
  const consider = (ts: number, frame: number, how: RequestFailure['how']): void => {
    if (ts >= t && (best === null || ts < best.at)) best = { at: ts, frame, how };
  };
  const s = conn.server;
  const c = conn.client;
  consider(s.rstTs, s.rstFrame, 'server-reset');
  consider(s.finTs, s.finFrame, 'server-closed');
  consider(c.rstTs, c.rstFrame, 'client-reset');
  consider(c.finTs, c.finFrame, 'client-closed');
  // A server that closed before the request (keep-alive race) and then reset it: the RST decides.
  if (best !== null) return best;
  if (!conn.ended || conn.endReason === 'capture-end') return null; // still open: not (yet) a failure
  return { at: conn.lastTs, frame: conn.lastFrame, how: 'connection-died' };
}

interface PendingFailure {
  key: string;
  flowId: number;
  client: string;
  request: RememberedRequest;
  failure: RequestFailure;
  /** The keep-alive race finding on the failed connection, if any. */
  raceId: string | null;
}

/** Failures waiting for their retry to be emitted; the oldest are dropped past this many. */
const MAX_PENDING_FAILURES = 1024;
/** Unanswered requests of one connection considered (pipelined ones behind the first add little). */
const MAX_UNANSWERED_PER_CONNECTION = 8;

/**
 * The recent requests of one analysis, shared by the detectors that look for retries
 * (`ctx.shared`): each exchange is turned into a remembered request and indexed once, however
 * many detectors offer it.
 */
export class RequestIndex {
  readonly recent = new RecentRequests();
  private lastExchange: HttpExchange | null = null;
  private lastEntry: { key: string; request: RememberedRequest } | null = null;

  /** Remembers the exchange's request (once); returns it with its retry key, or null. */
  offer(ex: HttpExchange, conn: AnalyzedConnection): { key: string; request: RememberedRequest } | null {
    if (ex === this.lastExchange) return this.lastEntry;
    this.lastExchange = ex;
    const request = remembered(ex, conn);
    this.lastEntry = request === null ? null : { key: retryKey(request.client, request.server, request.method, request.uri, request.bodyBytes), request };
    if (this.lastEntry !== null) this.recent.remember(this.lastEntry.key, this.lastEntry.request);
    return this.lastEntry;
  }
}

export const REQUEST_INDEX = 'recent-requests';

/** A decided exchange as a request to remember, or null when its request is unknown or uncertain. */
export function remembered(ex: HttpExchange, conn: AnalyzedConnection): RememberedRequest | null {
  if (ex.method === null || ex.requestStart === null || ex.uncertain) return null;
  return {
    flowId: conn.id,
    client: conn.clientName,
    server: conn.serverName,
    method: ex.method,
    uri: ex.uri ?? '',
    bodyBytes: ex.requestBodyBytes,
    ts: ex.requestStart,
    frame: ex.requestFrame ?? 0,
    index: ex.index,
    connectionStart: conn.startTs,
    status: ex.status,
    claimed: false,
  };
}

const FAILURE_TEXT: Record<RequestFailure['how'], string> = {
  'server-reset': 'the server reset the connection',
  'server-closed': 'the server closed the connection',
  'client-reset': 'the client reset the connection',
  'client-closed': 'the client closed the connection',
  'connection-died': 'the connection went silent',
};

export const retriedRequest: DetectorDefinition = {
  id: 'retried-request',
  meta: {
    description:
      'The same request (method, URI, body length) is sent again on another connection from the same client host shortly after it failed on one (no response: reset, closed, keep-alive race).',
    severity: 'info',
    messages: {
      retry: '{request} sent again on another connection {after} s after it failed on {failedOn} ({failure}){risk}',
    },
  },
  create(ctx) {
    const window = ctx.options.retryWindow;
    const index = ctx.shared(REQUEST_INDEX, () => new RequestIndex());
    const requests = index.recent;
    const pending = new Map<string, PendingFailure[]>();
    let pendingCount = 0;
    /**
     * Unanswered requests by connection, judged when the connection ends: an exchange may be decided
     * (the server had already closed) before the close that tells the client it failed (the RST), and
     * by then the race detector has spoken for the connection. Bounded by live connections.
     */
    const unanswered = new Map<number, Array<{ key: string; request: RememberedRequest; ex: HttpExchange }>>();

    const report = (failed: PendingFailure, retry: RememberedRequest): Finding => {
      retry.claimed = true;
      const idempotent = isIdempotent(retry.method);
      const after = retry.ts - failed.failure.at;
      return ctx.report({
        flowId: retry.flowId,
        client: retry.client,
        server: retry.server,
        ts: retry.ts,
        message: 'retry',
        data: {
          request: `${retry.method} ${retry.uri}`,
          after: ms(after),
          failedOn: failed.client,
          failure: FAILURE_TEXT[failed.failure.how],
          risk: idempotent ? '' : `; ${retry.method} is not idempotent: a blind retry can apply it twice`,
        },
        severity: idempotent ? 'info' : 'warning',
        evidence: {
          request: `${retry.method} ${retry.uri}`,
          method: retry.method,
          uri: retry.uri,
          requestBodyBytes: retry.bodyBytes,
          idempotent,
          failedFlowId: failed.flowId,
          failedOn: failed.client,
          failure: failed.failure.how,
          failedAt: at(failed.failure.at),
          afterFailure: ms(after),
          afterFirstAttempt: ms(retry.ts - failed.request.ts),
          newConnection: retry.index === 1,
          retryStatus: retry.status,
          keepaliveRace: failed.raceId,
        },
        frames: [failed.request.frame, failed.failure.frame, retry.frame],
      });
    };

    /** A failure whose retry may already be known; else it waits (bounded) for one. */
    const handleFailure = (key: string, request: RememberedRequest, failure: RequestFailure, raceId: string | null): void => {
      const failed: PendingFailure = { key, flowId: request.flowId, client: request.client, request, failure, raceId };
      const retry = requests.firstBetween(key, request.flowId, failure.at, failure.at + window, true);
      if (retry !== null) {
        report(failed, retry);
        return;
      }
      const list = pending.get(key);
      if (list === undefined) pending.set(key, [failed]);
      else list.push(failed);
      pendingCount++;
      if (pendingCount > MAX_PENDING_FAILURES) dropOldestPending();
    };

    const dropOldestPending = (): void => {
      const first = pending.entries().next();
      if (first.done) return;
      const [key, list] = first.value;
      list.shift();
      pendingCount--;
      if (list.length === 0) pending.delete(key);
    };

    /** Whether this request retries a failure seen earlier (emitted before it). */
    const matchPending = (key: string, request: RememberedRequest): void => {
      const list = pending.get(key);
      if (list === undefined) return;
      for (let i = 0; i < list.length; i++) {
        const failed = list[i];
        if (failed.flowId === request.flowId) continue;
        if (request.ts < failed.failure.at || request.ts > failed.failure.at + window) continue;
        list.splice(i, 1);
        pendingCount--;
        if (list.length === 0) pending.delete(key);
        report(failed, request);
        return;
      }
    };

    const raceOn = (flowId: number): string | null => {
      // Findings of the connection being released were reported just now, at the end of the list.
      const all = ctx.findings();
      for (let i = all.length - 1; i >= 0 && all[i].flowId === flowId; i--) {
        if (all[i].kind === 'keepalive-race') return all[i].id;
      }
      return null;
    };

    return {
      onExchange(ex, conn) {
        const entry = index.offer(ex, conn);
        if (entry === null) return;
        const { key, request } = entry;
        matchPending(key, request);
        if (ex.state !== 'no-response' && ex.state !== 'response-incomplete') return;
        const list = unanswered.get(conn.id);
        if (list === undefined) unanswered.set(conn.id, [{ key, request, ex }]);
        else if (list.length < MAX_UNANSWERED_PER_CONNECTION) list.push({ key, request, ex });
      },
      onConnectionEnd(conn) {
        const list = unanswered.get(conn.id);
        if (list === undefined) return;
        unanswered.delete(conn.id);
        const raceId = raceOn(conn.id);
        for (const u of list) {
          const failure = failureOf(u.ex, conn);
          if (failure !== null) handleFailure(u.key, u.request, failure, raceId);
        }
      },
    };
  },
};
