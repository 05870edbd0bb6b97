import { closeGrid, heldBelowCluster, inClientShutdown, inCloseBurst, inferTimeout, settleIdleIntervals, tickedSpread } from '../../src/detect/infer-timeout';
import { saferClientIdleTimeout } from '../../src/detect/detectors/keepalive-race';

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

  test('an exact timer whose process stalled twice (Go\'s IdleTimeout 1.7 s: 31 closes within 7 ms, two at 2.075 and 2.617 s) is no tick', () => {
    const closes = [...even(31, 1.7, 0.007), 2.075, 2.617];
    const times = closes.map((_, i) => 3.37 * i + 0.123 * (i % 7));
    expect(ticked(closes)).toBeNull();
    expect(tickedSpread(closes, inferTimeout(closes, options)!, times)).toBeNull();
  });

  test('a tight cluster with earlier closes (slapd: 2.49, 2.62, then 2.97-3.0 s), or every close on one grid of the clock (memcached\'s whole-second passes), is a tick', () => {
    const slapd = [2.489, 2.616, 2.967, 2.969, 2.971, 2.991, 2.994, 2.994, 2.996, 2.998];
    expect(ticked(slapd)).toMatchObject({ count: 10, lo: 2.489 });
    const memcached = [2.98, 2.981, 2.991, 2.994, 2.994, 2.995, 2.996, 2.997, 2.997, 2.998, 2.999, 3.978, 3.982];
    const onSeconds = memcached.map((_, i) => 100 + 2 * i + 0.1 + 0.0005 * (i % 3));
    expect(tickedSpread(memcached, inferTimeout(memcached, options)!, onSeconds)).toMatchObject({ count: 13, lo: 2.98 });
    const offGrid = memcached.map((_, i) => 100 + 2.37 * i + 0.211 * (i % 5));
    expect(tickedSpread(memcached, inferTimeout(memcached, options)!, offGrid)).toBeNull();
  });
});

describe('tickedSpread: an idle close below the closes that agree (a timer fires late, never early)', () => {
  const tolerance = { fraction: 0.02, absolute: 0.05 };
  /** Each close's time since its request: its idle plus a quick answer. */
  const quick = (closes: number[]): number[] => closes.map((c) => c + 0.002);

  test('waitress (blind round 17, s09: channel_timeout 2 s checked every cleanup_interval 1 s): 2.071 s below two at 2.571-2.586 s bounds the timer', () => {
    const closes = [2.586, 2.571, 2.071];
    const cluster = inferTimeout(closes, { ...tolerance, minSamples: 1 })!;
    expect(cluster).toMatchObject({ samples: 2, value: 2.5785 });
    expect(tickedSpread(closes, cluster, [10.1, 20.3, 30.9], quick(closes), tolerance)).toEqual({ count: 3, lo: 2.071, hi: 2.586 });
    // Without the tolerance and the requests' times (callers that cannot tell a late response's close), the old rule: two closes about the cluster at least.
    expect(tickedSpread(closes, cluster)).toBeNull();
  });

  test('a close below a tight cluster by more than the tolerance, though less than a quarter second, bounds it too', () => {
    const closes = [5.0, 5.001, 5.002, 5.003, 5.004, 4.85];
    const cluster = inferTimeout(closes, { ...tolerance, minSamples: 1 })!;
    expect(tickedSpread(closes, cluster, undefined, quick(closes), tolerance)).toMatchObject({ count: 6, lo: 4.85 });
  });

  test('near misses: a close below within the tolerance, one beyond a tick\'s reach (no close of this timer), a late response\'s close, late closes only', () => {
    const within = [5.0, 5.001, 5.002, 5.003, 5.004, 4.93];
    expect(tickedSpread(within, inferTimeout(within, { ...tolerance, minSamples: 1 })!, undefined, quick(within), tolerance)).toBeNull();
    const far = [5.0, 5.001, 5.002, 5.003, 5.004, 0.5];
    expect(tickedSpread(far, inferTimeout(far, { ...tolerance, minSamples: 1 })!, undefined, quick(far), tolerance)).toBeNull();
    // The 2.071 s close 2.622 s after its request, as the others after theirs: its response left late (heldBelowCluster).
    const held = [2.586, 2.571, 2.071];
    expect(tickedSpread(held, inferTimeout(held, { ...tolerance, minSamples: 1 })!, undefined, [2.588, 2.573, 2.622], tolerance)).toBeNull();
    const late = [2.0, 2.001, 2.002, 2.6];
    expect(tickedSpread(late, inferTimeout(late, { ...tolerance, minSamples: 1 })!, undefined, quick(late), tolerance)).toBeNull();
  });
});

