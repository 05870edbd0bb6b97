import type { RawPacket } from './raw-packet';
import type { ReusedRawPacket } from './reused-raw-packet';

const INITIAL_PACKETS = 1 << 10;
const INITIAL_BYTES = 1 << 20;
const NO_BYTES = new Uint8Array(0);

/**
 * Packets held back, copied into buffers the queue keeps and reuses: their fields in columns,
 * their bytes one after the other in one buffer. The merge of overlapping files
 * (capture-merge.ts) holds each file's packets here until their turn. A copy per packet (an
 * object and an ArrayBuffer each) made that merge twice as slow as one file's read, and left
 * 55 MB more garbage at its peak on 1 M packets.
 *
 * The queue is filled, then emptied: when its last packet is taken, the next one is written at
 * the start again. So its buffers grow to what one fill held at most (a read's worth of a file)
 * and no further.
 */
export class PacketQueue {
  // Empty until the first packet is held: most files of a merge are read alone, and hold none.
  private bytes: Uint8Array = NO_BYTES;
  private view = new DataView(NO_BYTES.buffer);
  private used = 0;
  private ts = new Float64Array(0);
  private caplen = new Int32Array(0);
  private origLen = new Int32Array(0);
  private linkType = new Int32Array(0);
  private offset = new Int32Array(0);
  private head = 0;
  private tail = 0;

  get length(): number {
    return this.tail - this.head;
  }

  /** Capture time of the oldest packet held (the queue must not be empty). */
  firstTs(): number {
    return this.ts[this.head];
  }

  /** Copies `p` in (its object and bytes belong to its source, which reuses them). */
  push(p: RawPacket): void {
    if (this.tail === this.ts.length) this.growColumns();
    const n = p.caplen;
    if (this.used + n > this.bytes.length) this.growBytes(this.used + n);
    const i = this.tail++;
    this.ts[i] = p.ts;
    this.caplen[i] = n;
    this.origLen[i] = p.origLen;
    this.linkType[i] = p.linkType;
    this.offset[i] = this.used;
    this.bytes.set(p.data, this.used);
    this.used += n;
  }

  /**
   * Points `packet` at the oldest packet held and takes it out of the queue. Its bytes stay valid
   * until the next push: a consumer copies what it keeps, as from any source.
   */
  shiftInto(packet: ReusedRawPacket): void {
    const i = this.head++;
    packet.ts = this.ts[i];
    packet.caplen = this.caplen[i];
    packet.origLen = this.origLen[i];
    packet.linkType = this.linkType[i];
    packet.rebase(this.bytes, this.view);
    packet.seek(this.offset[i]);
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      this.used = 0;
    }
  }

  /** Gives the buffers back (the queue is empty and of no further use). */
  release(): void {
    this.bytes = NO_BYTES;
    this.view = new DataView(NO_BYTES.buffer);
    this.ts = new Float64Array(0);
    this.caplen = this.origLen = this.linkType = this.offset = new Int32Array(0);
    this.head = this.tail = this.used = 0;
  }

  private growColumns(): void {
    const size = Math.max(INITIAL_PACKETS, this.ts.length * 2);
    this.ts = grown(this.ts, new Float64Array(size));
    this.caplen = grown(this.caplen, new Int32Array(size));
    this.origLen = grown(this.origLen, new Int32Array(size));
    this.linkType = grown(this.linkType, new Int32Array(size));
    this.offset = grown(this.offset, new Int32Array(size));
  }

  private growBytes(needed: number): void {
    const bytes = new Uint8Array(Math.max(needed, this.bytes.length * 2, INITIAL_BYTES));
    bytes.set(this.bytes.subarray(0, this.used));
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  }
}

function grown<T extends Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
