import { ms } from './facts';
import type { InferredValue } from './finding';

/**
 * Finds the tightest large cluster among measured delays: many failures after the same delay
 * reveal a configured timeout. Samples agree when they lie within
 * max(fraction × value, absolute) of each other (timers fire late by scheduling jitter, never early).
 * Returns null when fewer than `minSamples` agree.
 */
export function inferTimeout(
  samples: readonly number[],
  options: { fraction: number; absolute: number; minSamples: number },
): InferredValue | null {
  return inferTimeoutRange(samples, options)?.inferred ?? null;
}

/**
 * inferTimeout, with the range its cluster spans: the samples from `lo` to `hi` (both included)
 * are the cluster's, and no others.
 */
export function inferTimeoutRange(
  samples: readonly number[],
  options: { fraction: number; absolute: number; minSamples: number },
): { inferred: InferredValue; lo: number; hi: number } | null {
  const values = samples.filter((v) => Number.isFinite(v) && v >= 0).sort((a, b) => a - b);
  let best: { from: number; to: number } | null = null;
  let from = 0;
  for (let to = 0; to < values.length; to++) {
    while (values[to] - values[from] > Math.max(options.fraction * values[to], options.absolute)) from++;
    const size = to - from + 1;
    const bestSize = best ? best.to - best.from + 1 : 0;
    if (size > bestSize || (best && size === bestSize && values[to] - values[from] < values[best.to] - values[best.from])) {
      best = { from, to };
    }
  }
  if (!best || best.to - best.from + 1 < options.minSamples) return null;
  const cluster = values.slice(best.from, best.to + 1);
  const lo = cluster[0];
  const hi = cluster[cluster.length - 1];
  return { inferred: { value: median(cluster), samples: cluster.length, spread: hi - lo }, lo, hi };
}

/**
 * Each idle close's idle time, settled within what the capture can tell of it. A server's idle timer
 * starts when its application finishes writing the response, not when the last byte leaves: the
 * socket's send buffer takes a body at once and drains it to the client at the client's pace, so
 * the last write came anywhere between the response's first byte on the wire and its last. A close
 * is then idle somewhere in [shortest, longest] (close − response end, close − response start); the
 * two are one point for a response that fit a few segments. The closes that are such points (within
 * the inference's tolerance) say where the timer is (their densest cluster); a wide close whose
 * range holds that value supports it and is taken at it (the point of its range nearest the value),
 * instead of spreading the closes below it (Apache's 4 s: a 150 KB body drained to a busy client
 * for 0.625 s, closed 3.375 s after its last byte, 4.001 s after its first). A close whose range
 * misses the value keeps its shortest idle, as does every close when none is a point.
 */
export function settleIdleIntervals(
  shortest: readonly number[],
  longest: readonly number[],
  options: { fraction: number; absolute: number },
): number[] {
  const tolerance = (v: number): number => Math.max(options.fraction * v, options.absolute);
  const widthOf = (i: number): number => (longest[i] ?? shortest[i]) - shortest[i];
  const points: number[] = [];
  let wide = 0;
  for (let i = 0; i < shortest.length; i++) {
    if (!(widthOf(i) > tolerance(shortest[i]))) points.push(shortest[i]);
    else wide++;
  }
  if (wide === 0 || points.length === 0) return [...shortest];
  const agreed = inferTimeout(points, { ...options, minSamples: 1 });
  if (agreed === null) return [...shortest];
  const timer = agreed.value;
  // Half the tolerance either side: two closes agree within a whole one (inferTimeoutRange).
  const reach = tolerance(timer) / 2;
  return shortest.map((lo, i) => {
    const hi = longest[i] ?? lo;
    if (!(hi - lo > tolerance(lo)) || timer < lo - reach || timer > hi + reach) return lo;
    return Math.min(Math.max(timer, lo), hi);
  });
}

export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** Idle closes spread around an inferred timeout, as a periodic timer check leaves them (tickedSpread). */
export interface TickedSpread {
  /** Samples within a tick of the inferred value, the cluster's included. */
  count: number;
  lo: number;
  hi: number;
  /**
   * The tick itself, where the closes' capture times all fall on one grid of it (closeGrid): then
   * each close came within a tick after the timeout, which lies between hi − period and lo.
   */
  period?: number;
}

