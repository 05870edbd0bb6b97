import { statusPattern, type ExchangeState, type HttpExchange } from './exchange';
import { hasToken } from './header-fields';
import { HttpCounters } from './http-counters';
import type { BodyFraming, GiveUpReason, MessageHead } from './message-head';
import { MessageListener, MessageParser, ParserOptions } from './message-parser';
import { OpaqueTurns } from './opaque-turns';
import { startsLikeRequest, startsLikeResponse } from './sniff';

/**
 * Most exchanges held waiting at once. Past it the request side stops (`too-many-pending`):
 * a client pipelining thousands of requests into silence, or a line protocol that looks like
 * lenient request lines, must not grow memory without bound.
 */
export const MAX_PENDING_EXCHANGES = 2048;

/** Interim (1xx) status codes kept per exchange; a server sending endless 100 Continue must not grow one array. */
export const MAX_INTERIM_KEPT = 8;
/** Server data times kept per session (HttpSession.recentServerData). */
export const RECENT_SERVER_DATA = 8;
/** RECENT_SERVER_DATA doubles, pushed one by one (packed doubles): each session's ring is a copy, of that kind too. */
const SERVER_DATA_RING: number[] = [];
for (let i = 0; i < RECENT_SERVER_DATA; i++) SERVER_DATA_RING.push(0.5);
/** Segments this close (seconds) after the one before arrive as one read (a chunk split by the MSS). */
const SAME_READ = 0.001;

/**
 * Estimated bytes of one pending exchange besides its strings (two objects of some thirty fields,
 * the interim array, the string headers): measured at about 1.4 KB.
 */
const PENDING_BASE_BYTES = 1536;

/** Pending exchanges a session may always hold, whatever the shared budget says: ordinary traffic never meets it. */
export const FREE_PENDING_PER_SESSION = 4;

/**
 * The memory all sessions of one analysis may spend on pending exchanges (requests waiting for
 * their responses), estimated in bytes. MAX_PENDING_EXCHANGES bounds one connection; this bounds
 * thousands of connections that each pipeline deep queues of requests nobody answers. Past it, a
 * session already holding FREE_PENDING_PER_SESSION exchanges stops its request side
 * (`too-many-pending`, counted in the give-ups).
 */
export class PendingBudget {
  held = 0;
  constructor(readonly limitBytes = 64 * 1024 * 1024) {}
}

// How far the request of a pending exchange got.
const Q_HEAD = 0; // start line seen, header block not complete
const Q_BODY = 1; // head complete, body not complete
const Q_DONE = 2;
const Q_LOST = 3; // abandoned in a capture gap (presumed sent: it stays paired)
const Q_ABSENT = 4; // no request seen (a response without one, or a request presumed lost in a gap)

// How far its response got.
const R_NONE = 0;
const R_STARTED = 1; // an interim or the final response begun
const R_DONE = 2;
const R_LOST = 3; // lost in a capture gap

/**
 * One exchange between its request's start line and its emission. The parsers' heads are pooled,
 * so the fields the exchange record needs are copied here. Pooled too once emitted (see
 * HttpSession.recycle).
 */
class PendingExchange {
  /** Next in the session's queue, or in its free list. */
  next: PendingExchange | null = null;
  reqState = Q_HEAD;
  /** A request start line was parsed for this exchange (not a placeholder or an orphan response). */
  hasRequest = false;
  method: string | null = null;
  uri: string | null = null;
  requestVersion: string | null = null;
  requestVersionMajor = -1;
  requestVersionMinor = -1;
  /** The snaplen cut the request's head before its end (MessageParser.openCut): fields after the cut are unseen. */
  requestHeadCut = false;
  /**
   * The snaplen cut the request line inside its target (the head is cut, and no space ended the
   * target): the target may be cut short, so it is no request's name to match with another.
   */
  requestTargetCut = false;
  /** The request line itself never completed (MessageParser.beginUnfinishedLine): no version, the target as far as it came. */
  requestLineUnfinished = false;
  requestStart = 0;
  requestFrame = 0;
  /** Kept request header fields; copied when the head completes or its parse stops (partial then). */
  host: string | null = null;
  requestConnection: string | null = null;
  idempotencyKey = false;
  /** The request asked `Expect: 100-continue` (MessageHead.expectContinue). */
  expectContinue = false;
  /** Its body was withheld after a final response refused it (MessageParser.bodyMayBeWithheld): it ended at its head. */
  bodyWithheld = false;
  requestEnd: number | null = null;
  requestBodyBytes = 0;
  /** Stands for a request presumed lost in a client-side gap; `orderTs` is when the gap was noticed. */
  placeholder = false;
  orderTs = 0;
  idleBefore: number | null = null;

  /** What this exchange counts against the shared budget (estimated bytes). */
  cost = 0;

  respState = R_NONE;
  /** The final response's start line was parsed: status, reason, responseVersion. */
  hasResponseLine = false;
  status = 0;
  /** Digits of `status` the capture holds (MessageHead.statusDigits): below 3, a cut status line. */
  statusDigits = 3;
  reason: string | null = null;
  responseVersion: string | null = null;
  responseVersionMajor = -1;
  responseVersionMinor = -1;
  /** The final response's head completed: the fields below are set. */
  hasResponseHead = false;
  responseFraming: BodyFraming = 'none';
  /** The final response's Content-Length, or -1 (none, or an invalid one). */
  responseLength = -1;
  /** The request's Content-Length, or -1 (none, another framing, or an invalid one). */
  requestLength = -1;
  responseConnection: string | null = null;
  keepAliveTimeout: number | null = null;
  /** The final response's Retry-After delay-seconds, or -1. */
  retryAfter = -1;
  /** Interim statuses, created at the first one (most exchanges have none). */
  interim: number[] | null = null;
  responseStart: number | null = null;
  responseFrame: number | null = null;
  responseEnd: number | null = null;
  responseEndFrame: number | null = null;
  responseBodyBytes = 0;
  /**
   * The response ended only after the client had closed (FIN or RST): whether the client took its
   * last bytes is known only at the connection's end (HttpSession.finish), so it is held till then.
   */
  endedAfterClientClose = false;
  /** Body bytes of the response that had arrived when the client closed (0: its body, or all of it, came after). */
  bodyAtClientClose = 0;
  /** The client did not take the bytes that came after its close (see endedAfterClientClose): the response was not received whole. */
  unreceivedAfterClientClose = false;
  uncertain = false;

  constructor() {
    this.reset(); // every field written twice from the first object on (see the MessageParser constructor)
  }

  /** When the request began, for ordering against responses (placeholders: when the gap was noticed). */
  get startTs(): number {
    return this.hasRequest ? this.requestStart : this.orderTs;
  }

  /** Back to the state of a new one, for reuse. */
  reset(): void {
    this.next = null;
    this.reqState = Q_HEAD;
    this.hasRequest = false;
    this.method = null;
    this.uri = null;
    this.requestVersion = null;
    this.requestVersionMajor = -1;
    this.requestVersionMinor = -1;
    this.requestHeadCut = false;
    this.requestTargetCut = false;
    this.requestLineUnfinished = false;
    this.requestStart = 0;
    this.requestFrame = 0;
    this.host = null;
    this.requestConnection = null;
    this.idempotencyKey = false;
    this.expectContinue = false;
    this.bodyWithheld = false;
    this.requestEnd = null;
    this.requestBodyBytes = 0;
    this.placeholder = false;
    this.orderTs = 0;
    this.idleBefore = null;
    this.cost = 0;
    this.respState = R_NONE;
    this.hasResponseLine = false;
    this.status = 0;
    this.statusDigits = 3;
    this.reason = null;
    this.responseVersion = null;
    this.responseVersionMajor = -1;
    this.responseVersionMinor = -1;
    this.hasResponseHead = false;
    this.responseFraming = 'none';
    this.responseLength = -1;
    this.requestLength = -1;
    this.responseConnection = null;
    this.keepAliveTimeout = null;
    this.retryAfter = -1;
    this.interim = null;
    this.responseStart = null;
    this.responseFrame = null;
    this.responseEnd = null;
    this.responseEndFrame = null;
    this.responseBodyBytes = 0;
    this.endedAfterClientClose = false;
    this.bodyAtClientClose = 0;
    this.unreceivedAfterClientClose = false;
    this.uncertain = false;
  }

