import type { RawPacket } from '../../src/source/raw-packet';
import { ReorderWindow } from '../../src/source/reorder-window';
import { ReusedRawPacket } from '../../src/source/reused-raw-packet';
import { fakePacket, ngTime, writePcapng, type PcapngBlock } from '../helpers/pcap-writer';
import { copyPacket, readBytes, type CopiedPacket } from './collect';

/** Push (frame, ts) packets through one reused RawPacket, as a reader does. */
function run(input: Array<[number, number]>, limits = { maxPackets: 4096, maxSeconds: 2 }): { out: CopiedPacket[]; window: ReorderWindow } {
  const out: CopiedPacket[] = [];
  const window = new ReorderWindow((p: RawPacket) => out.push(copyPacket(p)), limits);
  const shared = new ReusedRawPacket();
  const buffer = new Uint8Array(2000);
  for (const [frame, ts] of input) {
    const bytes = fakePacket(frame, 20 + (frame % 50));
    buffer.fill(0xee);
    buffer.set(bytes, 100);
    shared.frame = frame;
    shared.ts = ts;
    shared.caplen = bytes.length;
    shared.origLen = bytes.length + 5;
    shared.linkType = 1;
    shared.point(buffer, 100);
    window.push(shared);
  }
  window.flush();
  return { out, window };
}

describe('reorder window', () => {
  it('emits in timestamp order, keeps frame numbers, and copies the bytes it holds', () => {
    const { out, window } = run([[1, 10.0], [2, 10.5], [3, 10.2], [4, 10.1], [5, 11.0]]);
    expect(out.map((p) => [p.frame, p.ts])).toEqual([[1, 10.0], [4, 10.1], [3, 10.2], [2, 10.5], [5, 11.0]]);
    for (const p of out) {
      expect(Buffer.compare(p.data, Buffer.from(fakePacket(p.frame, 20 + (p.frame % 50))))).toBe(0);
      expect(p.origLen).toBe(p.caplen + 5);
    }
    expect(window.late).toBe(0);
    expect(window.moved).toBe(2);
  });

  it('breaks timestamp ties by frame number', () => {
    const { out } = run([[1, 5], [2, 5], [3, 4], [4, 5]]);
    expect(out.map((p) => p.frame)).toEqual([3, 1, 2, 4]);
  });

  it('holds at most maxPackets', () => {
    const held: number[] = [];
    const window = new ReorderWindow(() => held.push(window.held), { maxPackets: 3, maxSeconds: 1000 });
    const p = new ReusedRawPacket();
    p.point(new Uint8Array(10), 0);
    for (let i = 1; i <= 10; i++) {
      p.frame = i;
      p.ts = 100 - i; // reversed: the worst case
      window.push(p);
    }
    expect(held.length).toBe(7);
    expect(Math.max(...held)).toBeLessThanOrEqual(3);
    window.flush();
    expect(held.length).toBe(10);
  });

  it('holds at most maxSeconds of capture time, and counts packets that arrive too late', () => {
    // Frame 3 pushes frame 1 (3 s older) out; frame 2 (2 s older) stays. Frame 4 fits
    // before frame 2 but not before frame 1, which is already gone: it is late.
    const { out, window } = run([[1, 100], [2, 101], [3, 103], [4, 99.5], [5, 103.1]], { maxPackets: 100, maxSeconds: 2 });
    expect(out.map((p) => p.frame)).toEqual([1, 4, 2, 3, 5]);
    expect(window.late).toBe(1);
  });
});

