import { ascii, bytesEqual, latin1, latin1Interned } from './latin1';
import type { MessageHead } from './message-head';

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const DOT = 0x2e;
const LF = 0x0a;

/** Longest method token accepted (WebDAV's BASELINE-CONTROL is 16; invented ones stay short). */
export const METHOD_MAX = 32;

const HTTP_SLASH = ascii('HTTP/');

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}
function isUpper(b: number): boolean {
  return b >= 0x41 && b <= 0x5a;
}
function isMethodByte(b: number): boolean {
  return isUpper(b) || isDigit(b) || b === 0x5f /* _ */ || b === 0x2d /* - */;
}
/** Text allowed after the method / in a reason phrase: visible bytes, SP, HT, obs-text; CR only as the line end. */
function isLineText(b: number): boolean {
  return b >= 0x20 ? b !== 0x7f : b === HT || b === CR;
}

/**
 * Byte-by-byte plausibility check of a start line, so that a stream that is not HTTP (TLS starts
 * with 0x16, SSH with `SSH-2.0-`, binary protocols with control bytes) is rejected on its first odd
 * byte instead of after a whole line limit of buffering. It only rejects; the full parse happens
 * when the line is complete.
 */
export class StartLineValidator {
  private seen = 0;
  private methodDone = false;

  constructor(private readonly request: boolean) {}

  reset(): void {
    this.seen = 0;
    this.methodDone = false;
  }

  /**
   * Feeds bytes[from, to) (no LF among them); returns the index of the first byte that cannot
   * belong to a start line, or `to` when all can. Same verdicts as `accept` byte by byte, with the
   * long tail of a line (target, reason phrase) checked in a tight loop.
   */
  acceptRun(bytes: Uint8Array, from: number, to: number): number {
    let i = from;
    // The head of the line: method and its space, or `HTTP/d.d ddd `, byte by byte.
    while (i < to && (this.request ? !this.methodDone : this.seen < 13)) {
      if (!this.accept(bytes[i])) return i;
      i++;
    }
    this.seen += to - i;
    for (; i < to; i++) {
      const b = bytes[i];
      if (b < 0x20 ? b !== HT && b !== CR : b === 0x7f) return i;
    }
    return to;
  }

  /** False when the line so far cannot be a start line. */
  accept(b: number): boolean {
    const p = this.seen++;
    if (this.request) {
      if (this.methodDone) return isLineText(b);
      if (b === SP || b === CR) {
        // CR: a method alone on its line (`OPTIONS`), which servers answer with 400; the full parse
        // at the line end rejects anything after the CR.
        this.methodDone = true;
        return p > 0;
      }
      return p < METHOD_MAX && (p === 0 ? isUpper(b) : isMethodByte(b));
    }
    if (p < 5) return b === HTTP_SLASH[p];
    switch (p) {
      case 5:
      case 7:
      case 9:
      case 10:
      case 11:
        return isDigit(b);
      case 6:
        return b === DOT;
      case 8:
        return b === SP;
      case 12:
        return b === SP || b === CR;
      default:
        return isLineText(b);
    }
  }
}

const HTTP11 = 'HTTP/1.1';
const HTTP10 = 'HTTP/1.0';

/** Parses `HTTP/d.d` at bytes[s, e) into head.version*; false when it is not exactly that shape. */
function parseVersion(bytes: Uint8Array, s: number, e: number, head: MessageHead): boolean {
  if (e - s !== 8) return false;
  for (let i = 0; i < 5; i++) if (bytes[s + i] !== HTTP_SLASH[i]) return false;
  const major = bytes[s + 5];
  const minor = bytes[s + 7];
  if (!isDigit(major) || bytes[s + 6] !== DOT || !isDigit(minor)) return false;
  head.versionMajor = major - 0x30;
  head.versionMinor = minor - 0x30;
  head.version =
    head.versionMajor === 1 && head.versionMinor === 1 ? HTTP11
    : head.versionMajor === 1 && head.versionMinor === 0 ? HTTP10
    : latin1(bytes, s, e);
  return true;
}

