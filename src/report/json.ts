import type { AnalysisResult } from '../analyze';

/** Times and durations are printed to the microsecond: stable across runs and platforms, and enough for any TCP timing. */
function roundNumbers(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isInteger(value)) {
    return Number.isFinite(value) ? Math.round(value * 1e6) / 1e6 : null;
  }
  return value;
}

/** Canonical JSON of one value: fixed key order (as built), numbers rounded, no paths or versions. */
export function toCanonicalJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, roundNumbers, indent);
}

/** The `--format json` document. */
export function renderJson(result: AnalysisResult): string {
  return toCanonicalJson(result) + '\n';
}

/** One line of `--format ndjson`: `{"type": ..., ...}`. */
export function ndjsonLine(type: string, value: object): string {
  return JSON.stringify({ type, ...value }, roundNumbers) + '\n';
}
