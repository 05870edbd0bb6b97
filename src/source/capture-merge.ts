import { readCapture } from './open-capture';
import type { CaptureFileInfo, PacketHandler, RawPacket } from './raw-packet';
import { PacketQueue } from './packet-queue';
import { ReusedRawPacket } from './reused-raw-packet';
import type { FileSpan } from './file-gaps';

/**
 * Several capture files read as one capture, their packets merged by time, as
 * `mergecap -w merged.pcap FILES` and Wireshark's chronological merge put them.
 *
 * Read one after the other, two files captured at the same time (a proxy's two interfaces, a
 * client's and a server's host) reach the analysis out of time order: the second file's
 * packets come after the capture clock has passed them, so a proxy's upstream leg is seen after
 * its downstream leg was judged (a request it forwarded taken for one it dropped), and the two
 * views of a connection across address translation are not paired. Merged, they are analyzed
 * as they happened.
 *
 * Files that do not overlap in time (a capture rotated by `tcpdump -C`) cost nothing more: a
 * file is opened only when the merge reaches its first packet, and while it is the only file
 * open its packets go straight through, as in a single file's read. Only while two or more files
 * are open are packets copied and queued, each open file's queue holding at most about one chunk
 * of its reads (a file is not read further until its queue is spent).
 *
 * Frames are numbered in merged order: frame N of a finding is frame N of the merged file. Of
 * packets stamped alike in several files, the later file's goes first, as mergecap puts them
 * (of the files' next packets it takes the last one that is as early as any: checked with
 * mergecap 4.0, and in test/analyze/file-merge.test.ts against its output when it is installed).
 */

/** One input, with the time of its first packet (null: none, or unreadable; opened in its turn, holding no time back). */
export interface MergeInput {
  input: string;
  start: number | null;
}

export interface MergeOptions {
  /** Called after each chunk read from input `index` (in the order of `inputs`) with its bytes read so far. */
  onProgress?: (index: number, bytesRead: number) => void;
}

export interface MergeResult {
  /** Facts about each file, in the order of `inputs`. */
  files: CaptureFileInfo[];
  /** The time each file covers, in the order of `inputs` (null: no packet), to find holes between files. */
  spans: (FileSpan | null)[];
  /** Whether packets of two files were interleaved (the files overlapped in time). */
  interleaved: boolean;
  /** The most packets held back (copied) at once: what the merge cost in memory. */
  maxQueued: number;
}

/** Thrown into the other files' reads once one file fails, so that they stop and close. */
class MergeAbandoned extends Error {
  constructor() {
    super('merge abandoned');
  }
}

/** A file being merged: its packets waiting for their turn, in file order. */
class Lane {
  readonly queue = new PacketQueue();
  finished = false;
  info: CaptureFileInfo | null = null;
  /** Resolves the file's read, waiting for its queue to be spent (see CaptureMerge.pace). */
  wake: (() => void) | null = null;
  /** The file's time span (fields of the lane, updated in place per packet: see FileSpan). */
  first = Infinity;
  last = -Infinity;
  widestGap = 0;

  constructor(
    readonly index: number,
    readonly input: string,
    readonly start: number,
  ) {}

  get waiting(): number {
    return this.queue.length;
  }
}

class CaptureMerge {
  private readonly lanes: Lane[];
  /** The next lane to open (lanes are in order of their first packets). */
  private nextToOpen = 0;
  /** Lanes opened and not yet spent (read to their end and their queue emptied), in lane order. */
  private readonly active: Lane[] = [];
  private nextFrame = 1;
  private interleaved = false;
  private queued = 0;
  private maxQueued = 0;
  /** The packet object queued packets are handed on in (see PacketQueue.shiftInto). */
  private readonly held = new ReusedRawPacket();
  private failure: { error: unknown } | null = null;
  private readonly reads: Promise<void>[] = [];
  private settle: { resolve: () => void; reject: (err: unknown) => void } | null = null;

  constructor(
    inputs: readonly MergeInput[],
    private readonly onPacket: PacketHandler,
    private readonly options: MergeOptions,
  ) {
    this.lanes = inputs.map((m, i) => new Lane(i, m.input, m.start ?? Infinity));
    // A file without packets keeps its given place (source/capture-order.ts): the files after it
    // that have packets still say when the merge must open them.
    this.startsFrom = new Array<number>(this.lanes.length + 1).fill(Infinity);
    for (let i = this.lanes.length - 1; i >= 0; i--) this.startsFrom[i] = Math.min(this.lanes[i].start, this.startsFrom[i + 1]);
  }

  /** The earliest first packet of lanes i and after (lanes with packets are in time order; those without are Infinity). */
  private readonly startsFrom: number[];

