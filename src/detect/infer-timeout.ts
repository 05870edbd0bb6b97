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
  return { value: median(cluster), samples: cluster.length, spread: cluster[cluster.length - 1] - cluster[0] };
}

export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}
