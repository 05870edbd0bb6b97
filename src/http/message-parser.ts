import { applyField, applyHeaderLine, applyKeptField, HeaderLineResult, isChunkedLast, NOT_KEPT } from './header-fields';
import { latin1 } from './latin1';
import { BodyFraming, GiveUpReason, MessageHead } from './message-head';
import {
  isUnfinishedRequestLine,
  isWholeRequestLine,
  parseCutStatusLine,
  parseRequestLine,
  parseStatusLine,
  parseWholeRequestLine,
  parseWholeStatusLine,
  RequestLineShape,
  StartLineValidator,
} from './start-line';
import { cutRequestLineMethod } from './sniff';

// Module-local copies of the other modules' frozen constants: an imported one is read as a
// property of that module's exports at each use, a local const folds into the compiled code.
const LINE_OK = HeaderLineResult.Ok;
const NOT_KEPT_FIELD = NOT_KEPT;
const STRICT_LINE = RequestLineShape.Strict;
const LENIENT_LINE = RequestLineShape.Lenient;

export type ParserMode = 'request' | 'response';

/** What a parser reports, in stream order. */
export interface MessageListener {
  /** A start line was accepted; `head` has its start-line fields (the header fields come later). */
  onMessageBegin(head: MessageHead): void;
  /** The header block ended; `head` is complete and `head.framing` says how the body is delimited. */
  onMessageHead(head: MessageHead): void;
  /** The message ended. `bodyBytes` counts body content (chunk data, not chunk framing); `gapBytes` of it were missing from the capture. */
  onMessageEnd(ts: number, frame: number, bodyBytes: number, gapBytes: number): void;
  /**
   * A capture gap made the parser drop what it was doing and hunt for the next start line.
   * A message begun and not ended is abandoned. `unseenMessage` is true when the missing bytes
   * include the start of a message that was never reported (the gap began between messages or
   * before a start line was complete), so at least one whole message may be missing.
   */
  onLoss(unseenMessage: boolean): void;
  /** The parser stopped for good on this direction. */
  onGiveUp(reason: GiveUpReason): void;
  /**
   * Response mode: the request method the next final response answers (HEAD and CONNECT change
   * framing), when ParserOptions.methodOfNextResponse is not given. A method rather than an option
   * closure so that a listener answers it without allocating one per parser.
   */
  methodOfNextResponse?(): string | null;
}

/** Bounds on everything the parser buffers or scans. */
export const httpLimits = {
  /** Start line + header fields + blank line of one message; trailers have the same bound. */
  maxHeadBytes: 64 * 1024,
  /** One line (start line or field); longer start lines give up, longer fields are cut. */
  maxLineBytes: 16 * 1024,
  /** A chunk-size line including extensions. */
  maxChunkLineBytes: 4096,
  /** Bytes scanned for a first start line when a direction starts mid-stream, before deciding it is not HTTP. */
  resyncBudgetBytes: 64 * 1024,
};

export interface ParserOptions {
  /** Response mode: the request method the next final response answers (HEAD and CONNECT change framing). */
  methodOfNextResponse?: () => string | null;
  /** The capture starts in the middle of this direction: hunt for a start line instead of requiring one at byte 0. */
  midstream?: boolean;
  /**
   * Heads come from a pool shared by all such parsers instead of a new one per message: a parser
   * holds one only from a start line to the end of its message, so thousands of idle connections
   * hold none, and no object of some twenty fields is made per message. The listener must copy
   * what it keeps: a head is valid until the listener returns from the onMessageHead, onLoss or
   * onGiveUp of its message.
   */
  reuseHead?: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const SEMI = 0x3b;
const COLON = 0x3a;

/**
 * Bytes of a segment that readFields reads as text at a time: the head at once, without copying
 * all of a large segment (a response head with its body) for it. The text is garbage as soon as
 * the head is read, but it is made for every head, and the more is allocated, the sooner the
 * young generation fills: objects that live a few seconds (exchange records, URIs) are then
 * promoted more often, and full collections come sooner. So the window is sized by the last head
 * of the same kind (requests, responses) seen by any parser (most connections carry one or a few
 * messages): that head's size plus some slack, within bounds. A head larger than its window costs
 * one more window for the rest. (A fixed 512 bytes: 0.7 % more instructions on the 2 M-packet
 * benchmark than this; a fixed 2 KiB window cost more than the native search saved.)
 */
const TEXT_WINDOW_MIN = 128;
const TEXT_WINDOW_MAX = 2048;
const TEXT_WINDOW_SLACK = 64;
let requestTextWindow = 512;
let responseTextWindow = 512;

function textWindowFor(headBytes: number): number {
  const w = headBytes + TEXT_WINDOW_SLACK;
  return w < TEXT_WINDOW_MIN ? TEXT_WINDOW_MIN : w > TEXT_WINDOW_MAX ? TEXT_WINDOW_MAX : w;
}

/** Largest line buffer a parser keeps between lines (see resetLine). */
const KEPT_LINE_BUFFER_BYTES = 1024;

/** Most hex digits in a chunk size (13 digits stay below 2^52). */
const MAX_CHUNK_DIGITS = 13;

// Parser states. Plain numbers keep the hot switch cheap.
const S_START = 0; // between messages (leading CR/LF skipped)
const S_START_LINE = 1;
const S_HEADER = 2;
const S_BODY_LENGTH = 3;
const S_BODY_CLOSE = 4;
const S_CHUNK_SIZE = 5;
const S_CHUNK_EXT = 6;
const S_CHUNK_SIZE_LF = 7;
const S_CHUNK_DATA = 8;
const S_CHUNK_DATA_END = 9; // expects CR (or a bare LF) after chunk data
const S_CHUNK_DATA_LF = 10;
const S_TRAILER_LINE_START = 11;
const S_TRAILER_LINE = 12;
const S_TRAILER_END_LF = 13;
const S_RESYNC = 14; // at a candidate position (segment start or line start)
const S_RESYNC_SKIP = 15; // skipping to the next LF
const S_PAUSED = 16; // after a CONNECT request, until the session says how the response went
const S_TUNNEL = 17;
const S_OFF = 18; // not HTTP
const S_GAVE_UP = 19;

/**
 * Incremental HTTP/1.x message parser for one direction of a connection. Bytes arrive with
 * arbitrary boundaries (a header split over many segments, many pipelined messages in one);
 * only the current partial line is copied, bodies are counted and never kept.
 *
 * Gaps (bytes missing from the capture): inside a body whose remaining length is known (a
 * Content-Length body, the data of one chunk) or a close-delimited body the gap is simply
 * counted. Anywhere else the current message is abandoned and the parser resynchronises: it
 * looks for a strict start line (`METHOD target HTTP/d.d` or `HTTP/d.d NNN`) at the start of
 * the next segments or after any LF, and skips everything else. Only the strict shape is
 * accepted there, so body text is very unlikely to be taken for a message; a false match would
 * cost one bogus message, not the connection. A start line that fails after the direction was
 * already confirmed as HTTP (garbage after a message, e.g. a body longer than its Content-Length)
 * resynchronises the same way.
 */
export class MessageParser {
  readonly isRequest: boolean;

  private state: number;
  private ended = false;
  /**
   * Made on first use: start lines that lie whole in a segment (most) never need it, and a parser
   * is made for every direction of every connection.
   */
  private validator: StartLineValidator | null = null;
  private readonly methodOfNextResponse: (() => string | null) | null;

  private head: MessageHead | null = null;
  /** Heads come from the shared pool (ParserOptions.reuseHead). */
  private readonly reuseHead: boolean;
  /** First byte of a message seen and the message not ended (its start line may still be incomplete). */
  private inMessage = false;
  private msgStartTs = 0;
  private msgStartFrame = 0;
  private headBytes = 0;
  private remaining = 0;
  private bodyBytes = 0;
  private msgGapBytes = 0;
  private chunkDigits = 0;
  private chunkLineBytes = 0;
  /** What follows the message that is ending: S_START, S_PAUSED or S_TUNNEL. */
  private afterMessage = S_START;

