/**
 * Reader throughput: how fast the source stage walks records, without any decoding.
 *
 *   node dist/bench/read-only.js [packets=2000000] [packetBytes=60]
 *
 * Writes a pcap and a pcapng file of that many packets to the temp directory, then
 * measures (best of 3 runs): the parser alone over in-memory 1 MiB chunks, the same
 * with the handler touching `data` (which creates the subarray view), and the whole
 * `readCapture` path from the file (fs stream, page cache warm).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CaptureParser } from '../source/capture-parser';
import { readCapture } from '../source/open-capture';
import { PcapReader } from '../source/pcap-reader';
import { PcapngReader } from '../source/pcapng-reader';
import type { PacketHandler, RawPacket } from '../source/raw-packet';

const CHUNK = 1 << 20;

function buildPcap(count: number, size: number): Buffer {
  const record = 16 + size;
  const out = Buffer.alloc(24 + count * record);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(262144, 16);
  out.writeUInt32LE(1, 20);
  for (let i = 0, at = 24; i < count; i++, at += record) {
    out.writeUInt32LE(1_700_000_000 + Math.floor(i / 1000), at);
    out.writeUInt32LE((i % 1000) * 1000, at + 4);
    out.writeUInt32LE(size, at + 8);
    out.writeUInt32LE(size, at + 12);
    out[at + 16] = i & 0xff;
  }
  return out;
}

function buildPcapng(count: number, size: number): Buffer {
  const padded = (size + 3) & ~3;
  const epb = 32 + padded;
  const shb = 28;
  const idb = 20;
  const out = Buffer.alloc(shb + idb + count * epb);
  out.writeUInt32LE(0x0a0d0d0a, 0);
  out.writeUInt32LE(shb, 4);
  out.writeUInt32LE(0x1a2b3c4d, 8);
  out.writeUInt16LE(1, 12);
  out.writeInt32LE(-1, 16);
  out.writeInt32LE(-1, 20);
  out.writeUInt32LE(shb, 24);
  out.writeUInt32LE(1, shb);
  out.writeUInt32LE(idb, shb + 4);
  out.writeUInt16LE(1, shb + 8);
  out.writeUInt32LE(262144, shb + 12);
  out.writeUInt32LE(idb, shb + 16);
  for (let i = 0, at = shb + idb; i < count; i++, at += epb) {
    const micros = 1_700_000_000_000_000 + i * 1000;
    out.writeUInt32LE(6, at);
    out.writeUInt32LE(epb, at + 4);
    out.writeUInt32LE(0, at + 8);
    out.writeUInt32LE(Math.floor(micros / 4294967296), at + 12);
    out.writeUInt32LE(micros % 4294967296, at + 16);
    out.writeUInt32LE(size, at + 20);
    out.writeUInt32LE(size, at + 24);
    out[at + 28] = i & 0xff;
    out.writeUInt32LE(epb, at + epb - 4);
  }
  return out;
}

function bestOf(runs: number, work: () => number): number {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    const n = work();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (n <= 0) throw new Error('no packets read');
    best = Math.min(best, seconds / n);
  }
  return 1 / best;
}

async function bestOfAsync(runs: number, work: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    const n = await work();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.min(best, seconds / n);
  }
  return 1 / best;
}

function inMemory(bytes: Buffer, make: (handler: PacketHandler) => CaptureParser, touchData: boolean): () => number {
  return () => {
    let count = 0;
    let sink = 0;
    const handler = touchData
      ? (p: RawPacket): void => {
          sink += p.data[0];
          count++;
        }
      : (p: RawPacket): void => {
          sink += p.caplen;
          count++;
        };
    const parser = make(handler);
    for (let at = 0; at < bytes.length; at += CHUNK) parser.push(bytes.subarray(at, at + CHUNK));
    const info = parser.finish();
    if (info.records !== count || sink < 0) throw new Error('count mismatch');
    return count;
  };
}

function mpps(rate: number): string {
  return `${(rate / 1e6).toFixed(2)} M packets/s`;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 2_000_000);
  const size = Number(process.argv[3] ?? 60);
  const dir = mkdtempSync(path.join(tmpdir(), 'conncheck-bench-'));
  try {
    const pcap = buildPcap(count, size);
    const pcapng = buildPcapng(count, size);
    const pcapFile = path.join(dir, 'bench.pcap');
    const pcapngFile = path.join(dir, 'bench.pcapng');
    writeFileSync(pcapFile, pcap);
    writeFileSync(pcapngFile, pcapng);
    const options = { name: 'bench', firstFrame: 1, reorder: true };
    const makePcap = (h: PacketHandler): CaptureParser => new PcapReader(options, h);
    const makePcapng = (h: PacketHandler): CaptureParser => new PcapngReader(options, h);
    console.log(`${count} packets of ${size} bytes; pcap ${(pcap.length / 2 ** 20).toFixed(0)} MiB, pcapng ${(pcapng.length / 2 ** 20).toFixed(0)} MiB`);
    console.log(`pcap   parser, in memory, lengths only : ${mpps(bestOf(3, inMemory(pcap, makePcap, false)))}`);
    console.log(`pcap   parser, in memory, touching data: ${mpps(bestOf(3, inMemory(pcap, makePcap, true)))}`);
    console.log(`pcapng parser, in memory, lengths only : ${mpps(bestOf(3, inMemory(pcapng, makePcapng, false)))}`);
    console.log(`pcapng parser, in memory, touching data: ${mpps(bestOf(3, inMemory(pcapng, makePcapng, true)))}`);
    for (const [label, file] of [['pcap  ', pcapFile], ['pcapng', pcapngFile]]) {
      const rate = await bestOfAsync(3, async () => {
        let n = 0;
        await readCapture(file, () => {
          n++;
        });
        return n;
      });
      console.log(`${label} readCapture from file (fs stream)  : ${mpps(rate)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
