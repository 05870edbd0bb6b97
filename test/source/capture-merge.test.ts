import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCapturesMerged, type MergeInput, type MergeResult } from '../../src/source/capture-merge';
import type { RawPacket } from '../../src/source/raw-packet';
import { writePcap, type PcapRecord } from '../helpers/pcap-writer';

/**
 * The merge by time of several capture files (src/source/capture-merge.ts), on synthetic pcap
 * files whose records say which file and which record they are: the first byte is the file,
 * the next four the record's index in it.
 */

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'conncheck-merge-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pcap file whose records are stamped `times` (seconds, microsecond precision), each `size` bytes. */
function capture(name: string, fileId: number, times: readonly number[], options: { size?: number; gzip?: boolean } = {}): string {
  const records: PcapRecord[] = times.map((t, i) => {
    const data = new Uint8Array(options.size ?? 60);
    data[0] = fileId;
    new DataView(data.buffer).setUint32(1, i);
    const sec = Math.floor(t);
    return { sec, frac: Math.round((t - sec) * 1e6), data };
  });
  const bytes = writePcap({ linkType: 1 }, records);
  const file = path.join(dir, name);
  writeFileSync(file, options.gzip === true ? gzipSync(bytes) : bytes);
  return file;
}

interface Seen {
  file: number;
  record: number;
  ts: number;
  frame: number;
  /** Where the reader's buffer held the record: 0 for a copy made by the merge. */
  offset: number;
}

async function merge(inputs: MergeInput[]): Promise<{ seen: Seen[]; result: MergeResult }> {
  const seen: Seen[] = [];
  const result = await readCapturesMerged(inputs, (p: RawPacket) => {
    const data = p.data;
    seen.push({ file: data[0], record: new DataView(data.buffer, data.byteOffset).getUint32(1), ts: p.ts, frame: p.frame, offset: p.offset ?? -1 });
  });
  return { seen, result };
}

const starting = (files: string[], starts: number[]): MergeInput[] => files.map((input, i) => ({ input, start: starts[i] }));