describe('heldBelowCluster: closes a late response made look early', () => {
  // Blind round 16, chains S19: nginx keepalive_timeout 1 s behind a queue on its uplink that held
  // some packets up to 0.8 s. Ten closes 1.000-1.008 s after the response's last byte on the wire,
  // two 0.262 and 0.748 s after it: their responses left 0.75 and 0.26 s late, and both closes came
  // 1.11 s after their requests, as the others came 1.10 s after theirs.
  const closes = [0.262, 1.0, 0.748, 1.001, 1.002, 1.001, 1.004, 1.008, 1.0, 1.003, 1.002, 1.005];
  const times = closes.map((_, i) => 87.4 + 1.37 * i + 0.113 * (i % 5));
  const afterRequest = [1.111, 1.101, 1.108, 1.101, 1.102, 1.105, 1.105, 1.108, 1.1, 1.103, 1.102, 3.101];

  test('a tight cluster with two early closes whose responses left late: one exact timer, no tick', () => {
    const cluster = inferTimeout(closes, options)!;
    expect(cluster.value).toBeCloseTo(1.002, 3);
    expect(heldBelowCluster(closes, cluster, afterRequest)).toEqual([true, false, true, false, false, false, false, false, false, false, false, false]);
    expect(tickedSpread(closes, cluster, times, afterRequest)).toBeNull();
    expect(tickedSpread(closes, cluster, times, afterRequest, { fraction: 0.02, absolute: 0.05 })).toBeNull();
    // Without what the requests tell, the two early closes still spread it as a tick's (the shortest is kept).
    expect(tickedSpread(closes, cluster, times)).toMatchObject({ count: 12, lo: 0.262 });
  });

  test('a real second timer stays two: closes soon after their quick responses are no late response', () => {
    const cluster = inferTimeout(closes, options)!;
    const quick = closes.map((c) => c + 0.1);
    expect(heldBelowCluster(closes, cluster, quick).some((h) => h)).toBe(false);
    expect(tickedSpread(closes, cluster, times, quick)).toMatchObject({ count: 12, lo: 0.262 });
  });

  test('a tick (lighttpd\'s once a second) stays a tick whatever the requests tell: its closes below the densest window came soon after their requests', () => {
    const lighttpd = even(15, 5.02, 0.81);
    const cluster = inferTimeout(lighttpd, options)!;
    const afterItsRequest = lighttpd.map((c, i) => c + 0.02 + 0.3 * (i % 3));
    expect(tickedSpread(lighttpd, cluster, undefined, afterItsRequest)).toMatchObject({ count: 15, lo: 5.02 });
  });
});

describe('inCloseBurst: idle closes at one moment that no timer explains', () => {
  test('a reload closing every idle connection at once, idle 0.11-0.47 s, is a burst; lighttpd\'s tick closing three idle 5.0-5.8 s is not', () => {
    const reload = inCloseBurst([0.11, 0.133, 0.141, 0.468, 2.0], [10.0, 10.0001, 10.0001, 10.0001, 20]);
    expect(reload).toEqual([true, true, true, true, false]);
    expect(inCloseBurst([5.02, 5.4, 5.83], [30, 30.001, 30.002])).toEqual([false, false, false]);
  });

  test('closes at one moment of alike ages are a burst when the server kept connections idle longer (keptLonger), not otherwise', () => {
    const ages = [0.08, 0.095, 0.1, 0.11, 0.12];
    const times = [5, 5.0001, 5.0001, 5.0002, 5.0002];
    expect(inCloseBurst(ages, times)).toEqual([false, false, false, false, false]);
    expect(inCloseBurst(ages, times, 0.13)).toEqual([true, true, true, true, true]);
    // Kept longer than some of them only: a timer may have closed the oldest.
    expect(inCloseBurst(ages, times, 0.115)).toEqual([false, false, false, false, false]);
  });

  test('two closes at one moment, or closes apart in time, are no burst', () => {
    expect(inCloseBurst([0.1, 0.5], [1, 1])).toEqual([false, false]);
    expect(inCloseBurst([0.1, 0.5, 0.9], [1, 2, 3])).toEqual([false, false, false]);
  });
});

describe('saferClientIdleTimeout', () => {
  test('below the server: tenths of a second, milliseconds for a sub-second timeout, never zero', () => {
    expect(saferClientIdleTimeout(5)).toBe(4);
    expect(saferClientIdleTimeout(2)).toBe(1);
    expect(saferClientIdleTimeout(1.302)).toBe(0.7);
    expect(saferClientIdleTimeout(0.4)).toBe(0.2);
    expect(saferClientIdleTimeout(0.11, { count: 15, lo: 0.11, hi: 0.468 })).toBe(0.028);
    expect(saferClientIdleTimeout(0.001)).toBeGreaterThan(0);
  });
});

