import type { PacketHandler } from './raw-packet';
import { ReusedRawPacket } from './reused-raw-packet';

export interface JitterLimits {
  /** Most capture time between the newest packet seen and the oldest one held. */
  maxSeconds: number;
  /** Most packets held at once (rounded up to a power of two). */
  maxPackets: number;
  /** Most bytes held in the window's own buffer (packets of past chunks). */
  maxBytes: number;
}

/**
 * Packets stamped by different CPU cores reach the capture file in another order than their
 * timestamps (pcap-tstamp(7): "packets time-stamped by different cores might be time-stamped in
 * one order and added to the queue of packets for libpcap to read in another order"), usually by
 * microseconds (2 to 30 µs in the samples and the corpus). In file order a SYN-ACK can come before
 * its SYN and a response before its request. 2 ms covers that jitter: the analysis runs in time
 * order. A packet stamped further back than that is a clock step, or two hosts' clocks
 * interleaved: it stays in file order.
 */
export const DEFAULT_JITTER_LIMITS: JitterLimits = { maxSeconds: 0.002, maxPackets: 4096, maxBytes: 32 << 20 };

/** The low bit of a slot's link-type word: its bytes lie in the window's own buffer, not the chunk. */
const IN_ARENA = 1;
const NO_CHUNK = new Uint8Array(0);
/** Int32 words per slot (see JitterWindow.ints); a power of two. */
const SLOT_INTS = 8;

/**
 * Re-emits one interface's packets in timestamp order, holding each until a packet `maxSeconds`
 * newer has been seen. Unlike ReorderWindow (several interfaces, whose packets dumpcap writes in
 * batches), it expects a nearly sorted stream and copies nothing on the way: a packet in order is
 * appended to a ring of numbers and later handed on from where it lies in the reader's chunk.
 * Only the packets still held when the reader is done with a chunk (`chunkEnd`) are copied, in one
 * piece, into the window's own buffer. Each packet keeps its frame number (Wireshark's), and ties
 * keep file order.
 */
export class JitterWindow {
  private readonly mask: number;
  /** Per slot: its time. */
  private readonly times: Float64Array;
  /**
   * Per slot i, from 8i: offset, captured length, original length (its 32 bits), link type and
   * where (see IN_ARENA), frame. (Frames past 2^31 would wrap: two billion packets in one run.)
   */
  private readonly ints: Int32Array;
  /** Ring of held packets in timestamp order: `head` the oldest, `count` of them. */
  private head = 0;
  private count = 0;
  private newestTs = -Infinity;
  private lastEmittedTs = -Infinity;
  private lastEmittedFrame = -Infinity;
  private chunk: Uint8Array = NO_CHUNK;
  private chunkView: DataView | undefined = undefined;
  /** Bytes of held packets from past chunks; `spare` is the buffer the next compaction writes into. */
  private arena = new Uint8Array(1 << 16);
  private arenaView = new DataView(this.arena.buffer);
  private spare = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  private readonly out = new ReusedRawPacket();
  /** Packets handed on at another position than their file position (put back in time order). */
  moved = 0;
  /** Packets that came too late to be put in order (older than one already handed on). */
  late = 0;
  /** Times the clock went back further than jitter (clockStep), the largest step and its frame. */
  steps = 0;
  largestStep = 0;
  largestStepFrame = 0;

  constructor(
    private readonly downstream: PacketHandler,
    private readonly limits: JitterLimits = DEFAULT_JITTER_LIMITS,
  ) {
    let capacity = 16;
    while (capacity < limits.maxPackets + 1) capacity *= 2;
    this.mask = capacity - 1;
    this.times = new Float64Array(capacity);
    this.ints = new Int32Array(SLOT_INTS * capacity);
  }

  /** The chunk the next packets lie in; it must stay unchanged until `chunkEnd`. */
  beginChunk(chunk: Uint8Array, view: DataView | undefined): void {
    this.chunk = chunk;
    this.chunkView = view;
  }

