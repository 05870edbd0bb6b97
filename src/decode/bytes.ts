/**
 * Big-endian reads straight from a Uint8Array. Composing bytes by hand avoids creating a
 * DataView per packet (and the byteOffset pitfalls of pooled Node Buffers); V8 inlines these.
 * Callers check bounds first: an out-of-range index reads `undefined`, which the bit
 * operations turn into 0 — wrong, but never a throw.
 */
export function u16(data: Uint8Array, offset: number): number {
  return (data[offset] << 8) | data[offset + 1];
}

/** Unsigned 32-bit big-endian value (0 .. 2^32-1). */
export function u32(data: Uint8Array, offset: number): number {
  return ((data[offset] << 24) | (data[offset + 1] << 16) | (data[offset + 2] << 8) | data[offset + 3]) >>> 0;
}

/**
 * Signed 32-bit big-endian value: the bits of u32 as V8's small integer. Address words are kept
 * this way: an unsigned word of an address from 128.0.0.0 on is above 2^31 and would make every
 * object field holding it a boxed heap number (a separate allocation per connection per word,
 * and a pointer to follow on every flow-table comparison).
 */
export function i32(data: Uint8Array, offset: number): number {
  return (data[offset] << 24) | (data[offset + 1] << 16) | (data[offset + 2] << 8) | data[offset + 3];
}

/** Unsigned 32-bit little-endian value, for host-byte-order fields written on little-endian machines. */
export function u32le(data: Uint8Array, offset: number): number {
  return ((data[offset + 3] << 24) | (data[offset + 2] << 16) | (data[offset + 1] << 8) | data[offset]) >>> 0;
}