test('packets of overlapping files come out by time, frames numbering the merge', async () => {
  const a = capture('a.pcap', 1, [1, 3, 5, 7]);
  const b = capture('b.pcap', 2, [2, 4, 6]);
  const { seen, result } = await merge(starting([a, b], [1, 2]));
  expect(seen.map((s) => [s.file, s.record])).toEqual([[1, 0], [2, 0], [1, 1], [2, 1], [1, 2], [2, 2], [1, 3]]);
  expect(seen.map((s) => s.frame)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(result.interleaved).toBe(true);
  expect(result.files.map((f) => [path.basename(f.name), f.records])).toEqual([['a.pcap', 4], ['b.pcap', 3]]);
});

test('of packets stamped alike, the packet of the later file goes first, as mergecap merges them', async () => {
  // mergecap 4.0 -w of these three files writes 2/0, 1/0, 3/0, 2/1, 1/1, 2/2, 1/2.
  const a = capture('t1.pcap', 1, [10, 10.000005, 10.000009]);
  const b = capture('t2.pcap', 2, [10, 10.000005, 10.000007]);
  const c = capture('t3.pcap', 3, [10.000005]);
  const { seen } = await merge(starting([a, b, c], [10, 10, 10.000005]));
  expect(seen.map((s) => [s.file, s.record])).toEqual([[2, 0], [1, 0], [3, 0], [2, 1], [1, 1], [2, 2], [1, 2]]);
  // A file that starts when the one before it ends: its first packet goes first.
  const { seen: rotated } = await merge(starting([capture('u1.pcap', 1, [1, 2]), capture('u2.pcap', 2, [2, 3])], [1, 2]));
  expect(rotated.map((s) => [s.file, s.record])).toEqual([[1, 0], [2, 0], [1, 1], [2, 1]]);
});

test('files that follow each other are read one after the other, their packets passed on without a copy', async () => {
  const files = [capture('r0.pcap', 1, [1, 2, 3]), capture('r1.pcap', 2, [3.5, 4]), capture('r2.pcap', 3, [5, 6])];
  const { seen, result } = await merge(starting(files, [1, 3.5, 5]));
  expect(seen.map((s) => [s.file, s.record])).toEqual([[1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [3, 0], [3, 1]]);
  expect(seen.map((s) => s.frame)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(result.interleaved).toBe(false);
  expect(result.maxQueued).toBe(0);
  // In the reader's buffer, after the file header: the reader's own packet, not a copy. Each file's
  // last packet is the exception: held at the end of its chunk for the 2 ms jitter window, and
  // copied into the window's own buffer then (jitter-window.ts).
  const notLast = seen.filter((s, i) => i + 1 < seen.length && seen[i + 1].file === s.file);
  expect(notLast).toHaveLength(4);
  expect(notLast.every((s) => s.offset >= 24)).toBe(true);
});

test('large overlapping files, one of them gzipped, read chunk by chunk: every packet once, in time order', async () => {
  // 1 MiB reads: each file takes several, so each waits for the other's queue more than once.
  const n = 30_000;
  const a = capture('big-a.pcap', 1, Array.from({ length: n }, (_, i) => 100 + i * 0.002), { size: 120 });
  const b = capture('big-b.pcap.gz', 2, Array.from({ length: n }, (_, i) => 100.001 + i * 0.002), { size: 90, gzip: true });
  const c = capture('big-c.pcap', 3, Array.from({ length: n / 10 }, (_, i) => 130 + i * 0.01), { size: 200 });
  const { seen, result } = await merge(starting([a, b, c], [100, 100.001, 130]));
  expect(seen.length).toBe(2 * n + n / 10);
  expect(seen.every((s, i) => i === 0 || s.ts >= seen[i - 1].ts)).toBe(true);
  for (const file of [1, 2, 3]) {
    const records = seen.filter((s) => s.file === file).map((s) => s.record);
    expect(records.every((r, i) => r === i)).toBe(true);
  }
  expect(seen.every((s, i) => s.frame === i + 1)).toBe(true);
  expect(result.interleaved).toBe(true);
  expect(result.files.map((f) => f.gzip)).toEqual([false, true, false]);
  // A file is read on only once its queue is spent: at most about a read's worth of records
  // each (1 MiB of 136-byte records, 256 KiB of gunzipped 106-byte ones, 1 MiB of 216-byte ones:
  // 15 037), where reading ahead would hold most of both large files (60 000).
  expect(result.maxQueued).toBeGreaterThan(0);
  expect(result.maxQueued).toBeLessThanOrEqual(16_000);
});

test('a file with no packets, or not looked at, is read last', async () => {
  const empty = capture('empty.pcap', 9, []);
  const a = capture('e-a.pcap', 1, [1, 2]);
  const { seen, result } = await merge([{ input: a, start: 1 }, { input: empty, start: null }]);
  expect(seen.map((s) => s.file)).toEqual([1, 1]);
  expect(result.files.map((f) => f.records)).toEqual([2, 0]);
  expect(result.interleaved).toBe(false);
});

test('a file that cannot be read fails the merge with its own error, after the other reads stopped', async () => {
  const a = capture('f-a.pcap', 1, Array.from({ length: 20_000 }, (_, i) => 1 + i * 0.001), { size: 100 });
  const junk = path.join(dir, 'notes.txt');
  writeFileSync(junk, 'not a capture at all\n');
  await expect(merge([{ input: a, start: 1 }, { input: junk, start: 2 }])).rejects.toThrow(/notes\.txt: not a pcap or pcapng file/);
  await expect(merge([{ input: a, start: 1 }, { input: path.join(dir, 'missing.pcap'), start: null }])).rejects.toThrow(/missing\.pcap: no such file/);
});

test('what the consumer throws fails the merge, wherever the packet was handed on from', async () => {
  const a = capture('x-a.pcap', 1, [1, 3, 5, 7]);
  const b = capture('x-b.pcap', 2, [2, 4, 6]);
  // The 1st goes on while a is read alone, the 3rd and 5th as the reads go, the 7th after both ended.
  for (const failAt of [1, 3, 5, 7]) {
    let n = 0;
    const merged = readCapturesMerged(starting([a, b], [1, 2]), () => {
      if (++n === failAt) throw new Error(`consumer failed at ${failAt}`);
    });
    await expect(merged).rejects.toThrow(`consumer failed at ${failAt}`);
  }
});

test('a file cut short in an overlap keeps what it held, with its warning, and the merge goes on', async () => {
  const whole = capture('cut-src.pcap', 2, [2, 4, 6]);
  const bytes = readFileSync(whole);
  const cut = path.join(dir, 'cut.pcap');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
  const a = capture('cut-a.pcap', 1, [1, 3, 5, 7]);
  const { seen, result } = await merge(starting([a, cut], [1, 2]));
  expect(seen.map((s) => [s.file, s.record])).toEqual([[1, 0], [2, 0], [1, 1], [2, 1], [1, 2], [1, 3]]);
  expect(result.files[1].truncated).toBe(true);
  expect(result.files[1].warnings.join(' ')).toMatch(/cut short/);
});
