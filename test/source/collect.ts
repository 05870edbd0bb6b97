import { Readable } from 'node:stream';
import { readCaptureStream, type ReadCaptureOptions } from '../../src/source/open-capture';
import type { CaptureFileInfo, RawPacket } from '../../src/source/raw-packet';

/** A packet copied out of the callback (the source reuses its object). */
export interface CopiedPacket {
  frame: number;
  ts: number;
  caplen: number;
  origLen: number;
  linkType: number;
  data: Buffer;
}

export function copyPacket(p: RawPacket): CopiedPacket {
  return { frame: p.frame, ts: p.ts, caplen: p.caplen, origLen: p.origLen, linkType: p.linkType, data: Buffer.from(p.data) };
}

/** Split `bytes` into chunks of the given sizes (cycled). */
export function splitInto(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const size = Math.max(1, sizes[i++ % sizes.length]);
    out.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

/** Deterministic pseudo-random chunk sizes in [1, max]. */
export function randomSizes(seed: number, count: number, max: number): number[] {
  let x = seed >>> 0 || 1;
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    sizes.push(1 + (x % max));
  }
  return sizes;
}

/** Feed chunks through the public stream entry point and collect copies of every packet. */
export async function readChunks(
  chunks: Uint8Array[],
  name = 'test.pcap',
  options: ReadCaptureOptions = {},
): Promise<{ info: CaptureFileInfo; packets: CopiedPacket[] }> {
  const packets: CopiedPacket[] = [];
  // Object mode keeps chunk boundaries exactly as given (byte mode may coalesce them).
  const stream = Readable.from(chunks.map((c) => Buffer.from(c)), { objectMode: true });
  const info = await readCaptureStream(stream, name, (p) => packets.push(copyPacket(p)), options);
  return { info, packets };
}

export function readBytes(bytes: Uint8Array, name = 'test.pcap', options: ReadCaptureOptions = {}) {
  return readChunks([bytes], name, options);
}
