/** How far an HTTP exchange got. */
export type ExchangeState =
  /** Request and response both complete. */
  | 'complete'
  /** A complete request that never got a response byte. */
  | 'no-response'
  /**
   * A response started but its body did not finish before the connection or capture ended, or
   * finished only after its client had closed, which never took the rest (`responseAfterClientClose`).
   */
  | 'response-incomplete'
  /** A request whose head or body did not finish. */
  | 'request-incomplete'
  /** A response with no request seen before it (capture started mid-flow, or lost bytes). */
  | 'no-request';

/**
 * One request/response pair on a connection, in the JSON contract's `exchanges[]`.
 * Times are capture-clock epoch seconds; frames are 1-based frame numbers.
 */
export interface HttpExchange {
  flowId: number;
  /** 1-based position on its connection: 2 means the connection was reused once before. */
  index: number;
  method: string | null;
  uri: string | null;
  host: string | null;
  requestVersion: string | null;
  /** `Connection` header of the request, lower-cased, or null. */
  requestConnection: string | null;
  requestStart: number | null;
  requestEnd: number | null;
  requestFrame: number | null;
  requestBodyBytes: number;
  /**
   * The request carried an `Idempotency-Key` (or `X-Idempotency-Key`) header: its client asks the
   * server to apply it once however often it is sent, and may retry it like an idempotent one (Go's
   * Transport does). `undefined` when absent, so the JSON output names it only where it was seen.
   */
  idempotencyKey?: true;
  /**
   * The final response's status code. Where the snaplen cut the status line inside its code
   * (`statusClass`), the lowest code its digits allow (200 for `HTTP/1.1 2`, 400 for `HTTP/1.1 40`):
   * its class is right, the exact code is not known.
   */
  status: number | null;
  /**
   * The capture's snaplen cut the status line inside its code: the digits it holds, `x` for each
   * one cut (`2xx`, `40x`). `status` is then a guess within that pattern, to be read as a class,
   * never as an exact code (exactStatus, statusText). `undefined` otherwise, so the JSON output
   * names it only where it applies.
   */
  statusClass?: string;
  reason: string | null;
  responseVersion: string | null;
  /** Status codes of interim (1xx) responses that came before the final one. */
  interim: readonly number[];
  responseStart: number | null;
  responseEnd: number | null;
  responseFrame: number | null;
  responseEndFrame: number | null;
  responseBodyBytes: number;
  /**
   * The Content-Length a response declared whose body did not finish (`responseBodyBytes` of it
   * came): what a client reading it was still owed. `undefined` otherwise, so the JSON output names
   * it only where it applies.
   */
  responseLength?: number;
  /**
   * The Content-Length a request declared whose body did not finish (`requestBodyBytes` of it
   * came): the body its client meant to send, by which a later copy of the request is recognised
   * (retried-request). `undefined` otherwise, so the JSON output names it only where it applies.
   */
  requestLength?: number;
  /**
   * The request asked `Expect: 100-continue`, a final response (a 417, 401, 413...) refused it
   * before any of its body, and its client withheld the body (RFC 9110 §10.1.1): it sent its next
   * request on the connection instead, or closed. The request ended at its head (`requestEnd`,
   * `requestBodyBytes` 0) and `requestLength` is the body it had announced. `undefined` otherwise,
   * so the JSON output names it only where it applies.
   */
  requestBodyWithheld?: true;
  /**
   * How the response body was framed. `cut`: the capture's snaplen cut the response inside its
   * head, so its end was taken where the next response began or the server's side closed.
   */
  responseFraming: 'none' | 'length' | 'chunked' | 'close' | 'cut' | null;
  /** The response asked to close the connection (Connection: close, or HTTP/1.0 without keep-alive). */
  responseClose: boolean;
  /**
   * The capture's snaplen cut the response's head before any Connection field: whether it asked
   * to close is unseen (`responseClose` says what the rest showed). Detectors that judge a
   * server's close (idle or announced) leave such a connection alone. `undefined` otherwise, so the
   * JSON output names it only where it applies.
   */
  responseCloseUnknown?: true;
  /**
   * The capture's snaplen cut the request inside its head: its body's length was unseen, so the
   * request is taken to end where its direction's next message begins or its bytes stop, and
   * whether it was all sent is unknown. `undefined` otherwise, so the JSON output names it only
   * where it applies.
   */
  requestCut?: true;
  /**
   * The snaplen cut the request line inside its target (a capture taken with `-s 96` keeps 24 to 42
   * bytes of payload): `uri` may be cut short and `requestVersion` is null. Such a request is not
   * matched with others by its target (retries). A line cut inside its version keeps its whole
   * target and is not flagged (`requestVersion` is then what came of the version). `undefined`
   * otherwise.
   */
  requestTargetCut?: true;
  /**
   * The request's head never completed: its client stopped sending it (a stalled client, a
   * slowloris), or a response, the client's close or the end of the connection or capture came
   * first. Its header fields are those that had arrived. `undefined` otherwise, so the JSON output
   * names it only where it applies.
   */
  requestHeadUnfinished?: true;
  /**
   * Its request line did not complete either: `method` and `uri` are what had arrived (the target
   * may be cut short) and `requestVersion` is null. `undefined` otherwise.
   */
  requestLineUnfinished?: true;
  /**
   * The server sent the rest of the response (all of it, when its head came after too) only after
   * the client had closed, and the client did not take it: it reset the connection without
   * acknowledging those bytes (a client that gave up at its own timeout; its socket answered them
   * with a RST), or had closed with a RST. The state is then `response-incomplete`:
   * `responseBodyBytes` counts the body bytes that came before the client's close, `responseLength`
   * the declared length, and `responseEnd` is when the server finished sending. `undefined`
   * otherwise, so the JSON output names it only where it applies.
   */
  responseAfterClientClose?: true;
  /** `Keep-Alive: timeout=N` advertised by the response, seconds, or null. */
  keepAliveTimeout: number | null;
  /** `Retry-After` delay-seconds of the response (a 429's, a 503's); `undefined` when absent or an HTTP-date. */
  retryAfter?: number;
  /** Seconds the connection sat idle before this request: since the previous response ended, or since the handshake for the first. */
  idleBefore: number | null;
  state: ExchangeState;
  /**
   * `fastcgi`: the exchange was read from FastCGI records (a web server's request to PHP-FPM or
   * another FastCGI application; src/http/fastcgi.ts): its method and URI are the request's
   * REQUEST_METHOD and REQUEST_URI, its status the CGI output's. `undefined` for HTTP/1.x.
   */
  protocol?: 'fastcgi';
  /**
   * The analyzer could not follow this exchange completely: some of its bytes were missing from
   * the capture (a gap), or one direction's parser had stopped (see the session's give-up counts).
   * Its state then says what was seen, not necessarily what happened on the wire (a response lost
   * in a capture gap is not an unanswered request), so detectors should not treat it as evidence.
   */
  uncertain: boolean;
}