/** Periods (seconds) a server may check its idle timers on; the grid tried is the longest that fits. */
const GRID_PERIODS = [0.5, 1, 2, 5, 10, 15, 20, 30, 60];
/** How close to one phase of the grid every close must be (seconds), and how many closes show it. */
const GRID_TOLERANCE = 0.05;
const GRID_MIN_CLOSES = 4;

/**
 * The longest period P (GRID_PERIODS, from the closes' spread of ages up to the shortest age) on
 * whose grid every close time falls: all at one phase modulo P, within GRID_TOLERANCE. A server
 * that checks idle connections every P s closes them only at its checks (the JDK's
 * com.sun.net.httpserver every `sun.net.httpserver.clockTick`, 10 s by default: six closes
 * 17.9-19.9 s idle for its 13 s `idleInterval`, all within 7 ms of one phase of 10 s). Every
 * divisor of the tick's multiples fits too, and closes that a client's schedule spaced evenly fit
 * a longer grid than the tick's (those six, 30 s): the longest that fits is the safe one to count
 * with, a tick no longer than the timeout itself. Null when none fits.
 */
export function closeGrid(times: readonly number[], spread: number, longest: number): number | null {
  if (times.length < GRID_MIN_CLOSES) return null;
  for (let k = GRID_PERIODS.length - 1; k >= 0; k--) {
    const period = GRID_PERIODS[k];
    if (period < spread || period > longest || period <= 2 * GRID_TOLERANCE) continue;
    if (onGrid(times, period)) return period;
  }
  return null;
}

/** Whether every time in `times` lies at one phase modulo `period`, within GRID_TOLERANCE. */
function onGrid(times: readonly number[], period: number): boolean {
  const phases = times.map((t) => ((t % period) + period) % period).sort((a, b) => a - b);
  // The arc that holds every phase: the period less the widest gap between neighbours (around the circle too).
  let widest = phases[0] + period - phases[phases.length - 1];
  for (let i = 1; i < phases.length; i++) widest = Math.max(widest, phases[i] - phases[i - 1]);
  return period - widest <= GRID_TOLERANCE;
}

/**
 * The share of the closes within a tick that one tight cluster must hold, every other one later than
 * it, for an exact timer with a few late closes rather than a tick: a tick spreads closes over
 * [T, T + tick], roughly evenly unless the clients' own schedule bunches them, while an exact timer
 * closes nearly all at T and only a stall of the server's process (a garbage collection, a busy
 * event loop) delays one (Go's IdleTimeout 1.7 s: 31 of 33 closes within 7 ms, two at 2.075 and
 * 2.617 s, the two at the same instants on two ports of the process).
 */
const EXACT_TIMER_SHARE = 0.8;

/**
 * Whether closes that spread over a tick's range are an exact timer's with late outliers: the
 * cluster (`inferred`) holds EXACT_TIMER_SHARE of the `count` closes within a tick, none of the
 * others came earlier than it (a timer closes nothing before its timeout: slapd's closes 2.49-3.0 s
 * idle, most at 2.97-3.0 s, are a tick's), and the closes' times (when known) fall on no grid of
 * the clock (memcached's passes on whole seconds: 11 of 13 closes at 2.98-3.0 s idle, two at 3.98 s,
 * every one 0.1 s into a second).
 */
function exactWithLateOutliers(inferred: InferredValue, count: number, below: number, times: readonly number[] | null): boolean {
  if (below > 0 || inferred.samples < EXACT_TIMER_SHARE * count) return false;
  if (times === null || times.length < GRID_MIN_CLOSES) return true;
  return !GRID_PERIODS.some((period) => period > 2 * GRID_TOLERANCE && period <= inferred.value && onGrid(times, period));
}

/**
 * Which samples below an inferred value's cluster are that timer's closes seen early, not closes of
 * a shorter timer. A timer never fires early, but the capture sees a close as early when the
 * server's last write left the capture point late: a response that sat in a queue on the server's
 * uplink, a last segment Nagle held for an ACK, a capture far from a busy server. The idle measured
 * from the response's last byte on the wire is then only a lower bound, and can be far below the
 * timer. What bounds it from above is the request: the server cannot have finished writing its
 * answer before it had the request. A close below the cluster that came at least as long after its
 * request's last byte (`sinceRequest[i]`) as the cluster's closes came after theirs (the shortest
 * of them, less the cluster's spread) was idle long enough for the cluster's timer: it was its
 * response, not the timer, that came late (nginx's 1 s behind a queue that held some packets up to
 * 0.8 s: ten closes at 1.000-1.008 s, two at 0.262 and 0.748 s whose responses left 0.75 and 0.26 s
 * later than its others did, both closed 1.11 s after their requests as the others 1.10 s after
 * theirs). A second, shorter timer's closes come soon after their requests too: those stay below.
 * All false without `sinceRequest`.
 */
