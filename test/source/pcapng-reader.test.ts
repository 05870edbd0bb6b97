import { CaptureError } from '../../src/source/capture-error';
import { PcapngReader } from '../../src/source/pcapng-reader';
import { fakePacket, ngTime, writePcapng, type PcapngBlock } from '../helpers/pcap-writer';
import { copyPacket, randomSizes, readBytes, readChunks, splitInto, type CopiedPacket } from './collect';

const US = 1_000_000n;
const NS = 1_000_000_000n;
const T0 = 1_700_000_000;

function pushAll(bytes: Uint8Array, sizes: number[]): CopiedPacket[] {
  const packets: CopiedPacket[] = [];
  const reader = new PcapngReader({ name: 'x.pcapng', firstFrame: 1, reorder: true }, (p) => packets.push(copyPacket(p)));
  for (const chunk of splitInto(bytes, sizes)) reader.push(chunk);
  reader.finish();
  return packets;
}

function basicFile(bigEndian: boolean): { bytes: Buffer; data: Uint8Array[] } {
  const data = [fakePacket(1, 60), fakePacket(2, 61), fakePacket(3, 1514)];
  const bytes = writePcapng([
    { type: 'shb', bigEndian, options: [{ code: 4, value: Buffer.from('test writer') }] },
    { type: 'idb', linkType: 1, snaplen: 65535, options: [{ code: 2, value: Buffer.from('eth0') }] },
    { type: 'epb', interfaceId: 0, timestamp: ngTime(T0, 1, US), data: data[0] },
    { type: 'epb', interfaceId: 0, timestamp: ngTime(T0, 500_000, US), data: data[1], options: [{ code: 1, value: Buffer.from('hi') }] },
    { type: 'epb', interfaceId: 0, timestamp: ngTime(T0 + 1, 0, US), data: data[2] },
  ]);
  return { bytes, data };
}