  /** The partial line carried over between pushes (only when a line spans segments). */
  private lineBuf: Uint8Array | null = null;
  private lineLen = 0;
  private lineTotal = 0;
  private lineEndsCR = false;

  /** Hunting for a start line after a loss (or mid-stream start): only strict start lines accepted. */
  private resyncing = false;
  private resyncScanned = 0;

  /**
   * A message whose head (or chunk framing) the snaplen cut is open: it ends where the next start
   * line begins, or where its direction closes, at the last segment that carried its bytes (see
   * gap). `cutEndTs`/`cutEndFrame`: that segment so far; `cutBodyBytes`: its Content-Length when
   * its head showed one, else the body bytes counted before the cut.
   */
  private cutOpen = false;
  private cutEndTs = 0;
  private cutEndFrame = 0;
  private cutBodyBytes = 0;
  /**
   * The cut took the framing of a body whose framing would have shown its end (a chunked body's
   * chunk-size lines): ended by its direction's close, whether it was whole is unknown (the close
   * may have cut it off), and it is emitted uncertain.
   */
  private cutInBody = false;
  /**
   * The snaplen cut a chunk's data and the CRLF after it, and nothing more (as servers send a
   * chunk, size line, data and CRLF in one write, each in its own segment): the next captured
   * byte was taken for the start of the next chunk-size line. Until that line's LF confirms it,
   * a byte that cannot be part of it proves the guess wrong (the cut held more framing) and the
   * framing is then lost as for any other cut (openCut).
   */
  private chunkBoundaryGuessed = false;
  /**
   * A response whose request the capture does not hold (lost in a gap, or before the capture
   * began) announced a body: it may answer a HEAD, whose response announces the body it does not
   * send. Until its first body byte, a status line there proves it bodiless (bodyAbsentAt).
   * On a request (bodyMayBeWithheld): a final response refused the upload before its body began,
   * and a request line there (or the client's close) proves the body withheld.
   */
  private bodyUnverified = false;
  /**
   * The message just ended was taken as bodiless that way (bodyAbsentAt), for the listener to mark:
   * a response's is a guess, a request's body was withheld by its client.
   */
  bodyGuessedAbsent = false;
  /**
   * The parser hunts for a start line because the snaplen cut the message before (openCut), and
   * no byte was lost since: the message may have ended already (endOpenCut) and its end is known.
   */
  private huntingAfterCut = false;
  /** The segment whose tail the guessed cut was. */
  private guessTs = 0;
  private guessFrame = 0;
  /** Bytes of the current segment went to the open cut message (before any start line in it). */
  private cutTouched = false;
  /**
   * The open cut message was ended by the peer's next message (endOpenCut), and no byte has been
   * skipped since: the start line found next begins the next message where its segment begins,
   * which is no loss of framing (not a resync). A reload under `ab -k` at -s 200 had counted 77 691
   * of 77 721 such messages as framing lost.
   */
  private cutEndedByPeer = false;

  private lastTs = 0;
  private lastFrame = 0;

  /** A start line was accepted on this direction at least once. */
  confirmed = false;
  /**
   * Whether heads read the fields that name software: a response's `Server` and `Via` until the
   * session has one (its first final response that says any), a request's `User-Agent` (and
   * whether a proxy forwarded it) on the first request only, so that later messages on a
   * keep-alive connection make no string for them.
   */
  readsIdentity = false;
  /** A strict start line was accepted at least once (proof that the direction speaks HTTP). */
  strictSeen = false;
  /** A request line the snaplen cut showed a registered method (takeCutStartLine): proof as strictSeen is. */
  cutLineProven = false;
  giveUpReason: GiveUpReason | null = null;

  // Counters, read by the session for the analysis totals.
  messages = 0;
  badStartLines = 0;
  resyncs = 0;
  gapEvents = 0;
  gapBytes = 0;
  /** Messages whose head or framing the snaplen cut, ended where the next began or their direction closed. */
  cutEnds = 0;

  constructor(
    readonly mode: ParserMode,
    private readonly listener: MessageListener,
    options: ParserOptions = {},
  ) {
    this.isRequest = mode === 'request';
    this.methodOfNextResponse = options.methodOfNextResponse ?? null;
    this.reuseHead = options.reuseHead === true;
    this.state = S_START;
    // Every field is written a second time here, before any code runs optimized: V8 takes a field
    // written only once for a constant, and the code optimized on that belief is thrown away (and
    // compiled again) the first time a reused parser's reset() writes the field.
    this.reset(options.midstream === true);
  }

  /** Nothing more will be parsed: closed, not HTTP, given up, or a tunnel. */
  get finished(): boolean {
    return this.ended || this.state >= S_TUNNEL;
  }
  get isOff(): boolean {
    return this.state === S_OFF;
  }
  get isTunnel(): boolean {
    return this.state === S_TUNNEL;
  }
  /** Bytes of a new message were seen but its start line is not complete yet. */
  get inStartLine(): boolean {
    return this.inMessage && this.state === S_START_LINE && !this.resyncing;
  }

  /** Body bytes counted so far for the latest message begun (for a message that will not end). */
  get partialBodyBytes(): number {
    return this.bodyBytes;
  }

  /** The stream stops being HTTP (2xx to CONNECT, 101 Switching Protocols). */
  enterTunnel(): void {
    if (this.state < S_OFF) this.state = S_TUNNEL;
  }

  /** The session stops this direction for a reason of its own (reported like a parser give-up). */
  stop(reason: GiveUpReason): void {
    if (this.state < S_OFF) this.giveUp(reason);
  }

  /**
   * The request line in progress will not complete before something else happens: a response to
   * it, the client's close, the end of the connection. A client that trickles its line (a
   * slowloris, a stalled client) is answered 408 or closed on with it unfinished, and the server
   * timed out a request all the same: the line is reported for what it shows (isUnfinishedRequestLine)
   * as a message begun whose head never ends. True when a message began. Bytes the client still
   * sends after it are read as its header lines (counted as malformed where they are not).
   * `answered`: a response came while the line was in progress. Then a line that shows no target
   * yet but a registered method (`GET `, `POS`: cutRequestLineMethod) is the request the server
   * answered too: a client that trickles its head byte by byte is answered where it stopped (Go's
   * net/http at ReadHeaderTimeout parses `GET ` and answers 400: blind round 17, appservers s03).
   * Without a response, such bytes prove too little to be a request.
   */
  beginUnfinishedLine(answered = false): boolean {
    if (!this.isRequest || !this.inStartLine || this.lineLen === 0) return false;
    const buf = this.lineBuf as Uint8Array;
    const len = this.lineEndsCR ? this.lineLen - 1 : this.lineLen;
    let method: string | null = null;
    if (!isUnfinishedRequestLine(buf, 0, len, this.strictSeen)) {
      method = answered ? cutRequestLineMethod(buf, 0, len) : null;
      if (method === null) return false;
    }
    if (!this.startLine(buf, 0, len, true, false, method)) return false;
    this.resetLine();
    return true;
  }

  /**
   * Request mode: a final response answered the request in progress before any byte of the body
   * its head announced, and the request had asked `Expect: 100-continue` (no 100 Continue invited
   * the body). Its client may then send the body anyway, or withhold it and go on with its next
   * request on the connection, or close (RFC 9110 §10.1.1; Node's http client, curl after a 401 or
   * a 413, Python's http.server answering 417 and keeping the connection). Until the body's first
   * byte, a request line there (or the client's close) proves the body withheld: the request ends
   * at its head (bodyAbsentAt, end). Without this the next request was read as the body, and every
   * later response on the connection lost its request.
   */
  bodyMayBeWithheld(): void {
    if (!this.isRequest || !this.inMessage || this.bodyBytes !== 0 || this.msgGapBytes !== 0) return;
    const st = this.state;
    if (st === S_BODY_LENGTH || (st === S_CHUNK_SIZE && this.chunkLineBytes === 0)) this.bodyUnverified = true;
  }

