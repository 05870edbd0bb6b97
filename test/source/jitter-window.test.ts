import { JitterWindow, jitterWarnings } from '../../src/source/jitter-window';
import type { RawPacket } from '../../src/source/raw-packet';
import { ReusedRawPacket } from '../../src/source/reused-raw-packet';

/**
 * The jitter window over synthetic packets laid out in chunks as a reader lays them: each packet's
 * bytes are its frame number, so a packet handed on from the wrong place shows.
 */

interface Out {
  frame: number;
  ts: number;
  firstByte: number;
}

const T = 1_700_000_000;

/** Feeds packets [frame, seconds after T] in file order, `perChunk` to a chunk; the chunk buffer is scribbled over after each. */
function run(packets: Array<[number, number]>, perChunk: number, limits?: { maxSeconds: number; maxPackets: number; maxBytes: number }): { out: Out[]; window: JitterWindow } {
  const out: Out[] = [];
  const window = new JitterWindow((p: RawPacket) => out.push({ frame: p.frame, ts: p.ts, firstByte: p.data[0] }), limits);
  const p = new ReusedRawPacket();
  for (let start = 0; start < packets.length; start += perChunk) {
    const chunk = new Uint8Array(perChunk * 16);
    const view = new DataView(chunk.buffer);
    window.beginChunk(chunk, view);
    p.rebase(chunk, view);
    packets.slice(start, start + perChunk).forEach(([frame, dt], k) => {
      chunk.fill(frame & 0xff, k * 16, k * 16 + 16);
      p.frame = frame;
      p.ts = T + dt;
      p.caplen = 16;
      p.origLen = 16;
      p.linkType = 1;
      p.seek(k * 16);
      window.push(p);
    });
    window.chunkEnd();
    chunk.fill(0xee); // the reader reuses its buffer: a packet held in it would now read 0xee
  }
  window.flush();
  return { out, window };
}

describe('JitterWindow', () => {
  test('a stream in time order comes out as it went in, each packet with its own bytes', () => {
    const packets: Array<[number, number]> = Array.from({ length: 50 }, (_, i) => [i + 1, i * 0.001]);
    const { out, window } = run(packets, 7);
    expect(out.map((o) => o.frame)).toEqual(packets.map(([f]) => f));
    expect(out.every((o) => o.firstByte === o.frame)).toBe(true);
    expect([window.moved, window.late]).toEqual([0, 0]);
    expect(jitterWarnings(window)).toEqual([]);
  });

  test('packets written after later-stamped ones, by less than the bound, are put back in time order, across chunk boundaries too', () => {
    // Frames are file positions; the stamps say 4 came before 3, 10 before 8 and 9, 13 before 11 and 12.
    const stamps = [0, 0.001, 0.0031, 0.003, 0.004, 0.005, 0.006, 0.0072, 0.0073, 0.0071, 0.0082, 0.0083, 0.0081, 0.009];
    const packets: Array<[number, number]> = stamps.map((dt, i) => [i + 1, dt]);
    for (const perChunk of [1, 2, 3, 5, 14]) {
      const { out, window } = run(packets, perChunk);
      expect(out.map((o) => o.frame)).toEqual([1, 2, 4, 3, 5, 6, 7, 10, 8, 9, 13, 11, 12, 14]);
      expect(out.every((o) => o.firstByte === o.frame)).toBe(true);
      // Handed on behind a later frame: 3, 8, 9, 11 and 12.
      expect([window.moved, window.late]).toEqual([5, 0]);
    }
  });

  test('a step back further than the bound is a clock step: file order, nothing late', () => {
    const packets: Array<[number, number]> = [[1, 10], [2, 10.001], [3, 0], [4, 0.001], [5, 10.002]];
    const { out, window } = run(packets, 2);
    expect(out.map((o) => o.frame)).toEqual([1, 2, 3, 4, 5]);
    expect([window.moved, window.late]).toEqual([0, 0]);
  });

  test('holds at most maxPackets: past it the oldest goes, and a packet older than one handed on is late', () => {
    const packets: Array<[number, number]> = [[1, 0.0001], [2, 0.0002], [3, 0.0003], [4, 0.0004], [5, 0.00005]];
    const { out, window } = run(packets, 5, { maxSeconds: 0.005, maxPackets: 2, maxBytes: 1 << 20 });
    expect(out.map((o) => o.frame)).toEqual([1, 2, 5, 3, 4]);
    expect(window.late).toBe(1);
    expect(jitterWarnings(window)).toContain('1 packet(s) still out of time order after the 5 ms window');
  });
});
