import { fstatSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CaptureError, errorCode } from './capture-error';
import { detectContainer, MAGIC_BYTES, unsupportedVariantHint } from './capture-format';
import { hexBytes, type CaptureParser, type ParserOptions } from './capture-parser';
import { PcapReader } from './pcap-reader';
import { PcapngReader } from './pcapng-reader';
import type { CaptureFileInfo, PacketHandler } from './raw-packet';
import { ChunkSource, FileChunks } from './file-chunks';
import { DescriptorChunks } from './descriptor-chunks';
import { StreamChunks } from './stream-chunks';

export interface ReadCaptureOptions {
  /** Frame number of the first record, so several files of one run continue numbering (default 1). */
  firstFrame?: number;
  /**
   * Put multi-interface pcapng packets back in timestamp order within a bounded window
   * (default true). Single-interface captures are always delivered in file order.
   */
  reorder?: boolean;
  /** Called after each chunk read from the input with the bytes read so far (compressed bytes for gzip): progress displays. */
  onProgress?: (bytesRead: number) => void;
  /**
   * Awaited before each read after the first (when it returns a promise): lets a caller holding
   * packets back (the merge of several files, source/capture-merge.ts) stop the read until it has
   * spent them. May throw to abandon the read.
   */
  pace?: () => Promise<void> | undefined;
  /**
   * When the next chunk takes longer than this (milliseconds of wall time), the packets held to be
   * put in time order are handed on meanwhile (CaptureParser.releaseHeld): a live capture that went
   * quiet. Unset for files, whose next chunk is a read away.
   */
  releaseHeldAfterMs?: number;
}

/** Large reads: the parsers walk records in place, so fewer, bigger chunks mean fewer carried tails. */
const READ_CHUNK_BYTES = 1 << 20;

/**
 * Read a capture file ("-" for stdin), calling `onPacket` for every record in order.
 * Resolves with facts about the file; rejects with a one-line CaptureError when the
 * input cannot be read as a capture at all. A file cut short or damaged part-way
 * resolves normally with what was read and a warning.
 */
export async function readCapture(input: string, onPacket: PacketHandler, options: ReadCaptureOptions = {}): Promise<CaptureFileInfo> {
  if (input === '-') {
    return isRegularFile(STDIN_FD)
      ? readCaptureDescriptor(STDIN_FD, input, onPacket, options, () => process.stdin)
      : readCaptureStream(process.stdin, input, onPacket, options);
  }
  return readChunkSource(new FileChunks(input, READ_CHUNK_BYTES, options.onProgress), input, onPacket, options);
}

export const STDIN_FD = 0;

/**
 * Whether a descriptor is a regular file (`conncheck analyze - < capture.pcap`), read like a file
 * (FileChunks). A pipe (`tcpdump -w - | conncheck analyze -`) is read through Node's stream over
 * it instead: libuv reads a pipe in the event loop as data comes, where a read of the descriptor
 * went to the thread pool and back for every 64 KiB the pipe holds, and one still waiting there
 * after an early stop (a damaged record) kept the process alive until the writer wrote again.
 * Measured in round 29 on the benchmark's first 1 M packets, `cat FILE | conncheck analyze -`:
 * 5.6-7.3 s and 169-172 MB through the descriptor, 4.4-4.9 s and 163-164 MB through the stream
 * (whose spent chunks StreamChunks has collected since round 11; before that a stream peaked
 * 35-40 MB higher); the file itself 4.0 s.
 */
export function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false; // no such descriptor: the stream reports what is wrong
  }
}

/**
 * Read a capture from an inherited descriptor (stdin), into reused buffers rather than through a
 * stream (see FileChunks); `openStream` gives the stream to go on with if the descriptor turns out
 * to be non-blocking (see DescriptorChunks). The descriptor is left open.
 */