export function heldBelowCluster(samples: readonly number[], inferred: InferredValue, sinceRequest?: readonly number[]): boolean[] {
  const out = new Array<boolean>(samples.length).fill(false);
  if (sinceRequest === undefined || sinceRequest.length !== samples.length) return out;
  const clusterLo = inferred.value - inferred.spread - 1e-9;
  const clusterHi = inferred.value + inferred.spread + 1e-9;
  // The cluster's own closes after their requests: the shortest is the server's quickest answer plus its timer.
  let shortestAfterRequest = Infinity;
  for (let i = 0; i < samples.length; i++) {
    if (samples[i] < clusterLo || samples[i] > clusterHi || !Number.isFinite(sinceRequest[i])) continue;
    shortestAfterRequest = Math.min(shortestAfterRequest, sinceRequest[i]);
  }
  if (!Number.isFinite(shortestAfterRequest)) return out;
  const needed = Math.max(inferred.value, shortestAfterRequest - inferred.spread);
  for (let i = 0; i < samples.length; i++) {
    if (samples[i] < clusterLo && Number.isFinite(sinceRequest[i]) && sinceRequest[i] >= needed) out[i] = true;
  }
  return out;
}

/**
 * The closes heldBelowCluster finds, as the words a diagnosis adds to the cluster's: how many, how
 * idle the capture saw them and how long after their requests they came; '' when none, or all
 * lie within the inference's tolerance of the timer. Said so
 * that the closes left out of the timeout are accounted for, as what they are: responses that left
 * the server late (a queue on its uplink, Nagle, a distant capture point), not a shorter timer.
 */
export function heldBelowText(
  samples: readonly number[],
  inferred: InferredValue,
  sinceRequest: readonly number[],
  options: { fraction: number; absolute: number },
): string {
  const held = heldBelowCluster(samples, inferred, sinceRequest);
  // Only those the inference's tolerance would not have let agree with the timer: the others tell nothing new.
  const apart = inferred.value - Math.max(options.fraction * inferred.value, options.absolute);
  const idle: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < held.length; i++) {
    if (!held[i] || !(samples[i] < apart)) continue;
    idle.push(samples[i]);
    after.push(sinceRequest[i]);
  }
  if (idle.length === 0) return '';
  const range = (v: number[]): string => {
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    return hi - lo < 0.0005 ? String(ms(lo)) : `${ms(lo)}-${ms(hi)}`;
  };
  const one = idle.length === 1;
  return (
    `; ${one ? 'one close' : `${idle.length} closes`} came ${range(idle)} s after ${one ? "its response's" : "their responses'"} last byte here but ` +
    `${range(after)} s after ${one ? 'its request' : 'their requests'}, as the others came after theirs: ${one ? 'its response' : 'those responses'} left the server late ` +
    '(a queue on its uplink, Nagle, a capture point far from it), which makes a close look early, not a shorter timer'
  );
}

/**
 * How far from an inferred value a periodic check may spread closes: a second (lighttpd and Squid
 * check once a second), or a quarter of the value (waitress checks every `cleanup_interval`, 30 s
 * by default, against `channel_timeout`, 120 s: closes from 120 to 150 s).
 */
const TIMER_TICK = 1.05;
const TIMER_TICK_FRACTION = 0.25;
const TICKED_OUTSIDE_FRACTION = 0.2;

/**
 * The samples around an inferred value when they spread much wider than its cluster: a server that
 * checks its idle timers on a periodic tick (lighttpd, Squid: once a second) closes a connection at
 * the first check after its timeout, anywhere within a tick after it, so the densest cluster is a
 * part of its closes and the shortest close, not the cluster, is what a client must stay below
 * (keepalive-race-lighttpd: 15 idle closes from 5.02 to 5.83 s, the densest 5 within 92 ms, for lighttpd's
 * 5 s; keepalive-race-waitress-php-curl: 50 from 2.006 to 2.887 s, the densest 8 around 2.08 s, for waitress's 2 s).
 * Null when the samples within a tick are the cluster or barely more, or an exact timer's with a few
 * late closes (exactWithLateOutliers).
 */