  /** The request's start-line fields (at its onMessageBegin: the head is reused afterwards). */
  takeRequestLine(head: MessageHead): void {
    this.hasRequest = true;
    this.method = head.method;
    this.uri = head.uri;
    this.requestVersion = head.version;
    this.requestVersionMajor = head.versionMajor;
    this.requestVersionMinor = head.versionMinor;
    this.requestStart = head.startTs;
    this.requestFrame = head.startFrame;
  }

  /** The request's kept header fields, as far as they were parsed. */
  takeRequestFields(head: MessageHead): void {
    this.host = head.host;
    this.requestConnection = head.connection;
    this.requestHeadCut = head.framing === 'cut';
    this.requestTargetCut = this.requestHeadCut && head.version === null;
    this.idempotencyKey = head.idempotencyKey;
    this.expectContinue = head.expectContinue;
    this.requestLength = head.framing === 'length' ? head.contentLength : -1;
  }

  /** The final response's start-line fields. */
  takeResponseLine(head: MessageHead): void {
    this.hasResponseLine = true;
    this.status = head.status;
    this.statusDigits = head.statusDigits;
    this.reason = head.reason;
    this.responseVersion = head.version;
    this.responseVersionMajor = head.versionMajor;
    this.responseVersionMinor = head.versionMinor;
  }

  /** The final response's complete head. */
  takeResponseHead(head: MessageHead): void {
    this.hasResponseHead = true;
    this.responseFraming = head.framing;
    this.responseLength = head.contentLength;
    this.responseConnection = head.connection;
    this.keepAliveTimeout = head.keepAliveTimeout;
    this.retryAfter = head.retryAfter;
  }
}

/**
 * The request parser's events, forwarded to the session. A small object with methods rather than
 * a literal of closures: it is made for every connection.
 */
class RequestEvents implements MessageListener {
  constructor(private readonly session: HttpSession) {}
  onMessageBegin(head: MessageHead): void {
    this.session.requestBegun(head);
  }
  onMessageHead(head: MessageHead): void {
    this.session.requestHead(head);
  }
  onMessageEnd(ts: number, _frame: number, bodyBytes: number, gapBytes: number): void {
    this.session.requestEnded(ts, bodyBytes, gapBytes);
  }
  onLoss(unseenMessage: boolean): void {
    this.session.requestLost(unseenMessage);
  }
  onGiveUp(): void {
    this.session.requestGaveUp();
  }
}

/** The response parser's events, forwarded to the session. */
class ResponseEvents implements MessageListener {
  constructor(private readonly session: HttpSession) {}
  onMessageBegin(head: MessageHead): void {
    this.session.responseBegun(head);
  }
  onMessageHead(head: MessageHead): void {
    this.session.responseHead(head);
  }
  onMessageEnd(ts: number, frame: number, bodyBytes: number, gapBytes: number): void {
    this.session.responseEnded(ts, frame, bodyBytes, gapBytes);
  }
  onLoss(unseenMessage: boolean): void {
    this.session.responseLost(unseenMessage);
  }
  onGiveUp(reason: GiveUpReason): void {
    this.session.responseGaveUp(reason);
  }
  methodOfNextResponse(): string | null {
    return this.session.methodOfNextResponse();
  }
}

/** Emitted exchanges kept for reuse by any session (linked through `next`), and how many (bounded). */
/** The interim list of every exchange without 1xx responses (most): one shared, frozen empty list. */
const NO_INTERIM: number[] = [];
Object.freeze(NO_INTERIM);

let sparePending: PendingExchange | null = null;
let spareCount = 0;
const MAX_SPARE_PENDING = 256;

// Parser options, shared by all sessions (an options object per parser would be garbage per connection).
const FROM_START: ParserOptions = { reuseHead: true };
const MIDSTREAM: ParserOptions = { reuseHead: true, midstream: true };

export interface HttpSessionOptions {
  /**
   * The capture started in the middle of this connection (no handshake seen): each direction
   * hunts for its first start line instead of requiring one at its first byte.
   */
  midstream?: boolean;
  /** Shared totals the session adds its counts to when it finishes. */
  counters?: HttpCounters;
  /** Memory budget shared by the sessions of one analysis (none: only MAX_PENDING_EXCHANGES applies). */
  budget?: PendingBudget;
}

/**
 * What the TCP stage knows of the connection's acknowledgements, asked only when a response is
 * resynchronised after a server-side capture loss (so the per-segment path pays nothing for it).
 */
export interface AcknowledgementSource {
  /**
   * Client bytes the server has acknowledged (its highest acknowledgement yet, the segment being
   * delivered included) beyond those the capture delivered so far: 0 when none, or unknown.
   */
  clientBytesAckedUnseen(): number;
  /**
   * The capture holds none of the server's packets though the client acknowledged the server's
   * (a capture of one direction): whatever the server answered, the capture cannot show it.
   */
  serverUnseen(): boolean;
  /**
   * The client, having closed, did not take the server's later bytes: it closed with a RST, or
   * after its FIN it reset the connection without ever acknowledging all of the server's data.
   * Asked once, at the session's end, and only when a response ended after the client's close.
   */
  clientRefusedDataAfterClose(): boolean;
}

/**
 * The HTTP/1.x view of one TCP connection: a request parser on the client's bytes, a response
 * parser on the server's, and in-order pairing of their messages (pipelining included).
 * Exchanges are emitted in order, each as soon as both of its halves are decided.
 *
 * Pairing across capture gaps: a request lost in a client-side gap is stood for by a placeholder,
 * so that its response does not shift the pairing of the following ones (it is emitted as
 * `no-request`). A response lost in a server-side gap is harder: when the response parser
 * resynchronises on the next status line, the exchanges whose responses were lost are guessed
 * from timing. A client that does not pipeline sends a request only after the previous response,
 * so the new response belongs to the latest request that started before it and every earlier
 * one lost its response; if the connection showed pipelining before, exactly one response is
 * presumed lost. The server's acknowledgement number comes first, when it covers client bytes the
 * capture has not shown: the request they carried was lost too (its gap not noticed yet, as the
 * client's next bytes have not come), the response answers it, and every request seen waited in
 * vain. Those exchanges are emitted `response-incomplete` and `uncertain`. When a
 * response without any request arrived after the last client bytes before a client-side gap,
 * that response already stands for the lost request and no placeholder is added.
 *
 * A connection counts as HTTP once a strict request line or any status line was parsed. A
 * lenient request line alone (`GET /x` without a version) is not proof: exchanges are held until
 * proof comes and dropped if it never does, so line protocols such as SMTP are not reported.
 */
export class HttpSession {
  private readonly req: MessageParser;
  private readonly resp: MessageParser;
  // Not readonly: reset() gives them again for the next connection.
  private counters: HttpCounters | null;
  private budget: PendingBudget | null;

  /**
   * Exchanges not emitted yet, oldest first, linked through `next` (a linked list rather than an
   * array: the common queue of one exchange at a time would otherwise reallocate its backing store
   * every time it empties).
   */
  private qFirst: PendingExchange | null = null;
  private qLast: PendingExchange | null = null;
  private qCount = 0;
  /** The request being parsed (begun, not ended). */
  private reqCurrent: PendingExchange | null = null;
  /** The request parser's head while reqCurrent's header block is parsed (the parser reuses it). */
  private reqHead: MessageHead | null = null;
  /** The exchange the response being parsed belongs to (kept across interim responses). */
  private respTarget: PendingExchange | null = null;
  /** The response message being parsed is the final one (not 1xx, or 101). */
  private respFinal = false;

