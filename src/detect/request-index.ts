import { ownAgent } from './client-agents';
import { float64Column, grownColumn, int32Column, uint32Column, uint8Column } from './grown-column';
import { packedStatus, unpackedStatus, type HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';
import { firstCloseTs, HALF_CLOSE_GRACE } from './facts';
import { sameTarget } from './request-target';

/**
 * The recent requests of one analysis, for the detectors that look for retries (retried-request,
 * keepalive-race): a request failed on one connection is matched with the same request sent
 * again on another. Failed exchanges are only emitted when their connection is released, usually
 * after their retry, so every request is remembered for a while.
 *
 * Every exchange passes through here, so remembering must cost next to nothing: the requests sit
 * in a ring of columns (typed arrays and arrays of shared strings) rather than one object and one
 * key string per request, which the GC had to copy and promote by the hundred thousand. Requests
 * with the same signature are chained through a hash of it; an object is made only for a request
 * a detector asks for (a match, or a failed request).
 */

/** A next attempt sooner than this after the failed one is a retry, whatever the client's pace (seconds). */
export const PACE_MIN = 0.1;

/**
 * The same request sent again after the failure at the client's own pace: after a pause as long as
 * the one it made before the failed request on its connection (within a factor of two), and not at
 * once. A client that sends a request, pauses and sends it again (a poller, a test loop) and was
 * told of the failure went on with its next iteration (python requests raised ConnectionError each
 * time, and its next call came at its pause). Retry logic resends at once (Go's Transport,
 * OkHttp, libcurl, urllib3's Retry, nginx) or after a backoff of its own.
 */
export function atItsPace(pause: number | null, failedAt: number, nextTs: number): boolean {
  if (pause === null) return false;
  const since = nextTs - failedAt;
  return since >= PACE_MIN && since >= 0.5 * pause && since <= 2 * pause;
}

/**
 * A next attempt whose first packet (its new connection's SYN, or the request on one opened before)
 * left within this of its client's give-up was sent at once (seconds): retry logic in the program
 * that gave up reconnects in the same breath (Ruby's Net::HTTP: its SYN 0.1 ms after its FIN; Traffic
 * Server opens the next connection before it closes the last). A loop's next call must first hand
 * the error to its caller, or start a new process (curl in a shell loop: 15 ms).
 */
export const AT_ONCE = 0.005;

/** A failure as the next attempt is judged against it: when, whether the server's packet made it, and the capture's round trip to the client. */
export interface FailureMoment {
  /** The close (RST or FIN) that ended the request, at the capture point. */
  at: number;
  /**
   * The server's RST or FIN after the request ended it: its client learnt of it only when that
   * reached it. False for the client's own close (it knew when it sent it) and for a server close
   * that came before the request (its client met it as it sent).
   */
  byServer: boolean;
  /**
   * Round trip from the capture point to the client of the failed connection and back (its
   * handshake's SYN-ACK to ACK; 0 when unknown): next to the server, a reaction of the client to
   * the server's close shows no sooner than this after it.
   */
  clientRtt: number;
}

/**
 * Whether `next` may be its client's reaction to the failure of the request sent at `failedTs`,
 * on what the capture shows of when and where it was sent; the pace and the program that sent it
 * are judged elsewhere.
 *
 * - It left after its client could know of the failure: the server's close had reached the client.
 *   At a capture next to the server that is the round trip to the client after the close; half of
 *   the handshake's round trip is the margin (that one handshake's queueing is no floor). A copy
 *   sent before was another caller's (or another thread's) request on its own connection.
 * - It did not go on a connection the server had closed before the failure (a stale reuse): the
 *   two closes reached their client in that order, so a client that had learnt of the failure had
 *   learnt of that close too, and a pool that retries checks its connections before it reuses one
 *   (Go's Transport reads each idle one, urllib3 and libcurl look for a FIN, OkHttp and HttpClient 5
 *   check health). Such a copy was another caller's, whose pool had not noticed the close: several
 *   processes of one host, each with its connection idle as long, reuse them at about the same
 *   time, and the server's idle timer closes them at the same tick (two aiohttp processes, 32 ms
 *   apart, each failing a POST on its own 3 s old connection; aiohttp does not retry).
 * - On a connection opened before the failed attempt left and unused until then (dialled ahead), it
 *   left at once (AT_ONCE, plus the connection's handshake round trip for a capture away from the
 *   client): retry logic that picks a connection it already holds sends on it in the same breath;
 *   a thread that dials ahead sends when its work is ready. A pooled connection that carried
 *   requests before may carry a retry some milliseconds later (urllib3's Retry, as on a new one).
 *   A connection opened after the failed attempt left may be the retry's own (Java's HttpClient
 *   dials as it sees the server's close, before it closes in turn).
 */
export function mayReactTo(
  failedTs: number,
  failure: FailureMoment,
  next: Pick<RememberedRequest, 'ts' | 'connectionStart' | 'connectionReadyAt' | 'previousStart' | 'serverClosedBefore'>,
): boolean {
  if (failure.byServer && next.ts < failure.at + 0.5 * failure.clientRtt) return false;
  if (next.serverClosedBefore >= 0 && next.serverClosedBefore <= failure.at) return false;
  if (next.connectionStart >= failedTs || next.previousStart >= 0) return true;
  const roundTrip = Math.max(0, next.connectionReadyAt - next.connectionStart);
  return next.ts - failure.at < AT_ONCE + roundTrip;
}

/** Requests that could be retries of each other share this: client host, server, method, URI, body length. */
export interface RequestSignature {
  /** The client's "ip:port"; only the host part counts (a retry comes from another port). */
  client: string;
  server: string;
  method: string;
  uri: string;
  bodyBytes: number;
}

/** One request as remembered, materialised for a detector. */
export interface RememberedRequest extends RequestSignature {
  /** Its entry in the index (to claim it). */
  entry: number;
  /** Its signature hash (see signatureHash). */
  hash: number;
  flowId: number;
  /** Capture time of the request's first byte, and its frame. */
  ts: number;
  frame: number;
  /** Position on its connection (1: the connection's first request). */
  index: number;
  /** When its connection opened (SYN, or first packet mid-stream). */
  connectionStart: number;
  /** When its connection's handshake completed (its client's ACK), or connectionStart when that was not seen. */
  connectionReadyAt: number;
  /** When the request before it on its connection started; -1 when it was the first or that is no longer known. */
  previousStart: number;
  /** When the server had closed its connection (its FIN or RST) before it was sent (a stale reuse); -1 when it had not. */
  serverClosedBefore: number;
  /** When its last byte was seen, and its response's first byte (null: none). */
  requestEnd: number | null;
  responseStart: number | null;
  /** Whether its client had an answer: a response head before it closed (see answeredInTime). */
  answered: boolean;
  /**
   * Whether it is known to have got no answer: not answered, and a close was seen that no answer
   * follows (the server's FIN or RST, before or after it, or its client's after it). False for one
   * still waiting when the capture ended.
   */
  unanswered: boolean;
  /**
   * When its client gave up on it: closed (a FIN past the half-close grace, or a RST) before any
   * answer began, as far as seen when it was remembered; null otherwise. Its wait ended there, even
   * where the server answered later into the closed socket (then `answered` may still be true: a
   * complete response counts for a client that may have half-closed): a request sent after that
   * moment was nobody's forward of it (RequestCopies).
   */
  clientGaveUpAt: number | null;
  /**
   * When the exchange ended: its response's end, or for one without a complete response its
   * connection's last packet (exchanges are emitted when their connection ends): after it, its
   * client was no longer waiting for this request.
   */
  end: number;
  /**
   * Whether `end` is sure: the response ended, or the connection had ended when the exchange was
   * remembered, or a close of it had been seen (an unanswered exchange emitted while its connection
   * lived has only a lower bound).
   */
  endKnown: boolean;
  status: number | null;
  /** HttpExchange.statusClass: the snaplen cut the status line, `status` is its class's lowest code. */
  statusClass?: string;
  /** Already reported as the retry of a failure (a request retries at most one failure). */
  claimed: boolean;
  /** The request carried an Idempotency-Key header (see HttpExchange.idempotencyKey). */
  idempotencyKey: boolean;
  /**
   * The program that sent it, by its `User-Agent` ('' for none), when that is known for this very
   * request: it was its connection's first (whose agent the HTTP stage reads,
   * HttpSession.clientSoftware) and said no proxy forwarded it (see agentOf). Null otherwise.
   */
  agent: string | null;
  /** The request's HTTP version and `Connection` header (null: none sent), when `headWhole` (see sameSender). */
  version: string | null;
  connectionHeader: string | null;
  /** Its head was read whole: not cut by the snaplen, not unfinished. */
  headWhole: boolean;
}

/** What tells which program sent a request (see sameSender). */
export type SenderMarks = Pick<RememberedRequest, 'agent' | 'version' | 'connectionHeader' | 'headWhole'>;

/**
 * Whether two requests may have come from one program. A program that sends a request again (its
 * retry logic, a proxy's next attempt upstream) sends the same head again: the same `User-Agent`,
 * the same HTTP version and the same `Connection` header. Two programs on one host that fetch the
 * same URL often differ in them even when neither names itself (Node's Agent sends `Connection:
 * keep-alive`, Python's http.client none): one's request right after the other's failure is a
 * coincidence, not a retry. What is unknown (an agent not known for that very request, a head the
 * snaplen cut) tells nothing.
 */
export function sameSender(a: SenderMarks, b: SenderMarks): boolean {
  if (a.agent !== null && b.agent !== null && a.agent !== b.agent) return false;
  return !(a.headWhole && b.headWhole) || (a.version === b.version && a.connectionHeader === b.connectionHeader);
}

/** The sender marks of an exchange's request (see sameSender). */
export function senderMarksOf(ex: HttpExchange, conn: AnalyzedConnection): SenderMarks {
  return { agent: agentOf(ex, conn), version: ex.requestVersion, connectionHeader: ex.requestConnection, headWhole: headWhole(ex) };
}

/** Whether the request's head was read whole (its version and Connection header are what was sent). */
function headWhole(ex: HttpExchange): boolean {
  return ex.requestCut !== true && ex.requestHeadUnfinished !== true && ex.requestTargetCut !== true && ex.requestVersion !== null;
}

/** Requests remembered at most (the oldest are forgotten first), and at first. */
const MAX_CAPACITY = 1 << 16;
/**
 * Small, so that the ring first grows within the first requests, before V8 compiles the code that
 * adds to it: grown first later, the call to grow() had never run, and the compiled code was
 * thrown away (and compiled again) at that point.
 */
const INITIAL_CAPACITY = 1 << 6;
/**
 * Entries looked at per search, newest first. Searches are rare (one per failed request), but a
 * busy signature (a health check) can chain thousands of entries. The walk cannot stop at the
 * first request older than the window: exchanges are remembered as they complete, so one that
 * hung for minutes arrives long after its start.
 */
const MAX_CHAIN_STEPS = 4096;
/** Newest entries scanned, and requests of one client host and server kept, to judge a client's cadence. */
const MAX_CADENCE_STEPS = 8192;
/** How long before its upstream copy a proxy's client request may have come to be the one forwarded (seconds). */
const FORWARDED_WITHIN = 1;
const MAX_CADENCE_REQUESTS = 64;
/** How far either side of a failure a client host's own rate of the failed request is measured (seconds). */
const RATE_SPAN = 30;
/** Later copies looked at for one answered copy's company (see sameRequestTogether). */
const MAX_COMPANION_STEPS = 64;
/** The shortest span a rate is measured over (a burst at one instant is not an infinite rate). */
const RATE_SPAN_MIN = 0.01;
/** Uncertain requests kept (newest), only to tell that a client had moved on (see movedOnBetween). */
const UNCERTAIN_KEPT = 256;

/** The part of "ip:port" / "[v6]:port" before the port separator. */
function hostLength(endpoint: string): number {
  const i = endpoint.lastIndexOf(':');
  return i < 0 ? endpoint.length : i;
}

function sameHost(a: string, b: string): boolean {
  const n = hostLength(a);
  if (n !== hostLength(b)) return false;
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
  return true;
}

function hashChars(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return Math.imul(h ^ 0x2c, 16777619); // a separator, so "ab"+"c" and "a"+"bc" differ
}

function hashWord(h: number, word: number): number {
  return Math.imul(h ^ (word | 0), 16777619);
}

/** The endpoints of a connection as the flow stage keeps them: address words and ports. */
export interface EndpointWords {
  c0: number; c1: number; c2: number; c3: number;
  s0: number; s1: number; s2: number; s3: number; sPort: number;
}

/**
 * A 30-bit hash of a request's signature (FNV-1a): the client's address words (not its port),
 * the server's words and port, then the method, URI and body length. No key string is built,
 * and only the method and URI are hashed character by character.
 */
export function signatureHash(conn: EndpointWords, method: string, uri: string, bodyBytes: number): number {
  let h = 0x811c9dc5 | 0;
  h = hashWord(h, conn.c0);
  h = hashWord(h, conn.c1);
  h = hashWord(h, conn.c2);
  h = hashWord(h, conn.c3);
  h = hashWord(h, conn.s0);
  h = hashWord(h, conn.s1);
  h = hashWord(h, conn.s2);
  h = hashWord(h, conn.s3);
  h = hashWord(h, conn.sPort);
  h = hashChars(h, method);
  h = hashChars(h, uri);
  h = hashWord(h, bodyBytes);
  h = hashWord(h, Math.floor(bodyBytes / 4294967296));
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/**
 * When the request before `ex` on its connection started, from the connection's recent exchanges
 * (the analysis adds `ex` to them before the detectors hear of it); -1 for a connection's first
 * request, or when the one before has scrolled out of them.
 */
function previousRequestStart(ex: HttpExchange, conn: AnalyzedConnection): number {
  const recent = conn.app?.recent;
  if (recent === undefined || ex.index <= 1) return -1;
  for (let i = recent.length - 1; i >= 0; i--) {
    const other = recent[i];
    if (other.index === ex.index - 1) return other.requestStart ?? -1;
  }
  return -1;
}

/**
 * The `User-Agent` that sent `ex` when it is known for this very request ('' for none), else null:
 * only a connection's first request is sure to be its agent's (a proxy's pooled connection carries
 * other clients' requests after it), and only when no proxy said it forwarded it and the snaplen
 * did not cut its head (where the agent may have been).
 */
function agentOf(ex: HttpExchange, conn: AnalyzedConnection): string | null {
  if (ex.index !== 1 || ex.requestCut === true || ex.requestHeadUnfinished === true) return null;
  return ownAgent(conn);
}

/**
 * Whether the client of `ex` had an answer: a response whose head came before the client closed or
 * reset the connection (a complete response always counts: a client that half-closed still read
 * it). A response that began only after the client's close (a server slower than the client's
 * timeout, whose late answer the closed socket reset) answered nobody.
 */
function answeredInTime(ex: HttpExchange, conn: AnalyzedConnection): boolean {
  if (ex.status === null || ex.responseStart === null || ex.responseAfterClientClose === true) return false;
  if (ex.state === 'complete') return true;
  const closedAt = clientCloseAfter(conn, ex.requestStart ?? 0);
  return closedAt < 0 || ex.responseStart < closedAt;
}

/**
 * When the client of `ex` gave up on it (RememberedRequest.clientGaveUpAt), -1 for not (yet): its
 * close before the answer began, as answeredAfterClientClosed (facts.ts) reads it.
 */
function gaveUpAt(ex: HttpExchange, conn: AnalyzedConnection): number {
  const end = ex.requestEnd ?? ex.requestStart ?? 0;
  const c = conn.client;
  const fin = c.finTs > end + HALF_CLOSE_GRACE ? c.finTs : Infinity;
  const rst = c.rstTs >= end ? c.rstTs : Infinity;
  const closedAt = Math.min(fin, rst);
  return closedAt === Infinity || (ex.responseStart !== null && ex.responseStart <= closedAt) ? -1 : closedAt;
}

/** The client's first close (FIN or RST) at or after `t` seen so far, -1 for none. */
function clientCloseAfter(conn: AnalyzedConnection, t: number): number {
  const c = conn.client;
  return c.finTs >= t && (c.rstTs < t || c.finTs <= c.rstTs) ? c.finTs : c.rstTs >= t ? c.rstTs : -1;
}

export class RequestIndex {
  private capacity = INITIAL_CAPACITY;
  /** Entries written so far; entry n sits in slot n % capacity while n >= written - capacity. */
  private written = 0;
  private mask = 2 * INITIAL_CAPACITY - 1;
  /** Newest entry per hash bucket, -1 for none. */
  private heads: Float64Array = new Float64Array(2 * INITIAL_CAPACITY).fill(-1);
  // Columns, by slot.
  private hash: Int32Array = new Int32Array(INITIAL_CAPACITY);
  /** The previous entry of the same bucket, -1 for none. */
  private prev: Float64Array = new Float64Array(INITIAL_CAPACITY);
  // Integral columns in 4 bytes, not 8 (0.8 MB at the full 65 536 entries): a connection id, a
  // frame number (pcap counts fit 32 bits unsigned) and an exchange's index on its connection.
  private flowId: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private ts: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private frame: Uint32Array = new Uint32Array(INITIAL_CAPACITY);
  private index: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private bodyBytes: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private connectionStart: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private previousStart: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private readyAt: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private serverClosedBefore: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** When the exchange ended: its response's end, else its connection's last packet (it is emitted when that ends). */
  private end: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** The request's last byte and the response's first, -1 for none. */
  private requestEnd: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private responseStart: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** HTTP status, -1 for none; as packedStatus (a status the snaplen cut is kept with its class). */
  private status: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private claimed: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  private endKnown: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  private keyed: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  private answered: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  private unanswered: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /** When the client gave up on it (RememberedRequest.clientGaveUpAt), -1 for none. */
  private gaveUpAt: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private headWhole: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /**
   * Text columns start empty and grow by appending while the ring fills (slot === length): no
   * pre-filled copy per doubling, and the collector traces only the slots in use.
   */
  private client: string[] = [];
  private server: string[] = [];
  private method: string[] = [];
  private uri: string[] = [];
  private agent: (string | null)[] = [];
  private version: (string | null)[] = [];
  private connectionHeader: (string | null)[] = [];

  /**
   * Requests of uncertain exchanges (capture loss: a lost response, a lost request head), not
   * remembered above: no detector may take them for a copy or a retry. That they were sent, and
   * when, still tells that their client had moved on (movedOnBetween). A ring of the newest.
   */
  private uncertainTs: Float64Array = new Float64Array(UNCERTAIN_KEPT);
  private uncertainClient: string[] = [];
  private uncertainServer: string[] = [];
  private uncertainWritten = 0;

  private lastExchange: HttpExchange | null = null;
  private lastEntry = -1;
  /** Every held request, materialised for a search over all of them (kept while no request is added). */
  private snapshot: RememberedRequest[] | null = null;

  /**
   * Remembers the exchange's request once (several detectors offer each exchange); returns its
   * entry, or -1 when its request is unknown or uncertain.
   */
  offer(ex: HttpExchange, conn: AnalyzedConnection): number {
    if (ex === this.lastExchange) return this.lastEntry;
    this.lastExchange = ex;
    // A target the snaplen may have cut short names no request: `GET /orders?id=1` and
    // `GET /orders?id=2` cut after `GET /orders?i` are not a retry of each other.
    if (ex.method === null || ex.requestStart === null || ex.uncertain || ex.requestTargetCut === true) {
      if (ex.method !== null && ex.requestStart !== null) this.rememberUncertain(ex.requestStart, conn);
      this.lastEntry = -1;
      return -1;
    }
    if (this.written === this.capacity && this.capacity < MAX_CAPACITY) this.grow();
    const entry = this.written++;
    const slot = entry % this.capacity;
    const uri = ex.uri ?? '';
    // A request whose body did not all come is known by the body it declared: its client's copy
    // of it on a new connection sends that body whole.
    const body = ex.requestLength ?? ex.requestBodyBytes;
    const h = signatureHash(conn, ex.method, uri, body);
    const bucket = h & this.mask;
    this.hash[slot] = h;
    this.prev[slot] = this.heads[bucket];
    this.heads[bucket] = entry;
    this.flowId[slot] = conn.id;
    this.ts[slot] = ex.requestStart;
    this.frame[slot] = ex.requestFrame ?? 0;
    this.index[slot] = ex.index;
    this.bodyBytes[slot] = body;
    this.connectionStart[slot] = conn.startTs;
    this.previousStart[slot] = previousRequestStart(ex, conn);
    this.readyAt[slot] = conn.handshakeAckTs >= 0 ? conn.handshakeAckTs : conn.startTs;
    const sClose = firstCloseTs(conn.server);
    this.serverClosedBefore[slot] = sClose >= 0 && sClose < ex.requestStart ? sClose : -1;
    // The end of an unanswered request is computed for every request: the first one, long after
    // this was compiled, would otherwise be a step never taken, and threw the compiled code away.
    const endIfUnanswered = Math.max(conn.lastTs, ex.requestStart);
    this.end[slot] = ex.responseEnd ?? endIfUnanswered;
    // A close (FIN or RST, either side) at or after the request, already seen, ends the wait for an unanswered request too.
    const t = ex.requestStart;
    const closed = conn.ended || conn.server.finTs >= t || conn.server.rstTs >= t || conn.client.finTs >= t || conn.client.rstTs >= t;
    this.endKnown[slot] = ex.responseEnd !== null || closed ? 1 : 0;
    this.requestEnd[slot] = ex.requestEnd ?? -1;
    this.responseStart[slot] = ex.responseStart ?? -1;
    this.status[slot] = ex.status === null ? -1 : packedStatus(ex.status, ex.statusClass);
    this.claimed[slot] = 0;
    this.keyed[slot] = ex.idempotencyKey === true ? 1 : 0;
    this.answered[slot] = answeredInTime(ex, conn) ? 1 : 0;
    this.gaveUpAt[slot] = gaveUpAt(ex, conn);
    // A server that closed sends no answer after (its FIN before the request too: a stale reuse's).
    const noAnswerFollows = conn.server.finTs >= 0 || conn.server.rstTs >= 0 || conn.client.finTs >= t || conn.client.rstTs >= t;
    this.unanswered[slot] = this.answered[slot] === 0 && noAnswerFollows ? 1 : 0;
    this.client[slot] = conn.clientName;
    this.server[slot] = conn.serverName;
    this.method[slot] = ex.method;
    this.uri[slot] = uri;
    this.agent[slot] = agentOf(ex, conn);
    this.version[slot] = ex.requestVersion;
    this.connectionHeader[slot] = ex.requestConnection;
    this.headWhole[slot] = headWhole(ex) ? 1 : 0;
    this.lastEntry = entry;
    this.snapshot = null;
    return entry;
  }

  /**
   * Every request still remembered, oldest first, as objects: for searches that go through all of
   * them at the end of an analysis (which address copies a proxy's requests, see ProxyLegs).
   */
  all(): readonly RememberedRequest[] {
    if (this.snapshot === null) {
      const out: RememberedRequest[] = [];
      for (let e = Math.max(0, this.written - this.capacity); e < this.written; e++) {
        const r = this.request(e);
        if (r !== null) out.push(r);
      }
      this.snapshot = out;
    }
    return this.snapshot;
  }

  /** The request of an entry, or null when it was forgotten. */
  request(entry: number): RememberedRequest | null {
    if (!this.holds(entry)) return null;
    const slot = entry % this.capacity;
    const { status, statusClass } = unpackedStatus(this.status[slot]);
    const requestEnd = this.requestEnd[slot];
    const responseStart = this.responseStart[slot];
    return {
      entry,
      hash: this.hash[slot],
      client: this.client[slot],
      server: this.server[slot],
      method: this.method[slot],
      uri: this.uri[slot],
      bodyBytes: this.bodyBytes[slot],
      flowId: this.flowId[slot],
      ts: this.ts[slot],
      frame: this.frame[slot],
      index: this.index[slot],
      connectionStart: this.connectionStart[slot],
      connectionReadyAt: this.readyAt[slot],
      serverClosedBefore: this.serverClosedBefore[slot],
      previousStart: this.previousStart[slot],
      requestEnd: requestEnd < 0 ? null : requestEnd,
      responseStart: responseStart < 0 ? null : responseStart,
      end: this.end[slot],
      endKnown: this.endKnown[slot] === 1,
      status: status < 0 ? null : status,
      statusClass,
      claimed: this.claimed[slot] === 1,
      idempotencyKey: this.keyed[slot] === 1,
      answered: this.answered[slot] === 1,
      unanswered: this.unanswered[slot] === 1,
      clientGaveUpAt: this.gaveUpAt[slot] < 0 ? null : this.gaveUpAt[slot],
      agent: this.agent[slot],
      version: this.version[slot],
      connectionHeader: this.connectionHeader[slot],
      headWhole: this.headWhole[slot] === 1,
    };
  }

  /** sameSender of a slot's request and `sender`, read from the columns. */
  private sentBy(slot: number, sender: SenderMarks): boolean {
    const agent = this.agent[slot];
    if (agent !== null && sender.agent !== null && agent !== sender.agent) return false;
    return !(this.headWhole[slot] === 1 && sender.headWhole) || (this.version[slot] === sender.version && this.connectionHeader[slot] === sender.connectionHeader);
  }

  /** The signature hash of an entry (to look it up among pending failures). */
  hashOf(entry: number): number {
    return this.hash[entry % this.capacity];
  }

  /** Whether an entry (still remembered) has the signature of `r`. */
  matches(entry: number, r: RequestSignature): boolean {
    if (!this.holds(entry)) return false;
    const slot = entry % this.capacity;
    return (
      this.server[slot] === r.server && this.method[slot] === r.method && this.bodyBytes[slot] === r.bodyBytes &&
      this.uri[slot] === r.uri && sameHost(this.client[slot], r.client)
    );
  }

  /**
   * Sets the end of an unanswered request's exchange once its connection has ended (`lastTs`, its
   * last packet): one decided at its request (the server had closed before it) was remembered with
   * the request's own start as its end.
   */
  settleEnd(entry: number, lastTs: number): void {
    if (!this.holds(entry)) return;
    const slot = entry % this.capacity;
    if (this.endKnown[slot] === 1) return;
    if (lastTs > this.end[slot]) this.end[slot] = lastTs;
    this.endKnown[slot] = 1;
    this.snapshot = null;
  }

  /** Marks a request as the retry of a failure (it retries no other). */
  claim(r: RememberedRequest): void {
    r.claimed = true;
    if (this.holds(r.entry)) this.claimed[r.entry % this.capacity] = 1;
  }

  /**
   * Whether an entry's request was the first on its connection since `since`: no other request
   * started on that connection between `since` and it. A client that retries a failed request
   * sends it as soon as it has a connection; a connection that carried other requests first
   * after the failure (the next round of a periodic job, say) was not carrying a retry.
   */
  firstOnItsConnectionSince(entry: number, since: number): boolean {
    if (!this.holds(entry)) return false;
    const previous = this.previousStart[entry % this.capacity];
    return previous < 0 || previous <= since;
  }

  /**
   * Whether the client host of `r`, seen sending one request at a time to r's server, started
   * another request to it after `from` and before `to`: it had moved on from what failed at
   * `from`, so a later copy of the failed request is its next round (a periodic job), not a
   * retry. Judged on the newest remembered requests of that client host and server; a client seen
   * with two requests in flight at once on different connections there (a pool, threads), or
   * sending a request on one connection while another, opened before it, carried requests after it
   * (threads whose requests are too quick to overlap: a server-side capture of a fast server,
   * keepalive-race-tornado-httpclient5-stale's 12 threads), is never judged this way: another of
   * its threads may have sent the request in between. `openedBetween`: the caller saw the host
   * open another connection to that server in between (its exchange may not be remembered yet).
   * Asked only for a failure's next attempt, so it scans rather than keeping state per client.
   */
  movedOnBetween(r: Pick<RequestSignature, 'client' | 'server'>, from: number, to: number, openedBetween = false): boolean {
    const starts: number[] = [];
    const ends: number[] = [];
    const flows: number[] = [];
    const opened: number[] = [];
    const oldest = Math.max(0, this.written - this.capacity, this.written - MAX_CADENCE_STEPS);
    for (let e = this.written - 1; e >= oldest && starts.length < MAX_CADENCE_REQUESTS; e--) {
      const slot = e % this.capacity;
      if (this.server[slot] !== r.server || !sameHost(this.client[slot], r.client)) continue;
      starts.push(this.ts[slot]);
      ends.push(this.end[slot]);
      flows.push(this.flowId[slot]);
      opened.push(this.connectionStart[slot]);
    }
    // A connection the host opened in between (see the caller) whose exchange is not emitted yet
    // (a connection that lingers) is a call in between too.
    let movedOn = openedBetween;
    const uncertainOldest = Math.max(0, this.uncertainWritten - UNCERTAIN_KEPT);
    for (let e = this.uncertainWritten - 1; e >= uncertainOldest && !movedOn; e--) {
      const slot = e % UNCERTAIN_KEPT;
      const t = this.uncertainTs[slot];
      if (t > from && t < to && this.uncertainServer[slot] === r.server && sameHost(this.uncertainClient[slot], r.client)) movedOn = true;
    }
    for (let i = 0; i < starts.length; i++) {
      if (starts[i] > from && starts[i] < to) movedOn = true;
      for (let j = 0; j < starts.length; j++) {
        if (flows[i] === flows[j]) continue;
        if (j > i && starts[i] < ends[j] && starts[j] < ends[i]) return false; // concurrent
        // Request i went while j's connection, open since before it, had a request still to come.
        if (opened[j] < starts[i] && starts[i] < starts[j]) return false;
      }
    }
    return movedOn;
  }

  /**
   * How long the client host of `r` paused before it, when `r` opened its connection: from the end
   * of its previous exchange with r's server (the newest one that ended by then, on any connection)
   * to r. A client that opens a connection per request (curl in a shell loop, a process per call)
   * shows its pace only across connections. Null when no earlier exchange is remembered, or when
   * another request of that host to that server was in flight when r started (a pool, threads: the
   * gap then tells no one caller's pause). Asked once per failed request, so it scans.
   */
  pauseOnHostBefore(r: Pick<RememberedRequest, 'client' | 'server' | 'flowId' | 'ts'>): number | null {
    let lastEnd = -1;
    let seen = 0;
    const oldest = Math.max(0, this.written - this.capacity, this.written - MAX_CADENCE_STEPS);
    for (let e = this.written - 1; e >= oldest && seen < MAX_CADENCE_REQUESTS; e--) {
      const slot = e % this.capacity;
      if (this.flowId[slot] === r.flowId || this.server[slot] !== r.server || !sameHost(this.client[slot], r.client)) continue;
      seen++;
      const start = this.ts[slot];
      const end = this.end[slot];
      if (start >= r.ts) continue;
      if (end > r.ts) return null; // in flight at once
      if (end > lastEnd) lastEnd = end;
    }
    return lastEnd < 0 ? null : r.ts - lastEnd;
  }

  /**
   * The pace of the client a proxy forwarded `r` for: its host's pause (pauseOnHostBefore) before
   * the request the proxy had received, still waiting for its answer when r left: the same method
   * and target, to another server, from another host than r's, the newest that started at most
   * FORWARDED_WITHIN before r. A proxy sends its client's next call as that call comes: the pause
   * between them is its client's, which the proxy's own upstream connections do not show (one per
   * request, each backend's own). Null when there is no such request, or its client's pause is
   * unknown (see pauseBefore). Asked once per failed request whose own pause is unknown: a bounded scan.
   */
  pauseOfForwardedClient(r: Pick<RememberedRequest, 'client' | 'server' | 'method' | 'uri' | 'ts'>): number | null {
    const oldest = Math.max(0, this.written - this.capacity, this.written - MAX_CADENCE_STEPS);
    for (let e = this.written - 1; e >= oldest; e--) {
      const slot = e % this.capacity;
      const ts = this.ts[slot];
      if (ts > r.ts || ts < r.ts - FORWARDED_WITHIN) continue;
      // The cheap tests first: a burst of failures to one server (clients timing out under load) has
      // each failure scan thousands of that server's own requests, none of them another's copy.
      const client = this.client[slot];
      const server = this.server[slot];
      if (server === r.server || this.method[slot] !== r.method || sameHost(client, r.client) || !sameTarget(this.uri[slot], r.uri)) continue;
      const answeredAt = this.responseStart[slot];
      if (answeredAt >= 0 && answeredAt < r.ts) continue;
      return this.pauseBefore(e, client, server, ts);
    }
    return null;
  }

  /**
   * How long `client`'s host paused before its request at `ts` to `server` (entry `entry`): since
   * the end of its newest exchange with that server that ended by then, on any connection, that
   * one included (a kept-alive connection's previous exchange). Null when none is remembered or
   * another was in flight at ts.
   */
  private pauseBefore(entry: number, client: string, server: string, ts: number): number | null {
    let lastEnd = -1;
    let seen = 0;
    const oldest = Math.max(0, this.written - this.capacity, this.written - MAX_CADENCE_STEPS);
    for (let e = this.written - 1; e >= oldest && seen < MAX_CADENCE_REQUESTS; e--) {
      const slot = e % this.capacity;
      if (e === entry || this.server[slot] !== server || !sameHost(this.client[slot], client)) continue;
      seen++;
      if (this.ts[slot] >= ts) continue;
      const end = this.end[slot];
      if (end > ts) return null; // in flight at once
      if (end > lastEnd) lastEnd = end;
    }
    return lastEnd < 0 ? null : ts - lastEnd;
  }

  /**
   * The earliest request with this method and URI (or its copy through a proxy that strips or adds
   * a path prefix, see request-target.ts) that started within [from, to], was sent by
   * none of the hosts of `notHosts` (endpoints; their host parts count) to none of them, by a
   * sender that `senderOk` accepts, and had no response by `to`: a copy of a request that failed
   * upstream, looked for among the newest entries only (asked once per request a server closed
   * without answering).
   */
  unansweredCopy(
    method: string, uri: string | null, from: number, to: number, notHosts: readonly string[], senderOk: (client: string) => boolean,
  ): RememberedRequest | null {
    const u = uri ?? '';
    let best = -1;
    const oldest = Math.max(0, this.written - this.capacity, this.written - MAX_CADENCE_STEPS);
    for (let e = this.written - 1; e >= oldest; e--) {
      const slot = e % this.capacity;
      const ts = this.ts[slot];
      if (ts < from || ts > to || this.method[slot] !== method || !sameTarget(this.uri[slot], u)) continue;
      const answeredAt = this.responseStart[slot];
      if (answeredAt >= 0 && answeredAt <= to) continue;
      if (best >= 0 && ts >= this.ts[best % this.capacity]) continue;
      const client = this.client[slot];
      const server = this.server[slot];
      if (notHosts.some((h) => sameHost(client, h) || sameHost(server, h)) || !senderOk(client)) continue;
      best = e;
    }
    return best < 0 ? null : this.request(best);
  }

  /**
   * The earliest request with this signature (and its hash, see signatureHash) on another
   * connection that started within [from, to] — the next attempt at the request after `from` —
   * provided it was the first request on its connection since `from` (see
   * firstOnItsConnectionSince); null when there is none or when it was not. Copies another program
   * sent (see sameSender) are passed over: they are no attempt of the one that sent `sender`.
   */
  firstBetween(
    sig: RequestSignature, h: number, otherThanFlow: number, from: number, to: number, unclaimedOnly: boolean, sender: SenderMarks,
  ): RememberedRequest | null {
    let best = -1;
    let steps = 0;
    for (let e = this.heads[h & this.mask]; e >= 0 && this.holds(e) && steps < MAX_CHAIN_STEPS; steps++) {
      const slot = e % this.capacity;
      const ts = this.ts[slot];
      if (
        this.hash[slot] === h && this.flowId[slot] !== otherThanFlow && ts >= from && ts <= to &&
        !(unclaimedOnly && this.claimed[slot] === 1) && this.matches(e, sig) && this.sentBy(slot, sender) &&
        (best < 0 || ts <= this.ts[best % this.capacity])
      ) {
        best = e;
      }
      e = this.prev[slot];
    }
    return best < 0 || !this.firstOnItsConnectionSince(best, from) ? null : this.request(best);
  }

  /**
   * How often the client host of `sig` sent that very request (its signature, hash `h`) to its
   * server around `around`: requests per second over the time it was sending it (from the first to
   * the last of them within RATE_SPAN either side), those on connections `exceptA` and `exceptB`
   * (the failed attempt's and its match's) not counted; `fresh`: only those that were the first
   * request of their connection, over the same time. 0 for fewer than two. A busy host (threads, a
   * pool, many clients behind one address) sends the same request many times a second: a copy soon
   * after a failure is then what chance gives (see retried-request's matchByChance). Asked once per
   * match found: a bounded walk of one chain.
   */
  sameRequestRate(sig: RequestSignature, h: number, around: number, exceptA: number, exceptB: number): { all: number; fresh: number } {
    let count = 0;
    let fresh = 0;
    let first = Infinity;
    let last = -Infinity;
    let steps = 0;
    for (let e = this.heads[h & this.mask]; e >= 0 && this.holds(e) && steps < MAX_CHAIN_STEPS; steps++) {
      const slot = e % this.capacity;
      const ts = this.ts[slot];
      const flow = this.flowId[slot];
      if (flow !== exceptA && flow !== exceptB && this.hash[slot] === h && Math.abs(ts - around) <= RATE_SPAN && this.matches(e, sig)) {
        count++;
        if (this.index[slot] === 1) fresh++;
        if (ts < first) first = ts;
        if (ts > last) last = ts;
      }
      e = this.prev[slot];
    }
    if (count < 2) return { all: 0, fresh: 0 };
    const span = Math.max(last - first, RATE_SPAN_MIN);
    return { all: (count - 1) / span, fresh: fresh / span };
  }

  /**
   * How often the client host of `sig` sent that very request (signature, hash `h`) again on another
   * connection within `within` s after one of its copies was answered, around `around` (RATE_SPAN
   * either side): the share of its answered copies so followed, with no failure before them. A
   * rate (sameRequestRate) takes copies as coming independently of each other; clients behind one
   * address that wake on a common schedule (the same sleeps counted from a common start, cron,
   * timers of one period) send theirs together far more often, and one of them lands right after
   * another's failure as often as right after another's success. The copy being judged
   * (`exceptEntry`) is left out. 0 when that happened fewer than twice: once says nothing of a
   * habit. Asked once per match found: a bounded walk of one chain.
   */
  sameRequestTogether(sig: RequestSignature, h: number, around: number, within: number, exceptEntry: number): number {
    const times: number[] = [];
    const flows: number[] = [];
    const answered: boolean[] = [];
    let steps = 0;
    for (let e = this.heads[h & this.mask]; e >= 0 && this.holds(e) && steps < MAX_CHAIN_STEPS; steps++) {
      const slot = e % this.capacity;
      const ts = this.ts[slot];
      if (e !== exceptEntry && this.hash[slot] === h && Math.abs(ts - around) <= RATE_SPAN && this.matches(e, sig)) {
        times.push(ts);
        flows.push(this.flowId[slot]);
        answered.push(this.answered[slot] === 1);
      }
      e = this.prev[slot];
    }
    // Chains run newest entry first, but entries are remembered as their exchanges end: sort by start.
    const order = times.map((_t, i) => i).sort((a, b) => times[a] - times[b]);
    let anchors = 0;
    let hits = 0;
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      if (!answered[i]) continue;
      anchors++;
      // Bounded: a run of copies on the anchor's own connection (pipelined) is no company.
      for (let m = k + 1; m < order.length && m <= k + MAX_COMPANION_STEPS && times[order[m]] - times[i] <= within; m++) {
        if (flows[order[m]] !== flows[i]) {
          hits++;
          break;
        }
      }
    }
    return hits < 2 ? 0 : hits / anchors;
  }

  private rememberUncertain(requestStart: number, conn: AnalyzedConnection): void {
    const slot = this.uncertainWritten++ % UNCERTAIN_KEPT;
    this.uncertainTs[slot] = requestStart;
    this.uncertainClient[slot] = conn.clientName;
    this.uncertainServer[slot] = conn.serverName;
  }

  private holds(entry: number): boolean {
    return entry >= 0 && entry < this.written && entry >= this.written - this.capacity;
  }

  /** Doubles the ring before it first wraps (entries still sit at their own number) and rebuilds the chains. */
  private grow(): void {
    const capacity = this.capacity * 2;
    this.hash = grownColumn(this.hash, capacity, int32Column);
    this.prev = grownColumn(this.prev, capacity, float64Column);
    this.flowId = grownColumn(this.flowId, capacity, int32Column);
    this.ts = grownColumn(this.ts, capacity, float64Column);
    this.frame = grownColumn(this.frame, capacity, uint32Column);
    this.index = grownColumn(this.index, capacity, int32Column);
    this.bodyBytes = grownColumn(this.bodyBytes, capacity, float64Column);
    this.connectionStart = grownColumn(this.connectionStart, capacity, float64Column);
    this.previousStart = grownColumn(this.previousStart, capacity, float64Column);
    this.readyAt = grownColumn(this.readyAt, capacity, float64Column);
    this.end = grownColumn(this.end, capacity, float64Column);
    this.requestEnd = grownColumn(this.requestEnd, capacity, float64Column);
    this.responseStart = grownColumn(this.responseStart, capacity, float64Column);
    this.status = grownColumn(this.status, capacity, int32Column);
    this.claimed = grownColumn(this.claimed, capacity, uint8Column);
    this.endKnown = grownColumn(this.endKnown, capacity, uint8Column);
    this.keyed = grownColumn(this.keyed, capacity, uint8Column);
    this.answered = grownColumn(this.answered, capacity, uint8Column);
    this.unanswered = grownColumn(this.unanswered, capacity, uint8Column);
    this.gaveUpAt = grownColumn(this.gaveUpAt, capacity, float64Column);
    this.serverClosedBefore = grownColumn(this.serverClosedBefore, capacity, float64Column);
    this.headWhole = grownColumn(this.headWhole, capacity, uint8Column);
    this.capacity = capacity;
    this.mask = 2 * capacity - 1;
    this.heads = new Float64Array(2 * capacity).fill(-1);
    for (let e = 0; e < this.written; e++) {
      const bucket = this.hash[e] & this.mask;
      this.prev[e] = this.heads[bucket];
      this.heads[bucket] = e;
    }
  }
}

export const REQUEST_INDEX = 'recent-requests';
