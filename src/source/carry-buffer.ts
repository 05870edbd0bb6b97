/**
 * Holds the partial tail of a record (or block) that a read chunk ended in the middle of,
 * so the next chunk can complete it. Only that tail is ever copied; every record that
 * lies wholly inside a chunk is parsed in place.
 */
export class CarryBuffer {
  bytes: Uint8Array;
  /** DataView over `bytes`, rebuilt when the buffer grows. */
  view: DataView;
  length = 0;

  constructor(initialCapacity = 64 * 1024) {
    this.bytes = new Uint8Array(initialCapacity);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Append `src[start, end)`. */
  append(src: Uint8Array, start: number, end: number): void {
    const needed = this.length + (end - start);
    if (needed > this.bytes.length) this.grow(needed);
    this.bytes.set(src.subarray(start, end), this.length);
    this.length = needed;
  }

  clear(): void {
    this.length = 0;
  }

  /** Keep only the first `length` bytes (bytes taken ahead to look at, given back). */
  truncate(length: number): void {
    if (length < this.length) this.length = length;
  }

  private grow(needed: number): void {
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const bigger = new Uint8Array(capacity);
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }
}