export function tickedSpread(
  samples: readonly number[],
  inferred: InferredValue,
  times?: readonly number[],
  sinceRequest?: readonly number[],
  tolerance?: { fraction: number; absolute: number },
): TickedSpread | null {
  let count = 0;
  let lo = Infinity;
  let hi = -Infinity;
  const reach = Math.max(TIMER_TICK, TIMER_TICK_FRACTION * inferred.value);
  const within: number[] = [];
  // Closes below the cluster: it holds a stretch of the samples, its median `value` in it, so none lies below value − spread.
  let below = 0;
  // The shortest of those that no late response explains (heldBelowCluster).
  let earliest = Infinity;
  const held = heldBelowCluster(samples, inferred, sinceRequest);
  let heldCount = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (!(Math.abs(v - inferred.value) <= reach)) continue;
    count++;
    if (held[i]) heldCount++;
    else if (v < inferred.value - inferred.spread - 1e-9) {
      below++;
      earliest = Math.min(earliest, v);
    }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (times !== undefined && i < times.length) within.push(times[i]);
  }
  // A timer fires late, never early: an idle close below the cluster, further than the inference's
  // tolerance and not a late response's (held), bounds the timer from above, however few closes
  // lie around it (waitress, channel_timeout 2 s checked every cleanup_interval 1 s: closes at
  // 2.071, 2.571 and 2.586 s, taken for a 2.578 s timer from the two that agree; a client tuned to
  // 2.4 s still raced). Only where the caller gave the tolerance and what the requests tell
  // (sinceRequest), without which a close its late response made look early cannot be told apart.
  const earlier =
    tolerance !== undefined && sinceRequest !== undefined && below > 0 && inferred.value - earliest > Math.max(tolerance.fraction * inferred.value, tolerance.absolute);
  const wide = hi - lo > Math.max(4 * inferred.spread, 0.25);
  const manyOutside = count - inferred.samples >= Math.max(2, TICKED_OUTSIDE_FRACTION * count) && hi - lo > 1.5 * inferred.spread;
  if (!earlier && (count < inferred.samples + 2 || !(wide || manyOutside))) return null;
  const timed = within.length === count ? within : null;
  // Held closes below the cluster are the cluster's timer's (heldBelowCluster): the share the
  // cluster must hold is of the others.
  if (exactWithLateOutliers(inferred, count - heldCount, below, timed)) return null;
  const period = timed !== null ? closeGrid(timed, hi - lo, lo) : null;
  return period === null ? { count, lo, hi } : { count, lo, hi, period };
}

/**
 * Idle closes spread over a timer's tick (tickedSpread, tickChecked) as an inferred timeout: the
 * shortest, its spread the whole range. A timer checked on a tick fires at the first check after
 * the timeout.
 */
export function tickedTimeout(t: TickedSpread): InferredValue {
  return { value: t.lo, samples: t.count, spread: t.hi - t.lo };
}

/**
 * Some timeouts are checked on a periodic tick (Squid, lighttpd: once a second), which closes
 * every request older than T at the same tick: ages within one tick of each other, closed at one
 * moment. Delays that differ by more than this fit no tick.
 */
export const MAX_TIMER_TICK = 1;
/**
 * Delays that spread over up to one tick (MAX_TIMER_TICK, and no more than the shortest) without
 * agreeing as one timer's would are a timeout checked on a periodic tick (gunicorn's arbiter kills
 * a sync worker whose request outlived --timeout on its once-a-second check, counted from the
 * worker's last heartbeat): unless a tight cluster holds at least this share of them, in which
 * case the cluster is the timeout and the others are something else.
 */
const TICK_CLUSTER_SHARE = 0.75;
const TICK_MIN_SAMPLES = 3;

/**
 * Delays within one tick that do not agree as one precise timer's (see TICK_CLUSTER_SHARE), as
 * their span; null otherwise. Where tickedSpread widens a cluster, this needs none: at least
 * TICK_MIN_SAMPLES delays no two of which agree closely can still show a tick.
 */
export function tickChecked(samples: readonly number[], options: { fraction: number; absolute: number; minSamples: number }): TickedSpread | null {
  if (samples.length < TICK_MIN_SAMPLES) return null;
  const lo = Math.min(...samples);
  const hi = Math.max(...samples);
  if (hi - lo > Math.min(MAX_TIMER_TICK, lo) || hi - lo <= Math.max(options.fraction * hi, options.absolute)) return null;
  const tight = inferTimeout(samples, options);
  return tight === null || tight.samples < TICK_CLUSTER_SHARE * samples.length ? { count: samples.length, lo, hi } : null;
}

