import { latin1Interned, latin1LowerInterned } from './latin1';
import type { MessageHead } from './message-head';

const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const COMMA = 0x2c;


/**
 * Characters of a `Server` value kept: product and version (`nginx/1.22.1`, `Apache/2.4.71
 * (Debian)`) are at its start; the rest is not needed to name the software.
 */
export const MAX_SERVER_CHARS = 64;
/** A `User-Agent` is kept to this many characters: enough for `Apache-HttpClient/5.2.1 (Java/17.0.15)`. */
export const MAX_AGENT_CHARS = 40;

/** Content-Length digits accepted: 15 decimal digits stay below 2^53. */
const MAX_LENGTH_DIGITS = 15;

/**
 * Outcome of one header line. A frozen object, not an enum: compiled with isolatedModules, an enum
 * is an object read at run time on every use (a load and a map check per header line), while a
 * frozen module constant's members fold into the compiled code. Used in this file through the
 * module-local name (an exported const is read as a property of `exports`).
 */
const LineResult = Object.freeze({
  Ok: 0,
  /** The line was cut by the line bound and it carries a field that decides framing. */
  FramingFieldTooLong: 1,
} as const);
export const HeaderLineResult = LineResult;
export type HeaderLineResult = (typeof LineResult)[keyof typeof LineResult];

/**
 * Applies one header line bytes[s, e) (no CR/LF) to the head: the fields that decide framing
 * and connection reuse are kept, every other one is only counted. Names are matched in place
 * without allocating; strings are made only for the kept values. `truncated` means the line
 * was longer than the line bound and only its beginning is here.
 */
export function applyHeaderLine(
  bytes: Uint8Array,
  s: number,
  e: number,
  head: MessageHead,
  truncated: boolean,
): HeaderLineResult {
  const first = bytes[s];
  if (first === SP || first === HT) {
    // obs-fold continuation (RFC 9112 §5.2): deprecated; its text is not added to the kept value.
    head.malformedHeaders++;
    return LineResult.Ok;
  }
  let colon = s;
  while (colon < e && bytes[colon] !== COLON) colon++;
  if (colon === e || colon === s) {
    head.malformedHeaders++;
    return LineResult.Ok;
  }
  return applyField(bytes, s, colon, e, head, truncated);
}

/**
 * applyHeaderLine for a line already known to be a field: bytes[s, colon) is its name (not
 * empty, not starting with SP or HT, without a colon) and bytes[colon] its first colon, as the
 * parser's header loop finds them.
 */
export function applyField(
  bytes: Uint8Array,
  s: number,
  colon: number,
  e: number,
  head: MessageHead,
  truncated: boolean,
): HeaderLineResult {
  const result = applyKeptField(bytes, s, colon, e, head, truncated);
  if (result !== NOT_KEPT) return result;
  head.otherHeaders++;
  return LineResult.Ok;
}

/** What applyKeptField returns for a field it does not keep (and does not count). */
export const NOT_KEPT = -1;

/**
 * applyField for a field the caller expects to be a kept one, with the same contract, except that
 * a field that is not kept is not counted: NOT_KEPT is returned and the caller decides (the
 * parser's header loop calls it on a guessed colon, and NOT_KEPT sends it to its colon search).
 */
