import { clusterByDelay } from '../../src/detect/proxy-legs';

const options = { fraction: 0.02, absolute: 0.02, minSamples: 2 };

/** A wait of `delay` seconds that ended at `end`. */
const wait = (delay: number, end: number): { delay: number; end: number } => ({ delay, end });
const endOf = (w: { end: number }): number => w.end;

describe('clusterByDelay', () => {
  test('a late timer: waits up to 10 % after the shortest join its group, farther ones do not', () => {
    const { groups, rest } = clusterByDelay([wait(3.01, 10), wait(3.012, 20), wait(3.24, 30), wait(3.6, 40)], options);
    expect(groups).toHaveLength(1);
    expect(groups[0].members.map((m) => m.delay)).toEqual([3.01, 3.012, 3.24]);
    expect(groups[0].value.value).toBe(3.01);
    expect(rest.map((m) => m.delay)).toEqual([3.6]);
  });

  test('a ticked timer: older waits that ended at the same moment as a member join it, up to a tick older', () => {
    // Three requests 0.3 s apart ended by one check, beside two that agree (gateway-timeout-lighttpd's shape).
    const items = [wait(5.006, 100), wait(5.0065, 110), wait(5.006, 50), wait(5.309, 50.001), wait(5.612, 50.002)];
    const { groups, rest } = clusterByDelay(items, options, endOf);
    expect(groups).toHaveLength(1);
    expect(groups[0].members.map((m) => m.delay).sort()).toEqual([5.006, 5.006, 5.0065, 5.309, 5.612]);
    expect(groups[0].value).toEqual({ value: 5.006, samples: 5, spread: expect.closeTo(0.606, 6) });
    expect(rest).toEqual([]);
  });

  test('without the moment they ended, or ended at other moments, older waits beyond 10 % stay apart', () => {
    const together = [wait(5.006, 100), wait(5.0065, 110), wait(5.006, 50), wait(5.612, 50.002)];
    expect(clusterByDelay(together, options).rest.map((m) => m.delay)).toEqual([5.612]);
    const apart = [wait(5.006, 100), wait(5.0065, 110), wait(5.612, 70)];
    expect(clusterByDelay(apart, options, endOf).rest.map((m) => m.delay)).toEqual([5.612]);
  });

  test('a wait more than a tick older than the group, though it ended at the same moment, is not the same timer', () => {
    const items = [wait(5.006, 100), wait(5.0065, 50), wait(6.2, 50.001)];
    const { groups, rest } = clusterByDelay(items, options, endOf);
    expect(groups[0].members.map((m) => m.delay)).toEqual([5.006, 5.0065]);
    expect(rest.map((m) => m.delay)).toEqual([6.2]);
  });

  test('two groups of two timers stay two when one end of each falls together by chance; a tick ends most of them together', () => {
    // Two clients, 1.5 s and 2.0 s, four requests each, running at once: one of the 2.0 s waits ends 20 ms from a 1.5 s one (49.6 ms in the recording).
    const short = [wait(1.502, 10), wait(1.503, 20), wait(1.502, 30), wait(1.503, 40)];
    const long = [wait(1.997, 10.02), wait(1.996, 25), wait(1.997, 35), wait(1.997, 45)];
    const { groups } = clusterByDelay([...short, ...long], options, endOf);
    expect(groups.map((g) => g.members.length)).toEqual([4, 4]);
    // Three of the four ended with the shorter group's waits: one timer checked on a tick.
    const ticked = [wait(1.997, 10.001), wait(1.996, 20.002), wait(1.997, 30.001), wait(1.997, 45)];
    expect(clusterByDelay([...short, ...ticked], options, endOf).groups.map((g) => g.members.length)).toEqual([8]);
  });
});
