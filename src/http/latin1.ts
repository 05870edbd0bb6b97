/**
 * Bytes → string, one character per byte (Latin-1): lossless for whatever a peer sent, and
 * cheap. Used only for the few strings kept per message (start line, kept headers).
 */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return '';
  if (n <= 48) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, n).toString('latin1');
}

/** Same, lower-casing ASCII letters (header values compared case-insensitively). */
export function latin1Lower(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    s += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
  }
  return s;
}

/** True when bytes[start, start + lit.length) equal the ASCII literal `lit` exactly. */
export function bytesEqual(bytes: Uint8Array, start: number, end: number, lit: Uint8Array): boolean {
  if (end - start !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (bytes[start + i] !== lit[i]) return false;
  return true;
}

/** True when bytes[start, end) equal the lower-case ASCII literal `lit`, ignoring ASCII case. */
export function bytesEqualFold(bytes: Uint8Array, start: number, end: number, lit: Uint8Array): boolean {
  if (end - start !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) {
    const b = bytes[start + i];
    const folded = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
    if (folded !== lit[i]) return false;
  }
  return true;
}

export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
