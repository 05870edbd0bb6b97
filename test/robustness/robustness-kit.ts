/**
 * Shared tools of the robustness suites: run the whole analysis on bytes written to a temp file,
 * and check an outcome against the contract for hostile input — it resolves with what could be
 * read (and says what could not) or rejects with a one-line CaptureError; nothing else.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisResult, AnalyzeOptions, analyzeFiles } from '../../src/analyze';
import { CaptureError } from '../../src/source/capture-error';
import { ngTime, PcapngBlock, writePcapng } from '../helpers/pcap-writer';

/** Most wall time one small case may take: generous for a shared 2-core machine, far below a hang. */
export const CASE_TIME_LIMIT_MS = 5000;

export type Outcome =
  | { kind: 'result'; result: AnalysisResult; ms: number }
  | { kind: 'error'; error: unknown; ms: number }
  | { kind: 'timeout'; ms: number };

/** A scratch directory removed by `cleanup`. */
export class Scratch {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-robust-'));
  private n = 0;

  file(bytes: Uint8Array, ext = '.pcap'): string {
    const file = path.join(this.dir, `case-${this.n++}${ext}`);
    fs.writeFileSync(file, bytes);
    return file;
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Analyzes the files; never throws itself. A promise that does not settle within the limit is a
 * hang (a synchronous endless loop would instead block here and fail on jest's test timeout, and the
 * measured time of every case is checked too).
 */
export async function analyzeOutcome(files: string[], options: AnalyzeOptions = {}, limitMs = CASE_TIME_LIMIT_MS): Promise<Outcome> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), limitMs);
  });
  try {
    const settled = await Promise.race([
      analyzeFiles(files, options).then((result) => ({ result }), (error: unknown) => ({ error })),
      timeout,
    ]);
    const ms = performance.now() - t0;
    if (settled === 'timeout') return { kind: 'timeout', ms };
    return 'result' in settled ? { kind: 'result', result: settled.result, ms } : { kind: 'error', error: settled.error, ms };
  } finally {
    clearTimeout(timer);
  }
}

const TIMING_EVIDENCE = /wait|delay|duration|idle|timeout|elapsed|seconds/i;