/** Idle closes within this long of each other (seconds) happened at one moment. */
export const CLOSE_BURST_MOMENT = 0.005;
/** How many idle closes at one moment make a burst. */
const CLOSE_BURST_MIN = 3;
/** A burst's longest idle age beyond this many times its shortest is no timer's. */
export const CLOSE_BURST_AGE_RATIO = 2;

/**
 * Whether each idle close (its idle age `gaps[i]`, its time `times[i]`) belongs to a burst that was
 * an event, not an idle timer: at least CLOSE_BURST_MIN closes at one moment whose ages differ more
 * than twofold. A timer, even one checked on a tick, closes only connections idle for at least its
 * timeout, within a tick of each other (lighttpd's 5 s: 5.02-5.83 s); a reload or a shutdown closes
 * every idle connection at once, whatever its age (reload-haproxy: HAProxy's old process closed 7 at
 * one millisecond, idle 0.11-0.47 s, which were taken for a 0.11 s idle timeout).
 */
export function inCloseBurst(gaps: readonly number[], times: readonly number[], keptLonger = 0): boolean[] {
  const out = new Array<boolean>(gaps.length).fill(false);
  for (const run of closeBurstRuns(gaps, times, keptLonger)) for (const i of run) out[i] = true;
  return out;
}

/**
 * The bursts among idle closes (see inCloseBurst), each as the indexes of its closes, in time order.
 * `keptLonger` (0: none known): an idle age the server is known to have let connections outlive (several reuses
 * answered after idling at least that long). A run at one moment whose every age is below it is a
 * burst too, however alike its ages: no idle timer closes a connection younger than ones it keeps
 * (Apache's graceful restart closed 7 connections idle 0.08-0.12 s at one moment while it answered
 * reuses after 0.2 s: reload-apache-graceful).
 */
export function closeBurstRuns(gaps: readonly number[], times: readonly number[], keptLonger = 0, afterResponseBelow = 0): number[][] {
  const indexes = Array.from({ length: Math.min(gaps.length, times.length) }, (_, i) => i);
  return atOneMoment(indexes, (i) => times[i], CLOSE_BURST_MOMENT).filter((run) => {
    if (run.length < CLOSE_BURST_MIN) return false;
    const ages = run.map((i) => gaps[i]);
    const longest = Math.max(...ages);
    const shortest = Math.min(...ages);
    return (
      longest > CLOSE_BURST_AGE_RATIO * shortest ||
      longest < keptLonger ||
      (longest < afterResponseBelow && longest - shortest > AFTER_RESPONSE_BURST_SPREAD)
    );
  });
}

/**
 * Closes of one client host's connections this close to each other (seconds, a chain) came at one
 * moment of that client: a pool closed in one loop, whose FINs a busy host spreads over some
 * milliseconds (Node's `agent.destroy()` at exit: 25 closes in 32 ms, up to 5 ms apart).
 */
export const CLIENT_SHUTDOWN_MOMENT = 0.01;

/**
 * Whether each client close of an idle connection (idle `gaps[i]`, at `times[i]`, from client host
 * `hosts[i]`) was part of the client shutting its pool down rather than of an idle timer: at least
 * CLOSE_BURST_MIN closes of one host at one moment whose idle ages disagree (spread beyond the
 * inference's tolerance). An idle timer closes each connection a fixed time after its own last use,
 * so connections it closes together were idle alike; a process exiting or a pool closed closes
 * every idle connection at once, whatever its age (Node's client at exit: 1.84-3.34 s idle, within
 * 32 ms, of which the 2.41 s ones were taken for its idle timeout).
 */
