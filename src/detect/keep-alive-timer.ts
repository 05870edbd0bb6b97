import { inferTimeoutRange, tickedSpread } from './infer-timeout';
import { nodeServerPattern } from './known-timeouts';

/**
 * A server's keep-alive idle timer as the capture shows it, to tell a close that came one idle
 * timeout after a body broke off (the server took the response for finished and idled the
 * connection: Apache mod_cgid after a CGI script's output was reset, blind round 17 s13/s13b) from
 * a timer that measured the silence mid-body (a proxy's read timeout). Both close the same time
 * after the last byte; only the server's other idle closes, or its own hint, tell them apart.
 */
export interface KeepAliveTimer {
  /** 'idle-closes': from connections it closed idle after a whole response; 'keep-alive-header': from its `Keep-Alive: timeout=`. */
  source: 'idle-closes' | 'keep-alive-header';
  /** Its value (the idle closes' densest cluster's median, or the advertised seconds). */
  value: number;
  /** The span its closes fire in: the cluster, widened over a periodic check's tick (lighttpd, waitress). */
  lo: number;
  hi: number;
  /** Idle closes within that span, and of how many (0 for the header). */
  closes: number;
  total: number;
}

/**
 * The server's keep-alive timer, from the idle ages of the connections it closed idle (each close
 * − its last response's end) or, with none, the `Keep-Alive: timeout=` its responses advertised
 * (null: none). Ages below `minIdle` are closes right after a response, no timer's. The densest
 * cluster is the timer: a reload's burst of younger closes is no keep-alive timer.
 */
export function keepAliveTimerOf(
  ages: readonly number[],
  advertised: number | null,
  options: { fraction: number; absolute: number; minIdle: number },
): KeepAliveTimer | null {
  const idle = ages.filter((a) => a >= options.minIdle);
  if (idle.length > 0) {
    const cluster = inferTimeoutRange(idle, { fraction: options.fraction, absolute: options.absolute, minSamples: 1 });
    if (cluster !== null) {
      const ticked = tickedSpread(idle, cluster.inferred);
      return ticked !== null
        ? { source: 'idle-closes', value: ticked.lo, lo: ticked.lo, hi: ticked.hi, closes: ticked.count, total: idle.length }
        : { source: 'idle-closes', value: cluster.inferred.value, lo: cluster.lo, hi: cluster.hi, closes: cluster.inferred.samples, total: idle.length };
    }
  }
  if (advertised === null) return null;
  return { source: 'keep-alive-header', value: advertised, lo: advertised, hi: advertised, closes: 0, total: 0 };
}

/**
 * Whether a close `silence` s after a response's last byte is that timer firing: within its span,
 * give or take the timer jitter inferences allow (max(fraction × silence, absolute)), and up to twice
 * that late: the idle timer starts when the server has finished the failed response, a moment after
 * the last byte left (the handler's exit, the server's error path; Apache mod_cgid closed 2.011-2.085 s
 * after a cut's last byte, 2.001-2.012 s after whole responses, at KeepAliveTimeout 2). An advertised
 * timeout also fits a Node.js server's close a second after it (its keepAliveTimeout buffer).
 */
export function closesAtKeepAlive(silence: number, timer: KeepAliveTimer, options: { fraction: number; absolute: number }): boolean {
  const jitter = Math.max(options.fraction * silence, options.absolute);
  if (silence >= timer.lo - jitter && silence <= timer.hi + 2 * jitter) return true;
  return timer.source === 'keep-alive-header' && nodeServerPattern(silence, timer.value, jitter) !== null;
}