describe('pcapng reader: sections and interfaces', () => {
  it.each([false, true])('reads a basic file (bigEndian=%s)', async (bigEndian) => {
    const { bytes, data } = basicFile(bigEndian);
    const { info, packets } = await readBytes(bytes, 'a.pcapng');
    expect(info).toEqual({
      name: 'a.pcapng',
      format: 'pcapng',
      gzip: false,
      linkTypes: [1],
      tsResolution: ['us'],
      snaplen: 65535,
      records: 3,
      snaplenCut: 0,
      droppedByCapture: null,
      warnings: [],
      notes: [],
      truncated: false,
    });
    expect(packets.map((p) => p.ts)).toEqual([T0 + 0.000001, T0 + 0.5, T0 + 1]);
    expect(packets.map((p) => p.frame)).toEqual([1, 2, 3]);
    packets.forEach((p, i) => expect(Buffer.compare(p.data, Buffer.from(data[i]))).toBe(0));
  });

  it('reads several sections of both byte orders; each section resets its interfaces', async () => {
    const bytes = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1, tsresol: 9 },
      { type: 'epb', interfaceId: 0, timestamp: ngTime(T0, 5, NS), data: fakePacket(1, 60) },
      { type: 'shb', bigEndian: true },
      { type: 'idb', linkType: 101 },
      { type: 'epb', interfaceId: 0, timestamp: ngTime(T0 + 1, 7, US), data: fakePacket(2, 40) },
      { type: 'shb' },
      { type: 'idb', linkType: 113, tsresol: 0x80 | 8 },
      { type: 'epb', interfaceId: 0, timestamp: BigInt(T0 + 2) * 256n + 128n, data: fakePacket(3, 50) },
    ]);
    const { info, packets } = await readBytes(bytes);
    expect(info.records).toBe(3);
    expect(info.linkTypes).toEqual([1, 101, 113]);
    expect(info.tsResolution).toEqual(['ns', 'us', '2^-8']);
    expect(packets.map((p) => p.linkType)).toEqual([1, 101, 113]);
    expect(packets[0].ts).toBeCloseTo(T0 + 5e-9, 6);
    expect(packets[1].ts).toBe(T0 + 1 + 7e-6);
    expect(packets[2].ts).toBe(T0 + 2.5);
    expect(info.warnings).toEqual([]);
  });

  it('stops at a packet for an interface the section does not define (Wireshark does too)', async () => {
    const bytes = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1 },
      { type: 'epb', interfaceId: 0, timestamp: 1n, data: fakePacket(1, 60) },
      { type: 'shb' },
      { type: 'epb', interfaceId: 0, timestamp: 2n, data: fakePacket(2, 60) },
    ]);
    const { info } = await readBytes(bytes);
    expect(info.records).toBe(1);
    expect(info.warnings).toHaveLength(1);
    expect(info.warnings[0]).toMatch(/^damaged file: packet block for undefined interface 0 at byte \d+; stopped reading there, 1 record\(s\) before it kept$/);
  });

  it('applies if_tsresol 10^-9 with full precision of whole seconds', async () => {
    const bytes = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1, tsresol: 9 },
      { type: 'epb', interfaceId: 0, timestamp: ngTime(T0, 999_999_000, NS), data: fakePacket(1, 60) },
      { type: 'epb', interfaceId: 0, timestamp: ngTime(4_000_000_000, 123_456_789, NS), data: fakePacket(2, 60) },
    ]);
    const { info, packets } = await readBytes(bytes);
    expect(info.tsResolution).toEqual(['ns']);
    // A double near 1.7e9 s resolves about 240 ns: the nearest double is what we want.
    expect(packets[0].ts).toBe(T0 + 0.999999);
    expect(packets[1].ts).toBe(4_000_000_000.123456789);
  });

  it('applies if_tsresol 2^-N and 10^-3', async () => {
    const bytes = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1, tsresol: 0x80 | 20 },
      { type: 'idb', linkType: 1, tsresol: 3 },
      { type: 'epb', interfaceId: 0, timestamp: (BigInt(T0) << 20n) + (1n << 19n), data: fakePacket(1, 60) },
      { type: 'epb', interfaceId: 1, timestamp: BigInt(T0) * 1000n + 750n, data: fakePacket(2, 60) },
    ]);
    const { info, packets } = await readBytes(bytes);
    expect(info.tsResolution).toEqual(['2^-20', 'ms']);
    expect(packets.map((p) => p.ts)).toEqual([T0 + 0.5, T0 + 0.75]);
  });

  it('adds if_tsoffset (seconds) to the interface timestamps', async () => {
    const bytes = writePcapng([
      { type: 'shb', bigEndian: true },
      { type: 'idb', linkType: 1, tsoffset: T0 },
      { type: 'epb', interfaceId: 0, timestamp: 2_500_000n, data: fakePacket(1, 60) },
    ]);
    const { packets } = await readBytes(bytes);
    expect(packets[0].ts).toBe(T0 + 2.5);
  });

  it('ignores an IDB option running past the block and says so once', async () => {
    // Option code 2 claiming 200 bytes inside a small block.
    const idbBody = Buffer.alloc(16);
    idbBody.writeUInt16LE(1, 0);
    idbBody.writeUInt32LE(0, 4);
    idbBody.writeUInt16LE(2, 8);
    idbBody.writeUInt16LE(200, 10);
    const bytes = writePcapng([
      { type: 'shb' },
      { type: 'raw', blockType: 1, body: idbBody },
      { type: 'epb', interfaceId: 0, timestamp: 1n, data: fakePacket(1, 60) },
    ]);
    const { info } = await readBytes(bytes);
    expect(info.records).toBe(1);
    expect(info.warnings).toEqual(['1 interface description(s) with options running past the block; options ignored']);
  });
});