function isCount(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isTime(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

/**
 * Everything that is wrong with an outcome, as readable lines (empty: all good). Checks:
 * the outcome is a result or a one-line CaptureError; counts add up (every packet is accounted
 * for exactly once, every TCP packet belongs to exactly one flow); times are finite and never
 * negative, durations never negative; frame numbers point inside the input.
 */
export function violations(outcome: Outcome, limitMs = CASE_TIME_LIMIT_MS): string[] {
  const out: string[] = [];
  if (outcome.kind === 'timeout') return [`did not settle within ${limitMs} ms`];
  if (outcome.ms > limitMs) out.push(`took ${outcome.ms.toFixed(0)} ms (limit ${limitMs})`);
  if (outcome.kind === 'error') {
    const e = outcome.error;
    if (!(e instanceof CaptureError)) {
      out.push(`rejected with ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e)}`);
    } else if (e.message.length === 0 || e.message.includes('\n')) {
      out.push(`CaptureError message is not one line: ${JSON.stringify(e.message)}`);
    }
    return out;
  }
  const r = outcome.result;
  const s = r.stats;
  const records = r.input.files.reduce((n, f) => n + f.records, 0);
  if (s.packets !== records) out.push(`stats.packets ${s.packets} != records read ${records}`);
  if (r.input.packets !== s.packets) out.push(`input.packets ${r.input.packets} != stats.packets ${s.packets}`);
  const classified = s.tcpPackets + s.notTcp + s.fragments + s.truncated + s.malformed + s.unsupportedLink;
  if (classified !== s.packets) out.push(`packets by class add up to ${classified}, not ${s.packets}`);
  for (const key of ['packets', 'tcpPackets', 'notTcp', 'fragments', 'truncated', 'malformed', 'unsupportedLink', 'snaplenCut',
    'timestampsBackwards', 'connections', 'peakLiveConnections', 'connectionsEvicted', 'reassemblyRefused', 'exchanges'] as const) {
    if (!isCount(s[key])) out.push(`stats.${key} is ${String(s[key])}`);
  }
  for (const [issue, n] of Object.entries(s.decodeIssues)) if (!isCount(n)) out.push(`decodeIssues.${issue} is ${String(n)}`);
  const { firstTs, lastTs, duration } = r.input;
  if (s.packets > 0) {
    if (!isTime(firstTs) || !isTime(lastTs)) out.push(`input times ${String(firstTs)} .. ${String(lastTs)}`);
    else if ((firstTs as number) > (lastTs as number)) out.push(`firstTs ${String(firstTs)} > lastTs ${String(lastTs)}`);
  }
  if (!isTime(duration)) out.push(`input.duration ${duration}`);
  const frames = s.packets;
  const frameOk = (f: number | null): boolean => f === null || (Number.isSafeInteger(f) && f >= 1 && f <= frames);

  let flowPackets = 0;
  for (const f of r.flows) {
    const where = `flow ${f.id}`;
    if (!isTime(f.start) || !isTime(f.end)) out.push(`${where}: start/end ${f.start} / ${f.end}`);
    if (!isTime(f.duration)) out.push(`${where}: duration ${f.duration}`);
    if (f.end < f.start) out.push(`${where}: ends ${f.end} before it starts ${f.start}`);
    for (const side of ['client', 'server'] as const) {
      for (const n of [f.packets[side], f.bytes[side], f.gapBytes[side], f.retransmissions[side], f.zeroWindows[side]]) {
        if (!isCount(n)) out.push(`${where}: ${side} count ${n}`);
      }
      for (const t of [f.fin[side], f.rst[side]]) if (t !== null && !isTime(t)) out.push(`${where}: ${side} fin/rst time ${t}`);
    }
    flowPackets += f.packets.client + f.packets.server;
  }
  if (flowPackets !== s.tcpPackets) out.push(`flows hold ${flowPackets} packets, stats.tcpPackets is ${s.tcpPackets}`);
  if (r.flows.length !== s.connections) out.push(`${r.flows.length} flows, stats.connections ${s.connections}`);

  for (const x of r.exchanges) {
    const where = `exchange ${x.flowId}/${x.index}`;
    if (x.idleBefore !== null && !isTime(x.idleBefore)) out.push(`${where}: idleBefore ${x.idleBefore}`);
    if (x.keepAliveTimeout !== null && !isTime(x.keepAliveTimeout)) out.push(`${where}: keepAliveTimeout ${x.keepAliveTimeout}`);
    for (const t of [x.requestStart, x.requestEnd, x.responseStart, x.responseEnd]) if (t !== null && !isTime(t)) out.push(`${where}: time ${t}`);
    for (const fr of [x.requestFrame, x.responseFrame, x.responseEndFrame]) if (!frameOk(fr)) out.push(`${where}: frame ${fr} outside 1..${frames}`);
    if (!isCount(x.requestBodyBytes) || !isCount(x.responseBodyBytes)) out.push(`${where}: body bytes ${x.requestBodyBytes} / ${x.responseBodyBytes}`);
  }
  if (r.exchanges.length !== s.exchanges) out.push(`${r.exchanges.length} exchanges, stats.exchanges ${s.exchanges}`);

  for (const a of r.anomalies) {
    if (!isTime(a.ts)) out.push(`${a.id}: ts ${a.ts}`);
    for (const fr of a.frames) if (!frameOk(fr)) out.push(`${a.id}: frame ${fr} outside 1..${frames}`);
    for (const [key, value] of Object.entries(a.evidence)) {
      if (typeof value === 'number' && TIMING_EVIDENCE.test(key) && !(Number.isFinite(value) && value >= 0)) {
        out.push(`${a.id}: evidence.${key} = ${value}`);
      }
    }
  }
  for (const d of r.diagnoses) {
    for (const [name, v] of Object.entries(d.inferred)) {
      if (!isTime(v.value) || !isTime(v.spread)) out.push(`diagnosis ${d.kind} ${d.server}: inferred ${name} ${v.value} ± ${v.spread}`);
    }
  }
  for (const f of r.input.files) {
    for (const w of f.warnings) if (w.length === 0 || w.includes('\n')) out.push(`warning is not one line: ${JSON.stringify(w)}`);
  }
  return out;
}

// ------------------------------------------------------------------ capture structure

export interface PcapLayout {
  littleEndian: boolean;
  /** Offset of each record header, in order; the file's end follows the last record. */
  records: number[];
  end: number;
}

/** Record offsets of a well-formed classic pcap file. */
export function pcapLayout(bytes: Uint8Array): PcapLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const records: number[] = [];
  let o = 24;
  while (o + 16 <= bytes.length) {
    const caplen = view.getUint32(o + 8, littleEndian);
    if (o + 16 + caplen > bytes.length) break;
    records.push(o);
    o += 16 + caplen;
  }
  return { littleEndian, records, end: o };
}

export interface PcapngLayout {
  littleEndian: boolean;
  blocks: Array<{ offset: number; type: number; length: number }>;
}

/** Block offsets of a well-formed single-byte-order pcapng file. */
export function pcapngLayout(bytes: Uint8Array): PcapngLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const littleEndian = view.getUint32(8, true) === 0x1a2b3c4d;
  const blocks: PcapngLayout['blocks'] = [];
  let o = 0;
  while (o + 12 <= bytes.length) {
    const length = view.getUint32(o + 4, littleEndian);
    if (length < 12 || o + length > bytes.length) break;
    blocks.push({ offset: o, type: view.getUint32(o, littleEndian), length });
    o += length;
  }
  return { littleEndian, blocks };
}