export function inClientShutdown(
  gaps: readonly number[],
  times: readonly number[],
  hosts: readonly string[],
  options: { fraction: number; absolute: number },
): boolean[] {
  const out = new Array<boolean>(gaps.length).fill(false);
  const byHost = new Map<string, number[]>();
  for (let i = 0; i < gaps.length; i++) {
    const list = byHost.get(hosts[i]);
    if (list === undefined) byHost.set(hosts[i], [i]);
    else list.push(i);
  }
  for (const indexes of byHost.values()) {
    for (const run of atOneMoment(indexes, (i) => times[i], CLIENT_SHUTDOWN_MOMENT)) {
      if (run.length < CLOSE_BURST_MIN) continue;
      const ages = run.map((i) => gaps[i]);
      const longest = Math.max(...ages);
      if (longest - Math.min(...ages) <= Math.max(options.fraction * longest, options.absolute)) continue; // alike: a timer may have closed them
      for (const i of run) out[i] = true;
    }
  }
  return out;
}

/**
 * Closes at one moment whose delays after their last responses (all below the shortest idle
 * timeout, `afterResponseBelow` of closeBurstRuns) differ by more than this (seconds) are no delay
 * after each response: a server that closes a fixed time after each response closes connections
 * at one moment only when their responses ended at one moment. A reload or shutdown closes them all
 * at once, each at whatever time after its response (HAProxy's old process at a USR2 reload closed
 * 4 idle client connections within 0.07 ms, 73-99 ms after their responses; proxies s2).
 */
const AFTER_RESPONSE_BURST_SPREAD = 2 * CLOSE_BURST_MOMENT;

/**
 * The grace a reload gave requests in flight, from how long after it each was cut: a value only
 * when every cut agrees (one timer), else null.
 */
export function agreedGrace(graces: readonly number[], options: { fraction: number; absolute: number }): InferredValue | null {
  const grace = inferTimeout(graces, { ...options, minSamples: 1 });
  return grace !== null && grace.samples === graces.length ? grace : null;
}

/** A burst of idle closes as the span of capture time it took, and how many closes it made. */
export interface BurstSpan {
  from: number;
  to: number;
  closes: number;
}

/** The spans of closeBurstRuns' runs over closes at `times`. */
export function burstSpans(runs: readonly number[][], times: readonly number[]): BurstSpan[] {
  return runs.map((run) => ({ from: Math.min(...run.map((i) => times[i])), to: Math.max(...run.map((i) => times[i])), closes: run.length }));
}

/** The first of `spans` that `ts` falls in (within CLOSE_BURST_MOMENT), or -1. */
export function spanAt(spans: readonly BurstSpan[], ts: number): number {
  return spans.findIndex((sp) => ts >= sp.from - CLOSE_BURST_MOMENT && ts <= sp.to + CLOSE_BURST_MOMENT);
}

/** Answered reuses that, idle well past a run of closes, prove those closes no timer's (keptLongerThan). */
const REFUTING_REUSES = 3;
/**
 * How much longer than a run's idle closes (a factor) the server must have kept connections it
 * answered: a timer checked on a tick answers a reuse a tick past its timeout (lighttpd: closes
 * 5.02-5.83 s idle for 5 s), so only reuses well past every close refute it.
 */
const KEPT_LONGER_FACTOR = 1.5;

/** Keeps the REFUTING_REUSES longest idle gaps after which a server answered a reuse in `top`, longest first. */
export function keepLongestReuse(top: number[], value: number): void {
  if (top.length >= REFUTING_REUSES && value <= top[top.length - 1]) return;
  let i = top.length;
  while (i > 0 && top[i - 1] < value) i--;
  top.splice(i, 0, value);
  if (top.length > REFUTING_REUSES) top.pop();
}

/** The `keptLonger` of closeBurstRuns from the longest answered reuses (keepLongestReuse): 0 while fewer than REFUTING_REUSES. */
export function keptLongerThan(longestReuses: readonly number[]): number {
  return longestReuses.length >= REFUTING_REUSES ? longestReuses[REFUTING_REUSES - 1] / KEPT_LONGER_FACTOR : 0;
}

/**
 * `items` in runs of the same moment, sorted by `timeOf`: each item within `gap` seconds of the one
 * before it joins its run (a chain: a burst spread by the capture's jitter stays one). Shared by the
 * detectors that tell an event (a reload, a process going away, a timer's tick) from a timeout.
 */
export function atOneMoment<T>(items: readonly T[], timeOf: (item: T) => number, gap: number): T[][] {
  const sorted = [...items].sort((a, b) => timeOf(a) - timeOf(b));
  const runs: T[][] = [];
  for (const item of sorted) {
    const run = runs[runs.length - 1];
    if (run !== undefined && timeOf(item) - timeOf(run[run.length - 1]) <= gap) run.push(item);
    else runs.push([item]);
  }
  return runs;
}
