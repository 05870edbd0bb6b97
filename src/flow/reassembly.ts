import { seqAdd, seqDiff, seqLe, seqLt } from './seq';

/** A segment that arrived ahead of a hole in the sequence space, held until the hole fills. */
interface HeldSegment {
  seq: number;
  /** The captured bytes: all of the segment, or the start of it that the snaplen kept. */
  data: Uint8Array;
  /** The segment's payload length on the wire (more than data.length when the snaplen cut it). */
  length: number;
  ts: number;
  frame: number;
}

/** Receives in-order payload. */
export type PayloadSink = (data: Uint8Array, offset: number, length: number, ts: number, frame: number) => void;
/** Told of in-order bytes a held segment had on the wire but the snaplen cut from the capture. */
export type CutSink = (length: number) => void;

/**
 * Bounds on out-of-order buffering. Per direction, and one budget for the whole analysis so
 * that endless out-of-order traffic on many connections cannot grow memory without bound.
 * What does not fit is declared a gap (counted, reported), never an error.
 */
export const reassemblyLimits = {
  // A window in flight: 295 segments of a 1 MB response were out of order at once, captured next to
  // a client 20 ms from nginx over a path with 2 % loss (healthy-lossy-path-client-side).
  segmentsPerDirection: 1024,
  bytesPerDirection: 2 * 1024 * 1024,
  totalBytes: 64 * 1024 * 1024,
};

/**
 * What one held segment costs besides its payload (the segment record, its own ArrayBuffer and
 * view): about 300 bytes measured. Counted against `totalBytes`, so that one-byte segments on
 * many connections are bounded like big ones.
 */
export const HELD_SEGMENT_OVERHEAD_BYTES = 320;

/** Bytes held across all reassemblers, overhead included (released when segments are delivered or dropped). */
export const reassemblyUsage = { bytes: 0, refused: 0 };

/**
 * Out-of-order holding area for one direction. Only segments that arrive ahead of a hole are
 * copied here; the common in-order path never touches it.
 */
export class Reassembler {
  private held: HeldSegment[] = [];
  private heldBytes = 0;

  get isEmpty(): boolean {
    return this.held.length === 0;
  }

  /** Sequence number of the first held segment (only when not empty). */
  get firstSeq(): number {
    return this.held[0].seq;
  }

  /** When and in which frame the first held segment arrived (only when not empty): it proves the bytes before it sent. */
  get firstTs(): number {
    return this.held[0].ts;
  }

  get firstFrame(): number {
    return this.held[0].frame;
  }

  /**
   * Copies and holds a segment that starts after the expected sequence number: its `length`
   * captured bytes, of `wireLength` (a snaplen-cut segment keeps its place in the sequence space).
   * False when over a bound.
   */
  hold(seq: number, data: Uint8Array, offset: number, length: number, wireLength: number, ts: number, frame: number): boolean {
    if (
      this.held.length >= reassemblyLimits.segmentsPerDirection ||
      this.heldBytes + length > reassemblyLimits.bytesPerDirection ||
      reassemblyUsage.bytes + length + HELD_SEGMENT_OVERHEAD_BYTES > reassemblyLimits.totalBytes
    ) {
      reassemblyUsage.refused++;
      return false;
    }
    const copy = data.slice(offset, offset + length);
    const segment: HeldSegment = { seq, data: copy, length: Math.max(length, wireLength), ts, frame };
    let i = this.held.length;
    while (i > 0 && seqLt(seq, this.held[i - 1].seq)) i--;
    this.held.splice(i, 0, segment);
    this.heldBytes += length;
    reassemblyUsage.bytes += length + HELD_SEGMENT_OVERHEAD_BYTES;
    return true;
  }

  /**
   * Delivers held segments that now continue the stream at `nextSeq`, trimming overlaps.
   * Returns the new next sequence number.
   */
  drain(nextSeq: number, sink: PayloadSink, cutSink: CutSink): number {
    let next = nextSeq;
    while (this.held.length > 0) {
      const first = this.held[0];
      if (seqLt(next, first.seq)) break;
      this.held.shift();
      this.release(first.data.length, 1);
      const end = seqAdd(first.seq, first.length);
      if (seqLe(end, next)) continue; // wholly a duplicate of what was delivered
      const skip = seqDiff(first.seq, next);
      if (skip < first.data.length) sink(first.data, skip, first.data.length - skip, first.ts, first.frame);
      const cut = first.length - Math.max(skip, first.data.length);
      if (cut > 0) cutSink(cut);
      next = end;
    }
    return next;
  }

  /**
   * Gives up on the hole before the first held segment: returns how many bytes are missing
   * between `nextSeq` and it (the caller reports them as a gap and then drains).
   */
  holeBefore(nextSeq: number): number {
    if (this.held.length === 0) return 0;
    const missing = seqDiff(nextSeq, this.held[0].seq);
    return missing > 0 ? missing : 0;
  }

  /** Drops everything held (connection released). */
  clear(): void {
    this.release(this.heldBytes, this.held.length);
    this.held = [];
  }

  private release(bytes: number, segments: number): void {
    this.heldBytes -= bytes;
    reassemblyUsage.bytes -= bytes + segments * HELD_SEGMENT_OVERHEAD_BYTES;
  }
}
