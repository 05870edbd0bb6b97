import { errorCode } from './capture-error';
import type { ChunkSource } from './file-chunks';
import { FileChunks } from './file-chunks';
import { StreamChunks } from './stream-chunks';

/**
 * Chunks of an inherited descriptor, stdin above all: read through the descriptor into reused
 * buffers (FileChunks, which says why), or, once a read fails with EAGAIN, through a stream over
 * it from where the reads stopped. A pipe handed over in non-blocking mode fails a read that way
 * whenever it is empty; Node's stream over a pipe waits for data in the event loop instead.
 */
export class DescriptorChunks implements ChunkSource {
  private stream: StreamChunks | null = null;

  constructor(
    private readonly direct: FileChunks,
    /** The stream to go on with (for stdin, process.stdin), made only if it is needed. */
    private readonly openStream: () => NodeJS.ReadableStream,
  ) {}

  async next(): Promise<Uint8Array | string | null> {
    if (this.stream !== null) return this.stream.next();
    try {
      return await this.direct.next();
    } catch (err) {
      if (errorCode(err) !== 'EAGAIN') throw err;
      // Nothing was read by the failed call: the stream starts where the reads stopped.
      this.direct.close();
      this.stream = new StreamChunks(this.openStream());
      return this.stream.next();
    }
  }

  close(): void {
    this.direct.close();
    this.stream?.close();
  }
}
