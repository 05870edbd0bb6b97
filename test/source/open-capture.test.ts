import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdtempSync, mkdirSync, openSync, rmSync, write, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { CaptureError } from '../../src/source/capture-error';
import { readCapture, readCaptureDescriptor, readCaptureStream } from '../../src/source/open-capture';
import { fakePacket, ngTime, writePcap, writePcapng, type PcapRecord } from '../helpers/pcap-writer';
import { copyPacket, readBytes, readChunks, splitInto, type CopiedPacket } from './collect';

const records: PcapRecord[] = Array.from({ length: 20 }, (_, i) => ({ sec: 1000 + i, frac: i, data: fakePacket(i, 50 + i * 13) }));
const pcap = writePcap({ linkType: 1 }, records);
const pcapng = writePcapng([
  { type: 'shb', bigEndian: true },
  { type: 'idb', linkType: 1, tsresol: 9 },
  ...records.map((r) => ({ type: 'epb' as const, interfaceId: 0, timestamp: ngTime(r.sec, r.frac ?? 0, 1_000_000_000n), data: r.data })),
]);

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'conncheck-source-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: Uint8Array | string): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function readFile(p: string, firstFrame?: number): Promise<{ packets: CopiedPacket[]; info: Awaited<ReturnType<typeof readCapture>> }> {
  const packets: CopiedPacket[] = [];
  const info = await readCapture(p, (pk) => packets.push(copyPacket(pk)), { firstFrame });
  return { packets, info };
}

/** Expect a one-line CaptureError with exactly this message. */
async function expectCaptureError(promise: Promise<unknown>, message: string): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CaptureError);
  expect((err as Error).message).toBe(message);
  expect((err as Error).message).not.toMatch(/\n/);
}

