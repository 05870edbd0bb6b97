import type { ChunkSource } from './file-chunks';

/** Bytes buffered from the stream before we pause it (the parser takes chunks synchronously, so this stays small). */
const PAUSE_ABOVE_BYTES = 8 * 1024 * 1024;

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
