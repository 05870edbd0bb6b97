/**
 * Hostile and broken input, end to end (issue 6): real captures from samples/ cut at every record
 * boundary and inside records, bytes flipped in headers and payloads, absurd lengths, zero-length
 * records, unknown link types, pcapng blocks with wrong lengths or trailers, gzip cut short.
 *
 * Every case must resolve with what could be read (saying what could not: stats.truncated /
 * malformed, decode issues, file warnings) or reject with a one-line CaptureError, within a time
 * limit, with times and durations never negative and frame numbers inside the input
 * (see robustness-kit `violations`). Random cases use fast-check with fixed seeds and bounded runs.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { CaptureError } from '../../src/source/capture-error';
import { listSamples } from '../samples';
import { writePcap, writePcapng } from '../helpers/pcap-writer';
import { buildTcpPacket, LINKTYPE_ETHERNET, TCP_ACK, TCP_PSH, TCP_SYN } from '../helpers/packet-builder';
import { analyzeOutcome, Outcome, pcapLayout, pcapngLayout, pcapToPcapng, Scratch, violations } from './robustness-kit';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

interface Input {
  name: string;
  bytes: Buffer;
  format: 'pcap' | 'pcapng';
}

const samples = listSamples();
const PCAPS: Input[] = samples
  .filter((s) => s.file.endsWith('.pcap'))
  .map((s) => ({ name: s.name, bytes: fs.readFileSync(s.file), format: 'pcap' as const }));
/** The shipped pcapng sample, plus a few pcap samples rewritten as pcapng (one and two interfaces). */
const PCAPNGS: Input[] = [
  ...samples.filter((s) => s.file.endsWith('.pcapng')).map((s) => ({ name: s.name, bytes: fs.readFileSync(s.file), format: 'pcapng' as const })),
  ...PCAPS.filter((_, i) => i % 4 === 0).flatMap((p) => [
    { name: `${p.name} as pcapng`, bytes: pcapToPcapng(p.bytes, 1), format: 'pcapng' as const },
    { name: `${p.name} as 2-interface pcapng`, bytes: pcapToPcapng(p.bytes, 2), format: 'pcapng' as const },
  ]),
];
const GZIPPED = samples.filter((s) => s.file.endsWith('.gz')).map((s) => ({ name: s.name, bytes: fs.readFileSync(s.file) }));

async function run(bytes: Uint8Array, ext = '.pcap'): Promise<Outcome> {
  return analyzeOutcome([scratch.file(bytes, ext)]);
}

function expectSound(outcome: Outcome, what: string): void {
  expect({ what, violations: violations(outcome) }).toEqual({ what, violations: [] });
}

function resultOf(outcome: Outcome, what: string) {
  if (outcome.kind !== 'result') throw new Error(`${what}: expected a result, got ${outcome.kind}${outcome.kind === 'error' ? `: ${String(outcome.error)}` : ''}`);
  return outcome.result;
}

/** At most `n` indexes of 0..count-1, evenly spread, always with the first and last few (a quarter of `n`, up to 3 each). */
function spread(count: number, n: number): number[] {
  if (count <= n) return [...Array(count).keys()];
  const edge = Math.min(3, Math.max(1, Math.floor(n / 4)));
  const picked = new Set<number>();
  for (let e = 0; e < edge; e++) picked.add(e).add(count - 1 - e);
  for (let k = 0; picked.size < n; k++) picked.add(Math.floor((k * count) / n));
  return [...picked].filter((i) => i >= 0 && i < count).sort((a, b) => a - b);
}