  private lastResponseEnd: number | null = null;
  private serverUnseenLoss = false;
  /**
   * The response parser lost a response's framing in a gap (responseLost without an unseen
   * message): how far the lost bytes reached is unknown, so they may have held whole responses
   * too, and the response it resynchronises on is paired as after serverUnseenLoss.
   */
  private serverFramingLoss = false;
  /** The TCP stage's acknowledgements (see AcknowledgementSource), or null when unknown. */
  private acks: AcknowledgementSource | null = null;
  private pipeliningSeen = false;
  private lastClientTs = 0;
  private lastServerTs = 0;
  private lastServerFrame = 0;
  /** Start of the latest response without a request, until a client-side gap claims it. */
  private lastOrphanStart: number | null = null;
  private lastActivity = 0;
  private emitted = 0;
  private done = false;
  /** The client sent FIN or RST (clientEnd): a response that ends from now on ended after it. */
  private clientClosed = false;
  /** When and in which frame the client closed (clientEnd), once clientClosed. */
  private clientClosedTs = 0;
  private clientClosedFrame = 0;
  /** A response ended after the client's close (endedAfterClientClose): finish settles it. */
  private endedAfterClose = false;
  /** What made the connection a tunnel, once it is one: a 101 (an Upgrade: WebSocket, h2c…) or a 2xx to CONNECT. */
  private tunnelOpenedBy: 'upgrade' | 'connect' | null = null;
  /**
   * The longest silence in both directions inside the tunnel, between its opening and either
   * side's first close (seconds; 0 for no tunnel): a tunnel that lived through a silence was under
   * no idle timer that short (tunnel-idle-timeout bounds a timer by it).
   */
  tunnelLongestSilence = 0;
  /** Either side closed (clientEnd, serverEnd): later data (a write into a closed tunnel) ends no silence the tunnel lived through. */
  private eitherClosed = false;
  /** A request line that never completed was taken for a request (takeUnfinishedRequestLine). */
  private unfinishedLineTaken = false;

  /**
   * The `Server` value of the connection's first final response that had one: what software
   * answered (a proxy that passes its backend's header on shows the backend's). Null: none seen.
   */
  serverSoftware: string | null = null;
  /** The last `Via` entry of that same response (see MessageHead.via), or null. */
  serverVia: string | null = null;
  /** That response's `Server` field name was in lower case (MessageHead.serverNameLower). */
  serverNameLower = false;
  /** A final response was parsed: when serverSoftware and serverVia are still null, none named its software. */
  answered = false;
  /**
   * The `Server` value and last `Via` entry of the connection's first gateway error (502, 503, 504)
   * that had either: what software wrote the error, which a proxy that passes its backend's
   * `Server` on with its answers (Apache mod_proxy) names as itself only there. Null: none seen.
   */
  gatewayErrorSoftware: string | null = null;
  gatewayErrorVia: string | null = null;
  /**
   * The `User-Agent` of the connection's first request, or null (none, or a request a proxy
   * forwarded: its `Via`, `Forwarded` or `X-Forwarded-For` says so, and the agent is the proxy's
   * client, not the software that holds this connection).
   */
  clientSoftware: string | null = null;
  /**
   * Whether the connection's first request was one a proxy forwarded (its `Via`, `Forwarded`,
   * `X-Forwarded-For` or `X-Real-IP`); null until a first request head was read. With clientSoftware null and
   * this false, the client sent no `User-Agent`.
   */
  clientForwarded: boolean | null = null;
  /** That request's `User-Agent` field name was in lower case (MessageHead.agentNameLower). */
  clientAgentNameLower = false;
  /** That request's MessageHead.agentHash (0: no User-Agent). */
  clientAgentHash = 0;
  /**
   * A later request on the connection named another `User-Agent` than the first (both named one):
   * one client program sends its own on every request, a proxy's pooled upstream connection
   * carries its many clients' (nginx's `keepalive` upstream, HAProxy's http-reuse).
   */
  clientAgentsVary = false;
  /**
   * Who spoke when, once either parser found the payload is not HTTP (a database's, a cache's
   * protocol, or TLS): the client's reuses of the connection (see OpaqueTurns). Null until then.
   */
  opaqueTurns: OpaqueTurns | null = null;
  /** The connection speaks a protocol whose turns say nothing of requests and answers (otherProtocol). */
  turnsUnreadable = false;

  /**
   * The longest pause between two of the server's data segments inside the last response begun
   * (from its head on, 0: none yet) while the client had not closed, and that response's start
   * (-1: none). A timer on the silence between bytes that let such a pause pass is longer than it:
   * a cut after a silence no longer is the server's own pacing, not such a timer's
   * (response-truncated). Two numbers per session, written on the server's data path without
   * allocating.
   */
  responseLongestGap = 0;
  responseGapFrom = -1;
  /**
   * The times of the server's latest data inside that response (a ring of RECENT_SERVER_DATA,
   * segments within a millisecond of the one before taken as one read) and how many were noted: a
   * timer re-armed lazily by reads (nginx moves its read timer only for a read 0.3 s or more after
   * it last set it) may have run from any of those of the last 0.3 s before a cut
   * (detect/read-timer.ts). Written on the server's data path without allocating. A packed array
   * of doubles, not a Float64Array: the typed array's view, buffer and store cost ~260 bytes a
   * session, the array ~110 (RECENT_SERVER_DATA doubles).
   */
  readonly recentServerData: number[] = SERVER_DATA_RING.slice().fill(0);
  recentServerCount = 0;

  private clientSniffed = false;
  private clientLooksLikeResponse = false;
  private serverSniffed = false;
  private serverLooksLikeRequest = false;

  constructor(
    readonly flowId: number,
    readonly establishedAt: number,
    private onExchange: (ex: HttpExchange) => void,
    options: HttpSessionOptions = {},
    acks: AcknowledgementSource | null = null,
  ) {
    this.counters = options.counters ?? null;
    this.budget = options.budget ?? null;
    const parserOptions = options.midstream === true ? MIDSTREAM : FROM_START;
    this.req = new MessageParser('request', new RequestEvents(this), parserOptions);
    this.resp = new MessageParser('response', new ResponseEvents(this), parserOptions);
    // One place sets what a session starts with; and every field is written twice before any code
    // runs optimized (see the MessageParser constructor for why).
    this.reset(flowId, establishedAt, onExchange, options, acks);
  }

  /** The idle clock starts at the handshake when it was seen (the first request's idle gap). */
  private startAt(establishedAt: number): void {
    this.lastResponseEnd = Number.isFinite(establishedAt) ? establishedAt : null;
    this.lastActivity = Number.isFinite(establishedAt) ? establishedAt : 0;
  }