export function applyKeptField(
  bytes: Uint8Array,
  s: number,
  colon: number,
  e: number,
  head: MessageHead,
  truncated: boolean,
): HeaderLineResult | typeof NOT_KEPT {
  let vs = colon + 1;
  let ve = e;
  while (vs < ve && (bytes[vs] === SP || bytes[vs] === HT)) vs++;
  while (ve > vs && (bytes[ve - 1] === SP || bytes[ve - 1] === HT)) ve--;

  switch (colon - s) {
    case 3:
      if (isViaName(bytes, s)) {
        // A proxy appends its entry: the last one (of the last field) is the nearest the client;
        // a line cut by the line bound has lost it.
        if (truncated || !head.readsIdentity) return LineResult.Ok;
        let from = ve;
        while (from > vs && bytes[from - 1] !== COMMA) from--;
        while (from < ve && (bytes[from] === SP || bytes[from] === HT)) from++;
        const end = ve - from > MAX_SERVER_CHARS ? from + MAX_SERVER_CHARS : ve;
        if (end > from && isPlainText(bytes, from, end)) head.via = latin1Interned(bytes, from, end);
        return LineResult.Ok;
      }
      break;
    case 6:
      if (isServerName(bytes, s)) {
        // A response's field (a request's head has its method).
        if (head.readsIdentity && head.server === null && head.method === null && ve > vs) {
          const end = ve - vs > MAX_SERVER_CHARS ? vs + MAX_SERVER_CHARS : ve;
          // Interned: one server answers with the same value on every connection. Only plain text
          // is kept: the value goes into explanations printed on terminals and pages.
          if (isPlainText(bytes, vs, end)) {
            head.server = latin1Interned(bytes, vs, end);
            head.serverNameLower = bytes[s] === 0x73; // `s`
          }
        }
        return LineResult.Ok;
      }
      if (isExpectName(bytes, s)) {
        head.otherHeaders++; // still counted with the fields not kept: only its 100-continue is read
        if (hasContinueExpectation(bytes, vs, ve)) head.expectContinue = true;
        return LineResult.Ok;
      }
      break;
    case 4:
      if (isHostName(bytes, s)) {
        if (head.host === null) head.host = latin1Interned(bytes, vs, ve);
        return LineResult.Ok;
      }
      break;
    case 10:
      if (isConnectionName(bytes, s)) {
        if (truncated) return LineResult.FramingFieldTooLong;
        head.connection = joinList(head.connection, connectionValue(bytes, vs, ve));
        return LineResult.Ok;
      }
      if (isKeepAliveName(bytes, s)) {
        const timeout = keepAliveTimeoutOf(bytes, vs, ve);
        if (timeout !== null) head.keepAliveTimeout = timeout;
        return LineResult.Ok;
      }
      if (isUserAgentName(bytes, s)) {
        head.otherHeaders++; // still counted with the fields not kept: only a first request's is read
        if (ve > vs) {
          // FNV-1a over the bytes, with no string made: every request's, to compare with the first's.
          const end = ve - vs > MAX_AGENT_CHARS ? vs + MAX_AGENT_CHARS : ve;
          let h = 0x811c9dc5;
          for (let i = vs; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
          head.agentHash = h >>> 0 || 1;
        }
        if (head.readsIdentity && head.userAgent === null && ve > vs) {
          // Its start names the client (a browser's runs on for 100 bytes and more): cut short, so
          // that every connection of one client shares one interned string, made in few steps.
          const end = ve - vs > MAX_AGENT_CHARS ? vs + MAX_AGENT_CHARS : ve;
          if (isPlainText(bytes, vs, end)) {
            head.userAgent = latin1Interned(bytes, vs, end);
            head.agentNameLower = bytes[s] === 0x75; // `u`
          }
        }
        return LineResult.Ok;
      }
      break;
    case 9:
      // `X-Real-IP` too: nginx configurations set it on their upstream requests
      // (`proxy_set_header X-Real-IP $remote_addr`) where others set X-Forwarded-For.
      if (isForwardedName(bytes, s) || isRealIpName(bytes, s)) {
        head.otherHeaders++;
        head.forwarded = true;
        return LineResult.Ok;
      }
      break;
    case 15:
      if (isIdempotencyKeyName(bytes, s)) {
        head.idempotencyKey = true;
        return LineResult.Ok;
      }
      if (lower(bytes, s) === 0x78 /* x */ && bytes[s + 1] === 0x2d && isForwardedName(bytes, s + 2) && bytes[s + 11] === 0x2d && isForName(bytes, s + 12)) {
        head.otherHeaders++;
        head.forwarded = true;
        return LineResult.Ok;
      }
      break;
    case 11:
      if (isRetryAfterName(bytes, s)) {
        // Counted with the fields not kept: only its delay-seconds are read (an HTTP-date is left).
        head.otherHeaders++;
        head.retryAfter = delaySecondsOf(bytes, vs, ve);
        return LineResult.Ok;
      }
      break;
    case 14:
      if (isContentLengthName(bytes, s)) {
        if (truncated) return LineResult.FramingFieldTooLong;
        applyContentLength(bytes, vs, ve, head);
        return LineResult.Ok;
      }
      break;
    case 17:
      if (isTransferEncodingName(bytes, s)) {
        if (truncated) return LineResult.FramingFieldTooLong;
        head.transferEncoding = joinList(head.transferEncoding, latin1LowerInterned(bytes, vs, ve));
        return LineResult.Ok;
      }
      if (lower(bytes, s) === 0x78 /* x */ && bytes[s + 1] === 0x2d && isIdempotencyKeyName(bytes, s + 2)) {
        head.idempotencyKey = true;
        return LineResult.Ok;
      }
      break;
  }
  return NOT_KEPT;
}

/*
 * The kept field names, compared with constants ignoring ASCII case (the caller has checked the
 * name's length). A loop over a literal's bytes (as this file once had) cost some 36 instructions
 * per byte, and a byte read alone about 13 (a bounds check and the typed array's data pointer each
 * time): the names are read four bytes at a time (see word) and compared with their little-endian
 * words, overlapping where a name's length is not a multiple of four. OR-ing 0x20 into a byte of a
 * letter is the case-insensitive test: only the letter and its upper case give the lower-case one;
 * the fold masks leave the other bytes ('-', ':') to be compared exactly.
 */
function lower(bytes: Uint8Array, i: number): number {
  return bytes[i] | 0x20;
}

/** Views at least this long are read by word through a DataView (a reader's chunk); shorter ones (one line's copy) compose words from bytes. */
const WORD_VIEW_MIN_BYTES = 32 * 1024;
/** The last long view read by word, and a DataView over it: readers hand every packet of a chunk over in the same view. */
let wordBytes: Uint8Array | null = null;
let wordView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * The four bytes b[i, i + 4) as a little-endian int32 (the caller keeps i + 4 within the view).
 * A DataView read is one bounds check for the four bytes where four byte reads paid four; a short
 * view, for which a DataView would be an allocation per view, gives the same value from its bytes.
 */
function word(b: Uint8Array, i: number): number {
  if (b !== wordBytes) {
    if (b.length < WORD_VIEW_MIN_BYTES) return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    wordView = new DataView(b.buffer, b.byteOffset, b.byteLength);
    wordBytes = b;
  }
  return wordView.getInt32(i, true);
}

/** word with ASCII letters lower-cased (every byte of the four is one of a name's letters). */
function lowerWord(b: Uint8Array, i: number): number {
  return word(b, i) | 0x20202020;
}

/** Printable ASCII only (no control byte, no byte above 0x7e, no backquote that would break the quoting around it). */
function isPlainText(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 0x20 || c > 0x7e || c === 0x60) return false;
  }
  return true;
}
function isViaName(b: Uint8Array, s: number): boolean {
  return lower(b, s) === 0x76 && lower(b, s + 1) === 0x69 && lower(b, s + 2) === 0x61;
}
/** `serv`, `rver`. */
function isServerName(b: Uint8Array, s: number): boolean {
  return lowerWord(b, s) === 0x76726573 && lowerWord(b, s + 2) === 0x72657672;
}
/** `expe`, `pect`. */
function isExpectName(b: Uint8Array, s: number): boolean {
  return lowerWord(b, s) === 0x65707865 && lowerWord(b, s + 2) === 0x74636570;
}
/** `100-continue` (any case) among the comma-separated members of an Expect value bytes[s, e). */
function hasContinueExpectation(b: Uint8Array, s: number, e: number): boolean {
  let i = s;
  while (i < e) {
    while (i < e && (b[i] === SP || b[i] === HT || b[i] === COMMA)) i++;
    const from = i;
    while (i < e && b[i] !== COMMA) i++;
    let to = i;
    while (to > from && (b[to - 1] === SP || b[to - 1] === HT)) to--;
    // `100-`, `cont`, `inue` (the digits and the dash are compared exactly).
    if (to - from === 12 && word(b, from) === 0x2d303031 && lowerWord(b, from + 4) === 0x746e6f63 && lowerWord(b, from + 8) === 0x65756e69) return true;
  }
  return false;
}
/** `retr`, `y-af`, `fter`. */
function isRetryAfterName(b: Uint8Array, s: number): boolean {
  return lowerWord(b, s) === 0x72746572 && (word(b, s + 4) | 0x20200020) === 0x66612d79 && lowerWord(b, s + 7) === 0x72657466;
}
/** A Retry-After value bytes[s, e) as delay-seconds (1 to 9 digits), or -1 (an HTTP-date, or not a number). */
function delaySecondsOf(b: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 9) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n;
}
/** `host`. */
function isHostName(b: Uint8Array, s: number): boolean {
  return lowerWord(b, s) === 0x74736f68;
}
/** `conn`, `ecti`, `tion`. */
function isConnectionName(b: Uint8Array, s: number): boolean {
  return lowerWord(b, s) === 0x6e6e6f63 && lowerWord(b, s + 4) === 0x69746365 && lowerWord(b, s + 6) === 0x6e6f6974;
}
/** `keep`, `-ali`, `live`. */
function isKeepAliveName(b: Uint8Array, s: number): boolean {
  return lowerWord(b, s) === 0x7065656b && (word(b, s + 4) | 0x20202000) === 0x696c612d && lowerWord(b, s + 6) === 0x6576696c;
}
/** `cont`, `ent-`, `leng`, `ngth`. */
function isContentLengthName(b: Uint8Array, s: number): boolean {
  return (
    lowerWord(b, s) === 0x746e6f63 && (word(b, s + 4) | 0x00202020) === 0x2d746e65 && lowerWord(b, s + 8) === 0x676e656c &&
    lowerWord(b, s + 10) === 0x6874676e
  );
}
/** `tran`, `sfer`, `-enc`, `odin`, `ding`. */
function isTransferEncodingName(b: Uint8Array, s: number): boolean {
  return (
    lowerWord(b, s) === 0x6e617274 && lowerWord(b, s + 4) === 0x72656673 && (word(b, s + 8) | 0x20202000) === 0x636e652d &&
    lowerWord(b, s + 12) === 0x6e69646f && lowerWord(b, s + 13) === 0x676e6964
  );
}
/** `idem`, `pote`, `ncy-`, `-key` (and, after `x-`, the rest of `x-idempotency-key`). */
function isIdempotencyKeyName(b: Uint8Array, s: number): boolean {
  return (
    lowerWord(b, s) === 0x6d656469 && lowerWord(b, s + 4) === 0x65746f70 && (word(b, s + 8) | 0x00202020) === 0x2d79636e &&
    (word(b, s + 11) | 0x20202000) === 0x79656b2d
  );
}