describe('the checks catch what they are for', () => {
  test('tampered outcomes are reported', async () => {
    const outcome = await run(PCAPS.find((p) => p.name === 'keepalive-race-python')?.bytes ?? PCAPS[0].bytes);
    expect(violations(outcome)).toEqual([]);
    const r = resultOf(outcome, 'sample');
    const tampered = (edit: (x: typeof r) => void): string[] => {
      const copy = structuredClone(r);
      edit(copy);
      return violations({ kind: 'result', result: copy, ms: 1 });
    };
    expect(r.exchanges.length).toBeGreaterThan(0);
    expect(tampered((x) => void (x.exchanges[0].idleBefore = -0.5))).toHaveLength(1);
    expect(tampered((x) => void (x.exchanges[0].requestFrame = x.stats.packets + 1))).toHaveLength(1);
    expect(tampered((x) => void (x.flows[0].duration = -1))).toHaveLength(1);
    expect(tampered((x) => void (x.flows[0].start = x.flows[0].end + 1))).not.toEqual([]);
    expect(tampered((x) => void x.flows.pop())).not.toEqual([]);
    expect(tampered((x) => void (x.stats.malformed += 1))).not.toEqual([]);
    expect(tampered((x) => void (x.input.duration = Number.NaN))).not.toEqual([]);
    expect(violations({ kind: 'error', error: new CaptureError('two\nlines'), ms: 1 })).toHaveLength(1);
    expect(violations({ kind: 'error', error: new TypeError('boom'), ms: 1 })).toHaveLength(1);
    expect(violations({ kind: 'error', error: new CaptureError('one line'), ms: 1 })).toEqual([]);
    expect(violations({ kind: 'timeout', ms: 6000 })).toHaveLength(1);
    expect(violations({ kind: 'result', result: r, ms: 1e6 })).toHaveLength(1);
  });
});

test('the inputs are there', () => {
  expect(PCAPS.length).toBeGreaterThan(10);
  expect(PCAPNGS.length).toBeGreaterThan(3);
  expect(GZIPPED.length).toBeGreaterThan(0);
});

describe('samples as shipped', () => {
  test.each([...PCAPS, ...PCAPNGS].map((i) => [i.name, i] as const))('%s: sound, nothing truncated', async (_name, input) => {
    const outcome = await run(input.bytes, input.format === 'pcap' ? '.pcap' : '.pcapng');
    expectSound(outcome, input.name);
    const r = resultOf(outcome, input.name);
    expect(r.input.files[0].truncated).toBe(false);
    expect(r.stats.packets).toBeGreaterThan(0);
  });
});

describe('pcap cut at record boundaries and inside records', () => {
  // Up to 8 cut points per sample, each cut twice: exactly at the boundary, and inside the record.
  // (Every sample is cut, so there are thousands of cuts over all the record shapes the samples hold;
  // 40 per sample made this suite alone more than a third of CI's time, and 16 still 110 s of it.)
  test.each(PCAPS.map((i) => [i.name, i] as const))('%s', async (_name, input) => {
    const layout = pcapLayout(input.bytes);
    const rng = fc.sample(fc.nat(), { numRuns: layout.records.length, seed: input.bytes.length });
    for (const i of spread(layout.records.length, 8)) {
      const at = layout.records[i];
      const boundary = await run(input.bytes.subarray(0, at));
      expectSound(boundary, `${input.name} cut before record ${i + 1}`);
      const clean = resultOf(boundary, `cut before record ${i + 1}`);
      // A cut exactly between records is an ordinary shorter capture: nothing to warn about.
      // (A warning that the snaplen cut HTTP heads is about the packets, not the cut.)
      const warnings = clean.input.files[0].warnings.filter((w) => !w.includes("cut by the capture's snaplen"));
      expect({ i, packets: clean.stats.packets, truncated: clean.input.files[0].truncated, warnings })
        .toEqual({ i, packets: i, truncated: false, warnings: [] });

      const next = i + 1 < layout.records.length ? layout.records[i + 1] : layout.end;
      const inside = at + 1 + (rng[i] % (next - at - 1));
      const cut = await run(input.bytes.subarray(0, inside));
      expectSound(cut, `${input.name} cut at byte ${inside} inside record ${i + 1}`);
      const r = resultOf(cut, `cut inside record ${i + 1}`);
      // The cut record is dropped and said so; the ones before it are all there.
      expect({ i, packets: r.stats.packets, truncated: r.input.files[0].truncated }).toEqual({ i, packets: i, truncated: true });
      expect(r.input.files[0].warnings.join(' ')).toMatch(/cut short/);
    }
  });

  test('a file cut inside its 24-byte header is a CaptureError', async () => {
    for (let cut = 1; cut < 24; cut++) {
      const outcome = await run(PCAPS[0].bytes.subarray(0, cut));
      expectSound(outcome, `header cut at ${cut}`);
      expect(outcome.kind).toBe('error');
    }
    const empty = await run(new Uint8Array(0));
    expectSound(empty, 'empty file');
    expect(empty.kind === 'error' && empty.error instanceof CaptureError).toBe(true);
  });
});

