/** Capture times as people read them: UTC, millisecond precision. */
export function formatUtc(ts: number | null): string {
  if (ts === null || !Number.isFinite(ts)) return '-';
  return new Date(Math.round(ts * 1000)).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** A duration in seconds, with a unit that keeps 3 significant digits. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '-';
  const abs = Math.abs(seconds);
  // No spread at all (every sample alike, or a count taken as is) reads as zero, not as a tiny time.
  if (seconds === 0) return '0 s';
  if (abs < 1e-3) return `${(seconds * 1e6).toFixed(0)} µs`;
  if (abs < 1) return `${withoutTrailingZeros((seconds * 1e3).toFixed(abs < 0.01 ? 2 : 1))} ms`;
  if (abs < 120) return `${withoutTrailingZeros(seconds.toFixed(3))} s`;
  return `${withoutTrailingZeros((seconds / 60).toFixed(1))} min`;
}

/**
 * "5.00" → "5", "4.50" → "4.5": the digits a value has, not more. Inferred values are kept to the
 * millisecond; printed with a fixed count of decimals, a 5 ms spread read "5.00 ms" beside a
 * measured "4.508 ms".
 */
function withoutTrailingZeros(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

export function formatBytes(n: number): string {
  if (n < 10_000) return `${n} B`;
  if (n < 10_000_000) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 10_000_000_000) return `${(n / 1048576).toFixed(1)} MiB`;
  return `${(n / 1073741824).toFixed(1)} GiB`;
}