/** `2xx` for a cut status of 200 of which the capture holds 1 digit, `40x` for 400 of which it holds 2. */
export function statusPattern(status: number, digits: number): string {
  return String(status).slice(0, digits) + (digits === 1 ? 'xx' : 'x');
}

/**
 * The exchange's exact status code, or null when it has none or the snaplen cut it (statusClass):
 * what detectors compare with a particular code (408, 502, 204…). A class test (5xx, 2xx) may
 * read `status` itself.
 */
export function exactStatus(ex: Pick<HttpExchange, 'status' | 'statusClass'>): number | null {
  return ex.statusClass === undefined ? ex.status : null;
}

/**
 * `{ [key]: '2xx' }` where the snaplen cut the status line (statusClass), else nothing: spread into
 * a finding's evidence beside the status it shows, so that the stored code is not read as exact.
 */
export function statusClassEvidence(ex: Pick<HttpExchange, 'statusClass'>, key = 'statusClass'): Record<string, string> {
  return ex.statusClass === undefined ? {} : { [key]: ex.statusClass };
}

/**
 * A status as one integer, for the detectors' number columns: the code, or where the snaplen cut
 * it (statusClass) CUT_STATUS + code × 10 + digits seen, above every code (unpackedStatus).
 */
export function packedStatus(status: number, statusClass: string | undefined): number {
  return statusClass === undefined ? status : CUT_STATUS + status * 10 + statusClass.indexOf('x');
}
const CUT_STATUS = 10_000;

/** The status and class (statusClass, undefined when whole) of a packedStatus. */
export function unpackedStatus(packed: number): { status: number; statusClass: string | undefined } {
  if (packed < CUT_STATUS) return { status: packed, statusClass: undefined };
  const status = Math.floor((packed - CUT_STATUS) / 10);
  return { status, statusClass: statusPattern(status, packed % 10) };
}

/** The status as a report prints it: `200`, or `2xx` where the snaplen cut it; null without one. */
export function statusText(ex: Pick<HttpExchange, 'status' | 'statusClass'>): string | null {
  return ex.statusClass ?? (ex.status === null ? null : String(ex.status));
}