describe('pcapng cut at block boundaries and inside blocks', () => {
  test.each(PCAPNGS.map((i) => [i.name, i] as const))('%s', async (_name, input) => {
    const { blocks } = pcapngLayout(input.bytes);
    const seed = fc.sample(fc.nat(), { numRuns: blocks.length, seed: blocks.length });
    for (const i of spread(blocks.length, 6)) {
      const b = blocks[i];
      const packetsBefore = blocks.slice(0, i).filter((x) => x.type === 6).length;
      const boundary = await run(input.bytes.subarray(0, b.offset), '.pcapng');
      expectSound(boundary, `${input.name} cut before block ${i}`);
      if (i === 0) {
        expect(boundary.kind).toBe('error'); // empty file
      } else {
        const r = resultOf(boundary, `cut before block ${i}`);
        expect({ i, packets: r.stats.packets, truncated: r.input.files[0].truncated }).toEqual({ i, packets: packetsBefore, truncated: false });
      }
      const inside = b.offset + 1 + (seed[i] % (b.length - 1));
      const cut = await run(input.bytes.subarray(0, inside), '.pcapng');
      expectSound(cut, `${input.name} cut at byte ${inside} inside block ${i}`);
      if (i > 0) {
        const r = resultOf(cut, `cut inside block ${i}`);
        expect({ i, packets: r.stats.packets, truncated: r.input.files[0].truncated }).toEqual({ i, packets: packetsBefore, truncated: true });
      }
    }
  });
});

// ------------------------------------------------------------------ hand-made damage

const LE = { linkType: LINKTYPE_ETHERNET };
function segment(i: number, extra: Partial<Parameters<typeof buildTcpPacket>[0]> = {}): Uint8Array {
  return buildTcpPacket({ sport: 40000 + (i % 3), dport: 80, seq: 1000 + i, ack: 1, flags: i % 3 === 0 ? TCP_SYN : TCP_ACK | TCP_PSH, payload: i % 3 === 0 ? undefined : 'GET / HTTP/1.1\r\n\r\n', ...extra });
}

describe('absurd record headers', () => {
  const good = [0, 1, 2, 3].map((i) => ({ sec: 1_700_000_000 + i, data: segment(i) }));

  test.each([
    ['caplen 0xffffffff', 0xffffffff],
    ['caplen just over the 256 KiB record bound', 262145],
    ['caplen 16 MiB + 1', 16 * 1024 * 1024 + 1],
  ])('%s: stops there, keeps the records before, says so', async (_name, caplen) => {
    const file = writePcap(LE, [...good.slice(0, 2), { sec: 1_700_000_002, data: segment(2), caplenField: caplen }, good[3]]);
    const outcome = await run(file);
    expectSound(outcome, _name);
    const r = resultOf(outcome, _name);
    expect(r.stats.packets).toBe(2);
    expect(r.input.files[0].warnings.join(' ')).toMatch(/damaged file.*claims \d+ captured bytes/);
  });

  test.each([
    ['original length 0 (below caplen)', 0],
    ['original length 0xffffffff', 0xffffffff],
    ['original length 1', 1],
  ])('%s: every record still read', async (_name, origLen) => {
    const file = writePcap(LE, good.map((g) => ({ ...g, origLen })));
    const outcome = await run(file);
    expectSound(outcome, _name);
    const r = resultOf(outcome, _name);
    expect(r.stats.packets).toBe(4);
    expect(r.stats.tcpPackets).toBe(4);
  });

  test('zero-length records between good ones are counted as truncated, not fatal', async () => {
    const zero = { sec: 1_700_000_001, data: new Uint8Array(0), origLen: 60 };
    const file = writePcap(LE, [good[0], zero, good[1], zero, { ...zero, origLen: 0 }, good[2]]);
    const outcome = await run(file);
    expectSound(outcome, 'zero-length records');
    const r = resultOf(outcome, 'zero-length records');
    expect(r.stats.packets).toBe(6);
    expect(r.stats.tcpPackets).toBe(3);
    expect(r.stats.truncated).toBe(3);
  });

  test.each([147, 0xffff, 12345, 0x03ff0001])('unknown or odd link type %i: packets counted as unsupported, never decoded as something else', async (linkType) => {
    const file = writePcap({ linkType }, good);
    const outcome = await run(file);
    expectSound(outcome, `link type ${linkType}`);
    const r = resultOf(outcome, `link type ${linkType}`);
    expect(r.stats.packets).toBe(4);
    if ((linkType & 0xffff) !== 1) expect(r.stats.unsupportedLink).toBe(4);
  });

  test('pcap version other than 2 and a wrong magic are CaptureErrors', async () => {
    for (const bytes of [writePcap({ ...LE, versionMajor: 3 }, good), Buffer.from('not a capture at all, just text\n')]) {
      const outcome = await run(bytes);
      expectSound(outcome, 'bad header');
      expect(outcome.kind).toBe('error');
    }
  });
});

