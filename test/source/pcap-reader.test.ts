import { CaptureError } from '../../src/source/capture-error';
import { PcapReader } from '../../src/source/pcap-reader';
import type { RawPacket } from '../../src/source/raw-packet';
import { fakePacket, writePcap, type PcapFileOptions, type PcapRecord } from '../helpers/pcap-writer';
import { copyPacket, randomSizes, readBytes, readChunks, splitInto, type CopiedPacket } from './collect';

const ETHERNET = 1;
const SLL = 113;

function records(count: number, baseSec = 1_700_000_000): PcapRecord[] {
  const list: PcapRecord[] = [];
  for (let i = 0; i < count; i++) list.push({ sec: baseSec + i, frac: 1000 * i + 1, data: fakePacket(i, 40 + ((i * 37) % 200)) });
  return list;
}

function pushAll(bytes: Uint8Array, chunkSizes: number[], firstFrame = 1): { packets: CopiedPacket[]; reader: PcapReader } {
  const packets: CopiedPacket[] = [];
  const reader = new PcapReader({ name: 'x.pcap', firstFrame, reorder: true }, (p: RawPacket) => packets.push(copyPacket(p)));
  for (const chunk of splitInto(bytes, chunkSizes)) reader.push(chunk);
  // The end of input: the last packets, held in case the next chunk had older ones (jitter-window.ts).
  reader.finish();
  return { packets, reader };
}

describe('pcap reader: headers', () => {
  const variants: Array<[string, PcapFileOptions, string, number]> = [
    ['little-endian microseconds', { linkType: ETHERNET }, 'us', 1e6],
    ['big-endian microseconds', { linkType: ETHERNET, bigEndian: true }, 'us', 1e6],
    ['little-endian nanoseconds', { linkType: SLL, nano: true }, 'ns', 1e9],
    ['big-endian nanoseconds', { linkType: SLL, nano: true, bigEndian: true }, 'ns', 1e9],
  ];
  it.each(variants)('%s', async (_label, options, resolution, perSecond) => {
    const recs = records(5);
    const { info, packets } = await readBytes(writePcap(options, recs));
    expect(info.format).toBe('pcap');
    expect(info.tsResolution).toEqual([resolution]);
    expect(info.linkTypes).toEqual([options.linkType]);
    expect(info.snaplen).toBe(262144);
    expect(info.records).toBe(5);
    expect(info.truncated).toBe(false);
    expect(info.warnings).toEqual([]);
    expect(packets.map((p) => p.frame)).toEqual([1, 2, 3, 4, 5]);
    packets.forEach((p, i) => {
      expect(p.ts).toBe(recs[i].sec + (recs[i].frac ?? 0) / perSecond);
      expect(p.caplen).toBe(recs[i].data.length);
      expect(p.origLen).toBe(recs[i].data.length);
      expect(p.linkType).toBe(options.linkType);
      expect(Buffer.compare(p.data, Buffer.from(recs[i].data))).toBe(0);
    });
  });

  it('keeps only the low 16 bits of the link-type field (FCS bits above)', async () => {
    const { info, packets } = await readBytes(writePcap({ linkType: 0x30000001 }, records(1)));
    expect(info.linkTypes).toEqual([1]);
    expect(packets[0].linkType).toBe(1);
    expect(info.warnings).toEqual([]);
  });

  it('warns about reserved link-type bits but reads on', async () => {
    const { info } = await readBytes(writePcap({ linkType: 0x00300001 }, records(2)));
    expect(info.records).toBe(2);
    expect(info.warnings).toHaveLength(1);
    expect(info.warnings[0]).toMatch(/reserved bits.*0x00300001/);
  });

  it('accepts a huge snaplen without allocating for it', async () => {
    const { info } = await readBytes(writePcap({ linkType: ETHERNET, snaplen: 2_164_523_008 }, records(3)));
    expect(info.snaplen).toBe(2_164_523_008);
    expect(info.records).toBe(3);
  });

  it('accepts minor versions other than 4', async () => {
    const { info } = await readBytes(writePcap({ linkType: ETHERNET, versionMinor: 5 }, records(1)));
    expect(info.records).toBe(1);
  });

  it('refuses major version 1 with a one-line CaptureError', async () => {
    const promise = readBytes(writePcap({ linkType: ETHERNET, versionMajor: 1 }, records(1)), 'old.pcap');
    await expect(promise).rejects.toThrow(CaptureError);
    await expect(promise).rejects.toThrow(/^old\.pcap: unsupported pcap version 1\.4$/);
  });

  it('refuses a file cut inside its 24-byte header', async () => {
    const bytes = writePcap({ linkType: ETHERNET }, []).subarray(0, 10);
    await expect(readBytes(bytes, 'short.pcap')).rejects.toThrow(/^short\.pcap: pcap file header cut short \(10 of 24 bytes\)$/);
  });

  it('reads a header-only file as zero records', async () => {
    const { info, packets } = await readBytes(writePcap({ linkType: ETHERNET }, []));
    expect(info.records).toBe(0);
    expect(packets).toEqual([]);
    expect(info.truncated).toBe(false);
  });
});

