import { inferTimeout, tickedSpread } from '../../src/detect/infer-timeout';

const options = { fraction: 0.02, absolute: 0.05, minSamples: 2 };

/** `n` closes spread evenly from `lo` over `span` seconds. */
const even = (n: number, lo: number, span: number): number[] => Array.from({ length: n }, (_, i) => lo + (span * i) / (n - 1));

function ticked(closes: number[]): ReturnType<typeof tickedSpread> {
  return tickedSpread(closes, inferTimeout(closes, options)!);
}

describe('tickedSpread: idle closes spread over a periodic check', () => {
  test('a second-long tick (lighttpd): the shortest close and the whole range', () => {
    expect(ticked(even(15, 5.02, 0.81))).toEqual({ count: 15, lo: 5.02, hi: expect.closeTo(5.83, 6) });
  });

  test('a 100 ms tick (the JDK HttpServer clockTick): wider than the densest window, a fifth of the closes outside it', () => {
    const t = ticked(even(49, 1.993, 0.092));
    expect(t).not.toBeNull();
    expect(t!.lo).toBe(1.993);
    expect(t!.count).toBe(49);
  });

  test('one timer with jitter: every close within the window, or a couple of late ones, is no tick', () => {
    expect(ticked(even(40, 2.0, 0.004))).toBeNull();
    expect(ticked([...even(40, 2.0, 0.004), 2.07, 2.09])).toBeNull();
  });
});