describe('readCapture on files', () => {
  it('detects pcap and pcapng by magic, not by name', async () => {
    const a = await readFile(file('really-pcapng.pcap', pcapng));
    const b = await readFile(file('really-pcap.pcapng', pcap));
    expect(a.info.format).toBe('pcapng');
    expect(b.info.format).toBe('pcap');
    expect(a.info.records).toBe(20);
    expect(b.info.records).toBe(20);
    expect(a.packets.map((p) => p.data)).toEqual(b.packets.map((p) => p.data));
    expect(a.info.name).toBe(path.join(dir, 'really-pcapng.pcap'));
  });

  it('reads gzip-compressed captures of both formats', async () => {
    const plain = await readFile(file('plain.pcap', pcap));
    const gz = await readFile(file('c.pcap.gz', gzipSync(pcap)));
    const gzng = await readFile(file('c.bin', gzipSync(pcapng)));
    expect(gz.info.gzip).toBe(true);
    expect(gz.info.format).toBe('pcap');
    expect(gzng.info.gzip).toBe(true);
    expect(gzng.info.format).toBe('pcapng');
    expect(plain.info.gzip).toBe(false);
    expect(gz.packets).toEqual(plain.packets);
    expect(gzng.packets.map((p) => p.data)).toEqual(plain.packets.map((p) => p.data));
  });

  it('keeps the packets before the cut of a truncated gzip file and flags it', async () => {
    const compressed = gzipSync(writePcap({ linkType: 1 }, Array.from({ length: 3000 }, (_, i) => ({ sec: i, data: fakePacket(i, 200) }))));
    const { info, packets } = await readFile(file('cut.pcap.gz', compressed.subarray(0, Math.floor(compressed.length / 2))));
    expect(info.gzip).toBe(true);
    expect(info.truncated).toBe(true);
    // Everything zlib could decompress before the cut is delivered: count the whole records in it.
    const available = gunzipSync(compressed.subarray(0, Math.floor(compressed.length / 2)), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    expect(packets.length).toBe(Math.floor((available.length - 24) / (16 + 200)));
    expect(info.records).toBe(packets.length);
    expect(info.warnings).toContain('gzip data cut short; packets up to the cut were read');
  });

  it('keeps the packets read before gzip reports damage, and says so', async () => {
    const compressed = Buffer.from(gzipSync(writePcap({ linkType: 1 }, Array.from({ length: 3000 }, (_, i) => ({ sec: i, data: fakePacket(i, 200) })))));
    // A wrong CRC in the gzip trailer: zlib only notices at the very end, and drops the
    // output of the write that failed, so the last few hundred KiB may be missing.
    compressed[compressed.length - 8] ^= 0xff;
    const { info, packets } = await readFile(file('damaged.pcap.gz', compressed));
    expect(packets.length).toBeGreaterThan(1000);
    expect(packets.length).toBeLessThanOrEqual(3000);
    expect(info.warnings).toContain('gzip data damaged (incorrect data check); stopped reading there');
  });

  it('continues frame numbers across files with firstFrame', async () => {
    const first = await readFile(file('one.pcap', pcap));
    const second = await readFile(file('two.pcapng', pcapng), 1 + first.info.records);
    expect(second.packets[0].frame).toBe(21);
    expect(second.packets[19].frame).toBe(40);
  });

  it('reads large files in big chunks with the same result', async () => {
    const many = writePcap({ linkType: 1 }, Array.from({ length: 30000 }, (_, i) => ({ sec: i, data: fakePacket(i, 60 + (i % 1000)) })));
    expect(many.length).toBeGreaterThan(3 * (1 << 20));
    const { info, packets } = await readFile(file('many.pcap', many));
    expect(info.records).toBe(30000);
    expect(packets[29999].caplen).toBe(60 + (29999 % 1000));
    expect(Buffer.compare(packets[12345].data, Buffer.from(fakePacket(12345, 60 + (12345 % 1000))))).toBe(0);
  });

  it('reads a descriptor from where it stands (stdin) and leaves it open', async () => {
    const fd = openSync(file('fd.pcap', pcap), 'r');
    try {
      const packets: CopiedPacket[] = [];
      let streamed = false;
      const info = await readCaptureDescriptor(fd, '-', (pk) => packets.push(copyPacket(pk)), {}, () => {
        streamed = true;
        return Readable.from([]);
      });
      expect(streamed).toBe(false);
      expect(info.name).toBe('-');
      expect(info.records).toBe(20);
      expect(packets.map((p) => p.data)).toEqual((await readFile(file('fd-direct.pcap', pcap))).packets.map((p) => p.data));
      expect(fstatSync(fd).size).toBe(pcap.length); // still open
    } finally {
      closeSync(fd);
    }
  });

  it('goes on with a stream when a read of the descriptor fails with EAGAIN (a non-blocking pipe)', async () => {
    // Only where mkfifo exists (coreutils): a named pipe gives a non-blocking descriptor to read.
    const fifo = path.join(dir, 'nonblocking.fifo');
    if (spawnSync('mkfifo', [fifo]).status !== 0) {
      console.warn('skipped: mkfifo is not available, so no non-blocking pipe to read');
      return;
    }
    const many = writePcap({ linkType: 1 }, Array.from({ length: 3000 }, (_, i) => ({ sec: i, data: fakePacket(i, 60 + (i % 500)) })));
    expect(many.length).toBeGreaterThan(4 * 65536); // more than the pipe holds at once
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, 'w'); // a writer that has written nothing yet: the first read fails with EAGAIN
    const writeAll = async (): Promise<void> => {
      for (let at = 0; at < many.length; ) at += await new Promise<number>((resolve, reject) => write(writer, many, at, many.length - at, null, (e, n) => (e ? reject(e) : resolve(n))));
      closeSync(writer);
    };
    let writing: Promise<void> | null = null;
    let count = 0;
    const info = await readCaptureDescriptor(reader, 'pipe', () => count++, {}, () => {
      writing = writeAll(); // only now: the reads before this one found the pipe empty
      return new Socket({ fd: reader, readable: true, writable: false });
    });
    expect(writing).not.toBeNull();
    await writing;
    expect(info.records).toBe(3000);
    expect(count).toBe(3000);
  });
});