describe('pcapng blocks with wrong lengths or trailers', () => {
  const pkt = (i: number) => ({ type: 'epb' as const, interfaceId: 0, timestamp: BigInt(1_700_000_000 + i) * 1_000_000n, data: segment(i) });
  const head = [{ type: 'shb' as const }, { type: 'idb' as const, linkType: LINKTYPE_ETHERNET, tsresol: 6 }];

  test.each([
    ['leading length not a multiple of 4', { totalLength: 30 }],
    ['leading length below the minimum', { totalLength: 8 }],
    ['leading length absurd', { totalLength: 0xfffffff0 }],
    ['trailing length differs', { trailingLength: 44 }],
    ['leading length longer than the file', { totalLength: 4000 }],
  ])('unknown block with %s: packets before it kept, the problem said', async (name, lengths) => {
    const file = writePcapng([...head, pkt(0), pkt(1), { type: 'raw', blockType: 0x0bad, body: new Uint8Array(16), ...lengths }, pkt(2)]);
    const outcome = await run(file, '.pcapng');
    expectSound(outcome, name);
    const r = resultOf(outcome, name);
    expect(r.stats.packets).toBe(2);
    expect(r.input.files[0].warnings.length + (r.input.files[0].truncated ? 1 : 0)).toBeGreaterThan(0);
  });

  test('packet block for an undefined interface, and one claiming more bytes than it holds', async () => {
    for (const bad of [{ ...pkt(2), interfaceId: 7 }, { type: 'raw' as const, blockType: 6, body: new Uint8Array(24).fill(0xff) }]) {
      const outcome = await run(writePcapng([...head, pkt(0), pkt(1), bad, pkt(3)]), '.pcapng');
      expectSound(outcome, 'bad EPB');
      const r = resultOf(outcome, 'bad EPB');
      expect(r.stats.packets).toBe(2);
      expect(r.input.files[0].warnings.join(' ')).toMatch(/damaged file/);
    }
  });

  test('a damaged first section header is a CaptureError; a damaged later one keeps the first section', async () => {
    const badFirst = await run(writePcapng([{ type: 'shb', versionMajor: 9 }, head[1], pkt(0)]), '.pcapng');
    expectSound(badFirst, 'bad first SHB');
    expect(badFirst.kind).toBe('error');
    const second = writePcapng([...head, pkt(0), { type: 'shb', versionMajor: 9 }, head[1], pkt(1)]);
    const later = await run(second, '.pcapng');
    expectSound(later, 'bad second SHB');
    expect(resultOf(later, 'bad second SHB').stats.packets).toBe(1);
  });

  test('a negative if_tsoffset putting packets before 1970: times pinned to 0 and said, the FIN still seen', async () => {
    const file = writePcapng([
      head[0],
      { type: 'idb', linkType: LINKTYPE_ETHERNET, tsresol: 6, tsoffset: -2_000_000_000 },
      { type: 'epb', interfaceId: 0, timestamp: 1_000_000_000n * 1_000_000n, data: buildTcpPacket({ flags: TCP_SYN, seq: 1 }) },
      { type: 'epb', interfaceId: 0, timestamp: 1_000_000_001n * 1_000_000n, data: buildTcpPacket({ flags: TCP_ACK | 0x01, seq: 2, ack: 1 }) },
    ]);
    const outcome = await run(file, '.pcapng');
    expectSound(outcome, 'negative if_tsoffset');
    const r = resultOf(outcome, 'negative if_tsoffset');
    expect(r.input.files[0].warnings.join(' ')).toMatch(/2 packet\(s\) stamped before 1970/);
    expect(r.flows[0].fin.client).toBe(0);
    expect(r.flows[0].closedBy).toBe('client');
  });

  test('interface options running past the block, unusable if_tsresol: read anyway', async () => {
    const file = writePcapng([
      head[0],
      { type: 'idb', linkType: LINKTYPE_ETHERNET, options: [{ code: 2, value: new Uint8Array(3) }], tsresol: 0x7f },
      pkt(0),
    ]);
    // Make the first option claim 200 bytes.
    const layout = pcapngLayout(file);
    const idb = layout.blocks[1].offset;
    file.writeUInt16LE(200, idb + 16 + 2);
    const outcome = await run(file, '.pcapng');
    expectSound(outcome, 'bad IDB options');
    expect(resultOf(outcome, 'bad IDB options').stats.packets).toBe(1);
  });
});