  /** After a CONNECT that was refused, the client may send more requests. */
  resume(): void {
    if (this.state === S_PAUSED) this.state = S_START;
  }

  push(bytes: Uint8Array, offset: number, length: number, ts: number, frame: number): void {
    if (this.ended || length <= 0) return;
    if (this.state >= S_PAUSED) {
      // Bytes after a CONNECT request before its response said otherwise: tunnel data (llhttp does the same).
      if (this.state === S_PAUSED) this.state = S_TUNNEL;
      return;
    }
    this.lastTs = ts;
    this.lastFrame = frame;
    this.cutTouched = false;
    if (this.state === S_RESYNC_SKIP) this.state = S_RESYNC; // a segment start is a candidate position
    if (!this.confirmed && (this.resyncing || this.state === S_RESYNC)) {
      this.resyncScanned += length;
      if (this.resyncScanned > httpLimits.resyncBudgetBytes) {
        this.giveUp('not-http');
        return;
      }
    }
    // Positions as small integers: a caller's arithmetic can box an integral position as a double
    // (offset + -0 is one), and once such a value reaches the loops below their feedback turns to
    // doubles for good, so that every byte access pays a conversion. Buffers are far below 2 GiB.
    let pos = offset | 0;
    const end = pos + (length | 0);
    while (pos < end) {
      switch (this.state) {
        case S_START: {
          const b = bytes[pos];
          if (b === CR || b === LF) {
            pos++; // RFC 9112 §2.2: ignore empty lines before a request line (and tolerate them anywhere)
            break;
          }
          this.beginMessage(ts, frame);
          break;
        }
        case S_START_LINE:
          pos = this.readLine(bytes, pos, end, ts, frame);
          break;
        case S_HEADER:
          pos = this.readFields(bytes, pos, end, ts, frame);
          break;
        case S_BODY_LENGTH: {
          if (this.bodyUnverified && this.bodyAbsentAt(bytes, pos, end)) break;
          const avail = end - pos;
          const n = avail < this.remaining ? avail : this.remaining;
          this.remaining -= n;
          this.bodyBytes += n;
          pos += n;
          if (this.remaining === 0) this.endMessage(ts, frame);
          break;
        }
        case S_BODY_CLOSE:
          if (this.bodyUnverified && this.bodyAbsentAt(bytes, pos, end)) break;
          this.bodyBytes += end - pos;
          pos = end;
          break;
        case S_CHUNK_DATA: {
          const avail = end - pos;
          const n = avail < this.remaining ? avail : this.remaining;
          this.remaining -= n;
          this.bodyBytes += n;
          pos += n;
          if (this.remaining === 0) this.state = S_CHUNK_DATA_END;
          break;
        }
        case S_CHUNK_SIZE:
        case S_CHUNK_SIZE_LF:
        case S_CHUNK_DATA_END:
        case S_CHUNK_DATA_LF:
        case S_TRAILER_LINE_START:
        case S_TRAILER_END_LF:
          if (this.bodyUnverified && this.bodyAbsentAt(bytes, pos, end)) break;
          if (this.chunkBoundaryGuessed && !this.fitsGuessedBoundary(bytes[pos])) {
            this.loseGuessedBoundary(pos === (offset | 0));
            break; // this byte is read again, as a candidate start line
          }
          this.chunkFramingByte(bytes[pos], ts, frame);
          pos++;
          break;
        case S_CHUNK_EXT: {
          let i = findLF(bytes, pos, end);
          this.chunkLineBytes += i - pos;
          if (this.chunkLineBytes > httpLimits.maxChunkLineBytes) {
            this.giveUp('bad-chunk');
            return;
          }
          if (i < end) {
            this.chunkSizeDone();
            i++;
          }
          pos = i;
          break;
        }
        case S_TRAILER_LINE: {
          let i = findLF(bytes, pos, end);
          this.headBytes += i - pos + (i < end ? 1 : 0);
          if (this.headBytes > httpLimits.maxHeadBytes) {
            this.giveUp('header-too-large');
            return;
          }
          if (i < end) {
            this.state = S_TRAILER_LINE_START;
            i++;
          }
          pos = i;
          break;
        }
        case S_RESYNC: {
          const b = bytes[pos];
          if (b === CR || b === LF) {
            pos++;
            break;
          }
          const validator = this.startLineValidator();
          validator.reset();
          if (validator.accept(b)) {
            if (this.cutOpen && this.cutTouched) {
              // The cut message's bytes reach into this segment, before this candidate.
              this.cutEndTs = ts;
              this.cutEndFrame = frame;
            }
            this.resyncing = true;
            this.beginMessage(ts, frame); // a candidate; the start line decides
          } else {
            this.state = S_RESYNC_SKIP;
            this.cutTouched = true;
            this.cutEndedByPeer = false;
            pos++;
          }
          break;
        }
        case S_RESYNC_SKIP: {
          this.cutTouched = true;
          this.cutEndedByPeer = false;
          let i = findLF(bytes, pos, end);
          if (i < end) {
            this.state = S_RESYNC;
            i++;
          }
          pos = i;
          break;
        }
        default:
          return; // paused, tunnel, off, gave up
      }
    }
    if (this.cutOpen && this.cutTouched) {
      this.cutEndTs = ts;
      this.cutEndFrame = frame;
    }
  }

  /**
   * `length` bytes of this direction are missing from the capture at the current position
   * (0 = an unknown amount). See the class comment for what is recovered. `cut`: the bytes are the
   * tail of a captured segment cut by the snaplen; inside a body of known length (or one that ends
   * at close) the message's end is then as certain as if they had been captured — only their
   * content is unseen — so they do not make the message uncertain. A capture of load taken with
   * -s 256 cuts every body longer than ~190 bytes: otherwise no exchange in it would be certain.
   */
  gap(length: number, cut = false): void {
    if (this.ended || this.state >= S_PAUSED) return;
    this.cutEndedByPeer = false;
    this.gapEvents++;
    this.gapBytes += length;
    this.bodyUnverified = false; // its first bytes are not here to tell
    if (!cut) this.huntingAfterCut = false;
    if (this.cutOpen && !cut) {
      // Bytes really missing: where the cut message ended can no longer be told.
      this.cutOpen = false;
      this.listener.onLoss(false);
    }
    const uncertain = cut ? 0 : 1;
    switch (this.state) {
      case S_BODY_CLOSE:
        // The body ends at close whatever it contains: just count (an unknown-size gap counts 1).
        this.bodyBytes += length;
        this.msgGapBytes += (length > 0 ? length : 1) * uncertain;
        return;
      case S_BODY_LENGTH:
        if (length > 0) {
          if (length < this.remaining) {
            this.remaining -= length;
            this.bodyBytes += length;
            this.msgGapBytes += length * uncertain;
            return;
          }
          const inBody = this.remaining;
          this.bodyBytes += inBody;
          this.msgGapBytes += inBody * uncertain;
          this.remaining = 0;
          this.endMessage(this.lastTs, this.lastFrame);
          if (length === inBody) return;
          // The rest of the gap lies past the message: the start of the next one is lost.
          this.startResync();
          this.listener.onLoss(true);
          return;
        }
        break;
      case S_CHUNK_DATA:
        if (length > 0 && length <= this.remaining) {
          this.remaining -= length;
          this.bodyBytes += length;
          this.msgGapBytes += length * uncertain;
          if (this.remaining === 0) this.state = S_CHUNK_DATA_END;
          return;
        }
        if (cut && length > this.remaining && length <= this.remaining + 2) {
          this.bodyBytes += this.remaining;
          this.guessChunkBoundary(length - this.remaining);
          return;
        }
        break;
      case S_CHUNK_DATA_END:
        if (cut && (length === 1 || length === 2)) {
          this.guessChunkBoundary(length);
          return;
        }
        break;
      case S_CHUNK_DATA_LF:
        if (cut && length === 1) {
          this.guessChunkBoundary(2);
          return;
        }
        break;
      case S_START:
        this.startResync();
        this.listener.onLoss(true);
        return;
      case S_RESYNC:
      case S_RESYNC_SKIP:
        return; // already hunting
      case S_START_LINE:
        if (this.resyncing) {
          if (cut && this.huntingAfterCut && this.lineLen > 0 && this.startLineCutAfterCut()) break;
          this.resetLine();
          this.inMessage = false;
          this.state = S_RESYNC;
          return;
        }
        // A start line cut by the gap (often a snaplen-cut packet): report what it shows if it
        // parses (`GET /images/x.gif HTT`), so the message is abandoned rather than unseen.
        if (this.lineLen > 0 && (cut ? this.takeCutStartLine() : this.startLine(this.lineBuf as Uint8Array, 0, this.lineEndsCR ? this.lineLen - 1 : this.lineLen, true))) break;
        this.startResync();
        this.listener.onLoss(true);
        return;
    }
    // Inside a head, a chunk-size line, trailers, or past a known length: framing is lost.
    if (cut && this.inMessage && this.head !== null) {
      this.openCut();
      return;
    }
    this.startResync();
    this.listener.onLoss(false);
  }