describe('pcapng reader: packet blocks', () => {
  it('reads simple packet blocks with interface 0 snaplen and the previous packet time', async () => {
    const bytes = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1, snaplen: 64 },
      { type: 'epb', interfaceId: 0, timestamp: ngTime(T0, 0, US), data: fakePacket(1, 60) },
      { type: 'spb', data: fakePacket(2, 64), origLen: 1000 },
      { type: 'spb', data: fakePacket(3, 42) },
    ]);
    const { info, packets } = await readBytes(bytes);
    expect(packets.map((p) => [p.caplen, p.origLen, p.ts])).toEqual([
      [60, 60, T0],
      [64, 1000, T0],
      [42, 42, T0],
    ]);
    expect(Buffer.compare(packets[2].data, Buffer.from(fakePacket(3, 42)))).toBe(0);
    expect(info.snaplenCut).toBe(1);
  });

  it('reads obsolete packet blocks (type 2) with their 16-bit interface id', async () => {
    const bytes = writePcapng([
      { type: 'shb', bigEndian: true },
      { type: 'idb', linkType: 1 },
      { type: 'idb', linkType: 105 },
      { type: 'opb', interfaceId: 1, timestamp: ngTime(T0, 3, US), data: fakePacket(1, 77), origLen: 100 },
    ]);
    const { info, packets } = await readBytes(bytes);
    expect(info.records).toBe(1);
    expect(packets[0]).toMatchObject({ linkType: 105, caplen: 77, origLen: 100, ts: T0 + 3e-6 });
  });

  it('skips statistics, name resolution, custom and unknown blocks by their length', async () => {
    const bytes = writePcapng([
      { type: 'shb' },
      { type: 'raw', blockType: 0xbad, body: Buffer.alloc(20, 7) },
      { type: 'idb', linkType: 1 },
      { type: 'raw', blockType: 4, body: Buffer.alloc(8) },
      { type: 'epb', interfaceId: 0, timestamp: 1n, data: fakePacket(1, 60) },
      { type: 'raw', blockType: 5, body: Buffer.alloc(12) },
      { type: 'raw', blockType: 0x12345678, body: Buffer.alloc(100_000, 1) },
      { type: 'epb', interfaceId: 0, timestamp: 2n, data: fakePacket(2, 60) },
    ]);
    const { info } = await readBytes(bytes);
    expect(info.records).toBe(2);
    expect(info.warnings).toEqual([]);
  });

  it('no drop count in the file: droppedByCapture null', async () => {
    const { info } = await readBytes(basicFile(false).bytes);
    expect(info.droppedByCapture).toBeNull();
  });

  it.each([false, true])('drops recorded by the capturing tool (big-endian %s): the last count of each interface, summed over interfaces and sections', async (bigEndian) => {
    const bytes = writePcapng([
      { type: 'shb', bigEndian },
      { type: 'idb', linkType: 1 },
      { type: 'idb', linkType: 1 },
      { type: 'epb', interfaceId: 0, timestamp: 1n, data: fakePacket(1, 60) },
      // dumpcap's running totals: an early block, then the final one; osdrop adds to ifdrop.
      { type: 'isb', interfaceId: 0, ifrecv: 10n, ifdrop: 3n },
      { type: 'isb', interfaceId: 0, ifrecv: 25n, ifdrop: 7n },
      { type: 'isb', interfaceId: 1, ifrecv: 5n, ifdrop: 1n, osdrop: 2n },
      // A statistics block for an interface never described is passed over.
      { type: 'isb', interfaceId: 9, ifdrop: 1000n },
      { type: 'shb', bigEndian },
      { type: 'idb', linkType: 1 },
      { type: 'isb', interfaceId: 0, ifdrop: 0n },
      { type: 'opb', interfaceId: 0, timestamp: 2n, data: fakePacket(2, 60), dropCount: 4 },
      { type: 'opb', interfaceId: 0, timestamp: 3n, data: fakePacket(3, 60), dropCount: 0xffff },
    ]);
    const { info } = await readBytes(bytes);
    expect(info.records).toBe(3);
    expect(info.droppedByCapture).toBe(7 + 3 + 4);
    // The reports warn (report/capture-coverage.ts); the reader only counts.
    expect(info.warnings).toEqual([]);
  });

  it('a statistics block that counts no drop: droppedByCapture 0', async () => {
    const bytes = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1 },
      { type: 'epb', interfaceId: 0, timestamp: 1n, data: fakePacket(1, 60) },
      { type: 'isb', interfaceId: 0, ifrecv: 1n, ifdrop: 0n },
    ]);
    const { info } = await readBytes(bytes);
    expect(info.droppedByCapture).toBe(0);
    expect(info.warnings).toEqual([]);
  });

  it('tolerates caplen > original length', async () => {
    const bytes = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1 },
      { type: 'epb', interfaceId: 0, timestamp: 1n, data: fakePacket(1, 60), origLen: 10 },
    ]);
    const { info, packets } = await readBytes(bytes);
    expect(packets[0].origLen).toBe(60);
    expect(info.warnings).toEqual(['1 packet(s) with captured length above original length; original length raised']);
  });
});

describe('pcapng reader: chunking', () => {
  const blocks: PcapngBlock[] = [
    { type: 'shb', options: [{ code: 3, value: Buffer.from('linux') }] },
    { type: 'idb', linkType: 1, tsresol: 9, snaplen: 300 },
    { type: 'raw', blockType: 4, body: Buffer.alloc(40, 9) },
  ];
  for (let i = 0; i < 30; i++) {
    blocks.push(
      i % 5 === 4
        ? { type: 'spb', data: fakePacket(i, 20 + i * 11), origLen: 20 + i * 11 }
        : { type: 'epb', interfaceId: 0, timestamp: ngTime(T0 + i, i * 1000, NS), data: fakePacket(i, 20 + i * 11) },
    );
    if (i === 15) blocks.push({ type: 'shb', bigEndian: true }, { type: 'idb', linkType: 113, snaplen: 0 });
  }
  const file = writePcapng(blocks);
  const whole = pushAll(file, [file.length]);

  it('has the expected packets', () => {
    expect(whole).toHaveLength(30);
    expect(whole[20].linkType).toBe(113);
  });

  it('gives the same packets when fed one byte at a time', () => {
    expect(pushAll(file, [1])).toEqual(whole);
  });

  it.each([11, 12, 13])('gives the same packets for random chunk sizes (seed %i)', (seed) => {
    expect(pushAll(file, randomSizes(seed, 400, 200))).toEqual(whole);
  });

  it('gives the same packets through the stream entry point', async () => {
    const { packets } = await readChunks(splitInto(file, [3, 50, 1, 999]), 'x.pcapng');
    expect(packets).toEqual(whole);
  });
});