describe('pcapng reader with several interfaces', () => {
  const US = 1_000_000n;
  const T0 = 1_700_000_000;
  // dumpcap style: interface 0's batch, then interface 1's batch covering the same time.
  const blocks: PcapngBlock[] = [
    { type: 'shb' },
    { type: 'idb', linkType: 1, tsresol: 9 },
    { type: 'idb', linkType: 113 },
    { type: 'epb', interfaceId: 0, timestamp: ngTime(T0, 100_000_000, 1_000_000_000n), data: fakePacket(1, 60) },
    { type: 'epb', interfaceId: 0, timestamp: ngTime(T0, 300_000_000, 1_000_000_000n), data: fakePacket(2, 60) },
    { type: 'epb', interfaceId: 1, timestamp: ngTime(T0, 200_000, US), data: fakePacket(3, 70) },
    { type: 'epb', interfaceId: 1, timestamp: ngTime(T0, 400_000, US), data: fakePacket(4, 70) },
  ];
  const bytes = writePcapng(blocks);

  it('delivers packets in timestamp order with their file frame numbers', async () => {
    const { info, packets } = await readBytes(bytes, 'multi.pcapng');
    expect(packets.map((p) => [p.frame, p.linkType])).toEqual([[1, 1], [3, 113], [2, 1], [4, 113]]);
    expect(Buffer.compare(packets[1].data, Buffer.from(fakePacket(3, 70)))).toBe(0);
    expect(info.records).toBe(4);
    expect(info.linkTypes).toEqual([1, 113]);
    expect(info.tsResolution).toEqual(['ns', 'us']);
    expect(info.warnings).toEqual([]);
  });

  it('warns about packets older than the window could fix', async () => {
    const late = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1 },
      { type: 'idb', linkType: 1 },
      { type: 'epb', interfaceId: 0, timestamp: ngTime(T0, 0, US), data: fakePacket(1, 60) },
      { type: 'epb', interfaceId: 0, timestamp: ngTime(T0 + 5, 0, US), data: fakePacket(2, 60) },
      { type: 'epb', interfaceId: 1, timestamp: ngTime(T0 + 1, 0, US), data: fakePacket(3, 60) },
      { type: 'epb', interfaceId: 1, timestamp: ngTime(T0 + 6, 0, US), data: fakePacket(4, 60) },
    ]);
    const { info, packets } = await readBytes(late);
    // Frame 3 is 4 s behind the newest packet, so it leaves at once, yet still after frame 1: in order.
    expect(packets.map((p) => p.frame)).toEqual([1, 3, 2, 4]);
    expect(info.warnings).toEqual([]);
    // Here frame 3 is older than frame 1, which the window already emitted: late.
    const tooLate = writePcapng([
      { type: 'shb' },
      { type: 'idb', linkType: 1 },
      { type: 'idb', linkType: 1 },
      { type: 'epb', interfaceId: 0, timestamp: ngTime(T0 + 1, 0, US), data: fakePacket(1, 60) },
      { type: 'epb', interfaceId: 0, timestamp: ngTime(T0 + 5, 0, US), data: fakePacket(2, 60) },
      { type: 'epb', interfaceId: 1, timestamp: ngTime(T0, 0, US), data: fakePacket(3, 60) },
    ]);
    const second = await readBytes(tooLate);
    expect(second.packets.map((p) => p.frame)).toEqual([1, 3, 2]);
    expect(second.info.warnings).toEqual(['1 packet(s) still out of time order after the reorder window']);
  });

  it('keeps file order when reordering is turned off', async () => {
    const { packets } = await readBytes(bytes, 'multi.pcapng', { reorder: false });
    expect(packets.map((p) => p.frame)).toEqual([1, 2, 3, 4]);
  });

  it('puts a single-interface capture back in time order within 2 ms (jitter-window.ts), and keeps file order past that', async () => {
    /** One interface, two packets stamped these microseconds after T0, in this file order. */
    const oneInterface = (first: number, second: number): Uint8Array =>
      writePcapng([
        { type: 'shb' },
        { type: 'idb', linkType: 1 },
        ...[first, second].map((us, i) => ({ type: 'epb' as const, interfaceId: 0, timestamp: ngTime(T0, us, US), data: fakePacket(i + 1, 60) })),
      ]);
    const jitter = await readBytes(oneInterface(5, 1));
    expect(jitter.packets.map((p) => p.frame)).toEqual([2, 1]);
    expect(jitter.info.warnings).toEqual([]);
    expect(jitter.info.notes).toEqual([
      "1 packet(s) written to the file after packets stamped later (by at most 2 ms, as packets stamped on different CPU cores are) were analyzed in time order; frame numbers are the file's",
    ]);
    // Further back than jitter: a clock step, kept in file order, and said (times across it are wrong).
    const step = await readBytes(oneInterface(2_000_000, 1));
    expect(step.packets.map((p) => p.frame)).toEqual([1, 2]);
    expect(step.info.warnings).toEqual([
      'the capture clock went back 2 s at frame 2: a clock step, or captures joined end to end (mergecap -a, cat); the packets around it ' +
        'are analyzed in file order and times measured across it are wrong (merge by time: mergecap without -a, or give conncheck the files themselves)',
    ]);
    const small = await readBytes(oneInterface(50_000, 1));
    expect(small.info.warnings).toEqual([expect.stringMatching(/^the capture clock went back 50 ms at frame 2: /)]);
  });
});
