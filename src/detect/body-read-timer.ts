import type { AnalyzedConnection } from './analyzed-connection';
import { roundTripToServer } from './facts';
import { exactStatus, type HttpExchange } from '../http/exchange';

/**
 * A body still arriving this long (seconds) after its request began, when the server closed on it
 * or answered it with an error, its client sending on after: the server's timer or limit cut it
 * (Go's ReadTimeout, Node's requestTimeout, a whole-request timer), not a refusal of its head (an
 * early 413 or 401 comes within a round trip of the head). A close sooner than this after the
 * request crossed it (an idle close racing a reused connection's upload: keepalive-race's), no
 * timer on the request.
 */
export const MIN_CUT_SPAN = 0.5;

/**
 * How long (seconds) a server takes to answer a byte it has just read, beyond the round trip between
 * the capture and it: a limit crossed by a segment (Go's http.MaxBytesReader), a malformed chunk, a
 * head it refuses, all answer the segment that told it, within milliseconds (Go's 200 to a whole
 * upload: 0.1 ms on the server's host; Python's early 413s: under 2 ms). An answer that comes later
 * than this after the client's last byte answered nothing the client sent: a timer ran out.
 */
const ANSWER_REACTION = 0.05;

/**
 * The answers a server's own code gives when reading the body failed on its deadline: Go's
 * `http.Error(w, ..., 400)` (or 500) on the `i/o timeout` its read returned, a framework's 400 for a
 * body it could not read. Not the answers about the request's head (401, 403, 404, 405, 411, 415,
 * 417) nor a size limit's 413: those are refusals of what it was sent; nor a proxy's 502/503/504,
 * which tell of its backend (a backend that died mid-upload is answered at any moment too).
 * A 408 is slow-client-timeout's already, whatever the client's pace.
 */
const READ_FAILED_STATUSES: ReadonlySet<number> = new Set([400, 500]);

/** An answer a server's read timer gave to a body still arriving (see bodyReadTimerAnswer). */
export interface BodyTimerAnswer {
  ex: HttpExchange;
  /** The answer's first byte (capture time). */
  answeredAt: number;
  /** Since the request's first byte (seconds). */
  sinceRequest: number;
  /** The client's last data before the answer (capture time). */
  lastData: number;
}

/**
 * When the client last sent data at or before `end` (capture time), or -1 when the capture's
 * record of it does not say: its last data segment, the one before it, or its last before the
 * server's first close (Endpoint.peerDataBeforeCloseTs). A client trickling a head or a body goes
 * on sending after the server gave up (it has not seen the close yet): its last data overall is
 * then no measure of the silence the server timed.
 */
export function clientDataBefore(conn: AnalyzedConnection, end: number): number {
  const c = conn.client;
  if (c.lastDataTs >= 0 && c.lastDataTs <= end) return c.lastDataTs;
  if (c.prevDataTs >= 0 && c.prevDataTs <= end) return c.prevDataTs;
  const beforeClose = conn.server.peerDataBeforeCloseTs;
  return beforeClose >= 0 && beforeClose <= end ? beforeClose : -1;
}

/**
 * The server answered an upload while its body was still coming, the client sending it at its own
 * pace before the answer and after it, and the answer came at a quiet moment (ANSWER_REACTION): no
 * byte of the client's prompted it, and its head had come long before (MIN_CUT_SPAN). What ended
 * the upload was a timer on reading the request (Go's `Server.ReadTimeout`, counted from the
 * request's first byte on a reused connection and from the accept on a first one: the handler's
 * read returned `i/o timeout`, and its error went out as a 400), not a refusal of what the server
 * had read (rst-on-close's early answer). The RST the rest of the body draws is the unread rest
 * of that upload. Null when the connection's last answer is not such a one.
 */
export function bodyReadTimerAnswer(conn: AnalyzedConnection): BodyTimerAnswer | null {
  const recent = conn.app?.recent ?? [];
  let ex: HttpExchange | undefined;
  for (let i = recent.length - 1; i >= 0 && ex === undefined; i--) if (recent[i].responseStart !== null) ex = recent[i];
  if (ex === undefined || ex.uncertain || ex.requestStart === null || ex.responseStart === null) return null;
  if (ex.requestHeadUnfinished === true || ex.requestCut === true || ex.requestBodyWithheld === true) return null;
  const status = exactStatus(ex);
  if (status === null || !READ_FAILED_STATUSES.has(status)) return null;
  const answeredAt = ex.responseStart;
  // The body still arriving at the answer: unfinished, or finished after it.
  const stillArriving = ex.state === 'request-incomplete' || (ex.requestEnd !== null && ex.requestEnd > answeredAt);
  if (!stillArriving || ex.requestBodyBytes <= 0) return null;
  const sinceRequest = answeredAt - ex.requestStart;
  if (sinceRequest < MIN_CUT_SPAN) return null;
  const c = conn.client;
  const srv = conn.server;
  // The timer ended the request: the server closed after its answer (a server that answers and goes
  // on reading the body to keep the connection was not cut off by a deadline).
  if (!(srv.finTs >= answeredAt || srv.rstTs >= answeredAt)) return null;
  // The client gave up first (its FIN or RST before the answer): its own timer, not the server's.
  if ((c.finTs >= 0 && c.finTs <= answeredAt) || (c.rstTs >= 0 && c.rstTs <= answeredAt)) return null;
  // Sending on after the answer, at its own pace: not a client waiting on the server (a 100 Continue).
  if (!(c.lastDataTs > answeredAt)) return null;
  // Body bytes came before the answer (its last byte later than the head's first segment): a client
  // that holds its body back waiting for a 100 Continue sends nothing after its head, and a timer
  // that ends that wait is the Expect handshake's story, not a slow upload's.
  const lastData = clientDataBefore(conn, answeredAt);
  if (lastData <= ex.requestStart) return null;
  // Quiet before the answer: what answered was not a byte the server had just read.
  if (answeredAt - lastData <= roundTripToServer(conn) + ANSWER_REACTION) return null;
  return { ex, answeredAt, sinceRequest, lastData };
}