describe('pcap reader: records', () => {
  it('counts snaplen-cut records and keeps both lengths', async () => {
    const recs: PcapRecord[] = [
      { sec: 1, data: fakePacket(1, 96), origLen: 1514 },
      { sec: 2, data: fakePacket(2, 60) },
      { sec: 3, data: fakePacket(3, 96), origLen: 200 },
    ];
    const { info, packets } = await readBytes(writePcap({ linkType: ETHERNET, snaplen: 96 }, recs));
    expect(info.snaplenCut).toBe(2);
    expect(packets.map((p) => [p.caplen, p.origLen])).toEqual([[96, 1514], [60, 60], [96, 200]]);
  });

  it('tolerates caplen > original length by raising the original length, with one warning line', async () => {
    const recs: PcapRecord[] = [{ sec: 1, data: fakePacket(1, 80), origLen: 60 }, { sec: 2, data: fakePacket(2, 70), origLen: 10 }];
    const { info, packets } = await readBytes(writePcap({ linkType: ETHERNET }, recs));
    expect(packets.map((p) => [p.caplen, p.origLen])).toEqual([[80, 80], [70, 70]]);
    expect(info.snaplenCut).toBe(0);
    expect(info.warnings).toEqual(['2 record(s) with captured length above original length; original length raised']);
  });

  it('tolerates caplen > snaplen', async () => {
    const { info } = await readBytes(writePcap({ linkType: ETHERNET, snaplen: 64 }, [{ sec: 1, data: fakePacket(1, 100) }]));
    expect(info.records).toBe(1);
    expect(info.warnings).toEqual([]);
  });

  it('computes times for out-of-range fractions and warns once', async () => {
    const recs: PcapRecord[] = [
      { sec: 10, frac: 999_999, data: fakePacket(1, 60) },
      { sec: 10, frac: 1_500_000, data: fakePacket(2, 60) },
      { sec: 10, frac: 4_000_000_000, data: fakePacket(3, 60) },
    ];
    const { info, packets } = await readBytes(writePcap({ linkType: ETHERNET }, recs));
    expect(packets.map((p) => p.ts)).toEqual([10.999999, 11.5, 10 + 4000]);
    expect(info.warnings).toEqual(['2 record(s) with a timestamp fraction out of range (microseconds >= 10^6); time computed anyway']);
  });

  it('keeps nanosecond precision as far as a double allows', async () => {
    const { packets } = await readBytes(writePcap({ linkType: ETHERNET, nano: true }, [{ sec: 1_700_000_000, frac: 123_456_789, data: fakePacket(0, 60) }]));
    expect(Math.abs(packets[0].ts - 1_700_000_000.123456789)).toBeLessThan(3e-7);
  });

  it('delivers zero-length records', async () => {
    const { packets } = await readBytes(writePcap({ linkType: ETHERNET }, [{ sec: 1, data: new Uint8Array(0), origLen: 60 }]));
    expect(packets).toHaveLength(1);
    expect(packets[0].caplen).toBe(0);
    expect(packets[0].data.length).toBe(0);
  });

  it('numbers frames from firstFrame', async () => {
    const { packets } = await readChunks([writePcap({ linkType: ETHERNET }, records(3))], 'x.pcap', { firstFrame: 101 });
    expect(packets.map((p) => p.frame)).toEqual([101, 102, 103]);
  });

  it('hands out a data view into the read buffer (no copy) that matches caplen', () => {
    const bytes = writePcap({ linkType: ETHERNET }, records(2));
    const seen: Array<{ sameBuffer: boolean; length: number }> = [];
    const reader = new PcapReader({ name: 'x', firstFrame: 1, reorder: false }, (p) => {
      seen.push({ sameBuffer: p.data.buffer === bytes.buffer, length: p.data.length });
    });
    reader.push(bytes);
    reader.finish();
    expect(seen).toEqual([
      { sameBuffer: true, length: records(2)[0].data.length },
      { sameBuffer: true, length: records(2)[1].data.length },
    ]);
  });

  it('in time order, only the packets of the last 2 ms of a chunk are copied (held for the next chunk), the rest read in place', () => {
    // records() are a second apart: the first is handed on from the chunk, the last is held.
    const recs = records(3);
    const bytes = writePcap({ linkType: ETHERNET }, recs);
    const seen: Array<{ frame: number; sameBuffer: boolean }> = [];
    const reader = new PcapReader({ name: 'x', firstFrame: 1, reorder: true }, (p) => {
      seen.push({ frame: p.frame, sameBuffer: p.data.buffer === bytes.buffer });
    });
    reader.push(bytes);
    expect(seen).toEqual([{ frame: 1, sameBuffer: true }, { frame: 2, sameBuffer: true }]);
    reader.finish();
    expect(seen).toEqual([{ frame: 1, sameBuffer: true }, { frame: 2, sameBuffer: true }, { frame: 3, sameBuffer: false }]);
  });
});