describe('closeGrid: idle closes that all fall on one grid of the clock (a server checking its idle connections on a tick)', () => {
  // The JDK's com.sun.net.httpserver (idleInterval 13 s, clockTick 10 s): closes only at its checks, 10 s apart from its start at 0.6 s.
  const ticks = [20.6, 50.6, 80.6, 110.6, 140.6, 170.6].map((t, i) => t + i * 0.0013);

  test('closes 30 s apart on a 10 s tick fit 30 s, 15 s and 10 s: the longest no longer than the shortest age (17.9 s) is taken', () => {
    expect(closeGrid(ticks, 1.916, 17.939)).toBe(15);
    expect(closeGrid(ticks, 1.916, 40)).toBe(30);
  });

  test('closes at ticks 10 s apart in no longer pattern: 10 s', () => {
    expect(closeGrid([20.6, 30.6, 50.601, 60.6, 90.602], 1.9, 17)).toBe(10);
  });

  test('closes at random moments fit no grid; fewer than four say nothing; a tick shorter than the spread of ages is none', () => {
    expect(closeGrid([20.61, 33.27, 51.93, 64.4, 80.05], 1.9, 17)).toBeNull();
    expect(closeGrid([20.6, 50.6, 80.6], 1.9, 17)).toBeNull();
    expect(closeGrid([20.6, 21.6, 22.6, 23.6], 1.5, 17)).toBeNull();
  });

  test('tickedSpread carries the grid when it is given the closes\' times', () => {
    const gaps = [17.939, 18.2, 18.9, 19.1, 19.5, 19.855];
    const inferred = { value: 17.94, samples: 1, spread: 0 };
    expect(tickedSpread(gaps, inferred, ticks)?.period).toBe(15);
    expect(tickedSpread(gaps, inferred)?.period).toBeUndefined();
  });
});

describe('settleIdleIntervals: a close idle somewhere between the response\'s last byte and its first', () => {
  const tolerance = { fraction: 0.02, absolute: 0.05 };

  test('a close after a body that drained for 0.6 s supports the timer the other closes agree on (Apache\'s 4 s), instead of spreading it', () => {
    const shortest = [4.001, 4.0, 4.003, 3.375, 4.001, 3.65, 4.004];
    const longest = [4.001, 4.0, 4.003, 4.001, 4.001, 4.05, 4.004];
    const settled = settleIdleIntervals(shortest, longest, tolerance);
    expect(settled[3]).toBeCloseTo(4.001, 3);
    expect(settled[5]).toBeCloseTo(4.001, 3);
    expect(settled.filter((_, i) => i !== 3 && i !== 5)).toEqual(shortest.filter((_, i) => i !== 3 && i !== 5));
    const timer = inferTimeout(settled, { ...tolerance, minSamples: 3 })!;
    expect(timer.samples).toBe(7);
    expect(timer.spread).toBeLessThan(0.005);
    expect(tickedSpread(settled, timer)).toBeNull();
  });

  test('a range that misses the agreed timer keeps its shortest idle; without points, every close keeps it', () => {
    expect(settleIdleIntervals([6.3, 6.3, 6.301, 2.0], [6.3, 6.3, 6.301, 3.0], tolerance)).toEqual([6.3, 6.3, 6.301, 2.0]);
    expect(settleIdleIntervals([3.3, 3.5], [4.0, 4.2], tolerance)).toEqual([3.3, 3.5]);
  });
});

describe('inClientShutdown: one client host closing its idle connections at once', () => {
  const tolerance = { fraction: 0.02, absolute: 0.05 };

  test("Node's agent.destroy() at exit: closes within a few ms whose idle ages disagree are a shutdown; alike ages, or other hosts' closes, are not", () => {
    const ages = [3.328, 3.336, 2.41, 2.412, 2.416, 2.423, 1.928, 1.838];
    const times = [610.548, 610.548, 610.549, 610.551, 610.555, 610.562, 610.571, 610.58];
    expect(inClientShutdown(ages, times, ages.map(() => 'a'), tolerance)).toEqual(ages.map(() => true));
    // The same ages from hosts each closing only one or two at that moment.
    expect(inClientShutdown(ages, times, ages.map((_, i) => `h${i % 4}`), tolerance)).toEqual(ages.map(() => false));
    // Alike ages at one moment: a timer may have closed connections last used together.
    expect(inClientShutdown([2.41, 2.412, 2.416, 2.423], [5, 5.001, 5.003, 5.004], ['a', 'a', 'a', 'a'], tolerance)).toEqual([false, false, false, false]);
    // Disagreeing ages spread over time: no moment.
    expect(inClientShutdown([3.3, 2.4, 1.9], [5, 6, 7], ['a', 'a', 'a'], tolerance)).toEqual([false, false, false]);
  });
});