/** `user`, `-age`, `gent`. */
function isUserAgentName(b: Uint8Array, s: number): boolean {
  return lowerWord(b, s) === 0x72657375 && (word(b, s + 4) | 0x20202000) === 0x6567612d && lowerWord(b, s + 6) === 0x746e6567;
}
/** `forw`, `arde`, `rded`: `forwarded` (and, after `x-`, `x-forwarded`). */
function isForwardedName(b: Uint8Array, s: number): boolean {
  return lowerWord(b, s) === 0x77726f66 && lowerWord(b, s + 4) === 0x65647261 && lowerWord(b, s + 5) === 0x64656472;
}
/** `x-re`, `al-i`, `-ip` (`x-real-ip`; the dashes compared exactly). */
function isRealIpName(b: Uint8Array, s: number): boolean {
  return (word(b, s) | 0x20202020) === 0x65722d78 && (word(b, s + 4) | 0x20002020) === 0x692d6c61 && (word(b, s + 5) | 0x20200020) === 0x70692d6c;
}
/** `for`, the end of `x-forwarded-for`. */
function isForName(b: Uint8Array, s: number): boolean {
  return lower(b, s) === 0x66 && lower(b, s + 1) === 0x6f && lower(b, s + 2) === 0x72;
}

/** `time`, `eout`: `timeout`, the Keep-Alive parameter. */
function isTimeoutName(b: Uint8Array, s: number): boolean {
  return lowerWord(b, s) === 0x656d6974 && lowerWord(b, s + 3) === 0x74756f65;
}

