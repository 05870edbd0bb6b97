/**
 * Cheap looks at the first bytes of a direction, used to tell which side of a connection
 * seen mid-stream is the client: the side that sends a request line.
 */

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
