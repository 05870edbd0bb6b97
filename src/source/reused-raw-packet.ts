import type { RawPacket } from './raw-packet';

const EMPTY = new Uint8Array(0);

/**
 * The one RawPacket object a source fills for every record.
 *
 * `data` is created lazily: creating a subarray costs about as much as walking a
 * whole pcap record, so consumers that only need lengths and times (counting,
 * filtering on timestamps) pay nothing, and consumers that want zero-copy access
 * without any allocation can read `bytes[offset .. offset + caplen)` directly.
 */
export class ReusedRawPacket implements RawPacket {
  frame = 0;
  ts = 0;
  caplen = 0;
  origLen = 0;
  linkType = 0;
  /** The buffer holding the captured bytes, valid only during the callback. */
  bytes: Uint8Array = EMPTY;
  /** Where the captured bytes start in `bytes`. */
  offset = 0;
  /** A DataView over exactly `bytes`, when the source has one (see RawPacket.dataView). */
  dataView: DataView | undefined = undefined;
  private view: Uint8Array | null = EMPTY;

  /** Point the packet at a new record's bytes; `caplen` must already be set. `dataView`, if given, spans exactly `bytes`. */
  point(bytes: Uint8Array, offset: number, dataView?: DataView): void {
    this.rebase(bytes, dataView);
    this.seek(offset);
  }

  /**
   * The buffer the next records lie in, and a DataView spanning exactly it if the source has one.
   * Readers call this once per chunk, then `seek` per record: this object lives long, a chunk and
   * its DataView are young, and every store of a young object into an old one takes V8's write
   * barrier's slow path (100 M instructions on 2 M packets for the DataView alone, stored per record).
   */
  rebase(bytes: Uint8Array, dataView?: DataView): void {
    this.bytes = bytes;
    this.dataView = dataView;
    this.view = null;
  }

  /** Point the packet at the record starting at `offset` in the current buffer; `caplen` must already be set. */
  seek(offset: number): void {
    this.offset = offset;
    this.view = null;
  }

  get data(): Uint8Array {
    if (this.view === null) this.view = this.bytes.subarray(this.offset, this.offset + this.caplen);
    return this.view;
  }

  /** Kept so the object honours the writable RawPacket field; sets caplen to match. */
  set data(value: Uint8Array) {
    this.bytes = value;
    this.offset = 0;
    this.dataView = undefined;
    this.caplen = value.length;
    this.view = value;
  }
}

/**
 * A plain Uint8Array over the same memory as `chunk`. Node hands us Buffers, whose
 * subarray goes through the species constructor and costs about twice as much.
 */
export function plainBytes(chunk: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(chunk) === Uint8Array.prototype
    ? chunk
    : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
