/**
 * Bytes → string, one character per byte (Latin-1): lossless for whatever a peer sent, and
 * cheap. Used only for the few strings kept per message (start line, kept headers).
 */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 0) return '';
  // Node's native Latin-1 decoder works on any Uint8Array and returns one flat string: no
  // Buffer wrapper, and no rope of one-character strings for the GC to walk later.
  return latin1Slice.call(bytes, start, end);
}

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

/** Same, lower-casing ASCII letters (header values compared case-insensitively). */
export function latin1Lower(bytes: Uint8Array, start: number, end: number): string {
  let upper = false;
  let high = false;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b >= 0x41 && b <= 0x5a) upper = true;
    else if (b >= 0x80) high = true;
  }
  const s = latin1(bytes, start, end);
  if (!upper) return s;
  // String#toLowerCase would also fold Latin-1 letters (À → à): only plain ASCII may use it.
  if (!high) return s.toLowerCase();
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) | 0x20));
}

/**
 * Short values that repeat across messages and connections (Host, Connection, reason phrases)
 * come from small direct-mapped caches: the string made last time for the same bytes is returned,
 * so a capture of a million requests to a few hosts does not make (and keep) a million copies of
 * each name. Bounded: INTERN_SLOTS strings of at most INTERN_MAX_BYTES per table. A collision only
 * costs a fresh string.
 */
const INTERN_SLOTS = 512; // a power of two
const INTERN_MAX_BYTES = 64;
const internedExact: string[] = new Array<string>(INTERN_SLOTS).fill('');
const internedLower: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** Slot of a value, from its length and a few of its bytes (folded, so both tables can share it). */
function internSlot(bytes: Uint8Array, start: number, n: number): number {
  const h = n * 0x9e3 + (bytes[start] | 0x20) * 0x3b + (bytes[start + (n >> 1)] | 0x20) * 0x65 + (bytes[start + n - 1] | 0x20) * 0x1f;
  return (h ^ (h >>> 9)) & (INTERN_SLOTS - 1);
}

/**
 * The bytes of each internedExact string, INTERN_MAX_BYTES per slot: a hit is checked against
 * these rather than the string, whose every charCodeAt dispatches on the string's representation.
 */
const internedExactBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX_BYTES);

/** latin1(), from the cache when these bytes were seen recently. */
export function latin1Interned(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return '';
  if (n > INTERN_MAX_BYTES) return latin1(bytes, start, end);
  const slot = internSlot(bytes, start, n);
  const cached = internedExact[slot];
  const at = slot * INTERN_MAX_BYTES;
  if (cached.length === n) {
    let i = 0;
    while (i < n && internedExactBytes[at + i] === bytes[start + i]) i++;
    if (i === n) return cached;
  }
  const s = latin1(bytes, start, end);
  internedExact[slot] = s;
  for (let i = 0; i < n; i++) internedExactBytes[at + i] = bytes[start + i];
  return s;
}

/** latin1Lower(), from the cache when these bytes (ignoring ASCII case) were seen recently. */
export function latin1LowerInterned(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return '';
  if (n > INTERN_MAX_BYTES) return latin1Lower(bytes, start, end);
  const slot = internSlot(bytes, start, n);
  const cached = internedLower[slot];
  if (cached.length === n) {
    let i = 0;
    for (; i < n; i++) {
      const b = bytes[start + i];
      if (cached.charCodeAt(i) !== (b >= 0x41 && b <= 0x5a ? b | 0x20 : b)) break;
    }
    if (i === n) return cached;
  }
  const s = latin1Lower(bytes, start, end);
  internedLower[slot] = s;
  return s;
}

/** True when bytes[start, start + lit.length) equal the ASCII literal `lit` exactly. */
export function bytesEqual(bytes: Uint8Array, start: number, end: number, lit: Uint8Array): boolean {
  if (end - start !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (bytes[start + i] !== lit[i]) return false;
  return true;
}

export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