  /**
   * Makes this session a new one for another connection, as the constructor with the same
   * arguments would (an analysis reuses the sessions of released connections: a session and its
   * two parsers outlived many young-generation collections, and making them anew for every
   * connection had the garbage collector copy them twice each). Meant for a finished session;
   * an unfinished one drops what it holds without emitting it. Every field is set again;
   * test/http/session-reuse.test.ts compares a reset session with a new one.
   */
  reset(flowId: number, establishedAt: number, onExchange: (ex: HttpExchange) => void, options: HttpSessionOptions = {}, acks: AcknowledgementSource | null = null): this {
    for (let p = this.qFirst; p !== null; p = p.next) this.release(p);
    const self = this as { flowId: number; establishedAt: number };
    self.flowId = flowId;
    self.establishedAt = establishedAt;
    this.onExchange = onExchange;
    this.counters = options.counters ?? null;
    this.budget = options.budget ?? null;
    const midstream = options.midstream === true;
    this.req.reset(midstream);
    this.resp.reset(midstream);
    this.qFirst = null;
    this.qLast = null;
    this.qCount = 0;
    this.reqCurrent = null;
    this.reqHead = null;
    this.respTarget = null;
    this.respFinal = false;
    this.serverUnseenLoss = false;
    this.serverFramingLoss = false;
    this.acks = acks;
    this.pipeliningSeen = false;
    this.lastClientTs = 0;
    this.lastServerTs = 0;
    this.lastServerFrame = 0;
    this.lastOrphanStart = null;
    this.startAt(establishedAt);
    // Seen mid-stream: the first request's idle time runs from an exchange before the capture
    // began, not from its first packet; unknown.
    if (midstream) this.lastResponseEnd = null;
    this.emitted = 0;
    this.done = false;
    this.clientClosed = false;
    this.clientClosedTs = 0;
    this.clientClosedFrame = 0;
    this.endedAfterClose = false;
    this.tunnelOpenedBy = null;
    this.tunnelLongestSilence = 0;
    this.eitherClosed = false;
    this.unfinishedLineTaken = false;
    this.serverSoftware = null;
    this.serverVia = null;
    this.serverNameLower = false;
    this.gatewayErrorSoftware = null;
    this.gatewayErrorVia = null;
    this.answered = false;
    this.clientSoftware = null;
    this.clientForwarded = null;
    this.clientAgentNameLower = false;
    this.clientAgentHash = 0;
    this.clientAgentsVary = false;
    this.opaqueTurns = null;
    this.turnsUnreadable = false;
    this.clientSniffed = false;
    this.clientLooksLikeResponse = false;
    this.serverSniffed = false;
    this.serverLooksLikeRequest = false;
    this.responseLongestGap = 0;
    this.responseGapFrom = -1;
    this.recentServerData.fill(0);
    this.recentServerCount = 0;
    return this;
  }

  /**
   * The client spoke another protocol that starts like HTTP/1.x (HTTP/2's cleartext preface "PRI *
   * HTTP/2.0", whose first line parses as a request): both directions stop. No turns are read
   * either: HTTP/2 multiplexes requests and both sides send control frames of their own (SETTINGS,
   * PING, a GOAWAY answered with one), so a client's bytes after the server's close are no request
   * sent on a closed connection. Called before the session is given a byte.
   */
  otherProtocol(): void {
    this.turnsUnreadable = true;
    this.req.stop('not-http');
    this.resp.stop('not-http');
  }

  /** The payload is not HTTP: from now on only turns are read (opaqueTurns), unless their turns cannot be read (otherProtocol). */
  private readTurns(): void {
    if (this.opaqueTurns === null && !this.turnsUnreadable) this.opaqueTurns = new OpaqueTurns().startAfter(this.lastClientTs);
  }

  /** A strict request line or a status line was parsed on this connection (or a request line that never completed, see takeUnfinishedRequestLine, or one the snaplen cut, see MessageParser.cutLineProven). */
  get isHttp(): boolean {
    return this.req.strictSeen || this.req.cutLineProven || this.resp.confirmed || this.unfinishedLineTaken;
  }

  /** Exchanges emitted so far. */
  get exchangeCount(): number {
    return this.emitted;
  }

  /** Capture time of the last byte, gap or close seen on either side. */
  get lastActivityTs(): number {
    return this.lastActivity;
  }

  /** Why each side stopped parsing, if it did. */
  get clientGiveUp(): GiveUpReason | null {
    return this.req.giveUpReason;
  }
  get serverGiveUp(): GiveUpReason | null {
    return this.resp.giveUpReason;
  }

  /** The connection became a tunnel (CONNECT 2xx or 101 Switching Protocols): nothing more is parsed. */
  get isTunnel(): boolean {
    return this.tunnelOpenedBy !== null;
  }

  /** What made the connection a tunnel (see isTunnel), or null. */
  get tunnelKind(): 'upgrade' | 'connect' | null {
    return this.tunnelOpenedBy;
  }

  /** Requests started whose final response has not completed (a request line still arriving counts). */
  outstandingRequests(): number {
    let n = this.req.inStartLine ? 1 : 0;
    for (let p = this.qFirst; p !== null; p = p.next) {
      if (p.reqState !== Q_ABSENT && p.respState < R_DONE) n++;
    }
    return n;
  }

  /**
   * The roles look swapped: the "server" sent a request line, or the "client" a status line,
   * where this side's parser found no HTTP. Meaningful after the first bytes of each side.
   */
  looksReversed(): boolean {
    return (this.resp.isOff && this.serverLooksLikeRequest) || (this.req.isOff && this.clientLooksLikeResponse);
  }

  clientData(bytes: Uint8Array, offset: number, length: number, ts: number, frame: number): void {
    if (this.done || length <= 0) return;
    if (this.tunnelOpenedBy !== null && !this.eitherClosed && ts - this.lastActivity > this.tunnelLongestSilence) this.tunnelLongestSilence = ts - this.lastActivity;
    this.lastActivity = ts;
    this.lastClientTs = ts;
    if (!this.clientSniffed) {
      this.clientSniffed = true;
      this.clientLooksLikeResponse = startsLikeResponse(bytes, offset, length);
    }
    this.req.push(bytes, offset, length, ts, frame);
    const opaque = this.opaqueTurns;
    if (opaque !== null) opaque.client(ts, frame, bytes[offset]);
    this.flush();
  }

  serverData(bytes: Uint8Array, offset: number, length: number, ts: number, frame: number): void {
    if (this.done || length <= 0) return;
    if (this.tunnelOpenedBy !== null && !this.eitherClosed && ts - this.lastActivity > this.tunnelLongestSilence) this.tunnelLongestSilence = ts - this.lastActivity;
    this.lastActivity = ts;
    // A pause inside a response under way (its head began in earlier data), while its client
    // still listened: data a backend writes after its proxy gave up ends no pause the proxy saw.
    if (this.respTarget !== null && !this.clientClosed && ts - this.lastServerTs > this.responseLongestGap) this.responseLongestGap = ts - this.lastServerTs;
    this.lastServerTs = ts;
    this.lastServerFrame = frame;
    if (!this.serverSniffed) {
      this.serverSniffed = true;
      this.serverLooksLikeRequest = startsLikeRequest(bytes, offset, length);
    }
    this.resp.push(bytes, offset, length, ts, frame);
    // After the push: a segment that carried the head began the response (and cleared the ring).
    if (this.respTarget !== null && !this.clientClosed) this.noteServerData(ts);
    const opaque = this.opaqueTurns;
    if (opaque !== null) opaque.server(ts);
    this.flush();
  }

  /** `length` client bytes are missing from the capture here (0: an unknown amount); `cut`: by the snaplen, see MessageParser.gap. */
  clientGap(length: number, cut = false): void {
    if (this.done) return;
    this.req.gap(length, cut);
    this.flush();
  }

  serverGap(length: number, cut = false): void {
    if (this.done) return;
    this.resp.gap(length, cut);
    this.flush();
  }

  /** The client sent FIN or RST: nothing more comes from it. */
  clientEnd(ts: number, frame: number): void {
    if (this.done) return;
    this.lastActivity = ts;
    this.eitherClosed = true;
    this.clientClosed = true;
    this.clientClosedTs = ts;
    this.clientClosedFrame = frame;
    // A response whose body is still arriving: what of it the client could have read.
    const arriving = this.respTarget;
    if (arriving !== null && this.respFinal) arriving.bodyAtClientClose = this.resp.partialBodyBytes;
    if (this.req.inStartLine) this.takeUnfinishedRequestLine();
    this.req.end(ts, frame);
    this.flush();
  }