describe('readCapture errors: one line each', () => {
  it('no such file', async () => {
    const p = path.join(dir, 'missing.pcap');
    await expectCaptureError(readFile(p), `${p}: no such file`);
  });

  it('a directory', async () => {
    const p = path.join(dir, 'sub');
    mkdirSync(p);
    await expectCaptureError(readFile(p), `${p}: is a directory, not a capture file`);
  });

  it('an empty file', async () => {
    const p = file('empty.pcap', '');
    await expectCaptureError(readFile(p), `${p}: empty file`);
  });

  it('an HTML page', async () => {
    const p = file('page.pcap', '<!DOCTYPE html><html></html>');
    await expectCaptureError(
      readFile(p),
      `${p}: not a pcap or pcapng file (starts with 3c 21 44 4f); a web page or XML document, not a capture: did a download save an error or login page instead of the file?`,
    );
  });

  it.each([
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x04, 0, 0]), '28 b5 2f fd', 'zstd-compressed: decompress it first (zstd -d FILE, or zstdcat FILE | conncheck analyze -)'],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4]), 'fd 37 7a 58', 'xz-compressed: decompress it first (xz -d FILE, or xzcat FILE | conncheck analyze -)'],
    ['bzip2', Buffer.from('BZh91AY&SY'), '42 5a 68 39', 'bzip2-compressed: decompress it first (bunzip2 FILE, or bzcat FILE | conncheck analyze -)'],
    ['lz4', Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7]), '04 22 4d 18', 'lz4-compressed: decompress it first (lz4 -d FILE, or lz4cat FILE | conncheck analyze -)'],
    ['zip', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]), '50 4b 03 04', 'a zip archive: unzip it and analyze the capture inside'],
    ['snoop', Buffer.from('snoop\0\0\0\0\0\0\x02\0\0\0\x04'), '73 6e 6f 6f', 'Solaris snoop format: convert it with "editcap -F pcap FILE out.pcap"'],
    ['Network Monitor 2', Buffer.from('GMBU\x00\x02\x01\x00'), '47 4d 42 55', 'Microsoft Network Monitor format: convert it with "editcap -F pcapng FILE out.pcapng"'],
    ["tcpdump's text", Buffer.from('14:02:11.123456 IP 10.0.0.1.5555 > 10.0.0.2.80: Flags [S]'), '31 34 3a 30', 'the text tcpdump or tshark prints, not a capture: capture with "tcpdump -w FILE" (or tshark -w FILE) and analyze that file'],
    ["tshark's text", Buffer.from('    1 0.000000000    10.0.0.1 → 10.0.0.2 TCP'), '20 20 20 20', 'the text tcpdump or tshark prints, not a capture: capture with "tcpdump -w FILE" (or tshark -w FILE) and analyze that file'],
  ])('a %s file: named, with what to do', async (name, bytes, hex, hint) => {
    const p = file(`${name.replace(/\W/g, '-')}.pcap`, bytes);
    await expectCaptureError(readFile(p), `${p}: not a pcap or pcapng file (starts with ${hex}); ${hint}`);
  });

  it('a file shorter than any magic', async () => {
    const p = file('tiny.pcap', Uint8Array.of(0xd4, 0xc3));
    await expectCaptureError(readFile(p), `${p}: not a pcap or pcapng file (starts with d4 c3)`);
  });

  it('a modified-libpcap file', async () => {
    const bytes = Buffer.from(pcap);
    bytes.writeUInt32BE(0x34cdb2a1, 0);
    const p = file('kuznetsov.pcap', bytes);
    await expectCaptureError(
      readFile(p),
      `${p}: not a pcap or pcapng file (starts with 34 cd b2 a1); modified-libpcap format, convert it with "editcap -F pcap"`,
    );
  });

  it('gzip holding something else', async () => {
    const p = file('notes.gz', gzipSync(Buffer.from('hello world')));
    await expectCaptureError(readFile(p), `${p}: not a pcap or pcapng file after gunzip (starts with 68 65 6c 6c)`);
  });

  it('gzip holding nothing', async () => {
    const p = file('nothing.gz', gzipSync(Buffer.alloc(0)));
    await expectCaptureError(readFile(p), `${p}: gzip data holds no capture (empty after decompression)`);
  });

  it('damaged gzip data', async () => {
    const p = file('bad.gz', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
    const err = await readFile(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as Error).message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: gzip data is damaged \\(.+\\)$`));
  });

  it('a pcap header cut short', async () => {
    const p = file('short.pcap', pcap.subarray(0, 12));
    await expectCaptureError(readFile(p), `${p}: pcap file header cut short (12 of 24 bytes)`);
  });
});

describe('readCaptureStream', () => {
  it('reads a stream written in small pieces over time (live capture pipe)', async () => {
    const pipe = new PassThrough();
    const packets: CopiedPacket[] = [];
    const done = readCaptureStream(pipe, 'tcpdump', (p) => packets.push(copyPacket(p)));
    const pieces = splitInto(pcap, [5, 30, 1, 200, 64]);
    for (const piece of pieces) {
      pipe.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
    pipe.end();
    const info = await done;
    expect(info.name).toBe('tcpdump');
    expect(info.records).toBe(20);
    expect(packets.map((p) => p.frame)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('reads string chunks (a stream with an encoding set) as bytes', async () => {
    const pipe = new PassThrough();
    pipe.setEncoding('latin1');
    pipe.end(pcap);
    const info = await readCaptureStream(pipe, 's', () => undefined);
    expect(info.records).toBe(20);
  });

  it('ends normally when the source is destroyed without an error (live capture stopped)', async () => {
    const pipe = new PassThrough();
    let count = 0;
    const done = readCaptureStream(pipe, 'live', () => {
      count++;
    });
    pipe.write(pcap.subarray(0, 24 + 16 + records[0].data.length + 16 + records[1].data.length));
    await new Promise((resolve) => setImmediate(resolve));
    pipe.destroy();
    const info = await done;
    expect(info.records).toBe(2);
    expect(count).toBe(2);
  });

  it('turns a read error into a one-line CaptureError', async () => {
    const failing = new Readable({
      read(): void {
        this.destroy(Object.assign(new Error('device went away'), { code: 'EIO' }));
      },
    });
    await expectCaptureError(readCaptureStream(failing, 'dev', () => undefined), 'dev: cannot read (EIO: device went away)');
  });

  it('passes an exception from the handler through unchanged and stops the stream', async () => {
    const source = Readable.from(splitInto(pcap, [100]).map((c) => Buffer.from(c)));
    const bug = new Error('consumer bug');
    const err = await readCaptureStream(source, 'x', () => {
      throw bug;
    }).catch((e: unknown) => e);
    expect(err).toBe(bug);
    expect(source.destroyed).toBe(true);
  });

  it('stops reading the stream at damage', async () => {
    const bad = writePcap({ linkType: 1 }, [records[0], { sec: 1, data: fakePacket(1, 10), caplenField: 0x7fffffff }, records[1]]);
    const chunks = [bad, ...Array.from({ length: 100 }, () => Buffer.alloc(1000))];
    const source = Readable.from(chunks);
    const info = await readCaptureStream(source, 'x', () => undefined);
    expect(info.records).toBe(1);
    expect(source.destroyed).toBe(true);
  });

  it('rejects a bad firstFrame', async () => {
    await expect(readBytes(pcap, 'x', { firstFrame: 0 })).rejects.toThrow(RangeError);
  });

  it('delivers the same packets for one-byte chunks of a gzip stream', async () => {
    const gz = gzipSync(pcapng);
    const whole = await readChunks([gz], 'g');
    const bytewise = await readChunks(splitInto(gz, [1]), 'g');
    expect(bytewise.packets).toEqual(whole.packets);
    expect(bytewise.info).toEqual(whole.info);
  });
});

describe('a stream that goes quiet (live capture)', () => {
  // Three packets 1 s apart: the last is held after its chunk, in case the next chunk has older ones (jitter-window.ts).
  const three = writePcap({ linkType: 1 }, records.slice(0, 3));

  test.each([
    [50, 3],
    [undefined, 2],
  ])('with releaseHeldAfterMs %p, %i packets are handed on while the stream waits', async (ms, expected) => {
    const stream = new PassThrough();
    const frames: number[] = [];
    const done = readCaptureStream(stream, 'live', (p) => frames.push(p.frame), ms === undefined ? {} : { releaseHeldAfterMs: ms });
    stream.write(three);
    await new Promise((r) => setTimeout(r, 300));
    expect(frames).toHaveLength(expected);
    stream.end();
    await done;
    expect(frames).toEqual([1, 2, 3]);
  });
});
