import { read } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { pageAlignedBuffers } from './page-aligned';

/** What the capture readers take chunks from: a stream (StreamChunks), or a file or descriptor (FileChunks). */
export interface ChunkSource {
  /** The next chunk, or null at the end; rejects with the read error once earlier chunks are taken. */
  next(): Promise<Uint8Array | string | null>;
  /** Stops reading (damage, an error in the packet handler, or the end). */
  close(): void;
}

/**
 * Chunks of a regular file, read into two buffers used in turn. A read stream allocates a new
 * buffer per chunk, outside V8's heap and freed only when a GC finds it dead: reading a large
 * capture that way kept hundreds of MiB of spent chunks alive between collections (peak RSS
 * grew with the packet rate). Here memory is two chunks whatever the file size.
 *
 * A chunk is valid until the next call: the following chunk is read into the other buffer in
 * the meantime, and the one after that into this one. The parsers take each chunk synchronously
 * and copy what they keep (a record cut by the chunk boundary); callers that hold chunks longer
 * (gzip's pipeline, the magic-number probe) must copy them.
 *
 * Given a descriptor instead of a path (stdin redirected from a file: `conncheck analyze - <
 * capture.pcap`), it reads that as it is, from where it stands, and leaves it open. A descriptor
 * is read without read-ahead: were it a pipe, a read waits for its writer on one of libuv's
 * threads, and one still waiting after the analysis stopped early (a damaged record) would keep
 * the process alive until the writer wrote again. Pipes go through a stream since round 29
 * (open-capture.ts, isRegularFile, says why). A descriptor in non-blocking mode fails its reads
 * with EAGAIN when it is empty; the caller then goes on with a stream (see descriptor-chunks.ts).
 */
export class FileChunks implements ChunkSource {
  private handle: FileHandle | null = null;
  private readonly buffers: [Uint8Array, Uint8Array];
  private turn = 0;
  private closed = false;
  private bytesRead = 0;
  /** The read of the next chunk, started when the current one was handed out. */
  private ahead: Promise<number> | null = null;

  constructor(
    /** A path, or an open descriptor to read from where it stands (stdin). */
    private readonly source: string | number,
    chunkBytes: number,
    private readonly onProgress?: (bytesRead: number) => void,
  ) {
    // Page-aligned: the kernel's copy from the page cache runs five times faster (page-aligned.ts).
    const [first, second] = pageAlignedBuffers(2, chunkBytes);
    this.buffers = [first, second];
  }

  async next(): Promise<Uint8Array | null> {
    if (this.closed) return null;
    const source = this.source;
    if (typeof source === 'number') {
      const buffer = this.buffers[this.turn];
      return this.handOut(buffer, await readDescriptor(source, buffer), false);
    }
    if (this.handle === null) {
      const handle = await open(source, 'r');
      if (this.closed) {
        handle.close().catch((): void => undefined);
        return null;
      }
      this.handle = handle;
    }
    const buffer = this.buffers[this.turn];
    let bytesRead: number;
    try {
      bytesRead = await (this.ahead ?? this.readInto(buffer));
    } catch (err) {
      // A failed read ends the file (EISDIR, EIO): close it here, so that a caller that only
      // reports the error leaves no descriptor for the garbage collector to close.
      this.ahead = null;
      this.close();
      throw err;
    }
    this.ahead = null;
    return this.handOut(buffer, bytesRead, true);
  }

  /** What a read put in `buffer`, or null at the end; with `readAhead`, the next read starts now. */
  private handOut(buffer: Uint8Array, bytesRead: number, readAhead: boolean): Uint8Array | null {
    if (bytesRead === 0 || this.closed) {
      this.close();
      return null;
    }
    this.bytesRead += bytesRead;
    this.onProgress?.(this.bytesRead);
    // Read the following chunk into the other buffer while this one is parsed: the copy from the
    // page cache runs on libuv's thread pool, beside the analysis. That buffer held the chunk
    // before this one, which the caller is done with (it asked for the next).
    this.turn ^= 1;
    if (readAhead && bytesRead === buffer.length) {
      const following = this.readInto(this.buffers[this.turn]);
      // A failure is reported by the next call that awaits it; never as an unhandled rejection.
      following.catch((): void => undefined);
      this.ahead = following;
    }
    return buffer.subarray(0, bytesRead);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const handle = this.handle;
    const pending = this.ahead;
    this.handle = null;
    this.ahead = null;
    // Closed once any read in flight is over. Nothing to report if closing a read-only descriptor
    // fails; it must not surface as an unhandled rejection.
    if (handle !== null) {
      const closeIt = (): void => void handle.close().catch((): void => undefined);
      if (pending !== null) pending.then(closeIt, closeIt);
      else closeIt();
    }
  }

  private async readInto(buffer: Uint8Array): Promise<number> {
    const handle = this.handle;
    if (handle === null) return 0;
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    return bytesRead;
  }
}

/** One read of a descriptor from where it stands (a pipe: what it holds, up to the buffer). */
function readDescriptor(fd: number, buffer: Uint8Array): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    read(fd, buffer, 0, buffer.length, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}