  run(): Promise<MergeResult> {
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
      this.pump();
    }).then(() => ({
      files: this.lanes.map((lane) => lane.info as CaptureFileInfo),
      spans: this.lanes.map((lane) => (lane.first === Infinity ? null : { first: lane.first, last: lane.last, widestGap: lane.widestGap })),
      interleaved: this.interleaved,
      maxQueued: this.maxQueued,
    }));
  }

  private emit(p: RawPacket): void {
    p.frame = this.nextFrame++;
    this.onPacket(p);
  }

  /** The first packet time of the next file not yet open that has packets (Infinity: none left). */
  private nextStart(): number {
    return this.startsFrom[this.nextToOpen];
  }

  /** Each packet a file's reader hands over: passed on at once when nothing can come before it, queued otherwise. */
  private offer(lane: Lane, p: RawPacket): void {
    if (this.failure !== null) throw new MergeAbandoned();
    const ts = p.ts;
    if (lane.first === Infinity) lane.first = ts;
    else if (ts - lane.last > lane.widestGap) lane.widestGap = ts - lane.last;
    if (ts > lane.last) lane.last = ts;
    // Alone: no other file is open, and the next file to open starts later (on alike stamps its
    // packet, of a later file, would go first).
    if (lane.waiting === 0 && this.active.length === 1 && p.ts < this.nextStart()) this.emit(p);
    else {
      lane.queue.push(p);
      if (++this.queued > this.maxQueued) this.maxQueued = this.queued;
    }
  }

  /**
   * Awaited by a file's reader before each further read: merge what can be merged, then let the
   * file be read on only once its queue is spent, so that no queue grows past about a chunk.
   */
  private pace(lane: Lane): Promise<void> | undefined {
    if (this.failure !== null) throw new MergeAbandoned();
    if (lane.waiting === 0) return undefined; // the common case: a file read alone
    this.pump();
    if (lane.waiting === 0 || this.failure !== null) return undefined;
    return new Promise<void>((resolve) => {
      lane.wake = resolve;
    });
  }

  private openNext(): void {
    const lane = this.lanes[this.nextToOpen++];
    this.active.push(lane);
    const onProgress = this.options.onProgress;
    const read = readCapture(lane.input, (p) => this.offer(lane, p), {
      onProgress: onProgress && ((bytes) => onProgress(lane.index, bytes)),
      pace: () => this.pace(lane),
    })
      .then((info) => {
        lane.info = info;
        lane.finished = true;
        this.pump(); // may hand on the last packets, and fail with what their consumer throws
      })
      .catch((err: unknown) => {
        lane.finished = true;
        this.fail(err);
      });
    this.reads.push(read);
  }

  /** The first failure fails the merge, once every file's read has stopped and closed its file. */
  private fail(err: unknown): void {
    // Reads stopped because of the first failure fail with MergeAbandoned, after it.
    if (this.failure === null) this.failure = { error: err };
    for (const lane of this.active) {
      const wake = lane.wake;
      lane.wake = null;
      wake?.();
    }
    const failure = this.failure;
    void Promise.allSettled(this.reads).then(() => this.settle?.reject(failure.error));
  }

  /** Hands on packets in time order for as long as every open file has one waiting or has ended. */
  private pump(): void {
    if (this.failure !== null) return;
    for (;;) {
      let best: Lane | null = null;
      for (let i = 0; i < this.active.length; i++) {
        const lane = this.active[i];
        if (lane.waiting === 0) {
          if (!lane.finished) return; // its reader is reading: what it brings may come first
          this.active.splice(i--, 1); // spent
          lane.queue.release();
          continue;
        }
        // Lanes are in file order: on alike stamps the later file's packet goes first.
        if (best === null || lane.queue.firstTs() <= best.queue.firstTs()) best = lane;
      }
      if (best === null) {
        if (this.nextToOpen === this.lanes.length) this.settle?.resolve();
        else this.openNext(); // the files open so far are spent: the next one is read alone
        return;
      }
      // A file whose first packet comes before this one (or with it: a later file's goes first) must be open before it goes on.
      if (this.nextStart() <= best.queue.firstTs()) {
        this.interleaved = true; // the open files have packets on both sides of its start
        this.openNext();
        return;
      }
      this.queued--;
      best.queue.shiftInto(this.held);
      this.emit(this.held);
      if (best.waiting === 0) {
        const wake = best.wake;
        best.wake = null;
        wake?.();
      }
    }
  }
}

/** Reads `inputs` (files, not stdin), in the order of their first packets, as one capture merged by time. */
export function readCapturesMerged(inputs: readonly MergeInput[], onPacket: PacketHandler, options: MergeOptions = {}): Promise<MergeResult> {
  return new CaptureMerge(inputs, onPacket, options).run();
}
