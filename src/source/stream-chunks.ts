import type { ChunkSource } from './file-chunks';

/** Bytes buffered from the stream before we pause it (the parser takes chunks synchronously, so this stays small). */
const PAUSE_ABOVE_BYTES = 8 * 1024 * 1024;

/**
 * A stream hands over a new buffer with every chunk (a pipe's 64 KiB reads, zlib's 64 KiB of
 * output), freed only when V8 next collects its young generation. The analysis fills that
 * generation slowly (about 200 bytes per packet, against 700 bytes of capture), so tens of MB of
 * spent chunks waited between two collections: gzip input peaked at 200–209 MB on 2 M packets
 * and 224 MB on 6 M, where the same capture read as a file (into reused buffers) stays under
 * 190 MB. A process that may (the CLI, through heap-tuning.ts) gives StreamChunks a
 * young-generation collection to run every SPENT_BYTES_PER_COLLECTION bytes it hands out: gzip
 * input then peaked at 159–162 and 174–179 MB, in no more CPU time (user time 6.7–8.2 s against
 * 8.2–8.5 s on 2 M packets). A library user's process is left alone (null).
 */
let collectYoung: (() => void) | null = null;
export const SPENT_BYTES_PER_COLLECTION = 4 * 1024 * 1024;

/** Process-wide, like the V8 flags heap-tuning.ts sets; null stops the collections. */
export function collectSpentChunksWith(collect: (() => void) | null): void {
  collectYoung = collect;
}

/**
 * Chunks of a readable stream, in order, with a failure reported only after every chunk
 * that came before it.
 *
 * Node's own async iterator drops data still buffered when a stream is destroyed with an
 * error, so a gzip file with a bad trailer or a cut end would lose up to a few hundred KiB
 * of packets that were decompressed fine. Listening to 'data' keeps them. A stream that is
 * destroyed without an error (a live capture being stopped) simply ends.
 */
export class StreamChunks implements ChunkSource {
  private readonly queue: Array<Uint8Array | string> = [];
  private queuedBytes = 0;
  private failure: { error: unknown } | null = null;
  private finished = false;
  private paused = false;
  /** Bytes handed out since the last collection of spent chunks. */
  private spentBytes = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly stream: NodeJS.ReadableStream) {
    stream.on('data', (chunk: Uint8Array | string) => {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > PAUSE_ABOVE_BYTES && !this.paused) {
        this.paused = true;
        stream.pause();
      }
      this.notify();
    });
    stream.on('end', () => this.finish());
    stream.on('close', () => this.finish());
    stream.on('error', (error: unknown) => {
      if (this.failure === null) this.failure = { error };
      this.notify();
    });
  }

  /** The next chunk, or null at the end; rejects with the stream's error once earlier chunks are taken. */
  async next(): Promise<Uint8Array | string | null> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        this.queuedBytes -= chunk.length;
        if (collectYoung !== null) {
          // The chunks handed out before this one are spent (the caller asked for the next).
          this.spentBytes += chunk.length;
          if (this.spentBytes >= SPENT_BYTES_PER_COLLECTION) {
            this.spentBytes = 0;
            collectYoung();
          }
        }
        if (this.paused && this.queuedBytes <= PAUSE_ABOVE_BYTES / 2) {
          this.paused = false;
          this.stream.resume();
        }
        return chunk;
      }
      if (this.failure !== null) throw this.failure.error;
      if (this.finished) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Stop the stream when we leave before its end (damage, or an error in the packet handler). */
  close(): void {
    this.finished = true;
    this.queue.length = 0;
    const destroy = (this.stream as { destroy?: () => void }).destroy;
    if (typeof destroy === 'function') destroy.call(this.stream);
    this.notify();
  }

  private finish(): void {
    this.finished = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    if (wake !== null) wake();
  }
}