  /** The server sent FIN or RST: a close-delimited response completes; requests still waiting will get nothing. */
  serverEnd(ts: number, frame: number): void {
    if (this.done) return;
    this.lastActivity = ts;
    this.eitherClosed = true;
    this.resp.end(ts, frame);
    this.flush();
  }

  /** The connection is released or the capture ended: every pending exchange is emitted as it stands. */
  finish(ts: number): void {
    if (this.done) return;
    if (ts > this.lastActivity) this.lastActivity = ts;
    if (this.req.inStartLine) this.takeUnfinishedRequestLine();
    // An upload refused at its head whose body had not begun by now: withheld (MessageParser.bodyMayBeWithheld).
    this.req.endIfWithheld();
    // Messages the snaplen cut, still open: nothing more comes, so each ended at its last bytes.
    this.req.endOpenCut(true);
    this.resp.endOpenCut(true);
    this.done = true;
    // Server bytes the capture lost (a gap between responses) and no response after them: the
    // lost bytes may have answered the requests still waiting, which cannot be called unanswered.
    // Or the capture holds no byte of the server at all, though the client acknowledged it (one
    // direction captured): its requests were not unanswered, their answers are just not here.
    if (this.serverUnseenLoss || (this.acks !== null && this.acks.serverUnseen())) {
      for (let p = this.qFirst; p !== null; p = p.next) if (p.respState === R_NONE && !this.isOrphan(p)) p.uncertain = true;
    }
    // Only when there is one: the call on every session's finish counted +105 M instructions on the
    // first 500 000 benchmark packets (README's cachegrind command), a fifth of the HTTP stage's growth.
    if (this.endedAfterClose) this.settleResponsesAfterClientClose();
    if (this.isHttp) this.flush();
    for (let p = this.qFirst; p !== null; p = p.next) this.release(p);
    this.qFirst = null;
    this.qLast = null;
    this.qCount = 0;
    this.reqCurrent = null;
    this.reqHead = null;
    this.respTarget = null;
    this.acks = null; // the connection is released: not held by a spare session
    this.addCounters();
  }

  // ---- request side (called by RequestEvents) ---------------------------------------------

  /** @internal */
  requestBegun(head: MessageHead): void {
    const pending = this.qCount;
    const budget = this.budget;
    if (pending >= MAX_PENDING_EXCHANGES || (budget !== null && pending >= FREE_PENDING_PER_SESSION && budget.held >= budget.limitBytes)) {
      this.req.stop('too-many-pending');
      return;
    }
    // A response whose head the snaplen cut has no known end: the next request bounds it (a client
    // that pipelines may lose the rest of such a response; Ethernet captures at -s 128 cut every one).
    this.resp.endOpenCut();
    const p = this.newPending();
    p.takeRequestLine(head);
    p.idleBefore = this.idleBefore(head.startTs);
    this.charge(p, PENDING_BASE_BYTES + stringBytes(head));
    this.enqueue(p);
    this.reqCurrent = p;
    this.reqHead = head;
  }

  /** @internal */
  requestHead(head: MessageHead): void {
    const p = this.reqCurrent;
    if (p === null) return;
    p.reqState = Q_BODY;
    p.takeRequestFields(head);
    this.reqHead = null;
    if (this.req.readsIdentity === true) {
      // The first request names its client; later ones need not read it again.
      this.clientForwarded = head.via !== null || head.forwarded;
      if (!this.clientForwarded) this.clientSoftware = head.userAgent;
      this.clientAgentNameLower = head.agentNameLower;
      this.clientAgentHash = head.agentHash;
      this.req.readsIdentity = false;
    } else if (head.agentHash !== 0 && this.clientAgentHash !== 0 && head.agentHash !== this.clientAgentHash) {
      this.clientAgentsVary = true;
    }
    // The start line was charged at its beginning; the header strings are known now.
    this.charge(p, headerStringBytes(head));
  }

  /** @internal */
  requestEnded(ts: number, bodyBytes: number, gapBytes: number): void {
    const p = this.reqCurrent;
    if (p === null) return;
    p.reqState = Q_DONE;
    p.requestEnd = ts;
    p.requestBodyBytes = bodyBytes;
    if (this.req.bodyGuessedAbsent) p.bodyWithheld = true;
    if (gapBytes > 0) p.uncertain = true;
    this.reqCurrent = null;
  }

  /** @internal */
  requestLost(unseenMessage: boolean): void {
    const current = this.reqCurrent;
    if (current !== null) {
      this.keepPartialRequestFields();
      current.reqState = Q_LOST;
      current.requestBodyBytes = this.req.partialBodyBytes;
      current.uncertain = true;
      this.reqCurrent = null;
    }
    if (unseenMessage) {
      // A response that came with no request after the last client bytes before this gap
      // already stands for the lost request: no placeholder, or the pairing would shift.
      if (this.lastOrphanStart !== null && this.lastOrphanStart >= this.lastClientTs) {
        this.lastOrphanStart = null;
        if (this.counters !== null) this.counters.lostRequests++;
        return;
      }
      const p = this.newPending();
      p.reqState = Q_ABSENT;
      p.placeholder = true;
      p.orderTs = this.lastClientTs;
      p.uncertain = true;
      this.charge(p, PENDING_BASE_BYTES);
      this.enqueue(p);
    }
  }

  /** @internal */
  requestGaveUp(): void {
    if (this.req.giveUpReason === 'not-http') this.readTurns();
    if (this.reqCurrent !== null) {
      this.keepPartialRequestFields();
      this.reqCurrent.requestBodyBytes = this.req.partialBodyBytes;
    }
    this.reqCurrent = null; // stays request-incomplete
  }

  /**
   * The client's request line stops short for good: a response came before it was complete, or
   * the client closed, or the connection ended. A server that times out a slow client's head
   * (Node's headersTimeout answers 408, nginx's client_header_timeout closes) does so while the
   * line may still be arriving; what it shows is taken for the request the server gave up on
   * (MessageParser.beginUnfinishedLine), its version unknown. True when it was. `answered`: a
   * response came (a method alone then counts).
   */
  private takeUnfinishedRequestLine(answered = false): boolean {
    if (!this.req.beginUnfinishedLine(answered)) return false;
    const p = this.reqCurrent;
    if (p === null) return false; // refused by the pending bound
    p.requestLineUnfinished = true;
    p.requestVersion = null;
    p.requestVersionMajor = -1;
    p.requestVersionMinor = -1;
    this.unfinishedLineTaken = true;
    return true;
  }

  /**
   * The current request's header block will not complete: keep the fields parsed so far (as the
   * exchange shows them), before the request parser reuses its head for another message.
   */
  private keepPartialRequestFields(): void {
    if (this.reqCurrent !== null && this.reqHead !== null) this.reqCurrent.takeRequestFields(this.reqHead);
    this.reqHead = null;
  }

  /**
   * Idle time before a request starting at `ts`: since the previous response ended (or the
   * handshake). Zero when an earlier request is still waiting (pipelining: the connection was
   * busy); unknown when that wait may be a response lost in a capture gap.
   */
  private idleBefore(ts: number): number | null {
    for (let p = this.qFirst; p !== null; p = p.next) {
      if (p.respState < R_DONE) return this.serverUnseenLoss ? null : 0;
    }
    if (this.lastResponseEnd === null) return null;
    const idle = ts - this.lastResponseEnd;
    return idle > 0 ? idle : 0;
  }

  // ---- response side (called by ResponseEvents) -------------------------------------------

  /** @internal The request method the response being parsed answers. */
  methodOfNextResponse(): string | null {
    return this.respTarget?.method ?? null;
  }

