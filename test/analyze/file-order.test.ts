import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles, locateFrames } from '../../src/analyze';
import { inCaptureOrder } from '../../src/source/capture-order';
import { SAMPLES_DIR } from '../samples';

/**
 * Several capture files are read in the order of their first packets (source/capture-order.ts):
 * a capture rotated by `tcpdump -C` (cap.pcap, cap.pcap1, ... cap.pcap10) comes out of a shell
 * glob out of order, and read so it produced connections and findings the traffic does not hold.
 * The sample is cut into three files at record boundaries, here, from its bytes.
 */

const SAMPLE = path.join(SAMPLES_DIR, 'keepalive-race-nginx-upstream.pcap');
let dir: string;
let parts: string[];
let whole: AnalysisResult;

/** The classic pcap's file header and records, as byte ranges. */
function splitPcap(file: string, pieces: number): Buffer[] {
  const data = fs.readFileSync(file);
  const le = data.readUInt32LE(0) === 0xa1b2c3d4 || data.readUInt32LE(0) === 0xa1b23c4d;
  const records: Buffer[] = [];
  for (let o = 24; o + 16 <= data.length; ) {
    const caplen = le ? data.readUInt32LE(o + 8) : data.readUInt32BE(o + 8);
    records.push(data.subarray(o, o + 16 + caplen));
    o += 16 + caplen;
  }
  const per = Math.ceil(records.length / pieces);
  const out: Buffer[] = [];
  for (let i = 0; i < pieces; i++) out.push(Buffer.concat([data.subarray(0, 24), ...records.slice(i * per, (i + 1) * per)]));
  return out;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-order-'));
  // Named as tcpdump -C names its files, so that name order is not time order: cap.pcap, cap.pcap1, cap.pcap10.
  const names = ['cap.pcap', 'cap.pcap1', 'cap.pcap10'];
  parts = splitPcap(SAMPLE, 3).map((bytes, i) => {
    const file = path.join(dir, names[i]);
    fs.writeFileSync(file, bytes);
    return file;
  });
  whole = await analyzeFiles([SAMPLE]);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const findings = (r: AnalysisResult): unknown => r.anomalies.map((a) => [a.kind, a.client, a.server, a.frames]);
const flows = (r: AnalysisResult): unknown => r.flows.map((f) => [f.client, f.server, f.state, f.history, f.packets]);

test('files given out of time order are read in capture order: the analysis of the whole file', async () => {
  const given = [parts[2], parts[0], parts[1]];
  const progress = new Map<string, number>();
  const result = await analyzeFiles(given, { onProgress: (p) => progress.set(p.input, p.index) });
  // Progress names each input by its place among those given (the CLI's sizes are in that order).
  expect([...progress].sort()).toEqual(given.map((input, index) => [input, index]).sort());
  expect(result.input.filesReordered).toBe(true);
  expect(result.input.files.map((f) => f.name)).toEqual(['cap.pcap', 'cap.pcap1', 'cap.pcap10']);
  expect(result.stats.timestampsBackwards).toBe(0);
  expect(flows(result)).toEqual(flows(whole));
  expect(findings(result)).toEqual(findings(whole));
  expect(result.anomalies.length).toBeGreaterThan(0);
});

test('files given in time order are read as given', async () => {
  const result = await analyzeFiles(parts);
  expect(result.input.filesReordered).toBe(false);
  expect(findings(result)).toEqual(findings(whole));
});

test('a second read (explain, ladders) numbers frames as the analysis did', async () => {
  const frames = whole.anomalies[0].frames;
  const inOrder = await locateFrames(parts, frames);
  const outOfOrder = await locateFrames([parts[1], parts[2], parts[0]], frames);
  expect([...outOfOrder.entries()]).toEqual([...inOrder.entries()]);
  expect(inOrder.size).toBe(frames.length);
});

test('a file that overlaps the ones before it in time is merged with them by time, not read after them', async () => {
  const overlap = path.join(dir, 'other-interface.pcap');
  fs.copyFileSync(parts[1], overlap);
  const result = await analyzeFiles([parts[0], parts[1], overlap, parts[2]]);
  expect(result.input.filesMerged).toBe(true);
  expect(result.input.files.flatMap((f) => f.warnings)).toEqual([]);
  expect(result.stats.timestampsBackwards).toBe(0);
  // An empty file between two that overlap keeps its place (capture-order.ts) and does not stop their merge by time.
  const empty = path.join(dir, 'empty-between.pcap');
  fs.writeFileSync(empty, fs.readFileSync(SAMPLE).subarray(0, 24));
  const withEmpty = await analyzeFiles([parts[0], parts[1], empty, overlap, parts[2]]);
  expect(withEmpty.input.files.map((f) => f.name)).toEqual(['cap.pcap', 'cap.pcap1', 'empty-between.pcap', 'other-interface.pcap', 'cap.pcap10']);
  expect(withEmpty.input.filesMerged).toBe(true);
  expect(withEmpty.stats.timestampsBackwards).toBe(0);
  // Files that only follow each other are not "merged".
  expect((await analyzeFiles(parts)).input.filesMerged).toBe(false);
});

test('with standard input among the inputs files are read one after the other: an overlap is warned about', () => {
  const bin = path.resolve(__dirname, '../../bin/conncheck');
  // stdin (the middle part) first, as given; then the first part, which starts before it ends.
  const r = spawnSync(process.execPath, [bin, 'analyze', '-', parts[0], '--format', 'json'], { input: fs.readFileSync(parts[1]), timeout: 60_000 });
  const result = JSON.parse(r.stdout.toString()) as AnalysisResult;
  expect(result.input.filesMerged).toBe(false);
  expect(result.input.files.map((f) => [f.name, f.warnings])).toEqual([
    ['-', []],
    ['cap.pcap', [expect.stringMatching(/^starts .* before the inputs read before it end: with standard input among the inputs, .*mergecap/)]],
  ]);
});

test('standard input keeps the order given (it cannot be looked at twice); so does a single file', async () => {
  expect(await inCaptureOrder(['-', parts[2], parts[0]])).toEqual({ inputs: ['-', parts[2], parts[0]], reordered: false, given: [0, 1, 2], starts: [null, null, null] });
  expect(await inCaptureOrder([parts[2]])).toEqual({ inputs: [parts[2]], reordered: false, given: [0], starts: [null] });
});

test('an empty capture keeps its given place and is not out of order; a file that is no capture still fails the run', async () => {
  const empty = path.join(dir, 'empty.pcap');
  fs.writeFileSync(empty, fs.readFileSync(SAMPLE).subarray(0, 24));
  // tcpdump -G writes a header-only first file: given in order, nothing was reordered.
  expect(await inCaptureOrder([empty, parts[0], parts[1]])).toMatchObject({ inputs: [empty, parts[0], parts[1]], reordered: false, given: [0, 1, 2] });
  expect((await analyzeFiles([empty, ...parts])).input.filesReordered).toBe(false);
  // The files with packets are sorted among the places they hold.
  expect(await inCaptureOrder([parts[1], empty, parts[0]])).toMatchObject({ inputs: [parts[0], empty, parts[1]], reordered: true, given: [2, 1, 0] });
  const mixed = await analyzeFiles([parts[0], empty, parts[1], parts[2]]);
  expect(findings(mixed)).toEqual(findings(whole));
  const junk = path.join(dir, 'notes.txt');
  fs.writeFileSync(junk, 'not a capture\n');
  await expect(analyzeFiles([parts[1], junk, parts[0]])).rejects.toThrow(/notes\.txt/);
});