  /**
   * A cut ended `crlfBytes` (1 or 2) into the CRLF after a chunk's data: the next captured byte is
   * the LF, or the next chunk-size line's first. A guess (see chunkBoundaryGuessed): a chunk's data
   * ends with CRLF (RFC 9112 §7.1), and a bare LF there would put the guess one byte off.
   */
  private guessChunkBoundary(crlfBytes: number): void {
    this.remaining = 0;
    if (crlfBytes === 2) this.startChunkSize();
    else this.state = S_CHUNK_DATA_LF;
    this.chunkBoundaryGuessed = true;
    this.guessTs = this.lastTs;
    this.guessFrame = this.lastFrame;
  }

  /** Whether `b` can come next in the chunk framing that a guessed boundary expects. */
  private fitsGuessedBoundary(b: number): boolean {
    switch (this.state) {
      case S_CHUNK_SIZE:
        if (hexValue(b) >= 0) return this.chunkDigits < MAX_CHUNK_DIGITS;
        return this.chunkDigits > 0 && (b === CR || b === LF || b === SEMI || b === SP || b === HT);
      case S_CHUNK_SIZE_LF:
      case S_CHUNK_DATA_LF:
        return b === LF;
      default:
        return true;
    }
  }

  /**
   * The bytes after a guessed chunk boundary are no chunk-size line: the cut held more framing
   * than a CRLF, which is lost as openCut says. `atSegmentStart`: the first byte after the cut is
   * the wrong one; it may begin the next message (a response's start line after the last chunk),
   * so it is read as a candidate, and the message's bytes ended with the cut segment.
   */
  private loseGuessedBoundary(atSegmentStart: boolean): void {
    this.chunkBoundaryGuessed = false;
    this.openCut();
    if (!atSegmentStart || this.state !== S_RESYNC_SKIP) return;
    this.state = S_RESYNC;
    this.cutEndTs = this.guessTs;
    this.cutEndFrame = this.guessFrame;
  }

  /**
   * The snaplen cut the message inside its head or its chunk framing: its end is unseen, but not
   * lost. Every byte after the cut is still accounted for (the segment's length is known), so the
   * message ends where the next start line begins, or where its direction closes: at the last
   * segment before, as surely as if its end had been parsed, unless another message began in the
   * cut bytes themselves (two messages in one segment). A head is reported with what it showed
   * (framing `cut`) and the parser hunts for the next start line.
   */
  private openCut(): void {
    const head = this.head as MessageHead;
    if (this.state === S_HEADER && !this.isRequest && this.opensTunnel(head)) {
      // A 101 (or a 2xx to CONNECT) switches protocols right after its head, wherever in the cut
      // bytes that ended: what follows is the tunnel's, not this message's (nginx's 101 to a
      // WebSocket upgrade is longer than the 190 bytes `-s 256` keeps).
      head.headEndTs = this.lastTs;
      head.headEndFrame = this.lastFrame;
      head.headBytes = this.headBytes;
      head.framing = 'tunnel';
      this.afterMessage = S_TUNNEL;
      this.listener.onMessageHead(head);
      if (this.state === S_HEADER) this.endMessage(this.lastTs, this.lastFrame);
      return;
    }
    if (this.state === S_HEADER) {
      if (head.connection === null && this.lineLen > 0) head.connection = cutConnectionValue(this.lineBuf, this.lineLen);
      head.headEndTs = this.lastTs;
      head.headEndFrame = this.lastFrame;
      head.headBytes = this.headBytes;
      head.framing = 'cut';
      this.listener.onMessageHead(head);
      if (this.state !== S_HEADER) return; // the listener stopped this direction
      this.cutBodyBytes = head.contentLength >= 0 ? head.contentLength : 0;
    } else {
      this.cutBodyBytes = this.bodyBytes;
      this.cutInBody = this.state !== S_BODY_CLOSE;
    }
    this.cutOpen = true;
    this.cutEndTs = this.lastTs;
    this.cutEndFrame = this.lastFrame;
    this.startResync();
    this.huntingAfterCut = true;
  }

  /** A response head that makes the connection a tunnel once it ends (finishHead's 'tunnel'). */
  private opensTunnel(head: MessageHead): boolean {
    const status = head.status;
    if (status === 101) return true;
    return status >= 200 && status < 300 && this.requestMethod() === 'CONNECT';
  }

  /** The method of the request the response being parsed answers, when known. */
  private requestMethod(): string | null {
    return this.methodOfNextResponse !== null ? this.methodOfNextResponse()
      : this.listener.methodOfNextResponse !== undefined ? this.listener.methodOfNextResponse()
      : null;
  }

  /**
   * The open cut message ends, at the last segment that carried its bytes. `atClose`: because its
   * direction closed, not because another message began after it.
   */
  private closeCut(atClose = false): void {
    this.cutOpen = false;
    this.cutEnds++;
    this.messages++;
    const unknownEnd = atClose && this.cutInBody;
    this.cutInBody = false;
    this.listener.onMessageEnd(this.cutEndTs, this.cutEndFrame, this.cutBodyBytes, unknownEnd ? 1 : 0);
  }

  /**
   * The message the snaplen cut is over although nothing of this direction said so: the connection
   * ended, or (for a response) the client sent its next request, which a client that does not
   * pipeline sends only once the response is in. It ended at the last segment that carried its bytes.
   * `atEnd`: the connection ended (whether a body whose framing was cut was whole is then unknown).
   */
  endOpenCut(atEnd = false): void {
    if (!this.cutOpen) return;
    this.closeCut(atEnd);
    this.cutEndedByPeer = !atEnd && this.resyncing;
  }

  /** The direction closed (FIN or RST): a close-delimited body completes; anything else stays incomplete. */
  end(ts: number, frame: number): void {
    if (this.ended) return;
    if (this.cutOpen) this.closeCut(true);
    if (this.state === S_BODY_CLOSE) this.endMessage(ts, frame);
    // A request whose refused upload its client never began (bodyMayBeWithheld): it closed instead.
    else this.endIfWithheld();
    this.ended = true;
  }

  private beginMessage(ts: number, frame: number): void {
    this.inMessage = true;
    this.msgStartTs = ts;
    this.msgStartFrame = frame;
    this.headBytes = 0;
    this.bodyBytes = 0;
    this.msgGapBytes = 0;
    this.afterMessage = S_START;
    this.chunkBoundaryGuessed = false;
    this.bodyUnverified = false;
    if (this.validator !== null) this.validator.reset();
    this.resetLine();
    this.state = S_START_LINE;
  }

