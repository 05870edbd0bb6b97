import type { PacketHandler, RawPacket } from './raw-packet';
import { ReusedRawPacket } from './reused-raw-packet';

/** A held copy of one packet; slots are recycled so steady state allocates nothing. */
interface HeldPacket {
  frame: number;
  ts: number;
  caplen: number;
  origLen: number;
  linkType: number;
  bytes: Uint8Array;
}

export interface ReorderLimits {
  /** Most packets held at once. */
  maxPackets: number;
  /** Most capture time between the newest packet seen and the oldest one held. */
  maxSeconds: number;
}

export const DEFAULT_REORDER_LIMITS: ReorderLimits = { maxPackets: 4096, maxSeconds: 2 };

/**
 * Re-emits packets in timestamp order within a bounded window.
 *
 * dumpcap writes a multi-interface capture in per-interface batches, so file order is not
 * time order, and TCP analysis on the capture clock needs time order. Each packet keeps
 * its original frame number, so reports still point at the frame Wireshark shows.
 * Packets are copied in (the source reuses its RawPacket and read buffer), which is why
 * readers only engage a window when a capture can be out of order.
 */
export class ReorderWindow {
  /** Binary min-heap on (ts, frame). */
  private readonly heap: HeldPacket[] = [];
  private readonly free: HeldPacket[] = [];
  private readonly out = new ReusedRawPacket();
  private newestTs = -Infinity;
  private lastEmittedTs = -Infinity;
  /** Packets that arrived too late to be put in order (older than something already emitted). */
  late = 0;
  /** Packets emitted at another position than their file position. */
  moved = 0;
  private lastEmittedFrame = -Infinity;

  constructor(
    private readonly downstream: PacketHandler,
    private readonly limits: ReorderLimits = DEFAULT_REORDER_LIMITS,
  ) {}

  get held(): number {
    return this.heap.length;
  }

  push(packet: RawPacket): void {
    const slot = this.free.pop() ?? { frame: 0, ts: 0, caplen: 0, origLen: 0, linkType: 0, bytes: new Uint8Array(256) };
    slot.frame = packet.frame;
    slot.ts = packet.ts;
    slot.caplen = packet.caplen;
    slot.origLen = packet.origLen;
    slot.linkType = packet.linkType;
    if (slot.bytes.length < packet.caplen) slot.bytes = new Uint8Array(roundUpPow2(packet.caplen));
    copyPacketBytes(packet, slot.bytes);
    this.insert(slot);
    if (packet.ts > this.newestTs) this.newestTs = packet.ts;
    const { maxPackets, maxSeconds } = this.limits;
    while (this.heap.length > maxPackets || this.newestTs - this.heap[0].ts > maxSeconds) this.emitOldest();
  }

  /** Emit everything still held, in order (end of input). */
  flush(): void {
    while (this.heap.length > 0) this.emitOldest();
  }

  private emitOldest(): void {
    const slot = this.removeMin();
    if (slot.ts < this.lastEmittedTs) this.late++;
    else this.lastEmittedTs = slot.ts;
    if (slot.frame < this.lastEmittedFrame) this.moved++;
    else this.lastEmittedFrame = slot.frame;
    const p = this.out;
    p.frame = slot.frame;
    p.ts = slot.ts;
    p.caplen = slot.caplen;
    p.origLen = slot.origLen;
    p.linkType = slot.linkType;
    p.point(slot.bytes, 0);
    try {
      this.downstream(p);
    } finally {
      this.free.push(slot);
    }
  }

  private insert(slot: HeldPacket): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(slot);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(slot, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = slot;
  }

  private removeMin(): HeldPacket {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop() as HeldPacket;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && before(heap[right], heap[left]) ? right : left;
        if (!before(heap[child], last)) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

function before(a: HeldPacket, b: HeldPacket): boolean {
  return a.ts < b.ts || (a.ts === b.ts && a.frame < b.frame);
}

function roundUpPow2(n: number): number {
  let size = 256;
  while (size < n) size *= 2;
  return size;
}

function copyPacketBytes(packet: RawPacket, into: Uint8Array): void {
  if (packet instanceof ReusedRawPacket) {
    // Same bytes as packet.data without creating the view.
    const { bytes, offset, caplen } = packet;
    if (caplen <= 64) {
      for (let i = 0; i < caplen; i++) into[i] = bytes[offset + i];
    } else {
      into.set(bytes.subarray(offset, offset + caplen));
    }
    return;
  }
  into.set(packet.data.subarray(0, packet.caplen));
}