/** The packets of a classic pcap file, with their timestamps in microseconds. */
export function pcapPackets(bytes: Uint8Array): Array<{ linkType: number; usec: bigint; data: Uint8Array; origLen: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const layout = pcapLayout(bytes);
  const le = layout.littleEndian;
  const nano = view.getUint32(0, le) === 0xa1b23c4d;
  const linkType = view.getUint32(20, le) & 0xffff;
  return layout.records.map((o) => {
    const sec = view.getUint32(o, le);
    const frac = view.getUint32(o + 4, le);
    const caplen = view.getUint32(o + 8, le);
    const usec = BigInt(sec) * 1_000_000n + BigInt(nano ? Math.floor(frac / 1000) : frac);
    return { linkType, usec, data: bytes.subarray(o + 16, o + 16 + caplen), origLen: view.getUint32(o + 12, le) };
  });
}

/**
 * The same packets as a pcapng file. With `interfaces: 2` the packets alternate between two
 * interfaces of the same link type (so the reader engages its reorder window), and an unknown
 * block sits between the interface descriptions and the first packet.
 */
export function pcapToPcapng(bytes: Uint8Array, interfaces: 1 | 2 = 1): Buffer {
  const packets = pcapPackets(bytes);
  const linkType = packets[0]?.linkType ?? 1;
  const blocks: PcapngBlock[] = [{ type: 'shb' }];
  for (let i = 0; i < interfaces; i++) blocks.push({ type: 'idb', linkType, snaplen: 262144, tsresol: 6 });
  blocks.push({ type: 'raw', blockType: 0x80000001, body: new Uint8Array(8) });
  packets.forEach((p, i) => {
    blocks.push({ type: 'epb', interfaceId: i % interfaces, timestamp: p.usec, data: p.data, origLen: p.origLen });
  });
  return writePcapng(blocks);
}

export { ngTime };

/** The capture with every RST's IP TTL set to `ttl` (Ethernet, IPv4: the TTL is byte 22 of the frame). */
export function resetsWithTtl(file: string, ttl: number): Uint8Array {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const view = new DataView(bytes.buffer);
  const { littleEndian, records } = pcapLayout(bytes);
  expect(view.getUint32(20, littleEndian) & 0xffff).toBe(1);
  let changed = 0;
  for (const o of records) {
    const frame = o + 16;
    if (view.getUint16(frame + 12) !== 0x0800 || bytes[frame + 23] !== 6) continue;
    const tcp = frame + 14 + (bytes[frame + 14] & 0x0f) * 4;
    if ((bytes[tcp + 13] & 0x04) === 0) continue;
    bytes[frame + 22] = ttl;
    changed++;
  }
  expect(changed).toBeGreaterThan(0);
  return bytes;
}