/**
 * A Connection value, lower-cased. `close` and `keep-alive` (nearly every one) are recognised in
 * place and given as constants: no interning lookup, whose check of the cached string against
 * the bytes costs more than this compare.
 */
function connectionValue(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  // `clos`, `lose`.
  if (n === 5 && lowerWord(b, s) === 0x736f6c63 && lowerWord(b, s + 1) === 0x65736f6c) return 'close';
  if (n === 10 && isKeepAliveName(b, s)) return 'keep-alive';
  return latin1LowerInterned(b, s, e);
}

function joinList(prev: string | null, value: string): string {
  return prev === null ? value : `${prev}, ${value}`;
}

/**
 * Content-Length: digits, or a comma-separated list of identical values (RFC 9110 §8.6 allows a
 * recipient to accept `5, 5`). Anything else, or two fields that disagree, marks it invalid: the
 * message length is then unknowable and the parser gives up rather than guess.
 */
function applyContentLength(bytes: Uint8Array, s: number, e: number, head: MessageHead): void {
  // The usual value, digits alone (the caller trimmed the blanks around it): each byte read once.
  // Anything else (a list, blanks inside, too many digits) goes the general way below.
  let digitsEnd = s;
  let digitsValue = 0;
  while (digitsEnd < e) {
    const d = bytes[digitsEnd] - 0x30;
    if (d < 0 || d > 9) break;
    digitsValue = digitsValue * 10 + d;
    digitsEnd++;
  }
  if (digitsEnd === e && e > s && e - s <= MAX_LENGTH_DIGITS) {
    if (head.contentLength >= 0 && head.contentLength !== digitsValue) head.contentLengthInvalid = true;
    else head.contentLength = digitsValue;
    return;
  }
  let i = s;
  let sawValue = false;
  while (i <= e) {
    while (i < e && (bytes[i] === SP || bytes[i] === HT)) i++;
    let value = 0;
    let digits = 0;
    while (i < e && bytes[i] >= 0x30 && bytes[i] <= 0x39) {
      value = value * 10 + (bytes[i] - 0x30);
      digits++;
      i++;
    }
    while (i < e && (bytes[i] === SP || bytes[i] === HT)) i++;
    if (digits === 0 || digits > MAX_LENGTH_DIGITS || (i < e && bytes[i] !== COMMA)) {
      head.contentLengthInvalid = true;
      return;
    }
    if (head.contentLength >= 0 && head.contentLength !== value) {
      head.contentLengthInvalid = true;
      return;
    }
    head.contentLength = value;
    sawValue = true;
    i++; // past the comma (or past the end)
  }
  if (!sawValue) head.contentLengthInvalid = true;
}

