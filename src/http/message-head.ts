/** How a message body is delimited (RFC 9112 §6.3), plus `tunnel` when the stream stops being HTTP. */
/** `cut`: the snaplen cut the head before its end (the message ended where the next began, or at its direction's close). */
export type BodyFraming = 'none' | 'length' | 'chunked' | 'close' | 'tunnel' | 'cut';

/** Why a parser stopped parsing its direction for good. */
export type GiveUpReason =
  /** The first bytes of the direction are not an HTTP start line (TLS, SSH, SMTP...). */
  | 'not-http'
  /** A header block (or trailer section) larger than the bound. */
  | 'header-too-large'
  /** A start line, or a line carrying a framing header, longer than the line bound. */
  | 'line-too-long'
  /** Content-Length that is not a number, or several that disagree (request smuggling territory). */
  | 'bad-content-length'
  /** A request Transfer-Encoding whose last coding is not `chunked` (the body length is unknowable). */
  | 'bad-transfer-encoding'
  /** A malformed chunk-size line, or chunk data not followed by CRLF. */
  | 'bad-chunk'
  /** More requests waiting for responses than the session keeps (memory bound); the request side stops. */
  | 'too-many-pending';

export const GIVE_UP_REASONS: readonly GiveUpReason[] = [
  'not-http',
  'header-too-large',
  'line-too-long',
  'bad-content-length',
  'bad-transfer-encoding',
  'bad-chunk',
  'too-many-pending',
];

/**
 * What the parser learned from one message's start line and header block. One object per message
 * (it carries the strings kept for the exchange), unless the parser was asked to reuse one (see
 * ParserOptions.reuseHead); it is filled in two steps: the start line fields when `onMessageBegin`
 * fires, the header fields and `framing` when `onMessageHead` fires.
 */
export class MessageHead {
  /** Capture time and frame of the message's first byte. */
  startTs = 0;
  startFrame = 0;
  /** Capture time and frame of the byte that ended the header block. */
  headEndTs = 0;
  headEndFrame = 0;

  /**
   * True when the start line has the full RFC shape. A request line like `GET /x` or `GET / HTTP/1.`
   * is accepted as lenient (servers answer those, usually with 400), but only a strict one proves
   * that a direction speaks HTTP.
   */
  strict = false;
  /** The version token as sent (`HTTP/1.1`), or null when the request line had none. */
  version: string | null = null;
  /** Parsed version digits, -1 when the token is missing or malformed. */
  versionMajor = -1;
  versionMinor = -1;

  /** Request line (null on responses). */
  method: string | null = null;
  uri: string | null = null;
  /** Status line (0 / null on requests). */
  status = 0;
  /**
   * Digits of the status code the capture holds: 3, or 1 to 2 when the snaplen cut the status line
   * inside its code (parseCutStatusLine: `status` is then the lowest code the digits allow).
   */
  statusDigits = 3;
  reason: string | null = null;

  /** `Connection` values, lower-cased, several fields joined with ", ". */
  connection: string | null = null;
  /** `timeout=N` of a `Keep-Alive` field, seconds. */
  keepAliveTimeout: number | null = null;
  /** `Retry-After` as delay-seconds (responses: a 429's or 503's), -1 when absent or an HTTP-date. */
  retryAfter = -1;
  /** Content-Length, -1 when absent. */
  contentLength = -1;
  /** A Content-Length field was unparsable, or two disagreed. */
  contentLengthInvalid = false;
  /** `Transfer-Encoding` values, lower-cased, joined with ", ". */
  transferEncoding: string | null = null;
  /** First `Host` field value. */
  host: string | null = null;
  /** An `Idempotency-Key` or `X-Idempotency-Key` field was present (requests). */
  idempotencyKey = false;
  /**
   * An `Expect: 100-continue` field (requests): its client may withhold the body when a final
   * status comes before it (RFC 9110 §10.1.1), so the body its framing announces may never come.
   */
  expectContinue = false;
  /** First `Server` field value (responses), cut to MAX_SERVER_CHARS: what software answered. */
  server: string | null = null;
  /**
   * The last entry of the last `Via` field (responses), e.g. `1.1 varnish (Varnish/7.1)`: the proxy
   * nearest the client, which answered this connection (its `Server` may be its backend's).
   */
  via: string | null = null;
  /**
   * First `User-Agent` field value (requests), cut to MAX_SERVER_CHARS: what software sent it (a
   * proxy passes its client's on: see `forwarded`).
   */
  userAgent: string | null = null;
  /** An `X-Forwarded-For`, `Forwarded` or `X-Real-IP` field (requests): a proxy sent it on behalf of another client. */
  forwarded = false;
  /**
   * The `User-Agent` field's name was written in lower case (`user-agent`), as HAProxy 2.x and Envoy
   * write every field name they send on (requests; read with `userAgent`).
   */
  agentNameLower = false;
  /**
   * The `Server` field's name was written in lower case (`server`; responses, read with `server`):
   * as HAProxy 2.x and Envoy write every field name they send on, where nginx, Apache and most
   * servers write `Server` (ServerSoftware: a proxy in front passed the header on).
   */
  serverNameLower = false;
  /**
   * A hash of the `User-Agent` value's first MAX_AGENT_CHARS bytes, read on every request, not only
   * where `userAgent` is (0: none): whether one connection's requests came from different clients,
   * as a proxy's pooled upstream connection carries them (HttpSession.clientAgentsVary).
   */
  agentHash = 0;
  /**
   * Whether the fields that name software are read into this head (MessageParser.readsIdentity):
   * `server` and `via` of a response, `userAgent`, `via` and `forwarded` of a request.
   */
  readsIdentity = false;
  /** Fields not kept (counted only). */
  otherHeaders = 0;
  /** Lines in the header block without a colon, and obs-fold continuation lines (tolerated, counted). */
  malformedHeaders = 0;
  /** Bytes of the start line and header block, line ends included. */
  headBytes = 0;

  /** Decided at the end of the header block. */
  framing: BodyFraming = 'none';

  constructor() {
    this.reset(); // every field written twice from the first head on (see the MessageParser constructor)
  }

  /** Back to the state of a new head (every field above, with its initial value). */
  reset(): this {
    this.startTs = 0;
    this.startFrame = 0;
    this.headEndTs = 0;
    this.headEndFrame = 0;
    this.strict = false;
    this.version = null;
    this.versionMajor = -1;
    this.versionMinor = -1;
    this.method = null;
    this.uri = null;
    this.status = 0;
    this.statusDigits = 3;
    this.reason = null;
    this.connection = null;
    this.keepAliveTimeout = null;
    this.retryAfter = -1;
    this.contentLength = -1;
    this.contentLengthInvalid = false;
    this.transferEncoding = null;
    this.host = null;
    this.idempotencyKey = false;
    this.expectContinue = false;
    this.server = null;
    this.via = null;
    this.userAgent = null;
    this.forwarded = false;
    this.agentNameLower = false;
    this.serverNameLower = false;
    this.agentHash = 0;
    this.readsIdentity = false;
    this.otherHeaders = 0;
    this.malformedHeaders = 0;
    this.headBytes = 0;
    this.framing = 'none';
    return this;
  }
}