  /** @internal */
  responseBegun(head: MessageHead): void {
    let p = this.respTarget;
    if (p === null) {
      p = this.pickResponseTarget(head.startTs);
      this.respTarget = p;
    }
    if (p.respState === R_NONE) {
      p.respState = R_STARTED;
      p.responseStart = head.startTs;
      p.responseFrame = head.startFrame;
    }
    if (head.status >= 200 || head.status === 101) p.takeResponseLine(head);
    this.respFinal = false;
    // Pauses are counted from this head on (an interim response's wait for the final one is none of the body's).
    this.responseLongestGap = 0;
    this.responseGapFrom = head.startTs;
    this.recentServerCount = 0;
  }

  /** Notes a server data segment of the response under way in recentServerData. */
  private noteServerData(ts: number): void {
    const n = this.recentServerCount;
    if (n > 0 && ts - this.recentServerData[(n - 1) % RECENT_SERVER_DATA] <= SAME_READ) return;
    this.recentServerData[n % RECENT_SERVER_DATA] = ts;
    this.recentServerCount = n + 1;
  }

  /** @internal */
  responseHead(head: MessageHead): void {
    const p = this.respTarget;
    if (p === null) return;
    const status = head.status;
    if (status < 200 && status !== 101) {
      if (p.interim === null) p.interim = [];
      if (p.interim.length < MAX_INTERIM_KEPT) p.interim.push(status);
      return;
    }
    this.respFinal = true;
    this.answered = true;
    // The final response after interim ones (a 100 Continue before an upload): the exchange's
    // response is the final one, its start and frame too; the interim statuses stay in `interim`.
    // (Here, not in responseBegun, which runs for every head: there it cost 39 M instructions on
    // the first 500 000 benchmark packets, by V8's inlining rather than its own few.)
    if (p.interim !== null) {
      p.responseStart = head.startTs;
      p.responseFrame = head.startFrame;
    }
    if (this.serverSoftware === null && this.serverVia === null) {
      this.serverSoftware = head.server;
      this.serverVia = head.via;
      this.serverNameLower = head.serverNameLower;
      // Known now: later responses' heads need not read it again (but for gateway errors: MessageParser.acceptHead).
      if (head.server !== null || head.via !== null) this.resp.readsIdentity = false;
    }
    if (head.status >= 502 && head.status <= 504 && this.gatewayErrorSoftware === null && this.gatewayErrorVia === null) {
      this.gatewayErrorSoftware = head.server;
      this.gatewayErrorVia = head.via;
    }
    p.takeResponseHead(head);
    this.charge(p, stringBytes(head) + headerStringBytes(head));
    // A final answer to the request still in progress, which asked `Expect: 100-continue` and got
    // no 100 Continue: its client may withhold the body it announced (RFC 9110 §10.1.1), as one
    // refused at its head (417, 401, 413) often does; the request parser then tells by what follows.
    if (p === this.reqCurrent && p.expectContinue && status >= 200 && (p.interim === null || !p.interim.includes(100))) {
      this.req.bodyMayBeWithheld();
    }
    if (head.framing === 'tunnel') {
      this.tunnelOpenedBy = p.method === 'CONNECT' ? 'connect' : 'upgrade';
      this.req.enterTunnel();
    } else if (p.method === 'CONNECT') {
      this.req.resume(); // refused CONNECT: the client may go on with requests
    }
  }

  /** @internal */
  responseEnded(ts: number, frame: number, bodyBytes: number, gapBytes: number): void {
    const p = this.respTarget;
    if (p === null || !this.respFinal) return; // an interim response ended
    p.respState = R_DONE;
    // Its end came after the client's close: held till the connection ends (settleResponsesAfterClientClose).
    // By its last bytes' time, not when it was ended: a response whose head the snaplen cut ends
    // only when the connection does (MessageParser.endOpenCut), at the last segment that carried its
    // bytes, which may have come long before the client's close (ab's RST at the end of its run
    // turned the last cut response of each connection into one the client never took).
    if (this.clientClosed && !(ts < this.clientClosedTs || (ts === this.clientClosedTs && frame < this.clientClosedFrame))) p.endedAfterClientClose = this.endedAfterClose = true;
    p.responseEnd = ts;
    p.responseEndFrame = frame;
    p.responseBodyBytes = bodyBytes;
    // Bodiless by a guess (MessageParser.bodyAbsentAt: its request, so its method, not captured).
    if (gapBytes > 0 || this.resp.bodyGuessedAbsent) p.uncertain = true;
    this.lastResponseEnd = ts;
    this.respTarget = null;
    this.respFinal = false;
    // A later request already begun while this response was arriving: the client pipelines.
    if (!p.uncertain && p.reqState !== Q_ABSENT) {
      for (let q = p.next; q !== null; q = q.next) {
        if (q.hasRequest) {
          this.pipeliningSeen = true;
          break;
        }
      }
    }
  }

  /** @internal */
  responseLost(unseenMessage: boolean): void {
    const p = this.respTarget;
    if (p !== null) {
      p.respState = R_LOST;
      p.responseBodyBytes = this.resp.partialBodyBytes;
      p.uncertain = true;
      this.respTarget = null;
      this.respFinal = false;
      if (this.counters !== null) this.counters.lostResponses++;
      if (!unseenMessage) this.serverFramingLoss = true;
    }
    if (unseenMessage) this.serverUnseenLoss = true;
  }

  /** @internal */
  responseGaveUp(reason: GiveUpReason): void {
    if (reason === 'not-http') this.readTurns();
    if (this.respTarget !== null) this.respTarget.responseBodyBytes = this.resp.partialBodyBytes;
    this.respTarget = null;
    if (reason !== 'not-http') return;
    // A server that does not speak HTTP disproves a client that only sent lenient request lines.
    if (!this.req.strictSeen) {
      this.req.stop('not-http');
      return;
    }
    // Otherwise the waiting request did get an answer, just not an HTTP one (a TLS alert, a
    // malformed status line): its response started, it was not left unanswered.
    for (let p = this.qFirst; p !== null; p = p.next) {
      if (p.respState !== R_NONE || this.isOrphan(p)) continue;
      if (p.startTs <= this.lastServerTs) {
        p.respState = R_STARTED;
        p.responseStart = this.lastServerTs;
        p.responseFrame = this.lastServerFrame;
      }
      break;
    }
  }

  /** The exchange a response starting at `ts` answers, creating a `no-request` one when none waits. */
  private pickResponseTarget(ts: number): PendingExchange {
    let first: PendingExchange | null = null;
    for (let p = this.qFirst; p !== null; p = p.next) {
      if (p.respState === R_NONE && !this.isOrphan(p)) {
        first = p;
        break;
      }
    }
    const afterLoss = this.serverUnseenLoss;
    if (first !== null && (afterLoss || this.serverFramingLoss)) {
      this.serverUnseenLoss = false;
      first = this.skipLostResponses(first, ts);
    }
    this.serverFramingLoss = false;
    // A response while the client's request line is still arriving answers that request (a 408 to
    // a slowloris, a 414 to a target too long), not one the capture missed.
    if (first === null && this.req.inStartLine && this.takeUnfinishedRequestLine(true)) first = this.reqCurrent;
    if (first !== null) return first;
    const orphan = this.newPending();
    orphan.reqState = Q_ABSENT;
    this.lastOrphanStart = ts;
    orphan.uncertain = afterLoss || isRealGiveUp(this.req.giveUpReason);
    this.serverUnseenLoss = false;
    this.charge(orphan, PENDING_BASE_BYTES);
    this.enqueue(orphan);
    return orphan;
  }

  /** A response without a request of its own (not a placeholder for a lost one). */
  private isOrphan(p: PendingExchange): boolean {
    return p.reqState === Q_ABSENT && !p.placeholder;
  }