  /** Reads (part of) a start line or header line; returns the new position. */
  private readLine(bytes: Uint8Array, pos: number, end: number, ts: number, frame: number): number {
    const isStartLine = this.state === S_START_LINE;
    if (isStartLine && this.lineTotal === 0) {
      const lf = this.wholeStartLine(bytes, pos, end);
      // The fields usually follow in the same segment: straight on to them.
      if (lf >= 0) return this.state === S_HEADER ? this.readFields(bytes, lf + 1, end, ts, frame) : lf + 1;
    }
    const i = findLF(bytes, pos, end);
    if (isStartLine) {
      // A validator made now has seen nothing, like one reset at the start of this message.
      const bad = this.startLineValidator().acceptRun(bytes, pos, i);
      if (bad < i) {
        this.rejectStartLine(false);
        return bad + 1;
      }
    }
    const found = i < end;
    const n = i - pos;
    this.headBytes += found ? n + 1 : n;
    if (isStartLine && this.lineTotal + n > httpLimits.maxLineBytes + 1) {
      // Over the bound even if the last byte is a CR: a start line cannot be this long.
      if (this.resyncing) {
        this.rejectStartLine(false);
        return found ? i : end;
      }
      this.giveUp('line-too-long');
      return end;
    }
    if (this.headBytes > httpLimits.maxHeadBytes) {
      this.giveUp('header-too-large');
      return end;
    }
    if (!found) {
      this.appendToLine(bytes, pos, end);
      return end;
    }
    let buf: Uint8Array;
    let s: number;
    let total: number;
    let endsCR: boolean;
    if (this.lineTotal === 0) {
      buf = bytes; // the whole line is in this segment: parse in place
      s = pos;
      total = n;
      endsCR = n > 0 && bytes[i - 1] === CR;
    } else {
      this.appendToLine(bytes, pos, i);
      buf = this.lineBuf as Uint8Array;
      s = 0;
      total = this.lineTotal;
      endsCR = this.lineEndsCR;
    }
    const content = endsCR ? total - 1 : total;
    const truncated = content > httpLimits.maxLineBytes;
    const e = s + (truncated ? httpLimits.maxLineBytes : content);
    this.resetLine();
    if (isStartLine) {
      if (truncated) {
        if (this.resyncing) this.rejectStartLine(true);
        else this.giveUp('line-too-long');
      } else {
        this.startLine(buf, s, e);
      }
    } else if (e === s) {
      this.finishHead(ts, frame);
    } else if (applyHeaderLine(buf, s, e, this.head as MessageHead, truncated) !== LINE_OK) {
      this.giveUp('line-too-long');
    }
    return i + 1;
  }

  /**
   * Reads header lines while they lie whole in this segment (the usual case: a head in one
   * segment), in one loop: only a line whose name's length and first byte could be one of the
   * fields applyHeaderLine keeps goes there; every other line is counted and skipped without
   * further work. Anything unusual (a line continued from the previous segment or running past
   * this one or past the text window, a line over the line bound) goes through readLine, which
   * handles it exactly as before. Returns the new position.
   *
   * A line's colon and LF are found by the engine's native string search over the bytes as text
   * (one character per byte, so positions are the same): a loop over the bytes in JavaScript cost
   * about five instructions per byte even four bytes at a time (V8 checks the array at every
   * step), and header bytes are most of what an exchange's bytes are.
   */
  private readFields(bytes: Uint8Array, pos: number, end: number, ts: number, frame: number): number {
    if (this.lineTotal !== 0) return this.readLine(bytes, pos, end, ts, frame);
    const head = this.head as MessageHead;
    // A bounded window: a segment of 64 KiB (offloaded capture) is not copied whole for a small head.
    const window = this.isRequest ? requestTextWindow : responseTextWindow;
    const stop = end - pos > window ? pos + window : end;
    const text = latin1(bytes, pos, stop);
    const base = pos;
    // Bounds read once, and the head's byte count kept in a local (stored before anything that
    // reads it): per line, the loop then touches no object but the head it counts into.
    const maxLine = httpLimits.maxLineBytes;
    const headRoom = httpLimits.maxHeadBytes;
    let headBytes = this.headBytes;
    /** The first colon at or after `pos` (found once per line at most; `stop` when none). */
    let colon = -1;
    while (pos < stop) {
      const first = bytes[pos];
      const at = text.indexOf('\n', pos - base);
      if (at < 0) break; // the line continues past this segment or window
      const i = at + base;
      const n = i - pos;
      if (n > maxLine) {
        // Cut to the line bound (and a framing field may give up): the general path. (Only with a
        // line bound below the window; push's loop brings the next lines back here.)
        this.headBytes = headBytes;
        return this.readLine(bytes, pos, end, ts, frame);
      }
      headBytes += n + 1;
      if (headBytes > headRoom) {
        this.headBytes = headBytes;
        this.giveUp('header-too-large');
        return end;
      }
      if (n === 0 || (n === 1 && first === CR)) {
        // The blank line that ends the head (no colon to look for: the search would run on
        // into the body).
        this.headBytes = headBytes;
        this.finishHead(ts, frame);
        return i + 1;
      }
      // A kept field's name has a known length: when the byte after it is a colon and the name is
      // the kept one, that colon is the line's first, found without a search.
      const guess = keptColonGuess(bytes, first, pos, i, head.readsIdentity);
      if (guess > 0 && applyKeptField(bytes, pos, guess, bytes[i - 1] === CR ? i - 1 : i, head, false) !== NOT_KEPT_FIELD) {
        pos = i + 1;
        continue;
      }
      // Not a kept field (see colonOffsets): a line with a colon is only counted. Where a colon was
      // on the last line of this length and first byte is checked first, in place of a search.
      const slot = (n * 31 + first) & (COLON_OFFSET_SLOTS - 1);
      const known = colonOffsets[slot];
      if (known > 0 && known < n && bytes[pos + known] === COLON && first !== SP && first !== HT && first !== COLON) {
        head.otherHeaders++;
        pos = i + 1;
        continue;
      }
      if (colon < pos) {
        const c = text.indexOf(':', pos - base);
        colon = c < 0 ? stop : c + base;
      }
      if (colon < i) colonOffsets[slot] = colon - pos;
      if (colon > i) {
        head.malformedHeaders++; // no colon
      } else if (first === SP || first === HT || colon === pos) {
        head.malformedHeaders++; // obs-fold continuation, or an empty name
      } else if (mayBeKeptField(first, colon - pos)) {
        applyField(bytes, pos, colon, bytes[i - 1] === CR ? i - 1 : i, head, false);
      } else {
        head.otherHeaders++;
      }
      pos = i + 1;
    }
    this.headBytes = headBytes;
    return pos < end ? this.readLine(bytes, pos, end, ts, frame) : pos;
  }

  private startLineValidator(): StartLineValidator {
    return this.validator ?? (this.validator = new StartLineValidator(this.isRequest));
  }

  private appendToLine(bytes: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    this.lineTotal += n;
    this.lineEndsCR = bytes[to - 1] === CR;
    const room = httpLimits.maxLineBytes - this.lineLen;
    const copy = n < room ? n : room;
    if (copy <= 0) return;
    const need = this.lineLen + copy;
    let buf = this.lineBuf;
    if (buf === null || buf.length < need) {
      let size = buf === null ? 256 : buf.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(Math.min(size, httpLimits.maxLineBytes));
      if (buf !== null) grown.set(buf.subarray(0, this.lineLen));
      this.lineBuf = buf = grown;
    }
    for (let k = 0; k < copy; k++) buf[this.lineLen + k] = bytes[from + k];
    this.lineLen += copy;
  }

  private resetLine(): void {
    this.lineLen = 0;
    this.lineTotal = 0;
    this.lineEndsCR = false;
    // A buffer grown for one long line is not kept for the connection's life: thousands of quiet
    // connections would each pin up to maxLineBytes. Ordinary split lines reuse the small one.
    if (this.lineBuf !== null && this.lineBuf.length > KEPT_LINE_BUFFER_BYTES) this.lineBuf = null;
  }