/**
 * Version fields of a token `isVersionAt` accepted: the same values parseVersion sets, without
 * checking the bytes a second time.
 */
function takeVersion(bytes: Uint8Array, s: number, head: MessageHead): void {
  const major = bytes[s + 5] - 0x30;
  const minor = bytes[s + 7] - 0x30;
  head.versionMajor = major;
  head.versionMinor = minor;
  head.version = major === 1 && minor === 1 ? HTTP11 : major === 1 && minor === 0 ? HTTP10 : latin1(bytes, s, s + 8);
}

/** Common methods, so that their names are not allocated for every request. */
const KNOWN_METHODS: readonly [Uint8Array, string][] = [
  'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE',
].map((m) => [ascii(m), m]);

function methodString(bytes: Uint8Array, s: number, e: number): string {
  // GET and POST, most requests, by constants first: the table's loop compares each literal's
  // bytes through its typed array, some 36 instructions a byte.
  const n = e - s;
  if (n === 3 && bytes[s] === 0x47 && bytes[s + 1] === 0x45 && bytes[s + 2] === 0x54) return 'GET';
  if (n === 4 && bytes[s] === 0x50 && bytes[s + 1] === 0x4f && bytes[s + 2] === 0x53 && bytes[s + 3] === 0x54) return 'POST';
  // Indexed loop: a destructuring for-of allocated an iterator and a pair per method tried.
  for (let i = 0; i < KNOWN_METHODS.length; i++) {
    const known = KNOWN_METHODS[i];
    if (bytesEqual(bytes, s, e, known[0])) return known[1];
  }
  return latin1Interned(bytes, s, e);
}

/**
 * Result of parsing a complete request line. A frozen object, not an enum (see HeaderLineResult),
 * used in this file through the module-local name.
 */
const Shape = Object.freeze({
  Invalid: 0,
  /** Method and target, but the version is missing or malformed (`GET /x`, `GET / HTTP/1.`). */
  Lenient: 1,
  Strict: 2,
} as const);
export const RequestLineShape = Shape;
export type RequestLineShape = (typeof Shape)[keyof typeof Shape];

/** Methods an unfinished request line is taken to begin with on a direction not yet proven HTTP (RFC 9110 §9, RFC 5789). */
export const REGISTERED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/**
 * True when bytes[s, e), the beginning of a request line that never completed (its client stopped
 * sending it, or a response or the end came first), shows enough to be taken for one: a method,
 * its space and the first byte of a target. On a direction not yet proven HTTP (no strict request
 * line before), the method must be a registered one and the target begin as an origin-form (`/`),
 * absolute-form (`http`) or asterisk-form (`*`) target does, or be CONNECT's authority: a few bytes
 * of another protocol are then not taken for a request.
 */
export function isUnfinishedRequestLine(bytes: Uint8Array, s: number, e: number, proven: boolean): boolean {
  let sp = s;
  while (sp < e && sp - s <= METHOD_MAX && bytes[sp] !== SP) sp++;
  if (sp === s || sp >= e - 1 || bytes[sp] !== SP) return false; // no method, or nothing of a target after it
  if (proven) return true;
  const method = latin1(bytes, s, sp);
  if (!REGISTERED_METHODS.has(method)) return false;
  const first = bytes[sp + 1];
  return method === 'CONNECT' || first === 0x2f /* / */ || first === 0x2a /* * */ || first === 0x68 /* h */;
}

/**
 * Parses a complete request line (CR already stripped) that passed the validator: method, then
 * target up to the last space, then the version. Servers answer malformed lines too (400), so
 * a line with a method and a space is kept even without a valid version, flagged lenient.
 */
