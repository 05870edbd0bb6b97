/**
 * TCP sequence-space arithmetic modulo 2^32 (RFC 793 §3.3 / RFC 1982).
 * Sequence numbers are kept as unsigned 32-bit values in plain numbers; every
 * comparison goes through these helpers so that wraparound past 2^32 is never a bug.
 */

/** a + n in sequence space. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance b − a in sequence space (positive when b is after a). */
export function seqDiff(a: number, b: number): number {
  return (b - a) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