describe('pcapng reader: versions, damage and truncation', () => {
  it('refuses a first section with an unsupported version', async () => {
    for (const [major, minor] of [[2, 0], [0, 1], [1, 1]]) {
      const bytes = writePcapng([{ type: 'shb', versionMajor: major, versionMinor: minor }, { type: 'idb', linkType: 1 }]);
      const promise = readBytes(bytes, 'v.pcapng');
      await expect(promise).rejects.toThrow(CaptureError);
      await expect(promise).rejects.toThrow(`v.pcapng: unsupported pcapng version ${major}.${minor}`);
    }
  });

  it('reads version 1.2 like libpcap and Wireshark', async () => {
    const bytes = writePcapng([{ type: 'shb', versionMinor: 2 }, { type: 'idb', linkType: 1 }, { type: 'epb', interfaceId: 0, timestamp: 1n, data: fakePacket(1, 60) }]);
    const { info } = await readBytes(bytes);
    expect(info.records).toBe(1);
  });

  it('stops with a warning at a later section with an unsupported version', async () => {
    const bytesBefore: PcapngBlock[] = [
      { type: 'shb' },
      { type: 'idb', linkType: 1 },
      { type: 'epb', interfaceId: 0, timestamp: 1n, data: fakePacket(1, 60) },
    ];
    const bytes = writePcapng([
      ...bytesBefore,
      { type: 'shb', versionMajor: 2 },
      { type: 'idb', linkType: 1 },
      { type: 'epb', interfaceId: 0, timestamp: 2n, data: fakePacket(2, 60) },
    ]);
    const { info } = await readBytes(bytes);
    expect(info.records).toBe(1);
    expect(info.truncated).toBe(false);
    expect(info.warnings).toEqual([
      `damaged file: section 2 with unsupported pcapng version 2.0 at byte ${writePcapng(bytesBefore).length}; stopped reading there, 1 record(s) before it kept`,
    ]);
  });

  const good: PcapngBlock[] = [
    { type: 'shb' },
    { type: 'idb', linkType: 1 },
    { type: 'epb', interfaceId: 0, timestamp: 1n, data: fakePacket(1, 60) },
  ];
  const damaged: Array<[string, PcapngBlock, RegExp]> = [
    ['a length that is not a multiple of 4', { type: 'raw', blockType: 6, body: Buffer.alloc(40), totalLength: 50 }, /impossible length 50/],
    ['a length below 12', { type: 'raw', blockType: 6, body: Buffer.alloc(40), totalLength: 8 }, /impossible length 8/],
    ['an absurd length', { type: 'raw', blockType: 6, body: Buffer.alloc(40), totalLength: 0xfffffff0 }, /impossible length 4294967280/],
    ['trailing length differs', { type: 'raw', blockType: 5, body: Buffer.alloc(40), trailingLength: 44 }, /leading and trailing lengths differ/],
    ['EPB caplen beyond the block', { type: 'raw', blockType: 6, body: Buffer.from(epbBodyClaiming(500)) }, /claims 500 captured bytes in a 44-byte block/],
  ];
  it.each(damaged)('stops with a warning at %s, keeping what was read', async (_label, bad, pattern) => {
    const bytes = writePcapng([...good, bad, { type: 'epb', interfaceId: 0, timestamp: 2n, data: fakePacket(2, 60) }]);
    for (const sizes of [[bytes.length], [1], [13, 7]]) {
      const { info } = await readChunks(splitInto(bytes, sizes), 'd.pcapng');
      expect(info.records).toBe(1);
      expect(info.warnings).toHaveLength(1);
      expect(info.warnings[0]).toMatch(/^damaged file: .* stopped reading there, 1 record\(s\) before it kept$/);
      expect(info.warnings[0]).toMatch(pattern);
    }
  });

  it('refuses a file whose first section header is damaged', async () => {
    const bytes = writePcapng([{ type: 'raw', blockType: 0x0a0d0d0a, body: shbBody(), trailingLength: 0x30303030 }, ...good.slice(1)]);
    await expect(readBytes(bytes, 's.pcapng')).rejects.toThrow(
      /^s\.pcapng: damaged pcapng file: section header whose leading and trailing lengths differ$/,
    );
  });

  it('refuses a section header with a bad byte-order magic', async () => {
    const body = shbBody();
    body.writeUInt32LE(0x11223344, 0);
    const bytes = writePcapng([{ type: 'raw', blockType: 0x0a0d0d0a, body }]);
    await expect(readBytes(bytes, 'm.pcapng')).rejects.toThrow(/^m\.pcapng: damaged pcapng file: section header with a bad byte-order magic \(44 33 22 11\)$/);
  });

  it('refuses a file cut inside its section header', async () => {
    const bytes = writePcapng(good).subarray(0, 20);
    await expect(readBytes(bytes, 'c.pcapng')).rejects.toThrow(/^c\.pcapng: pcapng section header cut short \(20 bytes\)$/);
  });

  it('marks a file cut inside a block as truncated', async () => {
    const bytes = writePcapng([...good, { type: 'epb', interfaceId: 0, timestamp: 2n, data: fakePacket(2, 60) }]);
    const { info } = await readBytes(bytes.subarray(0, bytes.length - 5));
    expect(info.records).toBe(1);
    expect(info.truncated).toBe(true);
    expect(info.warnings).toEqual([`file cut short in a block at byte ${writePcapng(good).length} (87 of 92 bytes present); block dropped`]);
  });

  it('marks a file cut inside a block header as truncated', async () => {
    const bytes = writePcapng([...good, { type: 'epb', interfaceId: 0, timestamp: 2n, data: fakePacket(2, 60) }]);
    const { info } = await readBytes(bytes.subarray(0, writePcapng(good).length + 6));
    expect(info.truncated).toBe(true);
    expect(info.warnings[0]).toMatch(/^file cut short in a block header at byte \d+ \(6 bytes\)$/);
  });
});