export function parseRequestLine(bytes: Uint8Array, s: number, e: number, head: MessageHead): RequestLineShape {
  let sp = s;
  while (sp < e && bytes[sp] !== SP) sp++;
  if (sp === s) return Shape.Invalid;
  if (sp === e) {
    // A method alone (`OPTIONS`): kept as lenient, with an empty target, if it is a method token.
    for (let i = s; i < e; i++) if (!isMethodByte(bytes[i])) return Shape.Invalid;
    if (e - s > METHOD_MAX) return Shape.Invalid;
    head.method = methodString(bytes, s, e);
    head.uri = '';
    return Shape.Lenient;
  }
  head.method = methodString(bytes, s, sp);
  let last = e - 1;
  while (last > sp && bytes[last] !== SP) last--;
  if (last === sp) {
    // No second space: `OPTIONS HTTP/1.1`, `GET /HTTP/1.1`: everything is the target.
    head.uri = latin1(bytes, sp + 1, e);
    head.version = null;
    return Shape.Lenient;
  }
  head.uri = latin1(bytes, sp + 1, last);
  if (parseVersion(bytes, last + 1, e, head) && last > sp + 1) {
    head.strict = true;
    return Shape.Strict;
  }
  head.version = last + 1 < e ? latin1(bytes, last + 1, e) : null;
  head.versionMajor = -1;
  head.versionMinor = -1;
  return Shape.Lenient;
}

/** `HTTP/d.d` at bytes[s, s + 8) (the caller knows the bytes exist). */
function isVersionAt(bytes: Uint8Array, s: number): boolean {
  return (
    bytes[s] === 0x48 && bytes[s + 1] === 0x54 && bytes[s + 2] === 0x54 && bytes[s + 3] === 0x50 && bytes[s + 4] === 0x2f &&
    isDigit(bytes[s + 5]) && bytes[s + 6] === DOT && isDigit(bytes[s + 7])
  );
}

/**
 * The common request line, whole before `end`: `METHOD SP target SP HTTP/d.d [CR] LF`, a method
 * of at most METHOD_MAX bytes, a target of visible bytes (no space, no control byte). Fills head
 * exactly as parseRequestLine does for it and returns the index of its LF; returns -1 without
 * touching head for any other line. The validator accepts every line taken here byte by byte, and
 * parseRequestLine finds the same method, target and version (strict), so the general path (which
 * decides every declined line) and this one agree; this one just reads the line once.
 */
export function parseWholeRequestLine(bytes: Uint8Array, s: number, end: number, head: MessageHead): number {
  let b = bytes[s];
  if (!isUpper(b)) return -1;
  let p = s + 1;
  const methodEnd = Math.min(end, s + METHOD_MAX + 1);
  while (p < methodEnd) {
    b = bytes[p];
    if (b === SP) break;
    if (!isMethodByte(b)) return -1;
    p++;
  }
  if (p === methodEnd) return -1;
  const sp = p;
  p++;
  while (p < end) {
    b = bytes[p];
    if (b <= SP || b === 0x7f) break;
    p++;
  }
  // Target, a space, the version, and at least the LF must be here.
  if (p === sp + 1 || b !== SP || p + 10 > end || !isVersionAt(bytes, p + 1)) return -1;
  let lf = p + 9;
  if (bytes[lf] === CR) lf++;
  if (lf >= end || bytes[lf] !== LF) return -1;
  head.method = methodString(bytes, s, sp);
  head.uri = latin1(bytes, sp + 1, p);
  takeVersion(bytes, p + 1, head);
  head.strict = true;
  return lf;
}

/**
 * Whether the common request line of parseWholeRequestLine is whole before `end` at `s` (its LF
 * included), without filling a head: the test a refused upload's withheld body needs
 * (MessageParser.bodyMayBeWithheld).
 */
export function isWholeRequestLine(bytes: Uint8Array, s: number, end: number): boolean {
  if (!isUpper(bytes[s])) return false;
  let p = s + 1;
  const methodEnd = Math.min(end, s + METHOD_MAX + 1);
  while (p < methodEnd && bytes[p] !== SP) {
    if (!isMethodByte(bytes[p])) return false;
    p++;
  }
  if (p === methodEnd) return false;
  const sp = p;
  p++;
  while (p < end && bytes[p] > SP && bytes[p] !== 0x7f) p++;
  if (p === sp + 1 || p + 10 > end || bytes[p] !== SP || !isVersionAt(bytes, p + 1)) return false;
  let lf = p + 9;
  if (bytes[lf] === CR) lf++;
  return lf < end && bytes[lf] === LF;
}