  /**
   * A packet, as the reader's one ReusedRawPacket. Its bytes are read in place when they lie in
   * the chunk given to beginChunk (until chunkEnd); otherwise (a record the reader pieced together
   * across chunks) they are copied now.
   */
  push(p: ReusedRawPacket): void {
    const ts = p.ts;
    if (ts < this.newestTs - this.limits.maxSeconds) {
      // Further back than jitter: the clock stepped (or two hosts' clocks are interleaved). File
      // order is all there is then: what is held goes first, and the window starts over from here.
      this.steps++;
      if (this.newestTs - ts > this.largestStep) {
        this.largestStep = this.newestTs - ts;
        this.largestStepFrame = p.frame;
      }
      this.flush();
      this.newestTs = ts;
      this.lastEmittedTs = -Infinity;
    }
    const times = this.times;
    const mask = this.mask;
    let at = (this.head + this.count) & mask;
    if (this.count > 0 && ts < times[(at - 1) & mask]) {
      // Out of order: shift the newer ones up by one (few: the stream is nearly sorted).
      let n = this.count;
      while (n > 0) {
        const prev = (this.head + n - 1) & mask;
        if (times[prev] <= ts) break;
        this.moveSlot(prev, (prev + 1) & mask);
        n--;
      }
      at = (this.head + n) & mask;
    }
    times[at] = ts;
    const ints = this.ints;
    const caplen = p.caplen;
    const i = SLOT_INTS * at;
    ints[i + 1] = caplen;
    ints[i + 2] = p.origLen | 0;
    ints[i + 4] = p.frame;
    if (p.bytes === this.chunk) {
      ints[i] = p.offset;
      ints[i + 3] = p.linkType << 1;
    } else {
      ints[i] = this.toArena(p.bytes, p.offset, caplen);
      ints[i + 3] = (p.linkType << 1) | IN_ARENA;
    }
    this.count++;
    if (ts > this.newestTs) this.newestTs = ts;
    const limit = this.newestTs - this.limits.maxSeconds;
    while (this.count > 0 && (times[this.head] < limit || this.count > this.limits.maxPackets)) this.emitOldest();
  }

  /**
   * The reader is done with the chunk: the packets still held from it are copied into the
   * window's buffer (with those held from earlier chunks, compacted), one range each.
   */
  chunkEnd(): void {
    if (this.count === 0) {
      this.arenaUsed = 0;
      return;
    }
    const mask = this.mask;
    const ints = this.ints;
    let chunkFrom = Infinity;
    let chunkTo = 0;
    let arenaFrom = Infinity;
    for (let n = 0; n < this.count; n++) {
      const i = SLOT_INTS * ((this.head + n) & mask);
      const offset = ints[i];
      if ((ints[i + 3] & IN_ARENA) === 0) {
        if (offset < chunkFrom) chunkFrom = offset;
        if (offset + ints[i + 1] > chunkTo) chunkTo = offset + ints[i + 1];
      } else if (offset < arenaFrom) {
        arenaFrom = offset;
      }
    }
    const keptArena = arenaFrom === Infinity ? 0 : this.arenaUsed - arenaFrom;
    const keptChunk = chunkFrom === Infinity ? 0 : chunkTo - chunkFrom;
    let spare = this.spare;
    if (spare.length < keptArena + keptChunk) spare = new Uint8Array(roundUpPow2(keptArena + keptChunk));
    if (keptArena > 0) spare.set(this.arena.subarray(arenaFrom, this.arenaUsed), 0);
    if (keptChunk > 0) spare.set(this.chunk.subarray(chunkFrom, chunkTo), keptArena);
    for (let n = 0; n < this.count; n++) {
      const i = SLOT_INTS * ((this.head + n) & mask);
      ints[i] = (ints[i + 3] & IN_ARENA) === 0 ? ints[i] - chunkFrom + keptArena : ints[i] - arenaFrom;
      ints[i + 3] |= IN_ARENA;
    }
    this.spare = this.arena;
    this.arena = spare;
    if (this.arenaView.buffer !== spare.buffer) this.arenaView = new DataView(spare.buffer, spare.byteOffset, spare.byteLength);
    this.arenaUsed = keptArena + keptChunk;
    this.chunk = NO_CHUNK;
    this.chunkView = undefined;
    while (this.arenaUsed > this.limits.maxBytes && this.count > 0) this.emitOldest();
  }

  /** How far back in capture time a packet may come and still be put in order. */
  get maxSeconds(): number {
    return this.limits.maxSeconds;
  }

  /** The newest time seen (pushed or handed on directly), -Infinity before the first packet. */
  get newest(): number {
    return this.newestTs;
  }

  /**
   * The reader handed packets on itself, up to one stamped `ts` with frame `frame`: every one newer
   * than everything this window held (flushed before them) and than every packet to come, by the
   * window's bound. Called once per run of such packets, so the common path of a capture in time
   * order stores nothing per packet (see PcapReader.walk).
   */
  passedBy(ts: number, frame: number): void {
    if (ts > this.newestTs) this.newestTs = ts;
    this.lastEmittedTs = ts;
    this.lastEmittedFrame = frame;
  }

  /** Everything held, in order, now: at the end of input, a clock step, a chunk that follows in order, a live capture gone quiet. */
  flush(): void {
    while (this.count > 0) this.emitOldest();
    this.arenaUsed = 0;
  }

  private moveSlot(from: number, to: number): void {
    const times = this.times;
    const ints = this.ints;
    times[to] = times[from];
    for (let k = 0; k < SLOT_INTS; k++) ints[SLOT_INTS * to + k] = ints[SLOT_INTS * from + k];
  }

