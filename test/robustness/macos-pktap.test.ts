import * as fs from 'node:fs';
import { analyzeFiles } from '../../src/analyze';
import { DETECTORS } from '../../src/detect/registry';
import { wrapPktap } from '../helpers/packet-builder';
import { analyzeSample, listSamples } from '../samples';
import { pcapLayout, Scratch } from './robustness-kit';

/**
 * macOS's tcpdump, run without `-i` (or with `-i pktap` / `-i any`), writes every packet behind
 * Apple's PKTAP header, link type 258. Every Ethernet and raw-IP sample is rewritten so, each
 * record behind a 108-byte header naming the interface's own link type (raw IP as macOS's DLT_RAW,
 * 12), stamps and frame order kept: the analysis must be the one of the file as recorded.
 */

const PKTAP = 258;
const INNER_DLT: Record<number, number> = { 1: 1, 101: 12 };

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

function linkTypeOf(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(20, pcapLayout(bytes).littleEndian) & 0xffff;
}

/** The capture as macOS's tcpdump would have written it: link type 258, each record's bytes behind a PKTAP header. */
function asPktap(bytes: Uint8Array, dlt: number): Uint8Array {
  const { littleEndian, records, end } = pcapLayout(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fileHeader = new Uint8Array(24);
  fileHeader.set(bytes.subarray(0, 24));
  const parts: Uint8Array[] = [fileHeader];
  const header = new DataView(fileHeader.buffer);
  header.setUint32(16, view.getUint32(16, littleEndian) + 108, littleEndian);
  header.setUint32(20, PKTAP, littleEndian);
  records.forEach((o, i) => {
    const caplen = view.getUint32(o + 8, littleEndian);
    const next = i + 1 < records.length ? records[i + 1] : end;
    const frame = wrapPktap(bytes.subarray(o + 16, o + 16 + caplen), { dlt, ifname: dlt === 1 ? 'en0' : 'utun2' });
    const record = new Uint8Array(16 + frame.length);
    const r = new DataView(record.buffer);
    record.set(bytes.subarray(o, o + 8), 0);
    r.setUint32(8, frame.length, littleEndian);
    r.setUint32(12, view.getUint32(o + 12, littleEndian) + 108, littleEndian);
    record.set(frame, 16);
    parts.push(record);
    if (next !== o + 16 + caplen) throw new Error('records are not back to back');
  });
  return Buffer.concat(parts);
}

const SAMPLES = listSamples()
  .filter((s) => s.file.endsWith('.pcap'))
  .map((s) => ({ ...s, linkType: linkTypeOf(fs.readFileSync(s.file)) }))
  .filter((s) => INNER_DLT[s.linkType] !== undefined);

test('the rewrite covers Ethernet and raw-IP samples', () => {
  expect(SAMPLES.filter((s) => s.linkType === 1).length).toBeGreaterThan(10);
  expect(SAMPLES.filter((s) => s.linkType === 101).length).toBeGreaterThan(5);
});

test.each(SAMPLES.map((s) => [s.name, s.linkType] as const))('%s (link type %i) written by macOS tcpdump: the same analysis', async (name, linkType) => {
  const sample = SAMPLES.find((s) => s.name === name);
  if (sample === undefined) throw new Error(`no sample ${name}`);
  const whole = await analyzeSample(name);
  const file = scratch.file(asPktap(fs.readFileSync(sample.file), INNER_DLT[linkType]));
  const pktap = await analyzeFiles([file], { detectors: DETECTORS });
  expect(pktap.input.files[0].linkTypes).toEqual([PKTAP]);
  expect(pktap.stats).toEqual(whole.stats);
  expect(pktap.flows).toEqual(whole.flows);
  expect(pktap.exchanges).toEqual(whole.exchanges);
  expect(pktap.anomalies).toEqual(whole.anomalies);
  expect(pktap.diagnoses).toEqual(whole.diagnoses);
});