  /**
   * After a server-side gap swallowed the start of at least one response: which waiting exchange
   * does the response resynchronised on answer? Marks the skipped ones lost (see class comment).
   * Null: none of them, the response answers a request the capture lost too.
   */
  private skipLostResponses(first: PendingExchange, ts: number): PendingExchange | null {
    const waiting: PendingExchange[] = [];
    for (let p: PendingExchange | null = first; p !== null; p = p.next) {
      if (p.respState === R_NONE && !this.isOrphan(p)) waiting.push(p);
    }
    let chosen = 0;
    if (!this.pipeliningSeen && waiting[waiting.length - 1] !== this.reqCurrent && this.acks !== null && this.acks.clientBytesAckedUnseen() > 0) {
      // The server had received client bytes after the last request seen, which had ended: a
      // request the capture lost (or has not shown yet). A client that does not pipeline sent it
      // after the responses to the earlier ones, so this response answers it, and theirs were
      // lost. Timing alone would pair it with the latest request seen and shift every later
      // pairing by one, until the connection's last request looked unanswered.
      for (const p of waiting) this.markResponseLost(p);
      return null;
    }
    if (this.pipeliningSeen) {
      if (waiting.length > 1 && waiting[1].startTs <= ts) chosen = 1;
    } else {
      for (let k = waiting.length - 1; k > 0; k--) {
        if (waiting[k].startTs <= ts) {
          chosen = k;
          break;
        }
      }
    }
    for (let k = 0; k < chosen; k++) this.markResponseLost(waiting[k]);
    return waiting[chosen];
  }

  private markResponseLost(p: PendingExchange): void {
    p.respState = R_LOST;
    p.uncertain = true;
    if (this.counters !== null) this.counters.lostResponses++;
  }

  // ---- queue -------------------------------------------------------------------------------

  private newPending(): PendingExchange {
    const p = sparePending;
    if (p === null) return new PendingExchange();
    sparePending = p.next;
    spareCount--;
    p.reset();
    return p;
  }

  private enqueue(p: PendingExchange): void {
    p.next = null;
    if (this.qLast === null) this.qFirst = p;
    else this.qLast.next = p;
    this.qLast = p;
    this.qCount++;
  }

  /**
   * Responses that ended after the client's close (held by flush): a client that had closed and
   * reset the connection rather than acknowledge the server's last bytes (its socket was closed
   * to receiving: a client that gave up at its own timeout), or that closed with a RST, never
   * read them. Such a response was not received whole: it is emitted unfinished, with the body
   * bytes that had come before the close. A client that only half-closed (shutdown(SHUT_WR)) and
   * acknowledged everything was still reading: its response stays complete.
   */
  private settleResponsesAfterClientClose(): void {
    let refused: boolean | null = null;
    for (let p = this.qFirst; p !== null; p = p.next) {
      if (!p.endedAfterClientClose || p.respState !== R_DONE) continue;
      if (refused === null) refused = this.acks !== null && this.acks.clientRefusedDataAfterClose();
      if (!refused) return;
      p.respState = R_STARTED;
      p.responseBodyBytes = p.bodyAtClientClose;
      p.unreceivedAfterClientClose = true;
    }
  }

  /**
   * An emitted exchange goes back to the pool shared by all sessions: an idle keep-alive
   * connection then holds none, and a new exchange costs no allocation.
   */
  private recycle(p: PendingExchange): void {
    if (spareCount >= MAX_SPARE_PENDING) return;
    p.next = sparePending;
    sparePending = p;
    spareCount++;
  }

  // ---- emission ----------------------------------------------------------------------------

  /** Emits the decided exchanges at the front of the queue, in order. */
  private flush(): void {
    if (!this.isHttp && !this.done) return; // unproven: hold (lenient request lines only)
    const reqFinished = this.done || this.req.finished;
    const respFinished = this.done || this.resp.finished;
    let p = this.qFirst;
    while (p !== null) {
      const reqDecided = p.reqState >= Q_DONE || reqFinished;
      const respDecided = (p.respState >= R_DONE && !(p.endedAfterClientClose && !this.done)) || respFinished;
      if (!reqDecided || !respDecided) break;
      // Emitted exchanges must not stay reachable: a long keep-alive connection would otherwise
      // hold every exchange it ever carried.
      this.qFirst = p.next;
      if (this.qFirst === null) this.qLast = null;
      this.qCount--;
      this.release(p);
      // Emitted unfinished: keep what its head and body got to.
      if (p === this.reqCurrent) {
        this.keepPartialRequestFields();
        p.requestBodyBytes = this.req.partialBodyBytes;
        this.reqCurrent = null;
      }
      if (p === this.respTarget) {
        if (this.respFinal) p.responseBodyBytes = this.resp.partialBodyBytes;
        this.respTarget = null;
      }
      // Server bytes the capture lost, and no response seen after them: they may have answered
      // it (as finish() says of the exchanges it emits; this one goes out first, at the server's
      // close, when the lost bytes were those just before its FIN).
      if (this.serverUnseenLoss && p.respState === R_NONE && !this.isOrphan(p)) p.uncertain = true;
      this.emit(p);
      this.recycle(p);
      p = this.qFirst;
    }
  }

  private emit(p: PendingExchange): void {
    if (p.placeholder) {
      if (p.respState === R_NONE) return; // nothing answered it: no evidence a request was there
      if (this.counters !== null) this.counters.lostRequests++;
      // Its response was lost too (skipLostResponses): counted, but an exchange of which the
      // capture holds neither half says nothing.
      if (p.respState === R_LOST) return;
    }
    // A side whose parser stopped cannot vouch for what it did not parse.
    const reqStopped = this.req.giveUpReason !== null;
    const respStopped = this.resp.giveUpReason !== null;
    const uncertain =
      p.uncertain || (p.respState < R_DONE && respStopped) || (p.reqState !== Q_DONE && p.reqState !== Q_LOST && reqStopped);
    this.onExchange(exchangeRecord(this.flowId, ++this.emitted, p, uncertain));
  }

  private charge(p: PendingExchange, bytes: number): void {
    p.cost += bytes;
    if (this.budget !== null) this.budget.held += bytes;
  }

  private release(p: PendingExchange): void {
    if (this.budget !== null) this.budget.held -= p.cost;
    p.cost = 0;
  }

  private addCounters(): void {
    const c = this.counters;
    if (c === null) return;
    c.requests += this.req.messages;
    c.responses += this.resp.messages;
    addParserCounters(c, this.req);
    addParserCounters(c, this.resp);
    if (this.tunnelOpenedBy !== null) c.tunnels++;
  }
}

function addParserCounters(c: HttpCounters, parser: MessageParser): void {
  const reason = parser.giveUpReason;
  if (reason !== null) {
    c.giveUps[reason]++;
    if (reason === 'not-http') c.notHttpDirections++;
  }
  c.badStartLines += parser.badStartLines;
  c.resyncs += parser.resyncs;
  c.cutMessages += parser.cutEnds;
  c.gaps += parser.gapEvents;
  c.gapBytes += parser.gapBytes;
}

/** Bytes of the start-line strings a head keeps (one byte per character: they are latin1). */
function stringBytes(head: MessageHead): number {
  return (head.method?.length ?? 0) + (head.uri?.length ?? 0) + (head.version?.length ?? 0) + (head.reason?.length ?? 0);
}

/** Bytes of the header-field strings a head keeps. */
function headerStringBytes(head: MessageHead): number {
  return (head.host?.length ?? 0) + (head.connection?.length ?? 0) + (head.transferEncoding?.length ?? 0);
}

/**
 * The record of an emitted exchange, in the JSON contract's key order. Made in this one place so
 * that settleExchangeShape can run it before any real exchange: see there.
 */
