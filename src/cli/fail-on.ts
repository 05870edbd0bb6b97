import type { Finding, Severity } from '../detect/finding';

export type FailOn = Severity | 'none';

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/**
 * True when a finding is severe enough to fail the run. `reported` counts every finding by
 * severity, also those past the bound of findings kept (the list alone could miss them).
 */
export function reachesFailOn(findings: readonly Finding[], failOn: FailOn, reported?: Record<Severity, number>): boolean {
  if (failOn === 'none') return false;
  if (reported !== undefined && (Object.keys(RANK) as Severity[]).some((s) => RANK[s] >= RANK[failOn] && reported[s] > 0)) return true;
  return findings.some((f) => RANK[f.severity] >= RANK[failOn]);
}