export async function readCaptureDescriptor(
  fd: number,
  name: string,
  onPacket: PacketHandler,
  options: ReadCaptureOptions,
  openStream: () => NodeJS.ReadableStream,
): Promise<CaptureFileInfo> {
  const chunks = new DescriptorChunks(new FileChunks(fd, READ_CHUNK_BYTES, options.onProgress), openStream);
  return readChunkSource(chunks, name, onPacket, options);
}

/**
 * Read a capture from a byte stream (tcpdump's stdout during live capture, or any other stream).
 * `name` is used in messages and in the returned info.
 */
export async function readCaptureStream(
  stream: NodeJS.ReadableStream,
  name: string,
  onPacket: PacketHandler,
  options: ReadCaptureOptions = {},
): Promise<CaptureFileInfo> {
  return readChunkSource(new StreamChunks(stream), name, onPacket, options);
}

async function readChunkSource(
  chunks: ChunkSource,
  name: string,
  onPacket: PacketHandler,
  options: ReadCaptureOptions,
): Promise<CaptureFileInfo> {
  const firstFrame = options.firstFrame ?? 1;
  if (!Number.isSafeInteger(firstFrame) || firstFrame < 1) {
    throw new RangeError(`firstFrame must be a positive integer, got ${firstFrame}`);
  }
  const parserOptions: ParserOptions = { name, firstFrame, reorder: options.reorder ?? true };
  try {
    return await readChunks(chunks, parserOptions, onPacket, false, options.pace, options.releaseHeldAfterMs);
  } finally {
    // Stops the underlying stream when we leave early (damage, error in the handler).
    chunks.close();
  }
}

async function readChunks(
  chunks: ChunkSource,
  options: ParserOptions,
  onPacket: PacketHandler,
  gzip: boolean,
  pace: ReadCaptureOptions['pace'],
  releaseHeldAfterMs?: number,
): Promise<CaptureFileInfo> {
  const name = options.name;
  const head: Uint8Array[] = [];
  let headBytes = 0;
  while (headBytes < MAGIC_BYTES) {
    let chunk: Uint8Array | null;
    try {
      chunk = await nextChunk(chunks, name, gzip);
    } catch (err) {
      if (err instanceof GzipError) throw new CaptureError(`${name}: gzip data is damaged (${err.detail})`);
      throw err;
    }
    if (chunk === null) break;
    // A copy: a file's chunk buffers are reused, and these are held until the format is known.
    head.push(chunk.slice());
    headBytes += chunk.length;
  }
  if (headBytes === 0) throw new CaptureError(gzip ? `${name}: gzip data holds no capture (empty after decompression)` : `${name}: empty file`);
  const start = Buffer.concat(head).subarray(0, 16);
  const kind = detectContainer(start);
  if (kind === 'gzip' && !gzip) return readGzipped(head, chunks, options, onPacket, pace);
  if (kind === null || kind === 'gzip') {
    const after = gzip ? ' after gunzip' : '';
    throw new CaptureError(
      `${name}: not a pcap or pcapng file${after} (starts with ${hexBytes(start, MAGIC_BYTES)})${unsupportedVariantHint(start)}`,
    );
  }
  const parser: CaptureParser = kind === 'pcap' ? new PcapReader(options, onPacket) : new PcapngReader(options, onPacket);
  for (const chunk of head) parser.push(chunk);
  let gzipProblem: GzipError | null = null;
  while (!parser.stopped) {
    const wait = pace?.();
    if (wait !== undefined) await wait;
    let chunk: Uint8Array | null;
    try {
      const next = nextChunk(chunks, name, gzip);
      chunk = releaseHeldAfterMs === undefined ? await next : await whileWaiting(next, releaseHeldAfterMs, () => parser.releaseHeld());
    } catch (err) {
      // The capture started fine; a gzip stream that breaks later keeps what came before.
      if (!(err instanceof GzipError)) throw err;
      gzipProblem = err;
      break;
    }
    if (chunk === null) break;
    parser.push(chunk);
  }
  const info = parser.finish();
  info.gzip = gzip;
  if (gzipProblem !== null) {
    if (gzipProblem.zlibCode === 'Z_BUF_ERROR') {
      info.truncated = true;
      info.warnings.push('gzip data cut short; packets up to the cut were read');
    } else {
      info.warnings.push(`gzip data damaged (${gzipProblem.detail}); stopped reading there`);
    }
  }
  return info;
}