  /**
   * The usual start line, whole in this segment and of the common shape, read in one pass (see
   * parseWholeRequestLine): returns the index of its LF, or -1 having changed nothing, and the
   * general path (validator, buffering, parseRequestLine / parseStatusLine) takes the line.
   */
  private wholeStartLine(bytes: Uint8Array, pos: number, end: number): number {
    // A line within the line bound only; its bytes are then also within the head bound.
    const limit = end - pos > httpLimits.maxLineBytes ? pos + httpLimits.maxLineBytes : end;
    const head = this.reuseHead ? takeSpareHead() : new MessageHead();
    const lf = this.isRequest ? parseWholeRequestLine(bytes, pos, limit, head) : parseWholeStatusLine(bytes, pos, limit, head);
    if (lf < 0) {
      if (this.reuseHead) releaseHead(head);
      return -1;
    }
    this.headBytes += lf + 1 - pos;
    this.acceptHead(head);
    return lf;
  }

  /**
   * The snaplen cut a start line that began where the message before it, itself cut, may have
   * ended: in a capture taken with a small snaplen (`-s 96` keeps 24 to 42 bytes of payload) every
   * request line longer than that is cut, and each request of a keep-alive connection follows one
   * whose end the cut hid. Such a line is taken as a first message's cut line is (what it shows),
   * when its bytes so far passed the strict validator and, for a request, it shows a registered
   * method and the start of a target's usual forms (isUnfinishedRequestLine, as on a direction not
   * yet proven HTTP): a body's bytes at a segment start seldom do.
   */
  private startLineCutAfterCut(): boolean {
    const buf = this.lineBuf as Uint8Array;
    const len = this.lineEndsCR ? this.lineLen - 1 : this.lineLen;
    if (this.isRequest && !isUnfinishedRequestLine(buf, 0, len, false)) return false;
    return this.startLine(buf, 0, len, true, true);
  }

  /**
   * The snaplen cut the start line in progress (not while resyncing): what it shows is taken as
   * after any gap. On a request direction not yet proven HTTP, a line that shows a registered
   * method (cutRequestLineMethod: `POST /race`, `POST `, `POS`) is the proof a strict line would
   * have been (cutLineProven): the capture, not the client, stopped it, and a client that speaks
   * another protocol seldom starts with those bytes. A method cut before its space is named whole.
   */
  private takeCutStartLine(): boolean {
    const buf = this.lineBuf as Uint8Array;
    const len = this.lineEndsCR ? this.lineLen - 1 : this.lineLen;
    const method = this.isRequest && !this.strictSeen ? cutRequestLineMethod(buf, 0, len) : null;
    if (!this.startLine(buf, 0, len, true, true, method)) return false;
    if (method !== null) this.cutLineProven = true;
    return true;
  }

  /**
   * Parses a complete start line (or, on a gap, the `partial` beginning of one); true when
   * accepted. `cutLine`: a line the snaplen cut (its version is unseen), taken even while
   * resyncing; a status line may be cut inside its code (parseCutStatusLine). `cutMethod`: the
   * registered method a request line the snaplen cut showed (cutRequestLineMethod), named whole
   * where the cut came inside it.
   */
  private startLine(buf: Uint8Array, s: number, e: number, partial = false, cutLine = false, cutMethod: string | null = null): boolean {
    const head = this.reuseHead ? takeSpareHead() : new MessageHead();
    let ok: boolean;
    if (this.isRequest) {
      const shape = parseRequestLine(buf, s, e, head);
      ok = shape === STRICT_LINE || (shape === LENIENT_LINE && (!this.resyncing || cutLine));
      if (ok && cutMethod !== null) head.method = cutMethod;
    } else {
      ok = parseStatusLine(buf, s, e, head) || (cutLine && parseCutStatusLine(buf, s, e, head));
    }
    if (!ok) {
      if (this.reuseHead) releaseHead(head);
      if (!partial) this.rejectStartLine(true);
      return false;
    }
    this.acceptHead(head);
    return true;
  }

  /** A start line was accepted into `head`: the message begins. */
  private acceptHead(head: MessageHead): void {
    // A gateway error's `Server` is read on every connection: a proxy that passes its backend's header
    // on with its answers names itself on its own errors (ServerSoftware.of).
    head.readsIdentity = this.readsIdentity || (head.status >= 502 && head.status <= 504);
    head.startTs = this.msgStartTs;
    head.startFrame = this.msgStartFrame;
    this.head = head;
    this.confirmed = true;
    if (head.strict) this.strictSeen = true;
    if (this.resyncing) {
      this.resyncing = false;
      // The next message after a cut one: it ended before this start line (not a resync after a loss).
      if (this.cutOpen) this.closeCut();
      else if (!this.cutEndedByPeer) this.resyncs++;
    }
    this.cutEndedByPeer = false;
    this.state = S_HEADER;
    this.listener.onMessageBegin(head);
  }

  /** A start line failed (mid-line when `atLineEnd` is false: the rest of the line is skipped). */
  private rejectStartLine(atLineEnd: boolean): void {
    this.inMessage = false;
    this.cutEndedByPeer = false;
    this.cutTouched = true; // a candidate that was none: its bytes were the cut message's
    this.resetLine();
    if (!this.resyncing) {
      if (!this.confirmed) {
        this.giveUp('not-http');
        return;
      }
      this.badStartLines++;
      this.resyncing = true;
    }
    this.state = atLineEnd ? S_RESYNC : S_RESYNC_SKIP;
  }

  /** The blank line after the fields: decide framing (RFC 9112 §6.3) and announce the head. */
  private finishHead(ts: number, frame: number): void {
    const head = this.head as MessageHead;
    head.headEndTs = ts;
    head.headEndFrame = frame;
    head.headBytes = this.headBytes;
    if (this.isRequest) requestTextWindow = textWindowFor(this.headBytes);
    else responseTextWindow = textWindowFor(this.headBytes);
    let framing: BodyFraming;
    if (this.isRequest) {
      if (head.method === 'CONNECT') {
        framing = 'none';
        this.afterMessage = S_PAUSED;
      } else if (head.transferEncoding !== null) {
        if (!isChunkedLast(head.transferEncoding)) {
          this.giveUp('bad-transfer-encoding');
          return;
        }
        framing = 'chunked';
      } else if (head.contentLengthInvalid) {
        this.giveUp('bad-content-length');
        return;
      } else {
        framing = head.contentLength >= 0 ? 'length' : 'none';
      }
    } else {
      const status = head.status;
      if (status < 200) {
        framing = status === 101 ? 'tunnel' : 'none';
      } else {
        const method = this.requestMethod();
        if (method === 'HEAD' || status === 204 || status === 304) framing = 'none';
        else if (method === 'CONNECT' && status < 300) framing = 'tunnel';
        else if (head.transferEncoding !== null) framing = isChunkedLast(head.transferEncoding) ? 'chunked' : 'close';
        else if (head.contentLengthInvalid) {
          this.giveUp('bad-content-length');
          return;
        } else framing = head.contentLength >= 0 ? 'length' : 'close';
        this.bodyUnverified = method === null && (framing === 'chunked' || framing === 'close' || (framing === 'length' && head.contentLength > 0));
      }
    }
    head.framing = framing;
    if (framing === 'tunnel') this.afterMessage = S_TUNNEL;
    this.listener.onMessageHead(head);
    if (this.state !== S_HEADER) return; // the listener stopped us
    switch (framing) {
      case 'length':
        if (head.contentLength === 0) this.endMessage(ts, frame);
        else {
          this.remaining = head.contentLength;
          this.state = S_BODY_LENGTH;
        }
        break;
      case 'chunked':
        this.startChunkSize();
        break;
      case 'close':
        this.state = S_BODY_CLOSE;
        break;
      default:
        this.endMessage(ts, frame);
    }
  }