  /** Appends a packet's bytes to the window's buffer (grown as needed); returns where they start. */
  private toArena(bytes: Uint8Array, offset: number, caplen: number): number {
    const at = this.arenaUsed;
    if (at + caplen > this.arena.length) {
      const grown = new Uint8Array(roundUpPow2(at + caplen));
      grown.set(this.arena.subarray(0, at), 0);
      this.arena = grown;
      this.arenaView = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    }
    this.arena.set(bytes.subarray(offset, offset + caplen), at);
    this.arenaUsed = at + caplen;
    return at;
  }

  private emitOldest(): void {
    const slot = this.head;
    this.head = (slot + 1) & this.mask;
    this.count--;
    const times = this.times;
    const ints = this.ints;
    const ts = times[slot];
    const i = SLOT_INTS * slot;
    const frame = ints[i + 4];
    if (ts < this.lastEmittedTs) this.late++;
    else this.lastEmittedTs = ts;
    if (frame < this.lastEmittedFrame) this.moved++;
    else this.lastEmittedFrame = frame;
    const tag = ints[i + 3];
    const p = this.out;
    if ((tag & IN_ARENA) === 0) {
      if (p.bytes !== this.chunk) p.rebase(this.chunk, this.chunkView);
    } else if (p.bytes !== this.arena) {
      p.rebase(this.arena, this.arenaView);
    }
    p.frame = frame;
    p.ts = ts;
    p.caplen = ints[i + 1];
    p.origLen = ints[i + 2] >>> 0;
    p.linkType = tag >> 1;
    p.seek(ints[i]);
    this.downstream(p);
  }
}

function roundUpPow2(n: number): number {
  let size = 1 << 16;
  while (size < n) size *= 2;
  return size;
}

/**
 * Most packets at the end of a chunk in time order that go through the window (fewer when its
 * 2 ms hold fewer). In a dense capture 2 ms is much of a chunk, and every packet through the window
 * costs (128 of them per chunk: about +7 % wall time on the benchmark's capture). Cores' stamps are
 * out of order by microseconds, a few packets, so the next chunk cannot start with packets older
 * than these; one that does is counted late (a warning).
 */
export const TAIL_PACKETS_HELD = 32;

/**
 * How many of a chunk's first `n` packets, stamped `times[0..n)` in file order, a reader may hand
 * on itself, past the window (then telling it with passedBy). None when the times go back
 * anywhere (`inOrder` false, from the window's newest on): the whole chunk goes through the
 * window. Otherwise every packet older than the chunk's last by more than the window's bound is
 * safe, since no later packet can be put before it; the newer ones (at most TAIL_PACKETS_HELD) go
 * through the window, in case the next chunk starts with packets stamped before them.
 */
export function packetsPastWindow(times: Float64Array, n: number, inOrder: boolean, window: JitterWindow): number {
  if (!inOrder || n === 0) return 0;
  const cut = times[n - 1] - window.maxSeconds;
  let direct = n;
  while (direct > 0 && direct > n - TAIL_PACKETS_HELD && times[direct - 1] > cut) direct--;
  return direct;
}

/** `times` with room for at least `n` + 1 entries: the same array, or a copy twice as long. */
export function roomFor(times: Float64Array<ArrayBuffer>, n: number): Float64Array<ArrayBuffer> {
  if (n < times.length) return times;
  const grown = new Float64Array(2 * times.length);
  grown.set(times);
  return grown;
}

/** A clock step's size for a warning: milliseconds below a second. */
function stepText(seconds: number): string {
  return seconds < 1 ? `${Math.round(seconds * 1e4) / 10} ms` : `${Math.round(seconds * 1000) / 1000} s`;
}

/** What a reader notes of its window: packets put back in time order, which changes nothing in the analysis. */
export function jitterNotes(window: JitterWindow): string[] {
  if (window.moved === 0) return [];
  return [
    `${window.moved} packet(s) written to the file after packets stamped later (by at most ${window.maxSeconds * 1000} ms, as packets stamped on different ` +
      'CPU cores are) were analyzed in time order; frame numbers are the file\'s',
  ];
}

/** What a reader warns of its window: packets still out of time order, and clock steps. */
export function jitterWarnings(window: JitterWindow): string[] {
  const out: string[] = [];
  const ms = window.maxSeconds * 1000;
  if (window.late > 0) out.push(`${window.late} packet(s) still out of time order after the ${ms} ms window`);
  if (window.steps > 0) {
    // Silent, this read as nothing: connections across it get negative gaps or none at all.
    const more = window.steps > 1 ? ` (and ${window.steps - 1} more time${window.steps === 2 ? '' : 's'})` : '';
    out.push(
      `the capture clock went back ${stepText(window.largestStep)} at frame ${window.largestStepFrame}${more}: a clock step, or captures ` +
        'joined end to end (mergecap -a, cat); the packets around it are analyzed in file order and times measured across it are wrong ' +
        '(merge by time: mergecap without -a, or give conncheck the files themselves)',
    );
  }
  return out;
}