function exchangeRecord(flowId: number, index: number, p: PendingExchange, uncertain: boolean): HttpExchange {
  const rq = p.hasRequest;
  const line = p.hasResponseLine;
  const rs = p.hasResponseHead;
  // A message in one segment starts and ends at the same instant: both fields then refer to one
  // boxed number, so the record that detectors keep for a while holds one box less for the
  // garbage collector to copy. (requestEnd holds its number boxed already; requestStart, a double
  // field, would need a new box.)
  // Each comparison is made only between numbers: compiled on ordinary traffic, a comparison
  // takes its operands for numbers, and the first null (a request or response never finished)
  // threw the emission code away.
  const requestEnd = p.requestEnd;
  const requestStart = !rq ? null : requestEnd !== null && requestEnd === p.requestStart ? requestEnd : p.requestStart;
  const responseStart = p.responseStart;
  const responseEndSeen = p.responseEnd;
  const responseEnd = responseEndSeen !== null && responseEndSeen === responseStart ? responseStart : responseEndSeen;
  return {
    flowId,
    index,
    method: p.method,
    uri: p.uri,
    host: p.host,
    requestVersion: p.requestVersion,
    requestConnection: p.requestConnection,
    requestStart,
    requestEnd,
    requestFrame: rq ? p.requestFrame : null,
    requestBodyBytes: p.requestBodyBytes,
    idempotencyKey: p.idempotencyKey ? true : undefined,
    status: line ? p.status : null,
    statusClass: line && p.statusDigits < 3 ? statusPattern(p.status, p.statusDigits) : undefined,
    reason: p.reason,
    responseVersion: p.responseVersion,
    interim: p.interim ?? NO_INTERIM,
    responseStart,
    responseEnd,
    responseFrame: p.responseFrame,
    responseEndFrame: p.responseEndFrame,
    responseBodyBytes: p.responseBodyBytes,
    responseLength: rs && p.respState !== R_DONE && p.responseFraming === 'length' ? p.responseLength : undefined,
    requestLength: rq && (p.reqState === Q_BODY || p.bodyWithheld) && p.requestLength >= 0 ? p.requestLength : undefined,
    requestBodyWithheld: rq && p.bodyWithheld ? true : undefined,
    responseFraming: !rs ? null : p.responseFraming === 'tunnel' ? 'none' : p.responseFraming,
    responseClose: closesConnection(p),
    responseCloseUnknown: rs && closeUnseen(p) ? true : undefined,
    requestCut: rq && p.requestHeadCut ? true : undefined,
    requestTargetCut: rq && p.requestTargetCut ? true : undefined,
    requestHeadUnfinished: rq && p.reqState === Q_HEAD ? true : undefined,
    requestLineUnfinished: rq && p.requestLineUnfinished ? true : undefined,
    responseAfterClientClose: p.unreceivedAfterClientClose ? true : undefined,
    keepAliveTimeout: p.keepAliveTimeout,
    retryAfter: rs && p.retryAfter >= 0 ? p.retryAfter : undefined,
    idleBefore: p.idleBefore,
    state: stateOf(p),
    uncertain,
  };
}

/**
 * Makes two throwaway records, one with every nullable field null and one with numbers there, at
 * module load. V8 gives each field of the records' shared shape the narrowest representation it
 * has seen (small integer, double, object): on ordinary traffic the first records have numbers
 * everywhere, so a time field was a double field, which needs a box of its own in every record
 * even when the pending exchange's field already holds that very number boxed; and the first
 * exchange without a response (status null) changed the shape, which threw away the optimized
 * emission code (compiled again). Fields that have seen both hold either as a plain reference.
 */
function settleExchangeShape(): void {
  const p = new PendingExchange();
  exchangeRecord(0, 0, p, false);
  p.hasRequest = true;
  p.hasResponseLine = true;
  p.hasResponseHead = true;
  p.responseFraming = 'length';
  p.requestEnd = 0.5;
  p.status = 200;
  p.responseStart = 0.5;
  p.responseEnd = 0.5;
  p.responseFrame = 1;
  p.responseEndFrame = 1;
  p.keepAliveTimeout = 0.5;
  p.idleBefore = 0.5;
  exchangeRecord(0, 0, p, false);
}

function isRealGiveUp(reason: GiveUpReason | null): boolean {
  return reason !== null && reason !== 'not-http';
}

/**
 * An exchange's state by its request's and response's progress: EXCHANGE_STATES[reqState *
 * RESP_STATES + respState]. A table rather than a chain of tests: compiled on complete exchanges,
 * the chain's later tests had never run, and the first exchange without a response threw the
 * emission code away.
 */
const RESP_STATES = 4;
const EXCHANGE_STATES: readonly ExchangeState[] = Object.freeze(
  [Q_HEAD, Q_BODY, Q_DONE, Q_LOST, Q_ABSENT].flatMap((q) =>
    [R_NONE, R_STARTED, R_DONE, R_LOST].map((r): ExchangeState => {
      if (q === Q_ABSENT) return 'no-request';
      if (q === Q_HEAD || q === Q_BODY) return 'request-incomplete';
      if (r === R_DONE) return 'complete';
      if (r === R_NONE) return 'no-response';
      return 'response-incomplete';
    }),
  ),
);

function stateOf(p: PendingExchange): ExchangeState {
  return EXCHANGE_STATES[p.reqState * RESP_STATES + p.respState];
}

/**
 * Whether the snaplen cut off what would say if the connection closes after this exchange: a
 * response head cut before any Connection field, or an HTTP/1.0 request's (whose default is to
 * close). An HTTP/1.1 request's cut head is taken as what it showed: most clients send no
 * Connection field on a connection they keep.
 */
function closeUnseen(p: PendingExchange): boolean {
  if (p.hasResponseHead && p.responseFraming === 'cut' && p.responseConnection === null) return true;
  return p.hasRequest && p.requestHeadCut && p.requestConnection === null && p.requestVersionMajor === 1 && p.requestVersionMinor === 0;
}

/**
 * The connection cannot carry another exchange after this one (RFC 9112 §9.3, §9.6): the response
 * says `Connection: close`, or is HTTP/1.0 without `keep-alive`, or is delimited by the close;
 * or the request said `close`, or was HTTP/1.0 without `keep-alive` (the server then closes).
 */
function closesConnection(p: PendingExchange): boolean {
  if (p.hasResponseHead) {
    if (p.responseFraming === 'tunnel') return false;
    if (saysClose(p.responseConnection) || p.responseFraming === 'close') return true;
    // HTTP/1.0 closes unless it says keep-alive: not concluded from a head cut before its end.
    if (p.responseVersionMajor === 1 && p.responseVersionMinor === 0 && !saysKeepAlive(p.responseConnection) && p.responseFraming !== 'cut') return true;
  }
  if (p.hasRequest) {
    if (saysClose(p.requestConnection)) return true;
    if (p.requestVersionMajor === 1 && p.requestVersionMinor === 0 && !saysKeepAlive(p.requestConnection) && !p.requestHeadCut) return true;
  }
  return false;
}

// Connection values are interned when parsed (see header-fields), so the same few strings come
// back exchange after exchange: the last answer for each token is kept rather than searching
// the list again every time.
let closeList: string | null = null;
let closeListHas = false;
let keepAliveList: string | null = null;
let keepAliveListHas = false;

/** hasToken(list, 'close'). */
function saysClose(list: string | null): boolean {
  if (list === null) return false;
  if (list !== closeList) {
    closeList = list;
    closeListHas = hasToken(list, 'close');
  }
  return closeListHas;
}

/** hasToken(list, 'keep-alive'). */
function saysKeepAlive(list: string | null): boolean {
  if (list === null) return false;
  if (list !== keepAliveList) {
    keepAliveList = list;
    keepAliveListHas = hasToken(list, 'keep-alive');
  }
  return keepAliveListHas;
}

// Last, once everything it uses is defined.
settleExchangeShape();