describe('pcap reader: chunking', () => {
  const options: PcapFileOptions = { linkType: ETHERNET, nano: true, bigEndian: true };
  const recs = records(40);
  const file = writePcap(options, recs);
  const whole = pushAll(file, [file.length]).packets;

  it('gives the same packets when fed one byte at a time', () => {
    const { packets, reader } = pushAll(file, [1]);
    expect(packets).toEqual(whole);
    expect(reader.finish().records).toBe(40);
  });

  it.each([1, 2, 3, 4])('gives the same packets for random chunk sizes (seed %i)', (seed) => {
    const { packets } = pushAll(file, randomSizes(seed, 500, 300));
    expect(packets).toEqual(whole);
  });

  it('gives the same packets through the stream entry point with odd chunks', async () => {
    const { packets, info } = await readChunks(splitInto(file, [7, 1, 16, 300, 3]));
    expect(packets).toEqual(whole);
    expect(info.truncated).toBe(false);
  });

  it('splits exactly at record boundaries and inside record headers', () => {
    // Chunk ends at 24 (file header), 24+16 (first record header), and mid-header.
    const { packets } = pushAll(file, [24, 16, 5, 11, 1000]);
    expect(packets).toEqual(whole);
  });
});

describe('pcap reader: cut and damaged files', () => {
  const recs = records(5);
  const file = writePcap({ linkType: ETHERNET }, recs);

  it('marks a file cut inside the last record as truncated and keeps what came before', async () => {
    const { info, packets } = await readBytes(file.subarray(0, file.length - 10), 'cut.pcap');
    expect(packets).toHaveLength(4);
    expect(info.records).toBe(4);
    expect(info.truncated).toBe(true);
    expect(info.warnings).toHaveLength(1);
    expect(info.warnings[0]).toMatch(/^file cut short in the middle of frame 5 \(\d+ of \d+ record bytes present\); frame dropped$/);
  });

  it('marks a file cut inside a record header as truncated', async () => {
    const fourRecords = writePcap({ linkType: ETHERNET }, recs.slice(0, 4)).length;
    const { info } = await readBytes(file.subarray(0, fourRecords + 3));
    expect(info.records).toBe(4);
    expect(info.truncated).toBe(true);
    expect(info.warnings[0]).toBe('file cut short in the header of frame 5 (3 of 16 bytes)');
  });

  it('stops at an absurd record length, keeps the records before it, and says where', async () => {
    const bad: PcapRecord[] = [...recs.slice(0, 2), { sec: 9, data: fakePacket(9, 100), caplenField: 4_325_376 }, ...recs.slice(2)];
    const bytes = writePcap({ linkType: ETHERNET }, bad);
    for (const sizes of [[bytes.length], [1], [17, 3]]) {
      const { info, packets } = await readChunks(splitInto(bytes, sizes), 'bad.pcap');
      expect(packets).toHaveLength(2);
      expect(info.records).toBe(2);
      expect(info.truncated).toBe(false);
      const offset = writePcap({ linkType: ETHERNET }, recs.slice(0, 2)).length;
      expect(info.warnings).toEqual([
        `damaged file: the record header at byte ${offset} (frame 3) claims 4325376 captured bytes (limit 262144); stopped reading there, 2 record(s) before it kept`,
      ]);
    }
  });

  it('allows records up to the snaplen when the snaplen is above 256 KiB', async () => {
    const big = fakePacket(1, 300_000);
    const { info, packets } = await readBytes(writePcap({ linkType: 231, snaplen: 1 << 20 }, [{ sec: 1, data: big }]));
    expect(info.records).toBe(1);
    expect(packets[0].caplen).toBe(300_000);
  });

  it('still refuses records above 256 KiB when the snaplen is small', async () => {
    const { info } = await readBytes(writePcap({ linkType: ETHERNET, snaplen: 65535 }, [{ sec: 1, data: fakePacket(1, 300_000) }]));
    expect(info.records).toBe(0);
    expect(info.warnings[0]).toMatch(/^damaged file: .* claims 300000 captured bytes \(limit 262144\)/);
  });
});

