/**
 * Progress on stderr: nothing for short reads, a line redrawn in place with percentage, rate and
 * ETA for long ones, cleared at the end; and nothing at all when stderr is not a terminal.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles, ReadProgress } from '../../src/analyze';
import { ProgressDisplay } from '../../src/report/progress';
import { samplePath } from './report-golden';

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const at = (index: number, bytesRead: number, packets: number): ReadProgress => ({ input: 'x', index, bytesRead, packets });

describe('ProgressDisplay', () => {
  test('silent during the first second, then throttled redraws, cleared when done', () => {
    const clock = fakeClock();
    const written: string[] = [];
    const p = new ProgressDisplay([4_000_000], (s) => written.push(s), { now: clock.now });
    clock.advance(500);
    p.update(at(0, 100_000, 1000));
    expect(written).toEqual([]);
    clock.advance(1500); // 2 s in: half the file
    p.update(at(0, 2_000_000, 50_000));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\rconncheck: reading 50% · 1953\.1 KiB of 3906\.3 KiB · 25,000 packets\/s · ETA 2 s\u001b\[K$/);
    clock.advance(100); // too soon for another redraw
    p.update(at(0, 2_100_000, 51_000));
    expect(written).toHaveLength(1);
    p.done();
    expect(written[written.length - 1]).toBe('\r\u001b[K');
  });

  test('several files: position over all of them, read one after the other or merged; unknown size: no percentage', () => {
    const p = new ProgressDisplay([1000, 3000], () => undefined);
    p.note(at(0, 1000, 5));
    p.note(at(1, 1000, 10));
    expect(p.line(at(1, 1000, 10), 1)).toMatch(/reading 50% · 2000 B of 4000 B · 10 packets\/s · ETA 1 s · file 2 of 2/);
    // Files merged by time are read together: what each has read counts.
    const merged = new ProgressDisplay([1000, 3000], () => undefined);
    merged.note(at(1, 1500, 10));
    merged.note(at(0, 500, 20));
    expect(merged.line(at(0, 500, 20), 1)).toMatch(/reading 50% · 2000 B of 4000 B · 20 packets\/s · ETA 1 s · file 1 of 2/);
    const stdin = new ProgressDisplay([null], () => undefined);
    expect(stdin.line(at(0, 5000, 20), 2)).toBe('conncheck: reading 5000 B · 10 packets/s');
  });

  test('done() writes nothing when nothing was drawn', () => {
    const written: string[] = [];
    const p = new ProgressDisplay([10], (s) => written.push(s));
    p.update(at(0, 10, 1));
    p.done();
    expect(written).toEqual([]);
  });
});

describe('progress from the pipeline', () => {
  test('analyzeFiles reports bytes read up to the file size, and packets', async () => {
    const file = samplePath('zero-window-stall');
    const seen: ReadProgress[] = [];
    const result = await analyzeFiles([file, file], { onProgress: (p) => seen.push({ ...p }) });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    const size = fs.statSync(file).size;
    const last = (i: number): ReadProgress | undefined => seen.filter((p) => p.index === i).pop();
    expect(last(0)?.bytesRead).toBe(size);
    expect(last(1)?.bytesRead).toBe(size);
    expect(last(1)?.packets).toBeLessThanOrEqual(result.stats.packets);
  });

  const BIN = path.resolve(__dirname, '../../bin/conncheck');
  const built = fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js'));
  (built ? test : test.skip)('stderr that is not a terminal gets no progress', () => {
    const r = spawnSync(process.execPath, [BIN, 'analyze', samplePath('keepalive-race-crossing'), '--format', 'json'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
  });
});