/*
 * The last short Keep-Alive value parsed (a server sends the same one, `timeout=75`, on every
 * response), by its length and three words that cover all its bytes (see keepAliveTimeoutOf), and
 * what parseKeepAliveTimeout made of it. memoLength 0: none (a value of 4 to 12 bytes is kept).
 */
let memoLength = 0;
let memoFirst = 0;
let memoMiddle = 0;
let memoLast = 0;
let memoTimeout: number | null = null;
const MEMO_MIN_BYTES = 4;
const MEMO_MAX_BYTES = 12;

/**
 * parseKeepAliveTimeout(bytes, s, e), reusing the last answer when the value is byte for byte the
 * last one: three word compares instead of a parse that reads each byte several times (it cost
 * about 1.5 % of a run without detectors on the benchmark, where keep-alive responses carry it).
 * The words at s, s + min(4, n - 4) and e - 4 cover every byte of a value of 4 to 12 bytes.
 */
function keepAliveTimeoutOf(bytes: Uint8Array, s: number, e: number): number | null {
  const n = e - s;
  if (n < MEMO_MIN_BYTES || n > MEMO_MAX_BYTES) return parseKeepAliveTimeout(bytes, s, e);
  const first = word(bytes, s);
  const middle = word(bytes, n < 8 ? e - 4 : s + 4);
  const last = word(bytes, e - 4);
  if (n === memoLength && first === memoFirst && middle === memoMiddle && last === memoLast) return memoTimeout;
  const timeout = parseKeepAliveTimeout(bytes, s, e);
  memoLength = n;
  memoFirst = first;
  memoMiddle = middle;
  memoLast = last;
  memoTimeout = timeout;
  return timeout;
}