describe('pcap reader: packets written out of time order (jitter-window.ts)', () => {
  // 300 records 2 ms apart; every 7th from the 8th on stamped 0.5 ms before the record written before it.
  const recs: PcapRecord[] = Array.from({ length: 300 }, (_, i) => ({ sec: 1_700_000_000, frac: i * 2000, data: fakePacket(i + 1, 40 + (i % 50)) }));
  for (let i = 6; i + 1 < recs.length; i += 7) recs[i + 1] = { ...recs[i + 1], frac: (recs[i].frac ?? 0) - 500 };
  const file = writePcap({ linkType: ETHERNET }, recs);
  const inTimeOrder = recs.map((r, i) => ({ frame: i + 1, frac: r.frac ?? 0 })).sort((a, b) => a.frac - b.frac || a.frame - b.frame);

  it.each([1, 2, 3])('hands every packet on once, in time order with its own bytes, whatever the chunks (seed %i)', (seed) => {
    const { packets, reader } = pushAll(file, randomSizes(seed, 700, 900));
    expect(packets.map((p) => p.frame)).toEqual(inTimeOrder.map((p) => p.frame));
    expect(packets.every((p, k) => p.data.equals(Buffer.from(recs[p.frame - 1].data)) && k >= 0)).toBe(true);
    const info = reader.finish();
    // Put back in order, nothing lost: a note, not a warning (normal for tcpdump -i any).
    expect(info.warnings).toEqual([]);
    expect(info.notes).toEqual([
      "42 packet(s) written to the file after packets stamped later (by at most 2 ms, as packets stamped on different CPU cores are) were analyzed in time order; frame numbers are the file's",
    ]);
  });

  it('with reordering off, file order', () => {
    const packets: number[] = [];
    const reader = new PcapReader({ name: 'x', firstFrame: 1, reorder: false }, (p) => packets.push(p.frame));
    reader.push(file);
    reader.finish();
    expect(packets).toEqual(recs.map((_, i) => i + 1));
  });
});

describe('pcap reader: files one after another in one input (`cat a.pcap b.pcap | conncheck analyze -`)', () => {
  const first = records(4);
  const second = records(3, 1_700_000_100);
  const joined = (a: PcapFileOptions, b: PcapFileOptions): Uint8Array => Buffer.concat([writePcap(a, first), writePcap(b, second)]);

  it.each([
    ['the same byte order and resolution', { linkType: ETHERNET }, { linkType: ETHERNET }],
    ['the second big-endian, nanoseconds, another link type', { linkType: ETHERNET }, { linkType: SLL, nano: true, bigEndian: true }],
  ])('%s: every packet of both, in order, with a note; no damage', async (_label, a: PcapFileOptions, b: PcapFileOptions) => {
    const { info, packets } = await readBytes(joined(a, b));
    expect(info.records).toBe(7);
    expect(info.truncated).toBe(false);
    expect(info.warnings).toEqual([]);
    expect(info.notes.join(' ')).toContain('2 pcap files one after another in this input');
    expect(packets.map((p) => p.frame)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(packets.slice(4).map((p) => p.ts)).toEqual(second.map((r) => r.sec + (r.frac ?? 0) / (b.nano === true ? 1e9 : 1e6)));
    expect(packets.slice(4).map((p) => p.linkType)).toEqual([b.linkType, b.linkType, b.linkType]);
    expect(info.linkTypes).toEqual([...new Set([a.linkType, b.linkType])]);
    expect(packets[5].data.length).toBe(second[1].data.length);
  });

  it('read in chunks of every size, the second header cut anywhere: the same packets', () => {
    const bytes = joined({ linkType: ETHERNET }, { linkType: SLL, nano: true });
    const whole = pushAll(bytes, [bytes.length]).packets;
    for (const size of [1, 3, 7, 16, 23, 24, 25, 100]) {
      const { packets, reader } = pushAll(bytes, [size]);
      expect(packets.map((p) => [p.frame, p.ts, p.caplen, p.linkType])).toEqual(whole.map((p) => [p.frame, p.ts, p.caplen, p.linkType]));
      expect(reader.stopped).toBe(false);
    }
    expect(whole.length).toBe(7);
  });

  it('a record with an absurd length that is no file header is still damage', async () => {
    const bytes = Buffer.from(writePcap({ linkType: ETHERNET }, records(3)));
    // The third record's caplen, 16 bytes into its header, made absurd.
    const third = 24 + (16 + records(3)[0].data.length) + (16 + records(3)[1].data.length);
    bytes.writeUInt32LE(0x7fffffff, third + 8);
    const { info, packets } = await readBytes(bytes);
    expect(packets.length).toBe(2);
    expect(info.warnings.join(' ')).toContain('damaged file');
  });
});