describe('gzip cut short or damaged', () => {
  const plain = PCAPS.find((p) => p.name === 'keepalive-race-python') ?? PCAPS[0];
  const gz = zlib.gzipSync(plain.bytes);
  const full = pcapLayout(plain.bytes).records.length;

  test('the shipped gzip sample reads whole', async () => {
    for (const g of GZIPPED) {
      const outcome = await run(g.bytes, '.pcap.gz');
      expectSound(outcome, g.name);
      expect(resultOf(outcome, g.name).input.files[0].gzip).toBe(true);
    }
  });

  test('cut at 60 points: a CaptureError before any capture bytes, otherwise the packets up to the cut and a warning', async () => {
    const cuts = fc.sample(fc.integer({ min: 1, max: gz.length - 1 }), { numRuns: 60, seed: 6 });
    for (const cut of [1, 9, 10, 11, 20, gz.length - 8, gz.length - 4, gz.length - 1, ...cuts]) {
      const outcome = await run(gz.subarray(0, cut), '.pcap.gz');
      expectSound(outcome, `gzip cut at ${cut} of ${gz.length}`);
      if (outcome.kind === 'result') {
        const r = outcome.result;
        expect(r.stats.packets).toBeLessThanOrEqual(full);
        // Cut inside the 8-byte trailer: every packet decompressed, but the cut is still reported.
        expect(r.input.files[0].warnings.join(' ')).toMatch(/gzip data cut short|cut short/);
      }
    }
  });

  test('bytes flipped inside the compressed stream', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 10, max: gz.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const bytes = Buffer.from(gz);
        bytes[at] ^= xor;
        const outcome = await run(bytes, '.pcap.gz');
        expect(violations(outcome)).toEqual([]);
        if (outcome.kind === 'result') expect(outcome.result.stats.packets).toBeLessThanOrEqual(full + 64);
      }),
      { seed: 66, numRuns: 80 },
    );
  });
});

// ------------------------------------------------------------------ random mutations