function shbBody(): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(0x1a2b3c4d, 0);
  body.writeUInt16LE(1, 4);
  body.fill(0xff, 8);
  return body;
}

function epbBodyClaiming(caplen: number): Buffer {
  const body = Buffer.alloc(32);
  body.writeUInt32LE(caplen, 12);
  body.writeUInt32LE(caplen, 16);
  return body;
}

describe('pcapng reader: packets written out of time order (jitter-window.ts)', () => {
  // One interface, 300 packets 2 ms apart; every 7th from the 8th on stamped 0.5 ms before the one written before it.
  const stamps = Array.from({ length: 300 }, (_, i) => i * 2000);
  for (let i = 6; i + 1 < stamps.length; i += 7) stamps[i + 1] = stamps[i] - 500;
  const blocks: PcapngBlock[] = [
    { type: 'shb' },
    { type: 'idb', linkType: 1 },
    ...stamps.map((us, i) => ({ type: 'epb' as const, interfaceId: 0, timestamp: ngTime(T0, us, US), data: fakePacket(i + 1, 40 + (i % 50)) })),
  ];
  const file = writePcapng(blocks);
  const inTimeOrder = stamps.map((us, i) => ({ frame: i + 1, us })).sort((a, b) => a.us - b.us || a.frame - b.frame).map((p) => p.frame);

  it.each([1, 2, 3])('hands every packet on once, in time order with its own bytes, whatever the chunks (seed %i)', (seed) => {
    const packets = pushAll(file, randomSizes(seed, 700, 900));
    expect(packets.map((p) => p.frame)).toEqual(inTimeOrder);
    expect(packets.every((p) => p.data.equals(fakePacket(p.frame, 40 + ((p.frame - 1) % 50))))).toBe(true);
  });

  it('in time order, a chunk hands its packets on from the read buffer but for the last 2 ms', async () => {
    const ordered = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1 },
      ...[0, 1000, 2000, 3000, 4000].map((us, i) => ({ type: 'epb' as const, interfaceId: 0, timestamp: ngTime(T0, us, US), data: fakePacket(i + 1, 60) })),
    ]);
    const seen: Array<{ frame: number; inPlace: boolean }> = [];
    const reader = new PcapngReader({ name: 'x', firstFrame: 1, reorder: true }, (p) => seen.push({ frame: p.frame, inPlace: p.data.buffer === ordered.buffer }));
    reader.push(ordered);
    // Stamped more than 2 ms before the last: handed on at once, from the file's bytes.
    expect(seen).toEqual([{ frame: 1, inPlace: true }, { frame: 2, inPlace: true }]);
    const info = reader.finish();
    expect(seen.map((s) => s.frame)).toEqual([1, 2, 3, 4, 5]);
    expect(info.warnings).toEqual([]);
  });
});