/**
 * The common status line, whole before `end`: `HTTP/d.d SP ddd [SP reason] [CR] LF` with a
 * status of at least 100 and a reason without control bytes (HT allowed). Same contract as
 * parseWholeRequestLine: the index of its LF with head filled as parseStatusLine does, or -1 and
 * head untouched (the general path decides).
 */
export function parseWholeStatusLine(bytes: Uint8Array, s: number, end: number, head: MessageHead): number {
  if (end - s < 13 || !isVersionAt(bytes, s) || bytes[s + 8] !== SP) return -1;
  const d0 = bytes[s + 9];
  const d1 = bytes[s + 10];
  const d2 = bytes[s + 11];
  if (!isDigit(d0) || !isDigit(d1) || !isDigit(d2) || d0 === 0x30) return -1;
  let p = s + 12;
  let b = bytes[p];
  let reasonStart = -1;
  if (b === SP) {
    reasonStart = ++p;
    while (p < end) {
      b = bytes[p];
      if (b < SP ? b !== HT : b === 0x7f) break;
      p++;
    }
    if (p === end) return -1;
  }
  const e = p;
  if (b === CR) {
    p++;
    if (p === end) return -1;
    b = bytes[p];
  }
  if (b !== LF) return -1;
  takeVersion(bytes, s, head);
  head.status = (d0 - 0x30) * 100 + (d1 - 0x30) * 10 + (d2 - 0x30);
  head.reason = reasonStart < 0 ? null : e > reasonStart ? reasonString(bytes, reasonStart, e) : '';
  head.strict = true;
  return p;
}

/** Parses a complete status line (CR stripped): `HTTP/d.d SP ddd [SP reason]`. */
export function parseStatusLine(bytes: Uint8Array, s: number, e: number, head: MessageHead): boolean {
  if (e - s < 12 || !parseVersion(bytes, s, s + 8, head) || bytes[s + 8] !== SP) return false;
  let status = 0;
  for (let i = s + 9; i < s + 12; i++) {
    const b = bytes[i];
    if (!isDigit(b)) return false;
    status = status * 10 + (b - 0x30);
  }
  if (status < 100) return false;
  if (e > s + 12 && bytes[s + 12] !== SP) return false;
  head.status = status;
  head.reason = e > s + 13 ? reasonString(bytes, s + 13, e) : e === s + 13 ? '' : null;
  head.strict = true;
  return true;
}

/**
 * A status line the capture's snaplen cut inside its status code (`HTTP/1.1 2`: the 10 bytes `-s 96`
 * keeps of an IPv6 segment with TCP timestamps): the version, its space and at least the first
 * digit, 1 to 5. The code is taken as its class's with the digits seen (`2` is 200, `40` is 400):
 * the class says whether the response is final, which is what framing the exchange needs; the
 * exact code is unseen: `statusDigits` says how many digits were (HttpExchange.statusClass).
 * False for anything else (a whole status line goes to parseStatusLine).
 */
export function parseCutStatusLine(bytes: Uint8Array, s: number, e: number, head: MessageHead): boolean {
  if (e - s < 10 || e - s > 11 || !parseVersion(bytes, s, s + 8, head) || bytes[s + 8] !== SP) return false;
  const first = bytes[s + 9];
  if (first < 0x31 || first > 0x35) return false;
  let status = first - 0x30;
  for (let i = s + 10; i < s + 12; i++) {
    if (i < e && !isDigit(bytes[i])) return false;
    status = status * 10 + (i < e ? bytes[i] - 0x30 : 0);
  }
  head.status = status;
  head.statusDigits = e - s - 9; // 1 or 2 (the line is 10 or 11 bytes)
  head.reason = null;
  head.strict = false;
  return true;
}

function reasonString(bytes: Uint8Array, s: number, e: number): string {
  // "OK" is by far the most common reason: no lookup for it.
  if (e - s === 2 && bytes[s] === 0x4f && bytes[s + 1] === 0x4b) return 'OK';
  return latin1Interned(bytes, s, e);
}