  /**
   * Whether the body announced by a response to an unknown request (bodyUnverified) is absent:
   * where its first byte should be, a status line begins (`HTTP/1.1 200`), so it answered a HEAD
   * and the next response follows. The message then ends at its head, and the status line is read
   * as the next one's. Asked once, at the body's first captured byte: a body that itself begins
   * with a status line (an HTTP message as content) is all it could mistake. Without this, one lost
   * HEAD request made its response swallow the next responses' bytes as its body, and every later
   * exchange on the connection was paired with the wrong response.
   */
  private bodyAbsentAt(bytes: Uint8Array, pos: number, end: number): boolean {
    this.bodyUnverified = false;
    if (this.bodyBytes !== 0) return false;
    if (this.isRequest) {
      if (!this.requestLineAt(bytes, pos, end)) return false;
    } else if (end - pos < STATUS_PREFIX_BYTES || !isStatusLinePrefix(bytes, pos)) return false;
    this.endWithheld();
    return true;
  }

  /**
   * Request mode: nothing more will come (the client closed, or the connection or the capture ended)
   * and the refused upload's body never began (bodyMayBeWithheld): the request ends at its head, its
   * body withheld. A server's abortive close after a 417 then resets no unread body.
   */
  endIfWithheld(): void {
    if (this.bodyUnverified && this.isRequest && !this.ended) this.endWithheld();
  }

  /** The message ends at its head, its announced body absent (bodyAbsentAt, end): see bodyGuessedAbsent. */
  private endWithheld(): void {
    this.bodyUnverified = false;
    const head = this.head as MessageHead;
    this.bodyGuessedAbsent = true;
    this.endMessage(head.headEndTs, head.headEndFrame);
    this.bodyGuessedAbsent = false;
  }

  /**
   * Whether a request line begins at `pos`, where a refused upload's body would have begun
   * (bodyMayBeWithheld): a strict one whole before the segment's end, or, when the segment ends
   * inside the line, a registered method, a space and the start of a target, every byte a start
   * line allows (isUnfinishedRequestLine). Asked once, at the body's first byte: a body that itself
   * begins with a request line (an HTTP message as content) is all it could mistake.
   */
  private requestLineAt(bytes: Uint8Array, pos: number, end: number): boolean {
    const limit = end - pos > httpLimits.maxLineBytes ? pos + httpLimits.maxLineBytes : end;
    const lf = findLF(bytes, pos, limit);
    if (lf < limit) return isWholeRequestLine(bytes, pos, lf + 1);
    if (limit < end || !isUnfinishedRequestLine(bytes, pos, end, false)) return false;
    const validator = this.startLineValidator();
    validator.reset();
    return validator.acceptRun(bytes, pos, end) === end;
  }

  private startChunkSize(): void {
    this.state = S_CHUNK_SIZE;
    this.remaining = 0;
    this.chunkDigits = 0;
    this.chunkLineBytes = 0;
  }

  /** One byte of chunk framing (size digits, the CRLFs around data, trailer line starts). */
  private chunkFramingByte(b: number, ts: number, frame: number): void {
    switch (this.state) {
      case S_CHUNK_SIZE: {
        this.chunkLineBytes++;
        const digit = hexValue(b);
        if (digit >= 0) {
          if (this.chunkDigits === MAX_CHUNK_DIGITS) this.giveUp('bad-chunk');
          else {
            this.remaining = this.remaining * 16 + digit;
            this.chunkDigits++;
          }
        } else if (this.chunkDigits === 0) this.giveUp('bad-chunk');
        else if (b === CR) this.state = S_CHUNK_SIZE_LF;
        else if (b === LF) this.chunkSizeDone();
        else if (b === SEMI || b === SP || b === HT) this.state = S_CHUNK_EXT;
        else this.giveUp('bad-chunk');
        return;
      }
      case S_CHUNK_SIZE_LF:
        if (b === LF) this.chunkSizeDone();
        else this.giveUp('bad-chunk');
        return;
      case S_CHUNK_DATA_END:
        if (b === CR) this.state = S_CHUNK_DATA_LF;
        else if (b === LF) this.startChunkSize();
        else this.giveUp('bad-chunk');
        return;
      case S_CHUNK_DATA_LF:
        if (b === LF) this.startChunkSize();
        else this.giveUp('bad-chunk');
        return;
      case S_TRAILER_LINE_START:
        this.headBytes++;
        if (b === LF) this.endMessage(ts, frame);
        else this.state = b === CR ? S_TRAILER_END_LF : S_TRAILER_LINE;
        return;
      case S_TRAILER_END_LF:
        this.headBytes++;
        if (b === LF) this.endMessage(ts, frame);
        else this.state = S_TRAILER_LINE; // a bare CR: treat as part of a trailer line
        return;
    }
  }

  private chunkSizeDone(): void {
    this.chunkBoundaryGuessed = false; // a whole chunk-size line: the guess held
    if (this.remaining === 0) {
      this.state = S_TRAILER_LINE_START; // last-chunk: trailer section follows
      this.headBytes = 0;
    } else {
      this.state = S_CHUNK_DATA;
    }
  }

  private endMessage(ts: number, frame: number): void {
    const body = this.bodyBytes;
    const gap = this.msgGapBytes;
    this.inMessage = false;
    this.dropHead();
    this.state = this.afterMessage;
    this.messages++;
    this.listener.onMessageEnd(ts, frame, body, gap);
  }

  /** The message's head is no longer needed by the parser (the listener had its events). */
  private dropHead(): void {
    if (this.head !== null && this.reuseHead) releaseHead(this.head);
    this.head = null;
  }

  private startResync(): void {
    this.chunkBoundaryGuessed = false;
    this.huntingAfterCut = false;
    this.inMessage = false;
    this.dropHead();
    this.resetLine();
    this.resyncing = true;
    this.state = S_RESYNC_SKIP;
  }

  private giveUp(reason: GiveUpReason): void {
    this.cutOpen = false; // abandoned with the rest
    this.state = reason === 'not-http' ? S_OFF : S_GAVE_UP;
    this.giveUpReason = reason;
    this.inMessage = false;
    this.dropHead();
    this.resetLine();
    this.listener.onGiveUp(reason);
  }