/** `pending`'s value; `idle` runs once if it has not settled within `ms`. */
async function whileWaiting<T>(pending: Promise<T>, ms: number, idle: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const quiet = new Promise<'quiet'>((resolve) => {
    timer = setTimeout(() => resolve('quiet'), ms);
  });
  // Should idle() throw while the chunk is still coming, the chunk's own failure must not go unhandled.
  pending.catch((): void => undefined);
  try {
    if ((await Promise.race([pending, quiet])) === 'quiet') idle();
    return await pending;
  } finally {
    clearTimeout(timer);
  }
}

/** Put gunzip in front of the rest of the input and detect the container again. */
async function readGzipped(
  head: Uint8Array[],
  rest: ChunkSource,
  options: ParserOptions,
  onPacket: PacketHandler,
  pace: ReadCaptureOptions['pace'],
): Promise<CaptureFileInfo> {
  const name = options.name;
  async function* compressed(): AsyncGenerator<Uint8Array> {
    yield* head;
    for (;;) {
      const chunk = await nextChunk(rest, name, false);
      if (chunk === null) return;
      // A copy: gunzip may still hold this chunk when the file's next read reuses its buffer.
      yield chunk.slice();
    }
  }
  // 64 KiB output chunks, under glibc's mmap threshold: 256 KiB ones were mmap'd and unmapped,
  // which raised the threshold and then left their successors fragmenting the heap (peak RSS on
  // the benchmark's 2 M packets gzipped 196-197 MB against 188-191 MB; as fast).
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const source = Readable.from(compressed(), { objectMode: false, highWaterMark: READ_CHUNK_BYTES });
  // Errors of the source (a read error) surface on gunzip, which the loop below iterates;
  // the pipeline's own promise only repeats them.
  pipeline(source, gunzip).catch((): void => undefined);
  const plain = new StreamChunks(gunzip);
  try {
    return await readChunks(plain, options, onPacket, true, pace);
  } finally {
    plain.close();
    source.destroy();
  }
}

/** A failure of zlib, told apart so that a capture cut inside gzip keeps its packets. */
class GzipError extends Error {
  constructor(
    readonly detail: string,
    /** zlib's code; Z_BUF_ERROR at the end of input means the data was cut short. */
    readonly zlibCode: string,
  ) {
    super(detail);
  }
}

/** The next chunk as bytes, null at the end; stream failures become CaptureError (or GzipError). */
async function nextChunk(chunks: ChunkSource, name: string, gzip: boolean): Promise<Uint8Array | null> {
  let value: Uint8Array | string | null;
  try {
    value = await chunks.next();
  } catch (err) {
    if (err instanceof CaptureError) throw err;
    const code = errorCode(err);
    // A live source stopped on purpose is an end, not a failure.
    if (code === 'ERR_STREAM_PREMATURE_CLOSE') return null;
    if (gzip && code !== undefined && code.startsWith('Z_')) throw new GzipError(messageOf(err), code);
    throw new CaptureError(`${name}: ${describeReadError(err, code)}`);
  }
  if (value === null) return null;
  // A stream with setEncoding() yields strings; the bytes are what we need.
  return typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
}

function describeReadError(err: unknown, code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a capture file';
    case 'EBADF':
      return 'not open for reading';
    default:
      return `cannot read (${code !== undefined ? `${code}: ` : ''}${messageOf(err)})`;
  }
}

function messageOf(err: unknown): string {
  // Not `instanceof Error`: errors made by Node internals may come from another realm (jest, vm).
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const message = (err as { message: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return String(err);
}
