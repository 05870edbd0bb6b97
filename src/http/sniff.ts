/**
 * Cheap looks at the first bytes of a direction, used to tell which side of a connection
 * seen mid-stream is the client: the side that sends a request line.
 */

import { isUnfinishedRequestLine, REGISTERED_METHODS } from './start-line';

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

/** True when the bytes start like an HTTP/1.x request line: an upper-case method token, a space, then a target. */
export function startsLikeRequest(data: Uint8Array, offset: number, length: number): boolean {
  const end = offset + Math.min(length, 24);
  let i = offset;
  while (i < end) {
    const b = data[i];
    if (b >= 0x41 && b <= 0x5a) i++; // A-Z
    else if ((b === 0x2d || b === 0x5f) && i > offset) i++; // - _ inside a token (WebDAV, custom methods)
    else break;
  }
  return i > offset && i < end && data[i] === 0x20 && i + 1 < offset + length && data[i + 1] !== 0x20;
}

/** True when the bytes start like an HTTP/1.x status line ("HTTP/"). */
export function startsLikeResponse(data: Uint8Array, offset: number, length: number): boolean {
  if (length < HTTP_SLASH.length) return false;
  for (let i = 0; i < HTTP_SLASH.length; i++) if (data[offset + i] !== HTTP_SLASH[i]) return false;
  return true;
}

/** "PRI * HTTP/2.0\r\n": how an HTTP/2 client starts a cleartext connection with prior knowledge (RFC 9113, 3.4). */
const HTTP2_PREFACE_START = [0x50, 0x52, 0x49, 0x20, 0x2a, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x32, 0x2e, 0x30, 0x0d, 0x0a];

/** True when the bytes start with HTTP/2's connection preface (all of its first line that the segment holds, at least "PRI * HTTP/2"). */
export function startsLikeHttp2Preface(data: Uint8Array, offset: number, length: number): boolean {
  if (length < 12) return false;
  const n = Math.min(length, HTTP2_PREFACE_START.length);
  for (let i = 0; i < n; i++) if (data[offset + i] !== HTTP2_PREFACE_START[i]) return false;
  return true;
}

/**
 * Fewest bytes of a method alone (no space yet) taken for a cut request line: enough to name one
 * registered method (`POS`, `DEL`, `OPT`); one or two letters of a word are too common elsewhere.
 */
const CUT_METHOD_MIN_BYTES = 3;

/**
 * The registered method that the start of a request line cut by the capture's snaplen shows, or
 * null. A capture taken with `-s 96` keeps 10 bytes of an IPv6 segment with TCP timestamps
 * (`POST /race`), fewer with a smaller snaplen: the cut is the capture's, so the line is judged on
 * what it could have begun as. Taken: a registered method, its space and the start of a usual
 * target (isUnfinishedRequestLine on an unproven direction); a registered method and its space; or
 * the method cut before its space, at least CUT_METHOD_MIN_BYTES of exactly one registered method
 * (`POS` is POST, `PU` too short to tell). Not taken: other
 * words (`HELLO /`), binary, a TLS record header, a status line.
 */
export function cutRequestLineMethod(data: Uint8Array, offset: number, length: number): string | null {
  if (length <= 0) return null;
  const end = offset + length;
  let sp = offset;
  while (sp < end && data[sp] !== 0x20) sp++;
  if (sp < end) {
    // The space came before the cut: the token must be a registered method.
    const method = tokenMethod(data, offset, sp);
    if (method === null) return null;
    if (sp + 1 === end) return method; // cut right after the space
    return isUnfinishedRequestLine(data, offset, end, false) ? method : null;
  }
  // Cut inside the method: the unique registered method these bytes begin.
  if (length < CUT_METHOD_MIN_BYTES) return null;
  let found: string | null = null;
  for (const method of REGISTERED_METHODS) {
    if (method.length < length || !bytesStartMethod(data, offset, length, method)) continue;
    if (found !== null) return null; // ambiguous
    found = method;
  }
  return found;
}

/** The registered method bytes[s, e) spell, or null. */
function tokenMethod(data: Uint8Array, s: number, e: number): string | null {
  for (const method of REGISTERED_METHODS) {
    if (method.length === e - s && bytesStartMethod(data, s, e - s, method)) return method;
  }
  return null;
}

/** Whether bytes[offset, offset + n) are the first n letters of `method`. */
function bytesStartMethod(data: Uint8Array, offset: number, n: number, method: string): boolean {
  for (let i = 0; i < n; i++) if (data[offset + i] !== method.charCodeAt(i)) return false;
  return true;
}