  /**
   * Back to the state of a new parser with the same mode and listener, for another connection
   * (`midstream` as in ParserOptions); the constructor runs it too. Every field set at construction
   * is set here again; test/http/session-reuse.test.ts compares a reset parser with a new one.
   */
  reset(midstream: boolean): void {
    this.dropHead();
    this.state = midstream ? S_RESYNC : S_START;
    this.ended = false;
    this.validator = null;
    this.inMessage = false;
    this.msgStartTs = 0;
    this.msgStartFrame = 0;
    this.headBytes = 0;
    this.remaining = 0;
    this.bodyBytes = 0;
    this.msgGapBytes = 0;
    this.chunkDigits = 0;
    this.chunkLineBytes = 0;
    this.afterMessage = S_START;
    this.lineBuf = null;
    this.lineLen = 0;
    this.lineTotal = 0;
    this.lineEndsCR = false;
    this.resyncing = midstream;
    this.resyncScanned = 0;
    this.cutOpen = false;
    this.cutEndedByPeer = false;
    this.cutEndTs = 0;
    this.cutEndFrame = 0;
    this.cutBodyBytes = 0;
    this.cutInBody = false;
    this.chunkBoundaryGuessed = false;
    this.bodyUnverified = false;
    this.bodyGuessedAbsent = false;
    this.huntingAfterCut = false;
    this.guessTs = 0;
    this.guessFrame = 0;
    this.cutTouched = false;
    this.lastTs = 0;
    this.lastFrame = 0;
    this.confirmed = false;
    this.readsIdentity = true;
    this.strictSeen = false;
    this.cutLineProven = false;
    this.giveUpReason = null;
    this.messages = 0;
    this.badStartLines = 0;
    this.resyncs = 0;
    this.gapEvents = 0;
    this.gapBytes = 0;
    this.cutEnds = 0;
  }
}

const CONNECTION_FIELD = 'connection:';
const HTAB = 0x09;

/**
 * The Connection field a snaplen cut inside its value (`Connection: keep` at the end of the
 * captured bytes, as tcpdump -s 256 leaves nginx's): what its first letters can only begin.
 * "keep"… is keep-alive, "clo"… close; fewer letters, or any other field, stay unknown (null).
 */
function cutConnectionValue(line: Uint8Array | null, length: number): string | null {
  const nameLength = CONNECTION_FIELD.length;
  if (line === null || length <= nameLength) return null;
  for (let i = 0; i < nameLength; i++) if ((line[i] | 0x20) !== CONNECTION_FIELD.charCodeAt(i)) return null;
  let i = nameLength;
  while (i < length && (line[i] === SP || line[i] === HTAB)) i++;
  let value = '';
  for (; i < length && line[i] !== CR && value.length < 10; i++) value += String.fromCharCode(line[i] | 0x20);
  if (value.length >= 4 && 'keep-alive'.startsWith(value)) return 'keep-alive';
  if (value.length >= 3 && 'close'.startsWith(value)) return 'close';
  return null;
}

/** Heads released by reuseHead parsers, for the next start line of any of them (bounded). */
const spareHeads: MessageHead[] = [];
const MAX_SPARE_HEADS = 256;

function takeSpareHead(): MessageHead {
  const head = spareHeads.pop();
  return head === undefined ? new MessageHead() : head.reset();
}

function releaseHead(head: MessageHead): void {
  // Not reset here: the listener may still read it until its current callback returns.
  if (spareHeads.length < MAX_SPARE_HEADS) spareHeads.push(head);
}

/** `HTTP/1.x NNN`: the bytes a status line's start shows (the status's first digit is enough). */
const STATUS_PREFIX_BYTES = 10;
const STATUS_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]; // "HTTP/1."

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** Whether `HTTP/1.<digit> <digit>` begins at `pos` (the caller checked that 10 bytes are there). */
function isStatusLinePrefix(bytes: Uint8Array, pos: number): boolean {
  for (let k = 0; k < STATUS_PREFIX.length; k++) if (bytes[pos + k] !== STATUS_PREFIX[k]) return false;
  return isDigit(bytes[pos + 7]) && bytes[pos + 8] === 0x20 && isDigit(bytes[pos + 9]);
}

/**
 * Index of the first LF in bytes[pos, end), or `end`. Inside a large read buffer (a reader handing
 * out its buffer with offsets) lines are scanned four bytes at a time; a short view (a copy of
 * reassembled bytes, one packet's buffer) is scanned byte by byte by the same final loop, which
 * the word scan runs for every line: code that only a short view reached (Node's indexOf, as it
 * was) ran first late in a capture and threw away the compiled header loop it was inlined in.
 */
function findLF(bytes: Uint8Array, pos: number, end: number): number {
  let i = pos;
  if (bytes.length > WORD_SCAN_MIN) {
    if (bytes !== wordsFor) {
      wordsFor = bytes;
      words = new Uint32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
      wordsBase = bytes.byteOffset;
    }
    const base = wordsBase;
    while (i < end && ((base + i) & 3) !== 0) {
      if (bytes[i] === LF) return i;
      i++;
    }
    // Whole aligned words, each tested for an LF byte without a branch per byte (the classic
    // "has zero byte" test on the word XOR 0x0a0a0a0a; byte order does not matter for the test).
    const w = words;
    while (i + 4 <= end) {
      const x = w[(base + i) >>> 2] ^ 0x0a0a0a0a;
      if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break; // an LF in these four bytes
      i += 4;
    }
  }
  while (i < end && bytes[i] !== LF) i++;
  return i;
}
/** Views at least this large are scanned by words (a 32-bit view over their buffer is made once). */
const WORD_SCAN_MIN = 64 * 1024;

/**
 * A 32-bit view over the buffer of the last large view scanned. Readers hand out the same view of
 * their read buffer packet after packet, so it is made once per buffer (keyed on the view: reading
 * `.buffer` is a runtime call).
 */
let wordsFor: Uint8Array | null = null;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
/** wordsFor.byteOffset (a view's offset never changes; reading it is a builtin call). */
let wordsBase = 0;

/**
 * Where a colon was on recent header lines that are not kept fields, by line length and first byte
 * (a direct-mapped table; a stale or colliding entry only costs the search it would have saved).
 * Past the kept-field attempt in readFields, a line's fate no longer depends on where its first
 * colon is: a line of a kept field always has its colon where keptColonGuess looks, so a line that
 * failed there is counted as another field if it has any colon (and does not start with a space,
 * a tab or the colon), and as malformed otherwise. So any colon found inside the line will do, and
 * the same headers come back message after message with the same lengths (User-Agent, Accept,
 * Date, Content-Type...): one compare instead of a native search, some 130 instructions a line.
 */
const COLON_OFFSET_SLOTS = 1024; // a power of two
const colonOffsets = new Int32Array(COLON_OFFSET_SLOTS);

/**
 * False when a field name of this length starting with this byte cannot be one that
 * applyHeaderLine keeps (Host, Server, Expect, Via, Connection, Keep-Alive, Content-Length, Transfer-Encoding,
 * Idempotency-Key, X-Idempotency-Key, Forwarded, X-Forwarded-For, X-Real-IP, Retry-After): those lines are only counted. Keep in step with
 * applyHeaderLine's switch.
 */
function mayBeKeptField(first: number, nameLength: number): boolean {
  const f = first | 0x20; // ASCII lower case (only 'X' and 'x' fold to 'x')
  switch (nameLength) {
    case 3:
      return f === 0x76; // v
    case 4:
      return f === 0x68; // h
    case 6:
      return f === 0x73 || f === 0x65; // s, e
    case 9:
      return f === 0x66 || f === 0x78; // f, x (x-real-ip)
    case 10:
      return f === 0x63 || f === 0x6b || f === 0x75; // c, k, u
    case 11:
      return f === 0x72; // r (retry-after)
    case 14:
      return f === 0x63; // c
    case 15:
      return f === 0x69 || f === 0x78; // i, x
    case 17:
      return f === 0x74 || f === 0x78; // t, x
    default:
      return false;
  }
}

/**
 * Where the colon of a kept field (see mayBeKeptField) would be on the line bytes[pos, lf) that
 * starts with `first`, when a colon is there; 0 otherwise. Only a guess: the name must still be
 * compared. The fields that name a request's client are guessed only while `identity` (the head
 * reads them): on a keep-alive connection's later requests their lines take the cheaper count.
 */
function keptColonGuess(bytes: Uint8Array, first: number, pos: number, lf: number, identity: boolean): number {
  let at: number;
  switch (first | 0x20) {
    case 0x68: // host
      at = pos + 4;
      break;
    case 0x73: // server
    case 0x65: // expect
      at = pos + 6;
      break;
    case 0x76: // via
      at = pos + 3;
      break;
    case 0x63: // connection, content-length
      at = pos + 10 < lf && bytes[pos + 10] === COLON ? pos + 10 : pos + 14;
      break;
    case 0x6b: // keep-alive
      at = pos + 10;
      break;
    case 0x69: // idempotency-key
      at = pos + 15;
      break;
    case 0x72: // retry-after
      at = pos + 11;
      break;
    case 0x75: // user-agent: on every request, for its hash (MessageHead.agentHash), its text on the first
      at = pos + 10;
      break;
    case 0x66: // forwarded
      if (identity !== true) return 0;
      at = pos + 9;
      break;
    case 0x74: // transfer-encoding
      at = pos + 17;
      break;
    case 0x78: // x-forwarded-for, x-real-ip, x-idempotency-key
      at = identity === true && pos + 15 < lf && bytes[pos + 15] === COLON ? pos + 15 : identity === true && pos + 9 < lf && bytes[pos + 9] === COLON ? pos + 9 : pos + 17;
      break;
    default:
      return 0;
  }
  return at < lf && bytes[at] === COLON ? at : 0;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}