type PcapMutation =
  | { op: 'flip'; at: number; xor: number }
  | { op: 'recordByte'; record: number; at: number; xor: number }
  | { op: 'recordField'; record: number; field: 0 | 1 | 2 | 3; value: number }
  | { op: 'zeroRecord'; record: number; origLen: number }
  | { op: 'swap'; a: number; b: number }
  | { op: 'linkType'; value: number }
  | { op: 'cut'; at: number };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const u32Value = fc.oneof(
  fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 262144, 262145, 65535, 1_700_000_000, 999_999, 1_000_000),
  fc.nat({ max: 0xffffffff }),
);
const pcapMutation: fc.Arbitrary<PcapMutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fraction, xor: fc.integer({ min: 1, max: 255 }) }),
  // Weighted toward the link, IP and TCP headers, where a flipped bit changes the most decisions.
  fc.record({ op: fc.constant('recordByte' as const), record: fraction, at: fc.oneof(fc.nat({ max: 70 }), fc.nat({ max: 1600 })), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('recordField' as const), record: fraction, field: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const), value: u32Value }),
  fc.record({ op: fc.constant('zeroRecord' as const), record: fraction, origLen: fc.constantFrom(0, 60, 0xffffffff) }),
  fc.record({ op: fc.constant('swap' as const), a: fraction, b: fraction }),
  fc.record({ op: fc.constant('linkType' as const), value: fc.oneof(fc.constantFrom(0, 1, 101, 108, 113, 228, 229, 276, 147, 0xffff), fc.nat({ max: 0xffffffff })) }),
  fc.record({ op: fc.constant('cut' as const), at: fraction }),
);

function applyPcapMutation(input: Buffer, m: PcapMutation): Buffer {
  const bytes = Buffer.from(input);
  if (m.op === 'flip') {
    if (bytes.length > 0) bytes[Math.floor(m.at * bytes.length)] ^= m.xor;
    return bytes;
  }
  if (m.op === 'cut') return bytes.subarray(0, Math.floor(m.at * bytes.length));
  if (bytes.length < 24) return bytes;
  const layout = pcapLayout(bytes);
  const le = layout.littleEndian;
  const write32 = (at: number, v: number) => (le ? bytes.writeUInt32LE(v >>> 0, at) : bytes.writeUInt32BE(v >>> 0, at));
  if (m.op === 'linkType') {
    write32(20, m.value);
    return bytes;
  }
  const n = layout.records.length;
  if (n === 0) return bytes;
  const pick = (f: number) => layout.records[Math.floor(f * n)];
  const recordEnd = (at: number) => at + 16 + (le ? bytes.readUInt32LE(at + 8) : bytes.readUInt32BE(at + 8));
  switch (m.op) {
    case 'recordByte': {
      const at = pick(m.record);
      const len = recordEnd(at) - at - 16;
      if (len > 0) bytes[at + 16 + (m.at % len)] ^= m.xor;
      return bytes;
    }
    case 'recordField':
      write32(pick(m.record) + 4 * m.field, m.value);
      return bytes;
    case 'zeroRecord': {
      const at = pick(m.record);
      const header = Buffer.from(bytes.subarray(at, at + 16));
      if (le) {
        header.writeUInt32LE(0, 8);
        header.writeUInt32LE(m.origLen >>> 0, 12);
      } else {
        header.writeUInt32BE(0, 8);
        header.writeUInt32BE(m.origLen >>> 0, 12);
      }
      return Buffer.concat([bytes.subarray(0, at), header, bytes.subarray(at)]);
    }
    case 'swap': {
      let a = pick(m.a);
      let b = pick(m.b);
      if (a === b) return bytes;
      if (a > b) [a, b] = [b, a];
      const ra = bytes.subarray(a, recordEnd(a));
      const rb = bytes.subarray(b, recordEnd(b));
      return Buffer.concat([bytes.subarray(0, a), rb, bytes.subarray(recordEnd(a), b), ra, bytes.subarray(recordEnd(b))]);
    }
  }
}

type NgMutation =
  | { op: 'flip'; at: number; xor: number }
  | { op: 'blockLength'; block: number; which: 'lead' | 'trail' | 'both'; value: number }
  | { op: 'epbField'; block: number; field: 0 | 3 | 4; value: number }
  | { op: 'insertBlock'; block: number; type: number; words: number }
  | { op: 'dropBlock'; block: number }
  | { op: 'cut'; at: number };

