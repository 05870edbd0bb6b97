import * as fs from 'node:fs';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';
import { DETECTORS } from '../../src/detect/registry';
import { analyzeSample, listSamples } from '../samples';
import { pcapLayout, Scratch } from './robustness-kit';

/**
 * Packets stamped by different CPU cores reach the file in another order than their stamps
 * (pcap-tstamp(7)); one of the samples, recorded on loopback, has such a pair (6 µs), and so do
 * public captures (the corpus's zeek/ipv6-http-atomic-frag.pcap holds a SYN-ACK before its SYN).
 * Here every pcap sample is rewritten with adjacent packets less than 0.5 ms apart swapped in the
 * file (their stamps kept), as such a capture would hold them, and analyzed: the findings must be
 * the whole capture's. Before the readers put packets back in time order (jitter-window.ts) and
 * keepalive-race ordered events by time rather than by frame number (facts.ts readBefore), such
 * files turned requests into unanswered ones and retries, and races into resets or nothing.
 */

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

/** The capture with some adjacent records swapped: those stamped strictly later and less than `window` s after the one before. */
function swapped(bytes: Uint8Array, seed: number, rate: number, window: number): { bytes: Uint8Array; swaps: number } {
  const { littleEndian, records, end } = pcapLayout(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nano = view.getUint32(0, littleEndian) === 0xa1b23c4d;
  const ts = (o: number): number => view.getUint32(o, littleEndian) + view.getUint32(o + 4, littleEndian) / (nano ? 1e9 : 1e6);
  const spans = records.map((o, i) => [o, i + 1 < records.length ? records[i + 1] : end] as const);
  let state = seed;
  const random = (): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  let swaps = 0;
  for (let i = 0; i + 1 < spans.length; i++) {
    const gap = ts(spans[i + 1][0]) - ts(spans[i][0]);
    if (gap > 0 && gap < window && random() < rate) {
      [spans[i], spans[i + 1]] = [spans[i + 1], spans[i]];
      swaps++;
      i++;
    }
  }
  const out = new Uint8Array(end);
  out.set(bytes.subarray(0, 24), 0);
  let at = 24;
  for (const [from, to] of spans) {
    out.set(bytes.subarray(from, to), at);
    at += to - from;
  }
  return { bytes: out, swaps };
}

const byKindAndClient = (r: AnalysisResult): string[] => r.anomalies.map((f) => `${f.kind} ${f.client ?? f.server ?? ''}`).sort();

const PCAP_SAMPLES = listSamples().filter((s) => s.file.endsWith('.pcap'));

describe.each(PCAP_SAMPLES.map((s) => s.name))('%s with packets written out of time order', (name) => {
  test.each([
    [7, 0.3],
    [11, 0.5],
  ])('seed %i, %f of the pairs less than 0.5 ms apart swapped: the whole capture\'s findings', async (seed, rate) => {
    const sample = PCAP_SAMPLES.find((s) => s.name === name);
    if (sample === undefined) throw new Error(`no sample ${name}`);
    const whole = await analyzeSample(name);
    const { bytes, swaps } = swapped(fs.readFileSync(sample.file), seed, rate, 0.0005);
    const file = scratch.file(bytes);
    const jittered = await analyzeFiles([file], { detectors: DETECTORS });
    expect(byKindAndClient(jittered)).toEqual(byKindAndClient(whole));
    expect(jittered.exchanges.map((e) => `${e.flowId} ${e.method} ${e.status} ${e.state}`)).toEqual(whole.exchanges.map((e) => `${e.flowId} ${e.method} ${e.status} ${e.state}`));
    // Each swap put back is counted (load-with-idle-closes has one pair of its own).
    const moved = jittered.input.files[0].notes.map((w) => /^(\d+) packet\(s\) written to the file after packets stamped later/.exec(w)).find((m) => m !== null);
    expect(Number(moved?.[1] ?? 0)).toBeGreaterThanOrEqual(swaps);
    expect(jittered.stats.timestampsBackwards).toBe(0);
  });
});