/** `timeout=N` among the comma-separated parameters of a Keep-Alive field; null when absent or not a number. */
export function parseKeepAliveTimeout(bytes: Uint8Array, s: number, e: number): number | null {
  let i = s;
  while (i < e) {
    while (i < e && (bytes[i] === SP || bytes[i] === HT || bytes[i] === COMMA || bytes[i] === 0x3b)) i++;
    const nameStart = i;
    while (i < e && bytes[i] !== 0x3d /* = */ && bytes[i] !== COMMA && bytes[i] !== 0x3b) i++;
    let nameEnd = i;
    while (nameEnd > nameStart && (bytes[nameEnd - 1] === SP || bytes[nameEnd - 1] === HT)) nameEnd--;
    if (i < e && bytes[i] === 0x3d && nameEnd - nameStart === 7 && isTimeoutName(bytes, nameStart)) {
      i++;
      while (i < e && (bytes[i] === SP || bytes[i] === HT || bytes[i] === 0x22 /* " */)) i++;
      let value = 0;
      let digits = 0;
      while (i < e && bytes[i] >= 0x30 && bytes[i] <= 0x39 && digits < MAX_LENGTH_DIGITS) {
        value = value * 10 + (bytes[i] - 0x30);
        digits++;
        i++;
      }
      if (digits === 0) return null;
      if (i < e && bytes[i] === 0x2e /* . */) {
        // Not allowed by the grammar (delta-seconds), but seen; keep the fraction.
        let scale = 0.1;
        i++;
        while (i < e && bytes[i] >= 0x30 && bytes[i] <= 0x39) {
          value += (bytes[i] - 0x30) * scale;
          scale /= 10;
          i++;
        }
      }
      return value;
    }
    while (i < e && bytes[i] !== COMMA && bytes[i] !== 0x3b) i++;
  }
  return null;
}

/** True when a comma-separated, lower-cased list (e.g. a Connection value) contains `token`. */
export function hasToken(list: string | null, token: string): boolean {
  if (list === null) return false;
  let from = 0;
  while (from <= list.length) {
    const at = list.indexOf(token, from);
    if (at < 0) return false;
    const before = at === 0 ? ',' : prevNonSpace(list, at);
    const afterIndex = nextNonSpaceIndex(list, at + token.length);
    const after = afterIndex >= list.length ? ',' : list[afterIndex];
    if (before === ',' && after === ',') return true;
    from = at + 1;
  }
  return false;
}

function prevNonSpace(s: string, at: number): string {
  let i = at - 1;
  while (i >= 0 && (s[i] === ' ' || s[i] === '\t')) i--;
  return i < 0 ? ',' : s[i];
}
function nextNonSpaceIndex(s: string, at: number): number {
  let i = at;
  while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  return i;
}

/** The last transfer coding of a Transfer-Encoding list is `chunked` (RFC 9112 §6.3 rule 4). */
export function isChunkedLast(transferEncoding: string): boolean {
  let e = transferEncoding.length;
  while (e > 0 && (transferEncoding[e - 1] === ' ' || transferEncoding[e - 1] === '\t' || transferEncoding[e - 1] === ',')) e--;
  let s = e;
  while (s > 0 && transferEncoding[s - 1] !== ',') s--;
  while (s < e && (transferEncoding[s] === ' ' || transferEncoding[s] === '\t')) s++;
  // Parameters on chunked are not defined; accept `chunked` alone.
  return transferEncoding.slice(s, e) === 'chunked';
}