const ngMutation: fc.Arbitrary<NgMutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fraction, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    op: fc.constant('blockLength' as const), block: fraction, which: fc.constantFrom('lead' as const, 'trail' as const, 'both' as const),
    value: fc.oneof(fc.constantFrom(0, 4, 12, 13, 28, 32, 0xfffffffc, 16 * 1024 * 1024 + 65540), fc.nat({ max: 4096 })),
  }),
  // EPB fields: interface id, captured length, original length.
  fc.record({ op: fc.constant('epbField' as const), block: fraction, field: fc.constantFrom(0 as const, 3 as const, 4 as const), value: u32Value }),
  fc.record({ op: fc.constant('insertBlock' as const), block: fraction, type: fc.constantFrom(0x0a0d0d0a, 1, 2, 3, 4, 5, 6, 0x80000001, 0xdeadbeef), words: fc.nat({ max: 12 }) }),
  fc.record({ op: fc.constant('dropBlock' as const), block: fraction }),
  fc.record({ op: fc.constant('cut' as const), at: fraction }),
);

function applyNgMutation(input: Buffer, m: NgMutation): Buffer {
  const bytes = Buffer.from(input);
  if (m.op === 'flip') {
    if (bytes.length > 0) bytes[Math.floor(m.at * bytes.length)] ^= m.xor;
    return bytes;
  }
  if (m.op === 'cut') return bytes.subarray(0, Math.floor(m.at * bytes.length));
  if (bytes.length < 12) return bytes;
  const layout = pcapngLayout(bytes);
  const le = layout.littleEndian;
  const write32 = (buf: Buffer, at: number, v: number) => (le ? buf.writeUInt32LE(v >>> 0, at) : buf.writeUInt32BE(v >>> 0, at));
  const blocks = layout.blocks;
  if (blocks.length === 0) return bytes;
  // Never the first block for structural edits: a damaged first section header is a plain CaptureError case.
  const pick = (f: number) => blocks[Math.min(blocks.length - 1, 1 + Math.floor(f * (blocks.length - 1)))];
  const b = pick(m.block);
  switch (m.op) {
    case 'blockLength':
      if (m.which !== 'trail') write32(bytes, b.offset + 4, m.value);
      if (m.which !== 'lead') write32(bytes, b.offset + b.length - 4, m.value);
      return bytes;
    case 'epbField':
      if (b.type === 6 && b.length >= 32) write32(bytes, b.offset + 8 + 4 * m.field, m.value);
      return bytes;
    case 'insertBlock': {
      const length = 12 + 4 * m.words;
      const block = Buffer.alloc(length);
      write32(block, 0, m.type);
      write32(block, 4, length);
      if (m.type === 0x0a0d0d0a && length >= 28) {
        write32(block, 8, 0x1a2b3c4d);
        block.writeUInt16LE(1, 12);
      }
      write32(block, length - 4, length);
      return Buffer.concat([bytes.subarray(0, b.offset), block, bytes.subarray(b.offset)]);
    }
    case 'dropBlock':
      return Buffer.concat([bytes.subarray(0, b.offset), bytes.subarray(b.offset + b.length)]);
  }
}

describe('random mutations (fast-check, fixed seeds)', () => {
  test('pcap samples with 1-6 mutations each', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: PCAPS.length - 1 }), fc.array(pcapMutation, { minLength: 1, maxLength: 6 }), async (index, mutations) => {
        const bytes = mutations.reduce(applyPcapMutation, PCAPS[index].bytes);
        const outcome = await run(bytes);
        expect(violations(outcome)).toEqual([]);
      }),
      { seed: 20240601, numRuns: 600 },
    );
  });

  test('pcapng samples with 1-6 mutations each', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: PCAPNGS.length - 1 }), fc.array(ngMutation, { minLength: 1, maxLength: 6 }), async (index, mutations) => {
        const bytes = mutations.reduce(applyNgMutation, PCAPNGS[index].bytes);
        const outcome = await run(bytes, '.pcapng');
        expect(violations(outcome)).toEqual([]);
      }),
      { seed: 20240602, numRuns: 400 },
    );
  });

  test('mutated pcap, then gzipped and cut short', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: PCAPS.length - 1 }), fc.array(pcapMutation, { maxLength: 3 }), fraction, async (index, mutations, cut) => {
        const gz = zlib.gzipSync(mutations.reduce(applyPcapMutation, PCAPS[index].bytes));
        const outcome = await run(gz.subarray(0, Math.max(1, Math.floor(cut * gz.length))), '.pcap.gz');
        expect(violations(outcome)).toEqual([]);
      }),
      { seed: 20240603, numRuns: 150 },
    );
  });
});
