/**
 * The first index of `items`, sorted by `at`, whose time is at or after `ts` (`items.length` when
 * none is): where a walk over what happened from `ts` on starts.
 */
export function firstAtOrAfter<T>(items: readonly T[], ts: number, at: (item: T) => number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (at(items[mid]) < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index of `items`, sorted by `at`, whose time is after `ts` (`items.length` when none is). */
export function firstAfter<T>(items: readonly T[], ts: number, at: (item: T) => number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (at(items[mid]) <= ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
